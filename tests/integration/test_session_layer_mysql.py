"""What the session layer must keep doing for MariaDB, seen from real
clients, directly and through the proxy (tenant in dual_write) with the same
transcript: mysql2 with 100 server-side prepared statements (COM_STMT_PREPARE,
_EXECUTE, _CLOSE in the binary protocol, plus a text PREPARE) and
COM_RESET_CONNECTION (mysql2's reset(); the mariadb CLI of MariaDB 10.11 has
no command that sends it).

These pin the behaviour before the session layer is rebuilt and must pass
unchanged after it."""
import json
import os
import subprocess
import unittest
from pathlib import Path

from harness import Proxy, free_port
from test_mysql_clients import listener
from test_mysql_corpus import MYPORT, direct

NODE_DIR = Path(__file__).parent / "node"

STATE_MAP = {"draft": "OPEN", "sent": "SENT", "receiving": "DISPATCHED", "completed": "RECEIVED"}

TENANT = f"""tenants:
  - name: session_layer
    match: {{ listener: my, user: app, database: app }}
    phase: dual_write
    migrations: [sl_state]
migrations:
  sl_state:
    table: sl_transfers
    legacy_column: state
    unified_column: unified_state
    map: {{ {", ".join(f"{k}: {v}" for k, v in STATE_MAP.items())} }}
"""


def reset_transfers():
    """sl_transfers with ids 1..100 in state 'draft', unified 'OPEN' (as after a backfill)."""
    with direct() as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS sl_transfers")
        cur.execute("CREATE TABLE sl_transfers (id INT PRIMARY KEY, state VARCHAR(32), unified_state VARCHAR(32))")
        cur.execute("INSERT INTO sl_transfers (id, state, unified_state) SELECT seq, 'draft', 'OPEN' FROM seq_1_to_100")


def transfers():
    with direct() as conn, conn.cursor() as cur:
        cur.execute("SELECT id, state, unified_state FROM sl_transfers ORDER BY id")
        return cur.fetchall()


class Mysql2PreparedStatements(unittest.TestCase):
    def run_node(self, port):
        r = subprocess.run(["node", "session_layer_mysql.js"], cwd=NODE_DIR, capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, SY_PORT=str(port)))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def test_prepare_close_reset_same_as_direct(self):
        self.assertTrue((NODE_DIR / "node_modules" / "mysql2").exists(), "run deploy/install-deps.sh")
        reset_transfers()
        want = self.run_node(MYPORT)
        steps = {e["step"]: e for e in want}
        # What the server does, pinned.
        self.assertEqual([steps[f"prepare {i}"]["id"] for i in range(100)], [f"first+{i}" for i in range(100)])
        self.assertEqual(steps["prepare missing table"]["error"]["errno"], 1146)
        self.assertEqual(sum(1 for e in want if e["step"].startswith("round ") and "error" not in e), 300)
        self.assertEqual(steps["insert duplicate"]["error"]["errno"], 1062)
        self.assertNotIn("error", steps["insert 102"])
        self.assertEqual(sum(1 for e in want if e["step"].startswith("after close ") and "error" not in e), 50)
        for step in ("closed stmt 0", "closed stmt 98", "after reset stmt 1", "after reset stmt 99"):
            self.assertEqual(steps[step]["error"]["errno"], 1243, step)  # ER_UNKNOWN_STMT_HANDLER
        self.assertEqual(steps["text execute after reset"]["error"]["errno"], 1243)
        self.assertEqual(steps["variable after reset"]["rows"], [{"marker": None, "db": "app"}])
        self.assertFalse([e for e in want if e["step"].startswith("new stmt") and "error" in e])
        direct_rows = [(i, state) for i, state, _ in transfers()]

        reset_transfers()
        port = free_port()
        with Proxy(listener(port, extra=TENANT)) as proxy:
            got = self.run_node(port)
        self.assertEqual(got, want)
        rows = transfers()
        self.assertEqual([(i, state) for i, state, _ in rows], direct_rows)
        self.assertEqual([r for r in rows if STATE_MAP.get(r[1]) != r[2]], [],
                         "rows whose unified_state is not map(state) after prepared UPDATEs/INSERTs")
        self.assertGreater(sum(1 for r in rows if r[1] != "draft"), 20)
        self.assertNotIn('"level":"ERROR"', proxy.log_text())


if __name__ == "__main__":
    unittest.main()
