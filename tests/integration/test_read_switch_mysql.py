"""The MySQL read switch against real MariaDB, judged by an oracle.

For every query of tests/corpus/mysql_reads.json the result through the proxy
with the tenant in read_switch must equal the ORIGINAL query run directly on a
copy of the tables (database app_oracle) where legacy := reverse(unified), the
unreversible policy applied: same column names, same rows (in order where the
query's ORDER BY fixes it, as a multiset otherwise). The source data has legacy
and unified disagree on most rows, so a read that is not switched fails.
Queries the recogniser reports unsupported must come back exactly as the
unswitched query does, and be counted read_unsupported.

Both protocols: PyMySQL (COM_QUERY, parameters inlined) and mysql2 `execute`
(COM_STMT_PREPARE/EXECUTE). A property test mutates the corpus (literals,
unmapped values, operators, IN lists, joins, ORDER BY directions, literals
turned into parameters) and checks the same oracle over thousands of cases;
SY_READ_SEED reproduces a run.
"""
import json
import os
import random
import re
import subprocess
import tempfile
import unittest
import urllib.request
from pathlib import Path

import pymysql

from harness import Proxy, free_port

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
NODE_DIR = Path(__file__).parent / "node"
MYPORT = int(os.environ.get("MYPORT", "3306"))
ORACLE_DB = "app_oracle"
SEED = int(os.environ.get("SY_READ_SEED", "20261201"))
TEXT_CASES = int(os.environ.get("SY_READ_TEXT_CASES", "3000"))
PREPARED_CASES = int(os.environ.get("SY_READ_PREPARED_CASES", "1500"))

MIGRATIONS = {
    "transfer_state": dict(table="transfers", legacy="state", unified="unified_state", unreversible="legacy",
                           map={"draft": "OPEN", "sent": "SENT", "receiving": "DISPATCHED", "received": "RECEIVED",
                                "completed": "RECEIVED", "cancelled": "CANCELLED"},
                           reverse={"RECEIVED": "received"}),
    "order_status": dict(table="orders", legacy="status", unified="unified_status", unreversible="null",
                         map={"Created": "CREATED", "Awaiting approval": "PENDING_APPROVAL",
                              "Awaiting fulfilment": "APPROVED", "In fulfilment": "IN_FULFILMENT",
                              "Dispatched": "DISPATCHED", "Delivered": "DELIVERED", "Cancelled": "CANCELLED"},
                         reverse={}),
    "pr_status": dict(table="orders", legacy="pr_status", unified="unified_pr_status", unreversible="legacy",
                      map={"draft": "DRAFT", "submitted": "SUBMITTED", "approved": "APPROVED"}, reverse={}),
}
ENUM_STATUS = ["Created", "Awaiting approval", "Awaiting fulfilment", "In fulfilment", "Dispatched", "Delivered",
               "Cancelled", "On hold"]
# Values the mutations draw from: mapped legacy values, unmapped ones, other spellings.
LITERALS = ["draft", "sent", "receiving", "received", "completed", "cancelled", "weird", "SENT", "Sent", "nope", "",
            "Created", "Dispatched", "Delivered", "On hold", "approved", "rejected", "rec%", "%e%", "NSW"]


def flow(d):
    return "{ " + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in d.items()) + " }"


def proxy_config(ports, admin_port):
    listeners = "".join(f"""  - name: {name}
    protocol: mysql
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: 127.0.0.1:{MYPORT} }}
""" for name, port in ports.items())
    tenants = "".join(f"""  - name: {name}
    match: {{ listener: {name}, database: app }}
    phase: {phase}
    on_unsupported: forward
    migrations: [{", ".join(MIGRATIONS)}]
""" for name, phase in (("reads", "read_switch"), ("dual", "dual_write"), ("clean", "cleanup")))
    migrations = "".join(f"""  {name}:
    table: {m["table"]}
    legacy_column: {m["legacy"]}
    unified_column: {m["unified"]}
    map: {flow(m["map"])}
    unreversible: "{m["unreversible"]}"
""" + (f"    reverse: {flow(m['reverse'])}\n" if m["reverse"] else "") for name, m in MIGRATIONS.items())
    return (f"listeners:\n{listeners}tenants:\n{tenants}migrations:\n{migrations}"
            f"admin: {{ listen: 127.0.0.1:{admin_port} }}\n")


