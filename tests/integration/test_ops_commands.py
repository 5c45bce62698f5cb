"""`switchyard verify` and `switchyard backfill` against the real PostgreSQL and
MariaDB: the report's counts, a backfill beside live dual-written traffic,
resuming from saved progress, and the refusals (cleanup phase, missing
credentials)."""
import json
import os
import random
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

from harness import PGPORT, SY_BIN, Proxy, connect, free_port
from test_mysql_corpus import MYPORT, direct

PG_MAP = {"Awaiting approval": "PENDING_APPROVAL", "Dispatched": "DISPATCHED", "it's": "ITS"}
PG_LEGACY = ["Awaiting approval", "Dispatched", "it's", "Lost"]  # 'Lost' is unmapped


def pg_config(port, phase="dual_write", state_file=None, table="public.ops_orders"):
    return f"""
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: 127.0.0.1:{PGPORT}, user: postgres, database: app }}
{f"state_file: {state_file}" if state_file else ""}
tenants:
  - name: acme
    match: {{ listener: pg, database: app }}
    phase: {phase}
    migrations: [ops_status]
migrations:
  ops_status:
    table: {table}
    legacy_column: status
    unified_column: unified_status
    map: {{ "Awaiting approval": PENDING_APPROVAL, Dispatched: DISPATCHED, "it's": ITS }}
"""


def run(command, config_text, *args, env=None):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(config_text)
    try:
        return subprocess.run([SY_BIN, command, "-c", f.name, *args], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, **(env or {})))
    finally:
        os.unlink(f.name)


def reset_pg(rows):
    """Rows whose legacy value cycles through PG_LEGACY; every tenth already
    has a unified value, right only where the legacy value is Awaiting approval."""
    with connect(PGPORT) as conn:
        conn.execute("DROP TABLE IF EXISTS ops_orders")
        conn.execute("DROP TYPE IF EXISTS ops_unified")
        conn.execute("CREATE TYPE ops_unified AS ENUM ('PENDING_APPROVAL', 'DISPATCHED', 'ITS')")
        conn.execute("CREATE TABLE ops_orders (id int PRIMARY KEY, status text, unified_status ops_unified)")
        conn.execute("""INSERT INTO ops_orders
                        SELECT i, (ARRAY['Awaiting approval', 'Dispatched', 'it''s', 'Lost'])[i %% 4 + 1],
                               CASE WHEN i %% 10 = 0 THEN 'PENDING_APPROVAL'::ops_unified END
                        FROM generate_series(1, %s) i""", (rows,))


def pg_rows():
    with connect(PGPORT) as conn:
        return dict((r[0], (r[1], r[2])) for r in conn.execute("SELECT id, status, unified_status::text FROM ops_orders"))


class Verify(unittest.TestCase):
    def test_counts_before_and_after_a_backfill(self):
        reset_pg(2000)
        cfg = pg_config(free_port())
        r = run("verify", cfg, "--tenant", "acme", "--json")
        self.assertEqual(r.returncode, 1, r.stderr)  # some rows are inconsistent
        (m,) = json.loads(r.stdout)["migrations"]
        # i % 20 == 0: Awaiting approval with the right value; other i % 10 == 0
        # with a mapped legacy value: wrong; unset mapped rows: inconsistent too.
        self.assertEqual((m["rows"], m["consistent"], m["inconsistent"], m["unmapped"]), (2000, 100, 1400, 500))
        self.assertAlmostEqual(m["consistent_pct"], 100 * 100 / 1500, places=3)

        with tempfile.TemporaryDirectory() as d:
            r = run("backfill", cfg, "--tenant", "acme", "--batch", "300", "--progress", f"{d}/p.json")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("ops_status: done, 2000 rows scanned, 1400 updated", r.stdout)
            self.assertFalse(Path(d, "p.json").exists())  # a finished backfill leaves no progress behind

        r = run("verify", cfg, "--tenant", "acme")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"ops_status\s+public\.ops_orders\s+2000\s+1500\s+0\s+500\s+100\.000")
        rows = pg_rows()
        self.assertEqual(rows[2], ("it's", "ITS"))  # a quote in the legacy value
        self.assertEqual(rows[10], ("it's", "ITS"))  # a wrong unified value is corrected
        self.assertEqual(rows[20], ("Awaiting approval", "PENDING_APPROVAL"))
        self.assertEqual(rows[7], ("Lost", None))  # unmapped rows are left alone

    def test_missing_credentials_are_named(self):
        cfg = pg_config(free_port()).replace("user: postgres, ", "")
        r = run("verify", cfg, "--tenant", "acme")
        self.assertEqual(r.returncode, 2)
        self.assertIn("targets.legacy.user is not set", r.stderr)
        os.environ.pop("SY_NOPE", None)
        r = run("verify", pg_config(free_port()).replace("user: postgres", "user: postgres, password_env: SY_NOPE"),
                "--tenant", "acme")
        self.assertEqual(r.returncode, 2)
        self.assertIn("SY_NOPE", r.stderr)


