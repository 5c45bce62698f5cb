"""psql and pgbench through the proxy: every protocol path a real client uses."""
import os
import subprocess
import unittest

from harness import PGPORT, Proxy, connect, dsn, pg_listener


def psql(port, *args, input=None, **kw):
    return subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", dsn(port, **kw), *args],
                          input=input, capture_output=True, text=True, timeout=120)


class PsqlAndPgbench(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proxy = Proxy([pg_listener("pg", None, PGPORT)]).start()
        cls.port = cls.proxy.port

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def test_multi_statement_simple_query(self):
        r = psql(self.port, "-At", "-c", "SELECT 1; SELECT 'two'; SELECT 3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["1", "two", "3"])

    def test_error_in_simple_query_keeps_session(self):
        r = subprocess.run(["psql", "-X", "-At", dsn(self.port)], input="SELECT 1/0;\nSELECT 42;\n",
                           capture_output=True, text=True, timeout=60)
        self.assertIn("division by zero", r.stderr)
        self.assertEqual(r.stdout.strip(), "42")

    def test_large_result(self):
        r = psql(self.port, "-At", "-c", "SELECT i, repeat('x', 200) FROM generate_series(1, 200000) i")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 200000)
        self.assertEqual(lines[-1], "200000|" + "x" * 200)

    def test_parameter_status_is_relayed(self):
        with connect(self.port, application_name="billing-worker") as conn:
            self.assertEqual(conn.info.parameter_status("application_name"), "billing-worker")
            conn.execute("SET application_name = 'renamed'")
            self.assertEqual(conn.info.parameter_status("application_name"), "renamed")
            self.assertEqual(conn.info.parameter_status("server_version")[:2], "15")

    def test_listen_notify(self):
        with connect(self.port) as listener, connect(self.port) as notifier:
            got = []
            listener.add_notify_handler(got.append)
            listener.execute("LISTEN order_events")
            notifier.execute("NOTIFY order_events, 'order 17 -> DISPATCHED'")
            listener.execute("SELECT 1")  # the async NotificationResponse is read with this reply
            self.assertEqual([(n.channel, n.payload) for n in got], [("order_events", "order 17 -> DISPATCHED")])

    def test_pgbench_all_modes(self):
        env = dict(os.environ, PGPASSWORD="")
        init = subprocess.run(["pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", str(self.port), "app"],
                              capture_output=True, text=True, timeout=300, env=env)
        self.assertEqual(init.returncode, 0, init.stderr)
        for mode in ("simple", "extended", "prepared"):
            for select_only in (True, False):
                with self.subTest(mode=mode, select_only=select_only):
                    args = ["pgbench", "-n", "-c", "4", "-j", "2", "-t", "300", "-M", mode,
                            "-h", "127.0.0.1", "-p", str(self.port), "app"]
                    if select_only:
                        args.insert(2, "-S")
                    r = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
                    self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
                    self.assertRegex(r.stdout, r"number of failed transactions: 0 ")
                    self.assertIn("number of transactions actually processed: 1200/1200", r.stdout)

    def test_pipelined_extended_query(self):
        # psycopg's pipeline mode sends Parse/Bind/Describe/Execute for many
        # statements before a single Sync.
        with connect(self.port) as conn:
            conn.execute("CREATE TEMP TABLE pipe (id int PRIMARY KEY, status text)")
            with conn.pipeline():
                for i in range(500):
                    conn.execute("INSERT INTO pipe VALUES (%s, %s)", (i, "Awaiting approval"))
                cur = conn.execute("SELECT count(*), min(status) FROM pipe")
            self.assertEqual(cur.fetchone(), (500, "Awaiting approval"))


if __name__ == "__main__":
    unittest.main()