def connect(port=MYPORT, db="app", **kw):
    args = dict(host="127.0.0.1", port=port, user="app", password="apppass", database=db, autocommit=True)
    args.update(kw)
    return pymysql.connect(**args)


# ---- the oracle ----------------------------------------------------------------
def reverse_of(m, legacy, unified):
    """legacy' for one row: the reverse map's legacy value for `unified`,
    matched as the unified column's collation (utf8mb4_general_ci: case- and
    trailing-space-insensitive) compares, else the unreversible policy."""
    entries = []
    for lv, uv in m["map"].items():
        if uv not in [u for u, _ in entries]:
            entries.append((uv, m["reverse"].get(uv, lv)))
    if unified is not None:
        key = unified.rstrip(" ").casefold()
        for uv, lv in entries:
            if uv.rstrip(" ").casefold() == key:
                return lv
    return legacy if m["unreversible"] == "legacy" else None


def fill(rng):
    """Rows where legacy and unified mostly disagree, with unmapped unified
    values, a case variant, trailing spaces and NULLs on both sides."""
    t_uni = ["OPEN", "SENT", "DISPATCHED", "RECEIVED", "CANCELLED", "LOST", "open", "SENT ", None]
    t_leg = ["draft", "sent", "receiving", "received", "completed", "cancelled", "weird", None]
    o_uni = list(MIGRATIONS["order_status"]["map"].values()) + ["ON_HOLD", None]
    p_uni, p_leg = ["DRAFT", "SUBMITTED", "APPROVED", "REJECTED", None], ["draft", "submitted", "approved", "rejected", None]

    def disagreeing(m, choices, unified):
        want = reverse_of(m, None, unified)
        pool = [c for c in choices if c != want] if rng.random() < 0.85 else [want]
        return rng.choice(pool)

    transfers = []
    for i in range(1, 241):
        u = rng.choice(t_uni)
        transfers.append((i, i % 7, i % 5, disagreeing(MIGRATIONS["transfer_state"], t_leg, u), u, f"n{i}"))
    orders = []
    for i in range(1, 121):
        u, pu = rng.choice(o_uni), rng.choice(p_uni)
        orders.append((i, disagreeing(MIGRATIONS["order_status"], ENUM_STATUS + [None], u), u,
                       disagreeing(MIGRATIONS["pr_status"], p_leg, pu), pu, rng.randint(1, 999), i % 7))
    outlets = [(i, f"outlet {i}", "north" if i % 2 else "south", ["NSW", "VIC", "QLD"][i % 3]) for i in range(7)]
    items = [(i, rng.randint(1, 240), rng.choice(["tea", "cups", "sugar", "milk"]), rng.randint(1, 9))
             for i in range(1, 301)]
    return dict(transfers=transfers, orders=orders, outlets=outlets, transfer_items=items)


def load(rows):
    with connect(client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS) as conn, conn.cursor() as cur:
        cur.execute((CORPUS / "mysql_read_schema.sql").read_text())
        while cur.nextset():
            pass
        for table, data in rows.items():
            marks = ", ".join(["%s"] * len(data[0]))
            cols = {"transfers": "id, outlet_from, outlet_to, state, unified_state, note",
                    "orders": "id, status, unified_status, pr_status, unified_pr_status, amount, outlet_id",
                    "outlets": "id, name, region, state", "transfer_items": "id, transfer_id, product, qty"}[table]
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", data)


