"""deploy/quickstart.sh, non-interactive, both variants: it must run end to
end and show rows the proxy dual-wrote and a canary split near 50 %."""
import os
import re
import subprocess
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Quickstart(unittest.TestCase):
    def run_quickstart(self, *args):
        env = dict(os.environ, SY_SKIP_DEPS="1", SY_SKIP_BUILD="1", CI="true")
        r = subprocess.run(["bash", str(REPO / "deploy" / "quickstart.sh"), *args], cwd=REPO, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        return r.stdout

    def check(self, out):
        print(out)
        self.assertIn("Consistency before: 0 of 5000", out)
        split = float(re.search(r"canary split ([\d.]+) %", out).group(1))
        self.assertGreater(split, 35)
        self.assertLess(split, 65)
        written = int(re.search(r"rows the proxy dual-wrote so far: (\d+)", out).group(1))
        self.assertGreater(written, 1000)
        self.assertIn("rows written in dual_write that disagree: 0", out)
        before, after = map(int, re.search(r"inconsistent rows before the backfill: (\d+); after: (\d+)", out).groups())
        self.assertGreater(before, 0)  # rows no session wrote since dual_write began
        self.assertEqual(after, 0)
        self.assertRegex(out, r'outcome="rewritten"} \d+')
        self.assertIn("Status page: http://127.0.0.1:", out)

    def test_postgres(self):
        self.check(self.run_quickstart())

    def test_mysql(self):
        self.check(self.run_quickstart("--mysql"))


if __name__ == "__main__":
    unittest.main()
