"""Shadow reads and the guard against the real MariaDB.

A sample of a tenant's COM_QUERY reads of a legacy status column is run again
by the proxy on its own connection (MariaDB Connector/C), as the original
(legacy) and as the read switch serves it (reverse(unified)), both in one
`START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` (REPEATABLE READ), and
the answers are compared in the unified space. Through real clients (PyMySQL,
the mariadb command-line client, sysbench):

  (a) consistent data: mixed reads (single row, IN lists, aggregates, ORDER BY
      with ties under LIMIT, DECIMAL/DOUBLE/DATETIME(3)/ENUM columns) at
      sample_percent 100 give 0 mismatches and compares for >= 99 % of them;
  (b) 5 % of unified values corrupted: the mismatches name exactly the
      corrupted rows, the guard rolls the tenant and its canary back, and a
      PATCH moves it forward again;
  (c) a sysbench write load on the same rows, dual-written through the proxy,
      while every read is shadowed: false-mismatch rate <= 0.1 %, no trip;
  (d) RAND() and NOW(6): reported as noise, never a mismatch, never a trip;
  (e) a shadow target (a second MariaDB) that stops answering (SIGSTOP), then
      is shut down: no client error, drops counted;
  (f) prepared statements (npm mysql2 `execute`: COM_STMT_PREPARE/EXECUTE,
      binary parameters of several types and NULL): compared with their
      parameters replayed, 0 mismatches on consistent data, and a corrupted
      row read through a prepared statement is named with its parameter;
  (g) the latency report: with an index on the legacy column only, the
      switched form of `WHERE status = ?` scans the table, and /v1/slow_reads
      names that fingerprint with MariaDB's EXPLAIN of both forms.

No assertion depends on wall-clock time: waits poll the proxy's counters
until they stop moving (with a generous bound that only ends a hung test).
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest
from pathlib import Path

import pymysql

from harness import REPO, Proxy, free_port

NODE_DIR = Path(__file__).parent / "node"
from test_shadow_pg import Admin, proxy_cpu, settled

TOKEN = "shadow-token"
MYPORT = int(os.environ.get("MYPORT", "3306"))
MAP = {"Awaiting approval": "PENDING_APPROVAL", "Dispatched": "DISPATCHED", "Delivered": "DELIVERED", "Lost": "LOST"}
LEGACY = list(MAP)
ROWS = 2000
ENV = {"SY_TEST_ADMIN_TOKEN": TOKEN, "SY_SHADOW_MY_PW": "apppass"}


def config_text(port, admin, *, phase="dual_write", canary="", shadow=None, guard="", targets="", state_file=None):
    settings = {"sample_percent": 100, "max_inflight": 512, "timeout_ms": 10000, **(shadow or {})}
    shadow = ", ".join(f"{k}: {json.dumps(v)}" for k, v in settings.items())
    return f"""
listeners:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: "127.0.0.1:{MYPORT}", user: app, password_env: SY_SHADOW_MY_PW, database: app }}
{targets}
    primary: legacy
admin:
  listen: 127.0.0.1:{admin}
  token_env: SY_TEST_ADMIN_TOKEN
runtime: {{ workers: 2 }}
{f"state_file: {state_file}" if state_file else ""}
tenants:
  - name: acme
    match: {{ listener: my, database: app }}
    phase: {phase}
{canary}
    shadow: {{ {shadow} }}
{guard}
    migrations: [order_status]
migrations:
  order_status:
    table: shm_orders
    legacy_column: status
    unified_column: unified_status
    map: {json.dumps(MAP)}