def build_oracle():
    """app_oracle: a copy of app's tables with legacy := reverse(unified)."""
    with pymysql.connect(host="127.0.0.1", port=MYPORT, user="root", autocommit=True) as root, root.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {ORACLE_DB}")
        cur.execute(f"CREATE DATABASE {ORACLE_DB}")
        cur.execute(f"GRANT ALL ON {ORACLE_DB}.* TO 'app'@'%'")
    with connect() as conn, conn.cursor() as cur:
        for table in ("transfers", "orders", "outlets", "transfer_items"):
            cur.execute(f"CREATE TABLE {ORACLE_DB}.{table} LIKE app.{table}")
            cur.execute(f"INSERT INTO {ORACLE_DB}.{table} SELECT * FROM app.{table}")
        for m in MIGRATIONS.values():
            cur.execute(f"SELECT id, {m['legacy']}, {m['unified']} FROM app.{m['table']}")
            updates = [(reverse_of(m, legacy, unified), row_id) for row_id, legacy, unified in cur.fetchall()]
            cur.executemany(f"UPDATE {ORACLE_DB}.{m['table']} SET {m['legacy']} = %s WHERE id = %s", updates)


# ---- running queries -----------------------------------------------------------
def inline(conn, sql, params):
    """The text-protocol form of a query with ? placeholders."""
    if not params:
        return sql
    parts = sql.split("?")
    assert len(parts) == len(params) + 1, sql
    return parts[0] + "".join(conn.escape(p) + rest for p, rest in zip(params, parts[1:]))


def run_text(conn, sql, params=None):
    """{ok, columns: [(name, type)], rows} or {ok: False, code}, as the node runner gives."""
    try:
        with conn.cursor() as cur:
            cur.execute(inline(conn, sql, params))
            cols = [(d[0], d[1]) for d in cur.description or []]
            rows = [[None if v is None else str(v) for v in row] for row in cur.fetchall()]
        return {"ok": True, "columns": cols, "rows": rows}
    except pymysql.MySQLError as e:
        return {"ok": False, "code": e.args[0], "error": str(e)}


def run_node(port, db, queries, mode="execute"):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(queries, f)
    try:
        r = subprocess.run(["node", "mysql_reads.js"], cwd=NODE_DIR, capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, SY_PORT=str(port), SY_DB=db, SY_QUERIES=f.name, SY_MODE=mode))
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        raise AssertionError(f"node mysql_reads.js failed: {r.stderr}")
    out = json.loads(r.stdout)
    for res in out:
        if res["ok"]:
            res["columns"] = [tuple(c) for c in res["columns"]]
    return out


def for_db(sql, db):
    return sql.replace("{db}", db)


# MySQL types: a switched ENUM column comes back as VARCHAR (the CASE is a string).
MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_STRING = 253, 254


def differences(got, want, ordered):
    """Why two results differ, or None."""
    if got["ok"] != want["ok"]:
        return f"one failed: {got.get('error') or want.get('error')}"
    if not got["ok"]:
        return None if got["code"] == want["code"] else f"errors differ: {got['error']} / {want['error']}"
    names = [c[0] for c in got["columns"]], [c[0] for c in want["columns"]]
    if names[0] != names[1]:
        return f"column names {names[0]} != {names[1]}"
    for (name, gt), (_, wt) in zip(got["columns"], want["columns"]):
        if gt != wt and not (wt == MYSQL_TYPE_STRING and gt == MYSQL_TYPE_VAR_STRING):
            return f"column {name}: type {gt} != {wt}"
    a, b = got["rows"], want["rows"]
    if not ordered:
        a, b = sorted(a, key=repr), sorted(b, key=repr)
    if a != b:
        return f"rows differ ({len(a)} vs {len(b)}): {a[:4]} / {b[:4]}"
    return None


