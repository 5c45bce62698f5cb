"""Per-tenant flags at run time: canary bucketing, PATCH taking effect from the
next statement, reloads through SIGHUP, a file change and the API, the admin
API's refusals, PHASE_CHANGE lines, persistence in state_file, and the
status page and /metrics as real tools see them."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from harness import PGPORT, SY_BIN, Proxy, connect, free_port

TOKEN = "s3cret-token"
ARTIFACTS = Path(os.environ.get("SY_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"))


def config_text(port, admin, phase="observe", canary="", state_file=None, extra_tenant=""):
    return f"""
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: 127.0.0.1:{PGPORT} }}
admin:
  listen: 127.0.0.1:{admin}
  token_env: SY_TEST_ADMIN_TOKEN
{f"state_file: {state_file}" if state_file else ""}
runtime: {{ log_level: debug }}
tenants:
  - name: acme
    match: {{ listener: pg, database: app }}
    phase: {phase}
    {canary}
    migrations: [flag_status]
{extra_tenant}
migrations:
  flag_status:
    table: flag_orders
    legacy_column: status
    unified_column: unified_status
    map: {{ "Awaiting approval": PENDING_APPROVAL, Dispatched: DISPATCHED, Delivered: DELIVERED }}
"""


def reset_table(rows=2000):
    with connect(PGPORT) as conn:
        conn.execute("DROP TABLE IF EXISTS flag_orders")
        conn.execute("CREATE TABLE flag_orders (id int PRIMARY KEY, status text, unified_status text)")
        conn.execute("INSERT INTO flag_orders SELECT i, 'Created', 'CREATED' FROM generate_series(1, %s) i", (rows,))


def dual_written(ids=None):
    with connect(PGPORT) as conn:
        rows = conn.execute("SELECT id FROM flag_orders WHERE unified_status = 'DISPATCHED'").fetchall()
    return {r[0] for r in rows}


class Admin:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, token=TOKEN):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def tenant(self, name="acme"):
        status, body = self.call("GET", f"/v1/tenants/{name}")
        assert status == 200, body
        (tenant,) = json.loads(body)["tenants"]  # that tenant alone
        assert tenant["name"] == name, tenant
        return tenant


class FlagsTest(unittest.TestCase):
    def start(self, **kw):
        self.port, self.admin_port = free_port(), free_port()
        self.admin = Admin(self.admin_port)
        text = config_text(self.port, self.admin_port, **kw)
        proxy = Proxy(text, env={"SY_TEST_ADMIN_TOKEN": TOKEN})
        proxy.start()
        self.addCleanup(proxy.stop)
        return proxy


class Canary(FlagsTest):
    def test_thirty_percent_of_2000_sessions(self):
        reset_table()
        proxy = self.start(canary="canary: { phase: dual_write, percent: 30, sticky_by: session }")

        def session(i):
            with connect(self.port) as conn:
                conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = %s", (i,))
                return conn.pgconn.backend_pid

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(session, range(1, 2001)))
        share = len(dual_written()) / 2000
        self.assertAlmostEqual(share, 0.30, delta=0.03)

        # Every session's key lands in the same bucket in a second process.
        buckets = {}
        for r in proxy.log_records():
            if r.get("event") == "canary_bucket":
                buckets[r["key"]] = r["bucket"]
        self.assertEqual(len(buckets), 2000)
        keys = sorted(buckets)
        out = subprocess.run([SY_BIN, "bucket", "--tenant", "acme", "--percent", "30", *keys],
                             capture_output=True, text=True, check=True).stdout
        again = {line.split("\t")[0]: int(line.split("\t")[1]) for line in out.splitlines()}
        self.assertEqual(again, buckets)
        in_canary = sum(1 for line in out.splitlines() if line.endswith("\tcanary"))
        self.assertEqual(in_canary, len(dual_written()))

    def test_raising_the_percentage_keeps_every_key_in(self):
        reset_table(600)
        self.start(canary="canary: { phase: dual_write, percent: 10, sticky_by: application_name }")

        def run_all():
            with connect(PGPORT) as conn:
                conn.execute("UPDATE flag_orders SET status = 'Created', unified_status = 'CREATED'")
            for i in range(1, 601):
                with connect(self.port, application_name=f"worker-{i}") as conn:
                    conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = %s", (i,))
            return dual_written()

        at10 = run_all()
        status, body = self.admin.call("PATCH", "/v1/tenants/acme", {"canary": {"percent": 20}})
        self.assertEqual(status, 200, body)
        at20 = run_all()
        self.assertTrue(at10 <= at20, f"keys left the canary: {sorted(at10 - at20)[:10]}")
        self.assertGreater(len(at20), len(at10))
        self.assertAlmostEqual(len(at10) / 600, 0.10, delta=0.04)
        self.assertAlmostEqual(len(at20) / 600, 0.20, delta=0.05)


class Patch(FlagsTest):
    def test_phase_change_applies_from_the_next_statement(self):
        reset_table(10)
        proxy = self.start(phase="observe")
        with connect(self.port) as conn:
            conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 1")
            self.assertEqual(dual_written(), set())
            self.assertEqual(self.admin.call("PATCH", "/v1/tenants/acme", {"phase": "dual_write"})[0], 200)
            conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 2")
            self.assertEqual(dual_written(), {2})
            # A rollback applies at once, even inside a transaction ...
            conn.autocommit = False
            conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 3")
            self.assertEqual(self.admin.call("PATCH", "/v1/tenants/acme", {"phase": "observe"})[0], 200)
            conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 4")
            conn.commit()
            self.assertEqual(dual_written(), {2, 3})
            # ... while a promotion waits for the open transaction to end.
            conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 5")
            self.assertEqual(self.admin.call("PATCH", "/v1/tenants/acme", {"phase": "dual_write"})[0], 200)
            conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 6")
            conn.commit()
            conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 7")
            conn.commit()
            self.assertEqual(dual_written(), {2, 3, 7})
        lines = [r for r in proxy.log_records() if r.get("category") == "PHASE_CHANGE" and r.get("field") == "phase"]
        changes = [(r["from"], r["to"]) for r in lines if r["who"].startswith("api:127.0.0.1")]
        self.assertEqual(changes, [("observe", "dual_write"), ("dual_write", "observe"), ("observe", "dual_write")])

    def test_a_patch_says_what_this_build_does_not_apply(self):
        proxy = self.start(phase="dual_write")
        status, body = self.admin.call("PATCH", "/v1/tenants/acme", {"phase": "cleanup"})
        self.assertEqual(status, 200, body)
        (warning,) = json.loads(body)["warnings"]
        self.assertIn("cleanup stops writing the legacy columns", warning)
        proxy.wait_for_log(r'"event":"config_warning".*"tenant":"acme".*cleanup stops writing')
        status, body = self.admin.call("PATCH", "/v1/tenants/acme", {"phase": "dual_write"})
        self.assertNotIn("warnings", json.loads(body))

    def test_phase_change_reaches_an_open_psql_session(self):
        reset_table(10)
        self.start(phase="observe")
        psql = subprocess.Popen(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port), "app"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def run(sql, marker):
            psql.stdin.write(f"{sql};\n\\echo {marker}\n")
            psql.stdin.flush()
            while marker not in psql.stdout.readline():
                pass

        run("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 1", "one")
        self.assertEqual(dual_written(), set())
        self.assertEqual(self.admin.call("PATCH", "/v1/tenants/acme", {"phase": "dual_write"})[0], 200)
        run("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 2", "two")
        self.assertEqual(dual_written(), {2})
        psql.stdin.write("\\q\n")
        psql.stdin.close()
        self.assertEqual(psql.wait(10), 0)

    def test_no_connection_dropped_while_50_sessions_run_pgbench(self):
        reset_table(1000)
        self.start(phase="observe")
        script = Path(tempfile.mkdtemp()) / "flip.pgbench"
        script.write_text("\\set id random(1, 1000)\nUPDATE flag_orders SET status = 'Dispatched' WHERE id = :id;\n"
                          "SELECT status FROM flag_orders WHERE id = :id;\n")
        bench = subprocess.Popen(["pgbench", "-n", "-c", "50", "-j", "2", "-T", "6", "-M", "prepared", "-f", str(script),
                                  "-h", "127.0.0.1", "-p", str(self.port), "app"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        flips = 0
        while bench.poll() is None:
            phase = "dual_write" if flips % 2 == 0 else "observe"
            self.assertEqual(self.admin.call("PATCH", "/v1/tenants/acme", {"phase": phase})[0], 200)
            if flips % 3 == 0:
                self.assertEqual(self.admin.call("POST", "/v1/reload")[0], 200)
            flips += 1
            time.sleep(0.3)
        out = bench.stdout.read()
        self.assertEqual(bench.returncode, 0, out)
        self.assertIn("number of failed transactions: 0 ", out)
        self.assertGreater(flips, 5)

    def test_refusals_change_nothing(self):
        reset_table(10)
        proxy = self.start(phase="observe", extra_tenant="  - { name: globex, match: { database: other } }")
        before = self.admin.tenant()
        self.assertEqual(self.admin.tenant("globex")["phase"], "off")
        cases = [
            ("PATCH", "/v1/tenants/acme", {"phase": "dual_write"}, None, 401),
            ("PATCH", "/v1/tenants/acme", {"phase": "dual_write"}, "wrong", 401),
            ("POST", "/v1/reload", None, None, 401),
            ("PATCH", "/v1/tenants/acme", b"{not json", TOKEN, 400),
            ("PATCH", "/v1/tenants/acme", {"phase": "warp_speed"}, TOKEN, 400),
            ("PATCH", "/v1/tenants/acme", {"colour": "blue"}, TOKEN, 400),
            ("PATCH", "/v1/tenants/acme", {"canary": {"percent": "ten"}}, TOKEN, 400),
            # Well-formed, but against config/tenant_rules, as the loader would say: 422.
            ("PATCH", "/v1/tenants/acme", {"canary": {"phase": "dual_write", "percent": 101}}, TOKEN, 422),
            ("PATCH", "/v1/tenants/acme", {"canary": {"phase": "dual_write", "percent": 10.001}}, TOKEN, 422),
            ("PATCH", "/v1/tenants/acme", {"canary": {"phase": "dual_write", "percent": -1}}, TOKEN, 422),
            ("PATCH", "/v1/tenants/acme", {"canary": {"percent": 5}}, TOKEN, 422),
            ("PATCH", "/v1/tenants/acme", {"read_target": "nowhere"}, TOKEN, 422),
            ("PATCH", "/v1/tenants/acme", {"shadow": {"sample_percent": 5}}, TOKEN, 422),
            ("PATCH", "/v1/tenants/acme", {}, TOKEN, 400),
            ("PATCH", "/v1/tenants/nobody", {"phase": "off"}, TOKEN, 404),
            ("DELETE", "/v1/tenants/acme", None, TOKEN, 405),
            ("GET", "/v1/nothing", None, None, 404),
            ("GET", "/v1/tenants/nobody", None, None, 404),
        ]
        for method, path, body, token, want in cases:
            with self.subTest(method=method, path=path, body=body, token=token):
                status, text = self.admin.call(method, path, body, token=token)
                self.assertEqual(status, want, text)
                self.assertIn('"error"', text)
        self.assertEqual(self.admin.tenant(), before)
        self.assertNotIn('"who":"api', proxy.log_text())
        # A request body over 64 KiB is refused before it is read.
        status, _ = self.admin.call("PATCH", "/v1/tenants/acme", b"{" + b" " * 70000 + b"}")
        self.assertEqual(status, 413)

    def test_a_canary_percent_without_a_phase_is_refused_as_the_loader_would(self):
        state = Path(tempfile.mkdtemp()) / "flags.json"
        self.port, self.admin_port = free_port(), free_port()
        self.admin = Admin(self.admin_port)
        text = config_text(self.port, self.admin_port, phase="observe", state_file=state)
        with Proxy(text, env={"SY_TEST_ADMIN_TOKEN": TOKEN}) as proxy:
            before = self.admin.tenant()
            status, body = self.admin.call("PATCH", "/v1/tenants/acme", {"canary": {"percent": 10}})
            self.assertEqual(status, 422, body)
            want = 'canary: a canary with a percent needs a "phase" or a "read_target"'
            self.assertEqual(json.loads(body)["errors"], [want])
            self.assertEqual(self.admin.tenant(), before)
            self.assertFalse(state.exists())
            self.assertNotIn('"who":"api', proxy.log_text())
        # The same rule, the same words, from check-config.
        config = Path(tempfile.mkdtemp()) / "sy.yaml"
        config.write_text(text.replace("phase: observe\n", "phase: observe\n    canary: { percent: 10 }\n", 1))
        r = subprocess.run([SY_BIN, "check-config", "-c", str(config)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("tenants[0]." + want, r.stdout + r.stderr)
        # With a phase, the same percent is taken, and null puts the canary back to the file's.
        with Proxy(text, env={"SY_TEST_ADMIN_TOKEN": TOKEN}):
            status, body = self.admin.call("PATCH", "/v1/tenants/acme", {"canary": {"phase": "dual_write", "percent": 10}})
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(state.read_text())["tenants"]["acme"]["canary"]["percent"], 10)
            status, body = self.admin.call("PATCH", "/v1/tenants/acme", {"canary": None})
            self.assertEqual(status, 200, body)
            self.assertEqual(self.admin.tenant()["overrides"], {})
            self.assertEqual(json.loads(state.read_text()), {"tenants": {}})

    def test_runtime_changes_survive_a_restart(self):
        state = Path(tempfile.mkdtemp()) / "flags.json"
        self.port, self.admin_port = free_port(), free_port()
        admin = Admin(self.admin_port)
        text = config_text(self.port, self.admin_port, phase="observe", state_file=state)
        env = {"SY_TEST_ADMIN_TOKEN": TOKEN}
        with Proxy(text, env=env):
            status, body = admin.call("PATCH", "/v1/tenants/acme",
                                      {"phase": "dual_write", "canary": {"phase": "cleanup", "percent": 12.5}})
            self.assertEqual(status, 200, body)
        saved = json.loads(state.read_text())
        self.assertEqual(saved["tenants"]["acme"]["phase"], "dual_write")
        with Proxy(text, env=env):
            t = admin.tenant()
            self.assertEqual(t["phase"], "dual_write")
            self.assertEqual(t["canary"]["percent"], 12.5)
            self.assertEqual(t["overrides"]["phase"], "dual_write")
        # The file changing that same setting wins over the saved override.
        with Proxy(text.replace("phase: observe", "phase: off"), env=env) as proxy:
            self.assertEqual(admin.tenant()["phase"], "dual_write")  # start-up: state is newer than the file
            proxy.reload(text.replace("phase: observe", "phase: read_switch"))
            deadline = time.monotonic() + 5
            while admin.tenant()["phase"] != "read_switch" and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(admin.tenant()["phase"], "read_switch")


class Reload(FlagsTest):
    def wait_phase(self, want, timeout=5):
        deadline = time.monotonic() + timeout
        while self.admin.tenant()["phase"] != want and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.admin.tenant()["phase"]

    def test_three_reload_paths(self):
        reset_table(10)
        proxy = self.start(phase="observe")
        base = proxy.config_text
        with connect(self.port) as conn:  # a session open across all reloads
            for path in ("sighup", "file_change", "api"):
                with self.subTest(path=path):
                    invalid = base.replace("phase: observe", "phase: sideways")
                    valid = base.replace("phase: observe", "phase: dual_write")
                    self.write(proxy, invalid, path)
                    if path == "api":
                        status, body = self.admin.call("POST", "/v1/reload")
                        self.assertEqual(status, 422, body)
                        self.assertIn("line ", body)
                    proxy.wait_for_log(rf'"event":"config_reload_failed","who":"{"api" if path == "api" else path}')
                    self.assertEqual(self.admin.tenant()["phase"], "observe")
                    self.write(proxy, valid, path)
                    if path == "api":
                        self.assertEqual(self.admin.call("POST", "/v1/reload")[0], 200)
                    self.assertEqual(self.wait_phase("dual_write"), "dual_write")
                    self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))
                    # back to observe for the next path
                    self.write(proxy, base, path)
                    if path == "api":
                        self.admin.call("POST", "/v1/reload")
                    self.assertEqual(self.wait_phase("observe"), "observe")
                    time.sleep(1.2)  # let the file watcher see the last write before the next path
        who = {r["who"].split(":")[0] for r in proxy.log_records() if r.get("category") == "PHASE_CHANGE"}
        self.assertTrue({"sighup", "file_change", "api"} <= who, who)

    def write(self, proxy, text, path):
        if path == "sighup":
            # Same size and a restored mtime would hide it from the watcher, but
            # SIGHUP must work on its own: send it right after writing.
            proxy.reload(text)
        else:
            tmp = proxy.config_path + ".new"
            Path(tmp).write_text(text)
            os.replace(tmp, proxy.config_path)
            proxy.config_text = text


class Tools(FlagsTest):
    def test_promtool_accepts_metrics(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool missing: deploy/install-deps.sh installs Debian's prometheus")
        reset_table(10)
        self.start(phase="dual_write")
        with connect(self.port) as conn:
            conn.execute("UPDATE flag_orders SET status = 'Dispatched' WHERE id = 1")
            conn.execute("UPDATE flag_orders SET status = 'Lost' WHERE id = 2")
        status, text = self.admin.call("GET", "/metrics", token=None)
        self.assertEqual(status, 200)
        for family in ("client_connections", "statements_total", "rewrites_total", "shadow_compared_total",
                       "shadow_mismatches_total", "shadow_dropped_total", "phase", "canary_percent",
                       "guard_trips_total", "backend_errors_total", "rewrite_duration_seconds"):
            self.assertIn(f"# TYPE switchyard_{family} ", text)
        self.assertIn('switchyard_phase{tenant="acme",phase="dual_write"} 1', text)
        self.assertIn('switchyard_phase{tenant="acme",phase="observe"} 0', text)
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_status_page_in_headless_chromium(self):
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "chromium missing: deploy/install-deps.sh installs it")
        reset_table(10)
        self.start(phase="dual_write", canary="canary: { phase: cleanup, percent: 5 }")
        with connect(self.port) as conn:
            for i in range(1, 6):
                conn.execute("UPDATE flag_orders SET status = 'Delivered' WHERE id = %s", (i,))
        time.sleep(1.5)  # one sampler tick, so statements/s has two samples
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "status-page.png"
        profile = tempfile.mkdtemp()
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1400,500"]
        url = f"http://127.0.0.1:{self.admin_port}/"
        dom = subprocess.run([chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=60)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertIn("<b>acme</b>", dom.stdout)
        self.assertRegex(dom.stdout, r'class="phase dual_write">dual_write<')
        self.assertIn("cleanup@5.00%", dom.stdout)
        self.assertRegex(dom.stdout, r"rewritten <span class=\"num\">5</span>")
        r = subprocess.run([chromium, *flags, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertGreater(shot.stat().st_size, 5000)
        print(f"\nstatus page screenshot: {shot}")
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