class Backfill(unittest.TestCase):
    def test_beside_live_dual_written_traffic(self):
        reset_pg(20000)
        port = free_port()
        stop = threading.Event()
        writes = []

        def app():
            rng = random.Random(7)
            with connect(port) as conn:
                while not stop.is_set():
                    i, status = rng.randint(1, 20000), rng.choice(PG_LEGACY)
                    conn.execute("UPDATE ops_orders SET status = %s WHERE id = %s", (status, i))
                    writes.append(i)

        with Proxy(pg_config(port)):
            t = threading.Thread(target=app)
            t.start()
            try:
                while len(writes) < 50 and t.is_alive():
                    time.sleep(0.01)
                before = len(writes)
                with tempfile.TemporaryDirectory() as d:
                    r = run("backfill", pg_config(port), "--tenant", "acme", "--batch", "500", "--sleep-ms", "5",
                            "--progress", f"{d}/p.json")
                during = len(writes) - before
            finally:
                stop.set()
                t.join(30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertGreater(during, 0)
        r = run("verify", pg_config(port), "--tenant", "acme", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        (m,) = json.loads(r.stdout)["migrations"]
        self.assertEqual(m["inconsistent"], 0, m)
        self.assertEqual(m["rows"], 20000)

    def test_resumes_after_the_last_finished_batch(self):
        reset_pg(2000)
        with tempfile.TemporaryDirectory() as d:
            progress = Path(d, "flags.json.backfill-acme.json")  # the default, next to state_file
            progress.write_text(json.dumps({"tenant": "acme", "done": [], "current": {
                "migration": "ops_status", "key": "id", "after": "1200", "scanned": 1200, "updated": 0}}))
            cfg = pg_config(free_port(), state_file=f"{d}/flags.json")
            r = run("backfill", cfg, "--tenant", "acme")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("resuming after id = 1200", r.stdout)
            self.assertFalse(progress.exists())
        rows = pg_rows()
        self.assertEqual(rows[1201], ("Dispatched", "DISPATCHED"))
        self.assertEqual(rows[1199], ("Lost", None))
        self.assertEqual(rows[1198], ("it's", None))  # at or before 1200: not touched on resume

    def test_a_uuid_key_and_a_progress_file_for_another_server(self):
        with connect(PGPORT) as conn:
            conn.execute("DROP TABLE IF EXISTS ops_uuid")
            conn.execute("CREATE TABLE ops_uuid (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), status text, "
                         "unified_status text)")
            conn.execute("INSERT INTO ops_uuid (status) SELECT 'Dispatched' FROM generate_series(1, 1500)")
        cfg = pg_config(free_port(), table="ops_uuid")
        with tempfile.TemporaryDirectory() as d:
            r = run("backfill", cfg, "--tenant", "acme", "--batch", "400", "--progress", f"{d}/p.json")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)  # uuid has no max(): paged by ORDER BY
            self.assertIn("1500 rows scanned, 1500 updated", r.stdout)
            Path(d, "p.json").write_text(json.dumps({"tenant": "acme", "where": 'target "legacy" at 10.0.0.9:5432, '
                                                     "database app", "done": [], "current": {}}))
            r = run("backfill", cfg, "--tenant", "acme", "--progress", f"{d}/p.json")
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertIn("is for target \"legacy\" at 10.0.0.9:5432", r.stderr)
        self.assertEqual(run("verify", cfg, "--tenant", "acme").returncode, 0)

    def test_refused_in_cleanup_and_changes_nothing(self):
        reset_pg(100)
        before = pg_rows()
        r = run("backfill", pg_config(free_port(), phase="cleanup"), "--tenant", "acme")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("runs cleanup", r.stderr)
        # cleanup set at run time, saved in state_file, counts too
        with tempfile.TemporaryDirectory() as d:
            Path(d, "flags.json").write_text(json.dumps({"tenants": {"acme": {"phase": "cleanup"}}}))
            r = run("backfill", pg_config(free_port(), state_file=f"{d}/flags.json"), "--tenant", "acme")
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertIn("runs cleanup", r.stderr)
        self.assertEqual(pg_rows(), before)


class MySql(unittest.TestCase):
    CONFIG = f"""
listeners:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:{{port}}
    targets:
      legacy: {{{{ address: 127.0.0.1:{MYPORT}, user: app, password_env: SY_OPS_PW, database: app }}}}
tenants:
  - name: shop
    match: {{{{ listener: my }}}}
    phase: dual_write
    migrations: [transfer_state]
migrations:
  transfer_state:
    table: app.ops_transfers
    legacy_column: state
    unified_column: unified_state
    map: {{{{ draft: OPEN, sent: SENT, "it's": ITS }}}}
"""

    def test_verify_and_backfill(self):
        with direct() as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS ops_transfers")
            cur.execute("CREATE TABLE ops_transfers (id INT PRIMARY KEY, state VARCHAR(32), unified_state VARCHAR(32))")
            # every tenth row holds 'Sent': equal to 'SENT' in the default collation, but not the value written
            cur.execute("""INSERT INTO ops_transfers SELECT seq, ELT(1 + seq % 4, 'draft', 'sent', 'it''s', 'lost'),
                                  IF(seq % 10 = 1, 'Sent', NULL) FROM seq_1_to_2000""")
        cfg = self.CONFIG.format(port=free_port())
        env = {"SY_OPS_PW": "apppass"}
        r = run("verify", cfg, "--tenant", "shop", "--json", env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        (m,) = json.loads(r.stdout)["migrations"]
        self.assertEqual((m["rows"], m["consistent"], m["inconsistent"], m["unmapped"]), (2000, 0, 1500, 500))
        with tempfile.TemporaryDirectory() as d:
            r = run("backfill", cfg, "--tenant", "shop", "--batch", "700", "--progress", f"{d}/p.json", env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1500 updated", r.stdout)
        r = run("verify", cfg, "--tenant", "shop", "--json", env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        (m,) = json.loads(r.stdout)["migrations"]
        self.assertEqual((m["consistent"], m["inconsistent"], m["consistent_pct"]), (1500, 0, 100.0))
        with direct() as conn, conn.cursor() as cur:
            cur.execute("SELECT state, unified_state FROM ops_transfers WHERE id IN (1, 2, 11) ORDER BY id")
            self.assertEqual(cur.fetchall(), (("sent", "SENT"), ("it's", "ITS"), ("lost", "Sent")))

    def test_wrong_password_is_the_servers_error(self):
        r = run("verify", self.CONFIG.format(port=free_port()), "--tenant", "shop", env={"SY_OPS_PW": "wrong"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("Access denied", r.stderr)


if __name__ == "__main__":
    unittest.main()