"""


def connect(port, **kw):
    args = dict(host="127.0.0.1", port=port, user="app", password="apppass", database="app", autocommit=True)
    args.update(kw)
    return pymysql.connect(**args)


def make_table(port, corrupt=()):
    with connect(port) as c, c.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS shm_orders")
        cur.execute("CREATE TABLE shm_orders (id INT PRIMARY KEY, status VARCHAR(40), unified_status VARCHAR(40),"
                    " created INT, amount DECIMAL(10,2), ratio DOUBLE, at DATETIME(3),"
                    " kind ENUM('small','large')) ENGINE=InnoDB")
        rows = [(i, LEGACY[i % 4], i // 50, i * 1.5, i / 7, f"2026-12-01 10:{i % 60:02d}:{i % 59:02d}.{i % 1000:03d}",
                 "small" if i % 3 else "large") for i in range(1, ROWS + 1)]
        cur.executemany("INSERT INTO shm_orders (id, status, created, amount, ratio, at, kind)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
        case = "CASE status " + " ".join(f"WHEN '{l}' THEN '{u}'" for l, u in MAP.items()) + " END"
        cur.execute(f"UPDATE shm_orders SET unified_status = {case}")
        for i in corrupt:
            # Another valid unified value: only the comparison can tell.
            cur.execute("UPDATE shm_orders SET unified_status = CASE unified_status WHEN 'DELIVERED' THEN 'LOST'"
                        " ELSE 'DELIVERED' END WHERE id = %s", (i,))


def mariadb_cli(port, sql):
    out = subprocess.run(["mariadb", "--no-defaults", "--skip-ssl", "-h", "127.0.0.1", "-P", str(port), "-u", "app",
                          "-papppass", "--batch", "--skip-column-names", "app", "-e", sql],
                         check=True, capture_output=True, text=True, timeout=60)
    return [line.split("\t") for line in out.stdout.splitlines()]


class ShadowMysqlTest(unittest.TestCase):
    def setUp(self):
        self.port, self.admin_port = free_port(), free_port()
        self.admin = Admin(self.admin_port)
        self.tmp = tempfile.mkdtemp(prefix="sy-shadow-my-")
        os.chmod(self.tmp, 0o755)  # a second server (e) runs as user mysql below it
        make_table(MYPORT)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def proxy(self, **kw):
        kw.setdefault("state_file", os.path.join(self.tmp, "state.json"))
        return Proxy(config_text(self.port, self.admin_port, **kw), env=ENV)

    # (a) -----------------------------------------------------------------------------------------
    def test_consistent_data_gives_no_mismatch(self):
        reads = int(os.environ.get("SY_SHADOW_READS", "10000"))
        cli_reads = 20
        with self.proxy() as proxy:
            cpu_before = proxy_cpu(proxy)
            rng = random.Random(7)
            with connect(self.port) as a, connect(self.port) as b:
                ca, cb = a.cursor(), b.cursor()
                for n in range(reads - cli_reads):
                    i = rng.randint(1, ROWS - 30)
                    kind = n % 8
                    cur = ca if n % 2 else cb
                    if kind == 0:  # single row
                        cur.execute("SELECT id, status FROM shm_orders WHERE id = %s", (i,))
                        self.assertEqual(len(cur.fetchall()), 1)
                    elif kind == 1:  # every type the comparator normalises
                        cur.execute("SELECT id, status, amount, ratio, at, kind FROM shm_orders WHERE id = %s", (i,))
                    elif kind == 2:  # an IN list, status first
                        cur.execute("SELECT status, id FROM shm_orders WHERE id IN (%s, %s, %s)", (i, i + 7, i + 13))
                    elif kind == 3:  # aggregate over the status column
                        cur.execute("SELECT status, COUNT(*), SUM(amount) FROM shm_orders GROUP BY status")
                    elif kind == 4:  # aggregate with a filter on it
                        cur.execute("SELECT COUNT(*) FROM shm_orders WHERE status = %s", (LEGACY[i % 4],))
                    elif kind == 5:  # ORDER BY with ties (50 rows per `created`), cut by LIMIT
                        cur.execute("SELECT id, status, created FROM shm_orders WHERE created >= %s"
                                    " ORDER BY created LIMIT 70", (i // 50,))
                    elif kind == 6:  # ordered by a unique key
                        cur.execute("SELECT o.id, o.status FROM shm_orders o WHERE o.id BETWEEN %s AND %s"
                                    " ORDER BY o.id", (i, i + 20))
                    else:  # a range, as a multiset; grouped by an ENUM
                        cur.execute("SELECT kind, status, COUNT(*), AVG(ratio) FROM shm_orders WHERE id > %s"
                                    " AND id < %s GROUP BY kind, status", (i, i + 25))
                    cur.fetchall()
            # The mariadb command-line client: a connection per read.
            for n in range(cli_reads):
                i = 1 + n * 37
                rows = mariadb_cli(self.port, f"SELECT id, status FROM shm_orders WHERE id = {i}")
                self.assertEqual(rows, [[str(i), LEGACY[i % 4]]])
            compared, dropped, noise, mismatches = settled(self.admin)
            cpu_after = proxy_cpu(proxy)
            print(f"\n(a) {reads} reads ({cli_reads} by the mariadb client): compared {compared:.0f}, "
                  f"dropped {dropped:.0f}, noise {noise:.0f}, mismatches {mismatches:.0f}; proxy CPU "
                  f"{1e6 * (cpu_after - cpu_before) / reads:.0f} us/read (client statement + shadow)")
            self.assertEqual(mismatches, 0, self.admin.mismatches()[:3])
            self.assertEqual(noise, 0)
            self.assertEqual(dropped, 0)
            self.assertGreaterEqual(compared, reads * 0.99)
            self.assertEqual(self.admin.mismatches(), [])

    # (b) -----------------------------------------------------------------------------------------
    def test_corrupted_rows_are_named_and_the_guard_rolls_back(self):
        corrupt = set(random.Random(11).sample(range(1, ROWS + 1), ROWS // 20))  # 5 %
        make_table(MYPORT, corrupt)
        canary = "    canary: { phase: read_switch, percent: 50, sticky_by: session }"
        guard = "    guard: { warn_mismatch_rate: 0.01, critical_mismatch_rate: 0.03, min_samples: 200 }"
        with self.proxy(canary=canary, guard=guard, shadow={"log_parameters": True}) as proxy:
            order = list(range(1, ROWS + 1))
            random.Random(3).shuffle(order)
            conns = [connect(self.port) for _ in range(4)]
            read_before, tripped_at = [], None
            try:
                for start in range(0, len(order), 50):
                    batch = order[start:start + 50]
                    for k, i in enumerate(batch):
                        with conns[k % 4].cursor() as cur:
                            cur.execute("SELECT id, status FROM shm_orders WHERE id = %s", (i,))
                            self.assertEqual(cur.fetchall()[0][0], i)
                    settled(self.admin)
                    if self.admin.tenant()["phase"] != "dual_write":
                        tripped_at = batch
                        break
                    read_before += batch
            finally:
                for c in conns:
                    c.close()
            self.assertIsNotNone(tripped_at, "the guard never tripped")
            t = self.admin.tenant()
            # One phase back each: the canary keeps its share and its lead.
            self.assertEqual(t["phase"], "observe")
            self.assertEqual((t["canary"]["phase"], t["canary"]["percent"]), ("dual_write", 50))
            self.assertEqual(self.admin.total("guard_trips_total", tenant="acme"), 1)
            self.assertEqual(self.admin.total("guard_state", tenant="acme"), 2)
            proxy.wait_for_log(r'"category":"GUARD_TRIP"')
            proxy.wait_for_log(r'"category":"PHASE_CHANGE".*"who":"guard"')
            state = json.loads(Path(self.tmp, "state.json").read_text())
            self.assertEqual(state["tenants"]["acme"]["phase"], "observe")
            entries = self.admin.mismatches()
            named = {int(r.split()[1]) for e in entries for r in e["rows"]}
            read = len(read_before) + len(tripped_at)
            print(f"\n(b) tripped after {read} reads; {len(entries)} mismatches name {len(named)} rows, "
                  f"all corrupted: {named <= corrupt}")
            self.assertTrue(named <= corrupt, named - corrupt)
            self.assertEqual({i for i in read_before if i in corrupt} - named, set())
            self.assertEqual(len(entries), self.admin.total("shadow_mismatches_total", tenant="acme"))
            e = entries[0]
            self.assertEqual(e["compared"], "legacy vs unified")
            self.assertRegex(e["diff"], r"id \d+: status '[^']+' → map [A-Z_]+, unified '[^']+' \([A-Z_]+\)")
            status_lines = [r for r in proxy.log_records() if r.get("category") == "STATUS_MISMATCH"]
            self.assertEqual(len(status_lines), len(entries))
            status, body = self.admin.call("PATCH", "/v1/tenants/acme",
                                           {"phase": "dual_write", "canary": {"phase": "read_switch"}})
            self.assertEqual(status, 200, body)
            t = self.admin.tenant()
            self.assertEqual((t["phase"], t["canary"]["phase"], t["canary"]["percent"]), ("dual_write", "read_switch", 50))
            self.assertEqual(self.admin.total("guard_state", tenant="acme"), 0)

    # (c) -----------------------------------------------------------------------------------------
    def test_concurrent_writes_cause_no_false_mismatch(self):
        hot = ROWS // 10
        script = Path(self.tmp, "writes.lua")
        script.write_text(f"""