class ReadSwitchMysql(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ports = {name: free_port() for name in ("reads", "dual", "clean")}
        cls.admin_port = free_port()
        cls.proxy = Proxy(proxy_config(cls.ports, cls.admin_port)).start()
        cls.corpus = json.loads((CORPUS / "mysql_reads.json").read_text())

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def setUp(self):
        load(fill(random.Random(SEED)))
        build_oracle()

    def counters(self, tenant="reads"):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        out = {}
        for outcome, v in re.findall(rf'^switchyard_rewrites_total\{{tenant="{tenant}",migration="\w+",outcome="(\w+)"\}} (\S+)$',
                                     text, re.M):
            out[outcome] = out.get(outcome, 0) + int(float(v))
        return out

    def check_corpus_text(self, label, tenant="reads"):
        """The corpus over COM_QUERY: each query's outcome counted as expected and its result as the oracle's."""
        failures, unswitched_differs, switched = [], 0, 0
        with connect(self.ports[tenant]) as via, connect(db=ORACLE_DB) as oracle, connect() as direct:
            for e in self.corpus:
                before = self.counters(tenant)
                got = run_text(via, for_db(e["sql"], "app"), e.get("params"))
                after = self.counters(tenant)
                delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                plain = run_text(direct, for_db(e["sql"], "app"), e.get("params"))
                want = run_text(oracle, for_db(e["sql"], ORACLE_DB), e.get("params")) if e["expect"] == "switched" else plain
                self.assertEqual(want.get("code"), e.get("error"), f"{e['sql']}: {want.get('error')}")
                why = differences(got, want, e["ordered"])
                if why:
                    failures.append(f"{e['sql']}\n   {why}")
                counted = {"switched": delta.get("read_switched", 0) > 0 and not delta.get("read_unsupported"),
                           "unsupported": delta.get("read_unsupported") == 1 and not delta.get("read_switched"),
                           "untouched": not delta.get("read_switched") and not delta.get("read_unsupported")}[e["expect"]]
                if not counted:
                    failures.append(f"{e['sql']}\n   expected {e['expect']}, counters moved by {delta}")
                if e["expect"] == "switched":
                    switched += 1
                    unswitched_differs += differences(plain, want, e["ordered"]) is not None
        self.assertEqual(failures, [], f"{label}: {len(failures)} failures")
        return switched, unswitched_differs

    def test_corpus_text_protocol(self):
        self.assertGreaterEqual(len(self.corpus), 60)
        switched, differs = self.check_corpus_text("text protocol")
        unsupported = sum(e["expect"] == "unsupported" for e in self.corpus)
        print(f"\nMySQL read corpus: {len(self.corpus)} queries, {switched} switched, "
              f"{unsupported} read_unsupported ({100.0 * unsupported / len(self.corpus):.1f}%); "
              f"the unswitched query differs from the oracle for {differs} of the {switched} switched")
        # The data makes the switch matter: most switched queries would be wrong unswitched.
        self.assertGreater(differs, switched * 3 // 4)

    def test_corpus_in_cleanup(self):
        """cleanup switches the same reads as read_switch."""
        self.check_corpus_text("cleanup", tenant="clean")

    def test_corpus_under_only_full_group_by(self):
        """sql_mode=ONLY_FULL_GROUP_BY (Laravel's strict mode sets it): the switched query is accepted
        wherever the original is, with the oracle's result. The one way they may differ: a HAVING that
        names a non-grouped column also in the select list is rejected (1463) for the original and
        accepted switched, where the name is the select item's alias (README)."""
        mode = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ONLY_FULL_GROUP_BY')"
        failures, more_permissive = [], []
        with connect(self.ports["reads"]) as via, connect(db=ORACLE_DB) as oracle, connect() as direct:
            for conn in (via, oracle, direct):
                with conn.cursor() as cur:
                    cur.execute(mode)
            for e in self.corpus:
                got = run_text(via, for_db(e["sql"], "app"), e.get("params"))
                if e["expect"] == "switched":
                    want = run_text(oracle, for_db(e["sql"], ORACLE_DB), e.get("params"))
                else:
                    want = run_text(direct, for_db(e["sql"], "app"), e.get("params"))
                if got["ok"] and not want["ok"] and want["code"] == 1463:
                    more_permissive.append(e["sql"])
                    continue
                why = differences(got, want, e["ordered"])
                if why:
                    failures.append(f"{e['sql']}\n   {why}")
        print(f"\nONLY_FULL_GROUP_BY: {len(more_permissive)} queries rejected unswitched (1463) run switched: "
              f"{more_permissive}")
        self.assertEqual(failures, [])
        self.assertLessEqual(len(more_permissive), 1)

    def test_corpus_prepared_statements(self):
        """mysql2 execute: COM_STMT_PREPARE/EXECUTE, the binary protocol, parameters as sent."""
        queries = [dict(sql=for_db(e["sql"], "app"), params=e.get("params")) for e in self.corpus]
        got = run_node(self.ports["reads"], "app", queries)
        oracle = run_node(MYPORT, ORACLE_DB, [dict(q, sql=for_db(e["sql"], ORACLE_DB)) for q, e in zip(queries, self.corpus)])
        plain = run_node(MYPORT, "app", queries)
        failures = []
        for e, g, o, p in zip(self.corpus, got, oracle, plain):
            want = o if e["expect"] == "switched" else p
            self.assertEqual(want.get("code"), e.get("error"), f"{e['sql']}: {want.get('error')}")
            why = differences(g, want, e["ordered"])
            if why:
                failures.append(f"{e['sql']}\n   {why}")
        self.assertEqual(failures, [])

    def test_enum_column_reads_back_as_varchar(self):
        """What the README says: a switched ENUM column's values are right, its type is VARCHAR."""
        with connect(self.ports["reads"]) as via, connect(db=ORACLE_DB) as oracle:
            got = run_text(via, "SELECT status FROM orders WHERE id = 1")
            want = run_text(oracle, "SELECT status FROM orders WHERE id = 1")
        self.assertEqual(got["rows"], want["rows"])
        self.assertEqual(want["columns"], [("status", MYSQL_TYPE_STRING)])
        self.assertEqual(got["columns"], [("status", MYSQL_TYPE_VAR_STRING)])

    def test_switched_reads_follow_unified_and_dual_write_reads_do_not(self):
        with connect() as direct, direct.cursor() as cur:
            cur.execute("UPDATE transfers SET unified_state = 'CANCELLED' WHERE id % 10 = 0")
            cur.execute("UPDATE orders SET unified_status = 'DELIVERED' WHERE id % 7 = 0")
            cur.execute("SELECT id, state FROM transfers WHERE id % 10 = 0 ORDER BY id")
            stored = [list(r) for r in cur.fetchall()]
        build_oracle()
        sql = "SELECT id, state FROM transfers WHERE id % 10 = 0 ORDER BY id"
        with connect(self.ports["reads"]) as via, connect(self.ports["dual"]) as dual:
            switched = run_text(via, sql)["rows"]
            legacy = run_text(dual, sql)["rows"]
            self.assertEqual({state for _, state in switched}, {"cancelled"})
            self.assertEqual(legacy, [[str(i), s] for i, s in stored])
            self.assertGreater(sum(s != "cancelled" for _, s in legacy), 10)
            orders = run_text(via, "SELECT DISTINCT status FROM orders WHERE id % 7 = 0")["rows"]
            self.assertEqual(orders, [["Delivered"]])
        # And the whole corpus follows the corrupted unified column.
        self.check_corpus_text("after corrupting unified")

    def test_property_mutated_queries(self):
        rng = random.Random(SEED)
        bases = [e for e in self.corpus if e["expect"] == "switched" and not e.get("error")]
        text_cases = [mutate(rng, rng.choice(bases)) for _ in range(TEXT_CASES)]
        before = self.counters()
        failures, errors, unswitched_wrong = [], 0, 0
        with connect(self.ports["reads"]) as via, connect(db=ORACLE_DB) as oracle, connect(self.ports["dual"]) as dual:
            for sql, params, ordered in text_cases:
                got = run_text(via, for_db(sql, "app"), params)
                want = run_text(oracle, for_db(sql, ORACLE_DB), params)
                errors += not want["ok"]
                why = differences(got, want, ordered)
                if why:
                    failures.append(f"{inline(via, sql, params)}\n   {why}")
                # the same case unswitched (dual_write), to show the cases tell switched from not
                unswitched_wrong += differences(run_text(dual, for_db(sql, "app"), params), want, ordered) is not None
        after = self.counters()
        self.assertEqual(failures[:10], [], f"{len(failures)} of {len(text_cases)} text cases differ (seed {SEED})")
        self.assertEqual(after.get("read_unsupported", 0), before.get("read_unsupported", 0))
        # Prepared: literals become ? parameters, the binary protocol carries them.
        prepared = [parameterise(rng, *mutate(rng, rng.choice(bases))) for _ in range(PREPARED_CASES)]
        got = run_node(self.ports["reads"], "app", [dict(sql=for_db(s, "app"), params=p) for s, p, _ in prepared])
        want = run_node(MYPORT, ORACLE_DB, [dict(sql=for_db(s, ORACLE_DB), params=p) for s, p, _ in prepared])
        for (sql, params, ordered), g, w in zip(prepared, got, want):
            why = differences(g, w, ordered)
            if why:
                failures.append(f"{sql} {params}\n   {why}")
        print(f"\nread-switch property test: seed {SEED}, {len(text_cases)} text + {len(prepared)} prepared cases "
              f"({errors} text cases are errors on both sides), {len(failures)} failures; unswitched, "
              f"{unswitched_wrong} of the {len(text_cases)} text cases would differ from the oracle")
        self.assertGreater(unswitched_wrong, len(text_cases) // 2)
        self.assertEqual(failures[:10], [], f"{len(failures)} failures (seed {SEED})")

    def test_real_clients(self):
        """The mariadb CLI's output, byte for byte, equals the oracle's."""
        for e in [e for e in self.corpus if e["expect"] == "switched" and e["ordered"] and not e.get("params")][:8]:
            outs = []
            for port, db in ((self.ports["reads"], "app"), (MYPORT, ORACLE_DB)):
                r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", "-uapp", "-papppass", db,
                                    "--batch", "-e", for_db(e["sql"], db)], capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                outs.append(r.stdout)
            self.assertEqual(outs[0], outs[1], e["sql"])
            self.assertTrue(outs[0].strip())

    def test_explain_shows_the_switched_read(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(self.proxy.config_text)
        try:
            r = subprocess.run([self.proxy.binary, "explain", "-c", f.name, "--tenant", "dual", "--dialect", "mysql",
                                "--phase", "read_switch", "SELECT t.id, t.state FROM transfers t WHERE t.state = ?"],
                               capture_output=True, text=True, timeout=30)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("decision: rewrite", r.stdout)
        self.assertIn("read_switched [transfer_state on transfers]", r.stdout)
        self.assertIn("SELECT t.id, CASE `t`.`unified_state` WHEN 'OPEN' THEN 'draft'", r.stdout)
        self.assertIn("ELSE t.state END AS state FROM transfers t WHERE CASE `t`.`unified_state`", r.stdout)
        self.assertIn("END = ?", r.stdout)

    def test_cleanup_writes_read_the_switched_column(self):
        with connect(self.ports["clean"]) as via, via.cursor() as cur, connect(db=ORACLE_DB) as oracle, \
                oracle.cursor() as ocur:
            before = self.counters("clean")
            cur.execute("UPDATE transfers SET note = 'hit' WHERE state IN ('sent', 'received') OR outlet_to = 9")
            ocur.execute("SELECT id FROM transfers WHERE state IN ('sent', 'received') ORDER BY id")
            want = [r[0] for r in ocur.fetchall()]
            cur.execute("INSERT INTO transfer_items (id, transfer_id, product, qty) "
                        "SELECT id + 1000, id, state, 1 FROM transfers WHERE state <> 'draft'")
            ocur.execute("SELECT id + 1000, id, state FROM transfers WHERE state <> 'draft' ORDER BY id")
            want_items = [list(r) for r in ocur.fetchall()]
            cur.execute("DELETE FROM transfer_items WHERE id < 1000 AND transfer_id IN "
                        "(SELECT id FROM transfers WHERE state = 'cancelled')")
            ocur.execute("SELECT COUNT(*) FROM transfer_items WHERE transfer_id IN "
                         "(SELECT id FROM transfers WHERE state = 'cancelled')")
            deleted = ocur.fetchone()[0]
            self.assertEqual(cur.rowcount, deleted)
            switched = self.counters("clean")
            # A cleanup write that reads the legacy column where the switch cannot follow: unsupported, visibly.
            cur.execute("UPDATE transfers t JOIN outlets o ON o.id = t.outlet_from SET t.outlet_to = LENGTH(t.state) WHERE o.id = 1")
            cur.execute("UPDATE transfers SET state = IF(state = 'draft', 'sent', 'cancelled') WHERE id = 3")
            after = self.counters("clean")
        with connect() as direct, direct.cursor() as cur:
            cur.execute("SELECT id FROM transfers WHERE note = 'hit' ORDER BY id")
            self.assertEqual([r[0] for r in cur.fetchall()], want)
            cur.execute("SELECT id, transfer_id, product FROM transfer_items WHERE id > 1000 ORDER BY id")
            self.assertEqual([list(r) for r in cur.fetchall()], want_items)
        self.assertEqual(switched.get("read_switched", 0) - before.get("read_switched", 0), 3)
        self.assertEqual(after.get("unsupported", 0) - switched.get("unsupported", 0), 2)


# ---- mutations -----------------------------------------------------------------
STRING = re.compile(r"'([^'\\]*)'")


def mutate(rng, e):
    """A variant of corpus entry `e` with the same shape: (sql, params, ordered)."""
    sql, params = e["sql"], list(e.get("params") or [])
    # IN lists of string literals: a random non-empty subset of the pool
    sql = re.sub(r"IN \(('[^']*'(?:, '[^']*')*)\)",
                 lambda m: "IN (" + ", ".join("'" + v + "'" for v in rng.sample(LITERALS, rng.randint(1, 4))) + ")"
                 if rng.random() < 0.6 else m.group(0), sql)
    # other string literals: a mapped, unmapped or differently spelled value
    sql = STRING.sub(lambda m: "'" + rng.choice(LITERALS) + "'" if rng.random() < 0.5 else m.group(0), sql)
    # comparison operators before a literal
    sql = re.sub(r"(?<![<>!])(=|<>) '", lambda m: rng.choice(["= '", "<> '", ">= '", "< '"]) + "", sql)
    sql = re.sub(r" (NOT )?IN \('", lambda m: rng.choice([" IN ('", " NOT IN ('"]), sql)
    sql = re.sub(r"IS (NOT )?NULL", lambda m: rng.choice(["IS NULL", "IS NOT NULL"]), sql)
    sql = re.sub(r" (NOT )?LIKE '", lambda m: rng.choice([" LIKE '", " NOT LIKE '"]), sql)
    # numbers compared with columns
    sql = re.sub(r"([<>=] )(\d+)\b", lambda m: m.group(1) + str(rng.randint(0, 60)) if rng.random() < 0.5 else m.group(0), sql)
    # inner joins become outer joins
    sql = re.sub(r"(?<![A-Z_]) (INNER )?JOIN ", lambda m: rng.choice([m.group(0), " LEFT JOIN "]), sql)
    # ORDER BY directions: all keys flipped keeps a total order total
    if e["ordered"] and rng.random() < 0.5:
        m = re.search(r" ORDER BY (.+?)( LIMIT .*| FOR UPDATE)?$", sql)
        if m and "(" not in m.group(1):
            keys = [k.strip() for k in m.group(1).split(",")]
            flipped = [k[:-5] if k.endswith(" DESC") else k + " DESC" for k in keys]
            sql = sql[:m.start(1)] + ", ".join(flipped) + (m.group(2) or "")
    # parameters: other values from the pool
    params = [rng.choice(LITERALS) if isinstance(p, str) else rng.randint(0, 60) for p in params]
    return sql, params or None, e["ordered"]


def parameterise(rng, sql, params, ordered):
    """Some string literals of `sql` become ? parameters (binary protocol)."""
    params = list(params or [])
    if "?" in sql:
        return sql, params, ordered
    out, values = [], []
    last = 0
    for m in STRING.finditer(sql):
        before = sql[max(0, m.start() - 10):m.start()]
        # not a charset-introduced literal (_utf8mb4'x') nor a SEPARATOR, which take no parameter
        if rng.random() < 0.7 and not re.search(r"(\w|SEPARATOR )$", before):
            out.append(sql[last:m.start()] + "?")
            values.append(m.group(1))
            last = m.end()
    out.append(sql[last:])
    return "".join(out), values, ordered


if __name__ == "__main__":
    unittest.main()
