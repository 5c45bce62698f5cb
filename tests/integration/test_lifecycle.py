"""Process lifecycle: check-config and SIGTERM draining."""
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

import psycopg

from harness import PGPORT, SY_BIN, Proxy, connect, free_port, pg_listener


class CheckConfig(unittest.TestCase):
    def run_check(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(text)
            f.flush()
            return subprocess.run([SY_BIN, "check-config", "-c", f.name], capture_output=True, text=True)

    def test_valid_config(self):
        r = self.run_check("listeners:\n" + pg_listener("pg", 6432, PGPORT))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok", r.stdout)

    def test_every_error_with_its_line(self):
        r = self.run_check("""listeners:
  - name: pg
    protocol: postgress
    listen: 127.0.0.1:6432
    targets:
      legacy: { address: 127.0.0.1 }
    primary: unified
tenants:
  - name: acme
    phase: dual_writ
""")
        self.assertEqual(r.returncode, 1)
        for expected in ("line 3: listeners[0].protocol", "line 6: listeners[0].targets.legacy.address",
                         "line 7: listeners[0].primary", "line 10: tenants[0].phase", "4 errors"):
            self.assertIn(expected, r.stderr)

    def test_warnings_name_what_this_build_does_not_apply(self):
        text = "listeners:\n" + pg_listener("pg", 6432, PGPORT) + """tenants:
  - name: acme
    phase: cleanup
    canary: { phase: observe, percent: 5 }
    migrations: [m]
migrations:
  m: { table: orders, legacy_column: status, unified_column: unified_status, map: { a: A } }
"""
        r = self.run_check(text)
        self.assertEqual(r.returncode, 0, r.stderr)  # valid, but said out loud
        self.assertIn("2 warnings", r.stdout)
        self.assertRegex(r.stderr, r"line \d+: tenants\[0\]\.phase: cleanup stops writing the legacy columns.*\(warning\)")
        self.assertIn("tenants[0].canary: the canary runs observe, not a later phase", r.stderr)
        with Proxy(text.replace("6432", str(free_port()))) as proxy:
            proxy.wait_for_log(r'"event":"config_warning".*cleanup stops writing')

    def test_every_example_config_is_valid(self):
        examples = sorted((Path(__file__).resolve().parents[2] / "config" / "examples").glob("*.yaml"))
        self.assertGreaterEqual(len(examples), 4)
        for path in examples:
            with self.subTest(example=path.name):
                r = subprocess.run([SY_BIN, "check-config", "-c", str(path)], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_every_accepted_key_is_documented(self):
        repo = Path(__file__).resolve().parents[2]
        loader = (repo / "config" / "loader.cpp").read_text()
        keys = set()
        for group in re.findall(r"only_keys\([^{]*\{([^}]*)\}", loader):
            keys.update(re.findall(r'"([a-z_]+)"', group))
        self.assertGreater(len(keys), 50)
        doc = (repo / "config" / "README.md").read_text()
        missing = sorted(k for k in keys if f"`{k}`" not in doc)
        self.assertEqual(missing, [], "keys the loader accepts but config/README.md does not document")

    def test_run_refuses_invalid_config(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("listeners: []\n")
            f.flush()
            r = subprocess.run([SY_BIN, "run", "-c", f.name], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("at least one listener", r.stderr)


class Drain(unittest.TestCase):
    def test_sigterm_lets_running_queries_finish(self):
        proxy = Proxy([pg_listener("pg", None, PGPORT)], ready_timeout=10).start()
        try:
            result = {}
            with connect(proxy.port) as conn:
                def slow():
                    result["value"] = conn.execute("SELECT pg_sleep(1.5), 'finished'").fetchone()[1]
                t = threading.Thread(target=slow)
                t.start()
                time.sleep(0.3)
                proxy.proc.send_signal(signal.SIGTERM)
                proxy.wait_for_log(r'"event":"draining"')
                # No new clients once draining ...
                with self.assertRaises(OSError):
                    socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()
                t.join(10)
                # ... but the session in flight completes.
                self.assertEqual(result.get("value"), "finished")
            self.assertEqual(proxy.proc.wait(10), 0)
            self.assertIn('"sessions_left":0', proxy.log_text())
        finally:
            proxy.stop()

    def test_drain_deadline_terminates_idle_sessions_with_57P01(self):
        proxy = Proxy("listeners:\n" + pg_listener("pg", None, PGPORT) + "runtime: { drain_timeout_ms: 300 }\n").start()
        try:
            with connect(proxy.port) as conn:
                start = time.monotonic()
                proxy.proc.send_signal(signal.SIGTERM)
                self.assertEqual(proxy.proc.wait(10), 0)
                self.assertLess(time.monotonic() - start, 5)
                with self.assertRaises(psycopg.OperationalError) as cm:
                    conn.execute("SELECT 1")
                self.assertIn("proxy is shutting down", str(cm.exception))
            self.assertIn('"event":"drain_timeout"', proxy.log_text())
        finally:
            proxy.stop()


if __name__ == "__main__":
    unittest.main()