local statuses = {{{", ".join(json.dumps(s) for s in LEGACY)}}}
function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
end
function thread_done()
  con:disconnect()
end
function event()
  con:query(string.format("UPDATE shm_orders SET status = '%s' WHERE id = %d",
                          statuses[sysbench.rand.uniform(1, 4)], sysbench.rand.uniform(1, {hot})))
end
""")
        guard = "    guard: { min_samples: 50 }"
        # How long sysbench writes; the readers read for as long as it runs.
        seconds = os.environ.get("SY_SHADOW_WRITE_SECONDS", "30")
        with self.proxy(guard=guard):
            bench = subprocess.Popen(["sysbench", str(script), "--mysql-host=127.0.0.1", f"--mysql-port={self.port}",
                                      "--mysql-user=app", "--mysql-password=apppass", "--mysql-db=app",
                                      "--mysql-ssl=off", "--threads=4", "--events=0", f"--time={seconds}",
                                      "--mysql-ignore-errors=1213,1205", "run"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.tmp)
            counts, errors = [0, 0], []

            def reader(k):
                rng = random.Random(5 + k)
                with connect(self.port) as c, c.cursor() as cur:
                    while bench.poll() is None:
                        i = rng.randint(1, hot)
                        try:
                            cur.execute("SELECT id, status FROM shm_orders WHERE id BETWEEN %s AND %s ORDER BY id",
                                        (i, i + 5))
                            cur.fetchall()
                            counts[k] += 1
                        except pymysql.Error as e:  # counted, then asserted
                            errors.append(e)

            readers = [threading.Thread(target=reader, args=(k,)) for k in range(2)]
            for t in readers:
                t.start()
            out = bench.communicate()[0]
            for t in readers:
                t.join()
            reads = sum(counts)
            self.assertEqual(bench.returncode, 0, out)
            compared, dropped, noise, mismatches = settled(self.admin)
            rate = mismatches / max(compared, 1)
            drops = {(dict(ls)["reason"]): v for (f, ls), v in self.admin.metrics().items()
                     if f == "shadow_dropped_total" and v}
            writes = re.search(r"write:\s+(\d+)", out)
            print(f"\n(c) {reads} reads under sysbench writes ({writes.group(1) if writes else '?'} UPDATEs): "
                  f"compared {compared:.0f}, mismatches {mismatches:.0f} (false-mismatch rate {100 * rate:.3f} %), "
                  f"dropped {drops}")
            self.assertEqual(errors, [])
            self.assertGreater(compared, 200)
            self.assertGreaterEqual(compared, reads * 0.99)
            self.assertLessEqual(rate, 0.001, self.admin.mismatches()[:3])
            self.assertEqual(self.admin.total("guard_trips_total", tenant="acme"), 0)
            # The writes were dual-written: the data is consistent afterwards.
            with connect(MYPORT) as direct, direct.cursor() as cur:
                case = "CASE status " + " ".join(f"WHEN '{l}' THEN '{u}'" for l, u in MAP.items()) + " END"
                cur.execute(f"SELECT COUNT(*) FROM shm_orders WHERE NOT (unified_status <=> {case})")
                self.assertEqual(cur.fetchone()[0], 0)

    # (d) -----------------------------------------------------------------------------------------
    def test_volatile_queries_are_noise_and_never_trip(self):
        guard = "    guard: { min_samples: 20, critical_mismatch_rate: 0.01, warn_mismatch_rate: 0.005 }"
        with self.proxy(guard=guard) as proxy:
            with connect(self.port) as c, c.cursor() as cur:
                for n in range(300):
                    i = 1 + n % ROWS
                    cur.execute("SELECT id, status, RAND() AS r FROM shm_orders WHERE id = %s", (i,))
                    cur.fetchall()
                    cur.execute(f"SELECT id, status, NOW(6) AS t FROM shm_orders WHERE id = {i}")
                    cur.fetchall()
            compared, dropped, noise, mismatches = settled(self.admin)
            print(f"\n(d) 600 RAND()/NOW(6) reads: noise {noise:.0f}, compared {compared:.0f}, "
                  f"mismatches {mismatches:.0f}")
            self.assertEqual(mismatches, 0, self.admin.mismatches()[:3])
            # NOW(6) is the statement's start in MariaDB, so it differs between
            # the two forms as RAND() does: both fingerprints are noise, all
            # but the few shadows run before that was known.
            self.assertGreater(noise, 500)
            self.assertEqual(self.admin.total("guard_trips_total", tenant="acme"), 0)
            self.assertEqual(self.admin.tenant()["phase"], "dual_write")
            proxy.wait_for_log(r'"category":"SHADOW_NOISE".*RAND\(\)')

    # (e) -----------------------------------------------------------------------------------------
    def test_a_stopped_shadow_target_costs_the_client_nothing(self):
        second = Path(self.tmp, "second")
        subprocess.run(["bash", str(REPO / "tests" / "mariadb_server.sh"), "start", str(second)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stopped = None
        try:
            port2 = int(re.search(r"MYPORT=(\d+)", (second / "env").read_text()).group(1))
            make_table(port2)
            targets = (f'      shadow: {{ address: "127.0.0.1:{port2}", user: app, password_env: SY_SHADOW_MY_PW,'
                       f' database: app }}')
            with self.proxy(targets=targets, shadow={"target": "shadow", "timeout_ms": 300, "max_inflight": 8}):
                errors, reads = [], 0
                with connect(self.port) as c, c.cursor() as cur:
                    # The target answers. How many shadows fit in max_inflight 8
                    # and 300 ms depends on the machine's load: read until some
                    # have been compared rather than count on a share.
                    compared_before = 0
                    for n in range(5000):
                        cur.execute("SELECT id, status FROM shm_orders WHERE id = %s", (1 + n % ROWS,))
                        cur.fetchall()
                        if n % 100 == 99:
                            settled(self.admin)
                            compared_before = self.admin.total("shadow_compared_total", tenant="acme")
                            if compared_before >= 50:
                                break
                    self.assertGreaterEqual(compared_before, 50)
                    self.assertEqual(self.admin.total("shadow_mismatches_total", tenant="acme"), 0)

                    def read_many(count):
                        nonlocal reads
                        for n in range(count):
                            try:
                                cur.execute("SELECT id, status FROM shm_orders WHERE id = %s", (1 + n % ROWS,))
                                self.assertEqual(cur.fetchall()[0][0], 1 + n % ROWS)
                                reads += 1
                            except pymysql.Error as e:
                                errors.append(e)

                    stopped = int((second / "mysqld.pid").read_text().split()[0])
                    os.kill(stopped, signal.SIGSTOP)  # it stops answering
                    read_many(2000)
                    os.kill(stopped, signal.SIGCONT)
                    stopped = None
                    slow = {reason: self.admin.total("shadow_dropped_total", tenant="acme", reason=reason)
                            for reason in ("queue_full", "deadline", "target_down")}
                    subprocess.run(["bash", str(REPO / "tests" / "mariadb_server.sh"), "stop", str(second)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    read_many(1000)  # it is gone
                settled(self.admin)
                dead = {reason: self.admin.total("shadow_dropped_total", tenant="acme", reason=reason)
                        for reason in ("queue_full", "deadline", "target_down")}
                print(f"\n(e) shadow target stopped, then shut down: {reads} reads, {len(errors)} client errors; "
                      f"drops after SIGSTOP {slow}, after shutdown {dead}")
                self.assertEqual(errors, [])
                self.assertEqual(reads, 3000)
                self.assertGreater(sum(slow.values()), 0)
                self.assertGreater(dead["target_down"], slow["target_down"])
                self.assertEqual(self.admin.total("shadow_mismatches_total", tenant="acme"), 0)
        finally:
            if stopped:
                os.kill(stopped, signal.SIGCONT)
            subprocess.run(["bash", str(REPO / "tests" / "mariadb_server.sh"), "stop", str(second)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


    # (f) -----------------------------------------------------------------------------------------
    def test_prepared_statements_are_replayed_with_their_parameters(self):
        rng = random.Random(13)
        queries = []
        for n in range(int(os.environ.get("SY_SHADOW_PREPARED_READS", "1500"))):
            i = rng.randint(1, ROWS - 30)
            kind = n % 6
            if kind == 0:
                queries.append({"sql": "SELECT id, status FROM shm_orders WHERE id = ?", "params": [i]})
            elif kind == 5:  # `id>=?` without spaces, and a LIMIT bound as a number
                queries.append({"sql": "SELECT id, status FROM shm_orders WHERE id>=? ORDER BY id LIMIT ?",
                                "params": [i, 5]})
            elif kind == 1:  # a DOUBLE, a DECIMAL as text, a DATETIME as text
                queries.append({"sql": "SELECT id, status, amount, ratio, at, kind FROM shm_orders"
                                       " WHERE id BETWEEN ? AND ? AND amount >= ? AND at >= ?",
                                "params": [i, i + 3, 0.5, "2026-01-01 00:00:00"]})
            elif kind == 2:
                queries.append({"sql": "SELECT COUNT(*) FROM shm_orders WHERE status = ?", "params": [LEGACY[i % 4]]})
            elif kind == 3:  # NULL
                queries.append({"sql": "SELECT id, status FROM shm_orders WHERE id = ? OR status <=> ?",
                                "params": [i, None]})
            elif kind == 4:  # ORDER BY with ties under a LIMIT
                queries.append({"sql": "SELECT id, status, created FROM shm_orders WHERE created >= ?"
                                       " ORDER BY created LIMIT 70", "params": [i // 50]})
        with self.proxy(shadow={"log_parameters": True}):
            results = run_node(self.port, queries, self.tmp)
            self.assertTrue(all(r["ok"] for r in results), [r for r in results if not r["ok"]][:3])
            compared, dropped, noise, mismatches = settled(self.admin)
            print(f"\n(f) {len(queries)} prepared reads (mysql2 execute): compared {compared:.0f}, "
                  f"dropped {dropped:.0f}, noise {noise:.0f}, mismatches {mismatches:.0f}")
            self.assertEqual(mismatches, 0, self.admin.mismatches()[:3])
            self.assertEqual(dropped, 0)
            self.assertGreaterEqual(compared, len(queries) * 0.99)
            self.assertGreater(self.admin.total("statements_total", tenant="acme", kind="extended"), 0)
            # A corrupted row, read through a prepared statement: named, with its parameter.
            with connect(MYPORT) as c, c.cursor() as cur:
                cur.execute("UPDATE shm_orders SET unified_status = 'LOST' WHERE id = 1234")
            results = run_node(self.port, [{"sql": "SELECT id, status FROM shm_orders WHERE id = ?",
                                            "params": [1234]}], self.tmp)
            self.assertTrue(results[0]["ok"])
            settled(self.admin)
            entries = self.admin.mismatches()
            self.assertEqual(len(entries), 1, entries)
            self.assertEqual(entries[0]["rows"], ["id 1234"])
            self.assertEqual(entries[0]["params"], ["1234"])

    # (g) -----------------------------------------------------------------------------------------
    def test_an_unindexed_unified_column_is_reported_with_both_explains(self):
        rows = 100_000
        with connect(MYPORT) as c, c.cursor() as cur:
            # Most rows Delivered; Lost is rare, so the index on status finds it at once.
            cur.execute("DROP TABLE IF EXISTS shm_orders")
            cur.execute("CREATE TABLE shm_orders (id INT PRIMARY KEY, status VARCHAR(40), unified_status VARCHAR(40),"
                        " INDEX shm_orders_status (status)) ENGINE=InnoDB")
            cur.execute(f"INSERT INTO shm_orders SELECT seq, IF(seq % 1000 = 0, 'Lost', 'Delivered'),"
                        f" IF(seq % 1000 = 0, 'LOST', 'DELIVERED') FROM seq_1_to_{rows}")
            cur.execute("ANALYZE TABLE shm_orders")
            cur.fetchall()
        with self.proxy() as proxy, connect(self.port) as c, c.cursor() as cur:
            for k in range(40):
                cur.execute("SELECT id, status FROM shm_orders WHERE status = %s", ("Lost",))  # slow when switched
                self.assertEqual(len(cur.fetchall()), rows // 1000)
                cur.execute("SELECT id, status FROM shm_orders WHERE id = %s", (k + 1,))  # the same both ways
                cur.fetchall()
            settled(self.admin)
            report = json.loads(self.admin.call("GET", "/v1/slow_reads")[1])
            print(f"\n(g) /v1/slow_reads: {json.dumps(report)[:1200]}")
            reads = report["slow_reads"]
            self.assertEqual(len(reads), 1, reads)
            r = reads[0]
            self.assertIn("WHERE status = 'Lost'", r["sql"])
            self.assertIn("unified_status", r["switched_sql"])
            self.assertGreaterEqual(r["samples"], 20)
            self.assertGreaterEqual(r["ratio"], 2.0)
            # MariaDB's plans, one line per table: the index for the legacy
            # form, a full scan (type=ALL) for the switched one.
            self.assertIn("key=shm_orders_status", r["legacy_explain"])
            self.assertIn("type=ALL", r["switched_explain"])
            self.assertEqual(self.admin.total("shadow_slow_reads", tenant="acme"), 1)
            proxy.wait_for_log(r'"category":"SLOW_READ"')


def run_node(port, queries, tmp):
    """Each query as a server-side prepared statement through npm mysql2 (`execute`)."""
    path = Path(tmp, "queries.json")
    path.write_text(json.dumps(queries))
    r = subprocess.run(["node", "mysql_reads.js"], cwd=NODE_DIR, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, SY_QUERIES=str(path), SY_PORT=str(port), SY_DB="app", SY_MODE="execute"))
    if r.returncode != 0:
        raise AssertionError(f"node mysql_reads.js failed: {r.stderr}")
    return json.loads(r.stdout)


if __name__ == "__main__":
    unittest.main()
