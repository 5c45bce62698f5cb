"""The rewrite corpus against the real server, through the proxy.

Every statement of tests/corpus/pg_rewrites.json runs through switchyard in
dual_write: those with parameters over the extended protocol (psycopg,
server-side binding), the others over the simple protocol. Afterwards every
row of every migrated table must satisfy unified = map(legacy), or the
migration's unmapped policy. Statements the corpus marks as refused must fail
with switchyard's message and leave nothing behind.
"""
import json
import subprocess
import unittest
from pathlib import Path

import psycopg
import yaml

from harness import PGPORT, Proxy, connect, dsn, free_port

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
# Rows written by the corpus's unsupported forms, which on_unsupported: forward
# sends through unchanged: they are the ones that must NOT be dual-written.
UNSUPPORTED_ROWS = {"order_status": [48], "exchange_status": [501, 502, 600]}


def corpus_config(port):
    text = (CORPUS / "corpus.yaml").read_text()
    text = text.replace("listen: 127.0.0.1:6432", f"listen: 127.0.0.1:{port}")
    return text.replace("address: 127.0.0.1:5432", f"address: 127.0.0.1:{PGPORT}")


def load_schema():
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn(PGPORT), "-f", str(CORPUS / "schema.sql")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def migrations():
    """Each migration of corpus.yaml with its table as an SQL reference."""
    cfg = yaml.safe_load((CORPUS / "corpus.yaml").read_text())
    out = []
    for name, m in cfg["migrations"].items():
        schema, _, table = m["table"].rpartition(".")
        ref = (f'"{schema}".' if schema else "") + f'"{table}"'
        out.append({"name": name, "table": ref, "legacy": f'"{m["legacy_column"]}"',
                    "unified": f'"{m["unified_column"]}"', "map": {str(k): str(v) for k, v in m["map"].items()},
                    "unmapped": "null" if m["unmapped"] is None else m["unmapped"]})
    return out


class RewriteCorpus(unittest.TestCase):
    def test_corpus_through_the_proxy(self):
        entries = json.loads((CORPUS / "pg_rewrites.json").read_text())
        self.assertGreaterEqual(len(entries), 150)
        load_schema()
        with Proxy(corpus_config(free_port())) as proxy:
            simple = connect(proxy.port)
            simple.cursor_factory = psycopg.ClientCursor  # client-side binding: the simple Query protocol
            extended = connect(proxy.port)
            failures = []
            for e in entries:
                try:
                    if "params" in e:
                        # libpq's PQexecParams: Parse/Bind/Execute with untyped
                        # text parameters, so the server infers every type.
                        res = extended.pgconn.exec_params(e["sql"].encode(), [str(p).encode() for p in e["params"]])
                        if res.status == psycopg.pq.ExecStatus.FATAL_ERROR:
                            raise psycopg.Error(res.error_message.decode())
                    else:
                        simple.execute(e["sql"])
                    if e.get("expect_error"):
                        failures.append(f"expected an error: {e['sql']}")
                except psycopg.Error as err:
                    want = e.get("expect_error")
                    if not want:
                        failures.append(f"{e['sql']}\n  -> {err}")
                    elif want == "unmapped" and "switchyard: unmapped value" not in str(err):
                        failures.append(f"{e['sql']}\n  -> wrong error: {err}")
            simple.close()
            extended.close()
            self.assertEqual(failures, [])
            log = proxy.log_text()
        self.assertIn('"category":"UNMAPPED_VALUE"', log)
        self.assertIn('"category":"REWRITE_UNSUPPORTED"', log)
        self.check_invariants()

    def check_invariants(self):
        with connect(PGPORT) as conn:
            for m in migrations():
                cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in m["map"].items())
                expected_unmapped = {"null": "unified IS NULL", "copy": "unified = legacy::text",
                                     "keep": "true", "reject": "false"}[m["unmapped"]]
                sql = (f"SELECT count(*) FILTER (WHERE mapped IS NOT NULL AND unified IS DISTINCT FROM mapped), "
                       f"count(*) FILTER (WHERE mapped IS NULL AND legacy IS NOT NULL AND NOT ({expected_unmapped})), "
                       f"count(*) FILTER (WHERE mapped IS NOT NULL), count(*) "
                       f"FROM (SELECT {m['legacy']}::text AS legacy, {m['unified']}::text AS unified, "
                       f"CASE {m['legacy']}::text {cases} END AS mapped FROM {m['table']} "
                       f"WHERE id <> ALL(%s)) t")
                skipped = UNSUPPORTED_ROWS.get(m["name"], [])
                bad_mapped, bad_unmapped, mapped, total = conn.execute(sql, (skipped,)).fetchone()
                if skipped:
                    stale = conn.execute(f"SELECT count(*) FROM {m['table']} WHERE id = ANY(%s) AND "
                                         f"{m['unified']}::text IS DISTINCT FROM CASE {m['legacy']}::text {cases} END",
                                         (skipped,)).fetchone()[0]
                    self.assertEqual(stale, len(skipped), "unsupported writes were forwarded unchanged")
                with self.subTest(migration=m["name"]):
                    self.assertEqual(bad_mapped, 0, f"{m['name']}: rows where unified != map(legacy)")
                    self.assertEqual(bad_unmapped, 0, f"{m['name']}: rows breaking unmapped: {m['unmapped']}")
                    self.assertGreater(mapped, 0)
            # The refused multi-statement Query rolled back its first statement too.
            self.assertEqual(conn.execute("SELECT status FROM escrows WHERE id = 23").fetchone()[0], "CREATED")
            self.assertIsNone(conn.execute("SELECT 1 FROM escrows WHERE id = 103").fetchone())
            # Spot checks of forms that are easy to get wrong.
            rows = dict(conn.execute("SELECT id, unified_status FROM orders WHERE id IN (1, 2, 15, 204, 213)").fetchall())
            self.assertEqual(rows[1], "DELIVERED")      # upsert, update path
            self.assertEqual(rows[2], "CANCELLED")      # upsert with alias
            self.assertEqual(rows[15], "CREATED")       # unmapped + keep: untouched
            self.assertIsNone(rows[204])                # unmapped INSERT + keep: column default
            self.assertEqual(conn.execute("SELECT unified_status::text FROM cashouts WHERE id = 104").fetchone()[0], None)


def lit(v):
    return "'" + v.replace("'", "''") + "'"


if __name__ == "__main__":
    unittest.main()
