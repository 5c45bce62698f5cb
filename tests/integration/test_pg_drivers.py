"""Language drivers nobody here wrote work unchanged through the proxy:
psycopg 3 (server-side parameters, prepared statements, binary results) and
node-postgres."""
import datetime
import decimal
import os
import subprocess
import unittest
from pathlib import Path

from harness import PGPORT, Proxy, connect, pg_listener

NODE_DIR = Path(__file__).parent / "node"


class Psycopg(unittest.TestCase):
    def test_server_side_parameters_and_prepared_statements(self):
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            with connect(proxy.port, user="scramuser", password="scrampass") as conn:
                conn.prepare_threshold = 0  # every statement becomes a named server-side prepared statement
                conn.execute("CREATE TEMP TABLE cashouts (id int PRIMARY KEY, status text, amount numeric,"
                             " created timestamptz DEFAULT now())")
                rows = [(i, ["PENDING", "PROCESSING", "PAID_OUT"][i % 3], decimal.Decimal(i) / 4) for i in range(300)]
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO cashouts (id, status, amount) VALUES (%s, %s, %s)", rows)
                for binary in (False, True):
                    with conn.cursor(binary=binary) as cur:
                        cur.execute("SELECT status, count(*), sum(amount) FROM cashouts WHERE id >= %s"
                                    " GROUP BY status ORDER BY status", (0,))
                        expected = [(st, 100, sum(a for _, s, a in rows if s == st))
                                    for st in ("PAID_OUT", "PENDING", "PROCESSING")]
                        self.assertEqual(cur.fetchall(), expected)
                created = conn.execute("SELECT created FROM cashouts LIMIT 1").fetchone()[0]
                self.assertIsInstance(created, datetime.datetime)
                prepared = conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
                self.assertGreater(prepared, 0)

    def test_transactions_and_errors(self):
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            with connect(proxy.port, autocommit=False) as conn:
                conn.execute("CREATE TEMP TABLE t (id int PRIMARY KEY)")
                conn.execute("INSERT INTO t VALUES (1)")
                with self.assertRaises(Exception):
                    conn.execute("INSERT INTO t VALUES (1)")
                conn.rollback()
                conn.execute("CREATE TEMP TABLE t (id int PRIMARY KEY)")
                conn.commit()
                self.assertEqual(conn.execute("SELECT count(*) FROM t").fetchone(), (0,))


class NodePostgres(unittest.TestCase):
    def test_node_postgres(self):
        self.assertTrue((NODE_DIR / "node_modules" / "pg").exists(), "run deploy/install-deps.sh")
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            env = dict(os.environ, SY_PORT=str(proxy.port))
            r = subprocess.run(["node", "pg_client.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("node-postgres ok", r.stdout)


if __name__ == "__main__":
    unittest.main()
