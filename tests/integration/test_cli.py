"""The command line itself: each command's generated --help, and the exit status 2
with a reason for an unknown command, an unknown flag, a missing one or a bad value.
No database is needed: every case here stops before connecting."""
import json
import re
import subprocess
import unittest

from harness import REPO, SY_BIN

CONFIG = str(REPO / "config" / "examples" / "orders.yaml")
COMMANDS = ["run", "check-config", "explain", "verify", "backfill", "bucket", "init-flags-store"]


def sy(*args):
    return subprocess.run([SY_BIN, *args], capture_output=True, text=True, timeout=30)


class Help(unittest.TestCase):
    def test_every_command_has_help(self):
        for command in COMMANDS:
            with self.subTest(command=command):
                r = sy(command, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(f"Usage: switchyard {command}", r.stdout)

    def test_help_names_every_flag_the_readme_documents(self):
        # The README's Commands table is the documented surface; --help is generated
        # from the parser, so this keeps the two in step.
        readme = (REPO / "README.md").read_text()
        rows = re.findall(r"^\| `switchyard ([a-z-]+) (.*?)` \|", readme, re.M)
        self.assertEqual(sorted({c for c, _ in rows}), sorted(COMMANDS))
        for command, synopsis in rows:
            helptext = sy(command, "--help").stdout
            for flag in re.findall(r"(?<![\w-])(-c|--[a-z-]+)", synopsis):
                with self.subTest(command=command, flag=flag):
                    self.assertRegex(helptext, rf"(^|[ ,]){re.escape(flag)}\b")

    def test_top_level_help_and_version(self):
        r = sy("--help")
        self.assertEqual(r.returncode, 0)
        for command in COMMANDS:
            self.assertIn(command, r.stdout)
        r = sy("--version")
        self.assertEqual((r.returncode, r.stdout.split()[0]), (0, "switchyard"))

    def test_no_arguments_prints_the_commands_and_exits_2(self):
        r = sy()
        self.assertEqual(r.returncode, 2)
        self.assertIn("check-config", r.stderr)


class UsageErrors(unittest.TestCase):
    def assertUsageError(self, args, message):
        r = sy(*args)
        self.assertEqual(r.returncode, 2, f"{args}: {r.stdout}{r.stderr}")
        self.assertIn(message, r.stderr)
        self.assertEqual(r.stdout, "")

    def test_unknown_command(self):
        self.assertUsageError(["frobnicate", "-c", CONFIG], 'unknown command "frobnicate"')

    def test_unknown_flag_names_itself_and_the_command(self):
        self.assertUsageError(["verify", "-c", CONFIG, "--tenant", "acme", "--bogus"], "--bogus")
        self.assertUsageError(["verify", "-c", CONFIG, "--tenant", "acme", "--bogus"], "switchyard verify --help")
        # a flag of another command is unknown here too
        self.assertUsageError(["run", "-c", CONFIG, "--json"], "--json")
        self.assertUsageError(["check-config", "-c", CONFIG, "--batch", "5"], "--batch")

    def test_missing_required(self):
        self.assertUsageError(["run"], "--config is required")
        self.assertUsageError(["verify", "-c", CONFIG], "--tenant is required")
        self.assertUsageError(["backfill", "-c", CONFIG], "--tenant is required")
        self.assertUsageError(["explain", "-c", CONFIG, "--tenant", "acme"], "SQL is required")
        self.assertUsageError(["bucket", "--tenant", "acme"], "KEY is required")

    def test_a_flag_without_its_value(self):
        self.assertUsageError(["verify", "-c", CONFIG, "--tenant"], "--tenant")

    def test_extra_positional(self):
        self.assertUsageError(["explain", "-c", CONFIG, "--tenant", "acme", "SELECT 1", "SELECT 2"], "SELECT 2")

    def test_percent_is_a_number_from_0_to_100_in_steps_of_0_01(self):
        for bad, message in [("abc", "expected a number from 0 to 100"), ("101", "expected a number from 0 to 100"),
                             ("-5", "expected a number from 0 to 100"), ("nan", "expected a number from 0 to 100"),
                             ("inf", "expected a number from 0 to 100"), ("", "expected a number from 0 to 100"),
                             ("12.345", "steps of 0.01")]:
            with self.subTest(percent=bad):
                self.assertUsageError(["bucket", "--tenant", "acme", "--percent", bad, "k"], message)
        r = sy("bucket", "--tenant", "acme", "--percent", "12.34", "k1", "k2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([line.split("\t")[0] for line in r.stdout.splitlines()], ["k1", "k2"])

    def test_batch_and_sleep_are_decimal_counts(self):
        for flag, bad, message in [("--batch", "0", "not in range"), ("--batch", "abc", "expected a whole number"),
                                   ("--batch", "0x10", "expected a whole number"), ("--batch", "-5", "--batch"),
                                   ("--batch", "100000001", "not in range"), ("--sleep-ms", "1.5", "expected a whole number")]:
            with self.subTest(flag=flag, value=bad):
                self.assertUsageError(["backfill", "-c", CONFIG, "--tenant", "acme", flag, bad], message)

    def test_dialect_is_postgres_or_mysql(self):
        self.assertUsageError(["explain", "-c", CONFIG, "--tenant", "acme", "--dialect", "oracle", "SELECT 1"],
                              "oracle not in {postgres,mysql}")

    def test_a_flag_given_twice(self):
        self.assertUsageError(["explain", "-c", CONFIG, "--tenant", "acme", "--tenant", "b", "SELECT 1"], "--tenant")


class Accepted(unittest.TestCase):
    def test_sql_that_starts_with_a_comment(self):
        r = sy("explain", "-c", CONFIG, "--tenant", "acme", "--phase", "dual_write", "--json",
               "-- from the app\nUPDATE orders SET status = 'Dispatched' WHERE id = 1")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(list(out), ["tenant", "phase", "decision", "sql", "events"])
        self.assertEqual(out["decision"], "rewrite")
        self.assertTrue(out["sql"].startswith("-- from the app\n"))

    def test_equals_form_and_keys_after_double_dash(self):
        r = sy("bucket", "--tenant=acme", "--percent=50", "--", "-leading-dash")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("-leading-dash\t"))

    def test_json_escapes_survive_a_round_trip(self):
        sql = "UPDATE orders SET status = 'a\"b\\\\c\x01\t' WHERE id = 'é\x1f'"
        r = sy("explain", "-c", CONFIG, "--tenant", "acme", "--json", sql)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["sql"], sql)
        self.assertEqual(out["events"][0]["legacy"], "a\"b\\\\c\x01\t")


if __name__ == "__main__":
    unittest.main()
