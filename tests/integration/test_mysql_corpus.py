"""The MySQL rewrite corpus against real MariaDB, through the proxy: prepared
statements (mysql2 execute) and COM_QUERY, then unified = map(legacy) for
every row (or the unmapped policy)."""
import json
import os
import subprocess
import unittest
from pathlib import Path

import pymysql
import yaml

from harness import Proxy, free_port

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
NODE_DIR = Path(__file__).parent / "node"
MYPORT = int(os.environ.get("MYPORT", "3306"))
# Rows written by unsupported forms, which on_unsupported: forward leaves alone.
UNSUPPORTED_ROWS = {"transfer_state": [60, 61, 309]}


def my_config(port, text=None):
    text = text or (CORPUS / "mysql_corpus.yaml").read_text()
    text = text.replace("listen: 127.0.0.1:3307", f"listen: 127.0.0.1:{port}")
    return text.replace("address: 127.0.0.1:3306", f"address: 127.0.0.1:{MYPORT}")


def direct(**kw):
    args = dict(host="127.0.0.1", port=MYPORT, user="app", password="apppass", database="app", autocommit=True)
    args.update(kw)
    return pymysql.connect(**args)


def load_schema():
    with direct(client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS) as conn, conn.cursor() as cur:
        cur.execute((CORPUS / "mysql_schema.sql").read_text())
        while cur.nextset():
            pass


class MysqlCorpus(unittest.TestCase):
    def test_corpus_through_the_proxy(self):
        entries = json.loads((CORPUS / "mysql_rewrites.json").read_text())
        self.assertGreaterEqual(len(entries), 100)
        load_schema()
        with Proxy(my_config(free_port())) as proxy:
            r = subprocess.run(["node", "mysql_corpus.js"], cwd=NODE_DIR, capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, SY_PORT=str(proxy.port),
                                        SY_CORPUS=str(CORPUS / "mysql_rewrites.json")))
            self.assertEqual(r.returncode, 0, r.stderr)
            results = json.loads(r.stdout)
            log = proxy.log_text()
        failures = []
        for e, res in zip(entries, results):
            want = e.get("expect_error")
            if res["ok"] and want:
                failures.append(f"expected an error: {e['sql']}")
            elif not res["ok"] and not want:
                failures.append(f"{e['sql']}\n  -> {res['error']}")
            elif not res["ok"] and want not in res["error"] and want != str(res.get("code")):
                failures.append(f"{e['sql']}\n  -> wrong error: {res['error']}")
        self.assertEqual(failures, [])
        self.assertIn('"category":"REWRITE_UNSUPPORTED"', log)
        self.check_invariants()

    def check_invariants(self):
        cfg = yaml.safe_load((CORPUS / "mysql_corpus.yaml").read_text())
        with direct() as conn, conn.cursor() as cur:
            for name, m in cfg["migrations"].items():
                legacy, unified, table = m["legacy_column"], m["unified_column"], m["table"]
                mapping = {str(k): str(v) for k, v in m["map"].items()}
                cur.execute(f"SELECT id, CAST({legacy} AS CHAR), {unified} FROM {table}")
                skipped = set(UNSUPPORTED_ROWS.get(name, []))
                bad, mapped = [], 0
                for row_id, lv, uv in cur.fetchall():
                    if row_id in skipped:
                        continue
                    if lv in mapping:
                        mapped += 1
                        if uv != mapping[lv]:
                            bad.append((row_id, lv, uv))
                    elif lv is not None and m["unmapped"] is None and uv is not None:
                        bad.append((row_id, lv, uv))
                with self.subTest(migration=name):
                    self.assertEqual(bad, [])
                    self.assertGreater(mapped, 0)
            # Forwarded unsupported writes really were left alone.
            cur.execute("SELECT COUNT(*) FROM transfers WHERE id IN (60, 61) AND state = 'sent' AND unified_state = 'OPEN'")
            self.assertEqual(cur.fetchone()[0], 2)
            # The refused statements wrote nothing, including the multi-statement's first half.
            cur.execute("SELECT id, pr_status FROM orders WHERE id IN (34, 36, 37, 38) ORDER BY id")
            self.assertEqual(cur.fetchall(), ((34, "draft"), (36, "draft"), (37, "approved"), (38, "draft")))
            cur.execute("SELECT COUNT(*) FROM orders WHERE id = 205")
            self.assertEqual(cur.fetchone()[0], 0)


if __name__ == "__main__":
    unittest.main()
