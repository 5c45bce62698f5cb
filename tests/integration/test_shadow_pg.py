"""Shadow reads and the guard against the real PostgreSQL.

A sample of a tenant's reads of a legacy status column is run again by the
proxy on its own connection, as the original (legacy) and as the read switch
serves it (reverse(unified)), both in one REPEATABLE READ snapshot, and the
answers are compared in the unified space. These tests check, through real
clients (psycopg simple and prepared, text and binary parameters; pgbench):

  (a) consistent data: 10 000 mixed reads at sample_percent 100 give 0
      mismatches and at least 9 900 compares;
  (b) 5 % of unified values corrupted: the mismatches name exactly the
      corrupted rows, the guard rolls the tenant and its canary back, and a
      PATCH moves it forward again;
  (c) a pgbench write load on the same rows, dual-written through the proxy,
      while every read is shadowed: no false mismatches, no trip;
  (d) now() and random(): reported as noise, never a mismatch, never a trip;
  (e) a shadow target that stops answering (SIGSTOP): no client error, drops
      counted;
  (f) a shadow target compared with the client's own answer (kept as it was
      relayed, so the primary does not read again): simple, unnamed and
      named extended reads are kept and name exactly the rows that differ on
      the target; binary results, dates and large answers are read again;
  (g) a shadow target kept by logical replication from the primary, every
      read shadowed on it while pgbench writes the same rows through the
      proxy: the false mismatches that remain after the re-check, measured.

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
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from harness import PGHOST, PGPORT, REPO, Proxy, connect, free_port

TOKEN = "shadow-token"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
MAP = {"Awaiting approval": "PENDING_APPROVAL", "Dispatched": "DISPATCHED", "Delivered": "DELIVERED", "Lost": "LOST"}
LEGACY = list(MAP)
ROWS = 2000


def config_text(port, admin, *, phase="dual_write", canary="", shadow=None, guard="", targets="", state_file=None):
    settings = {"sample_percent": 100, "max_inflight": 512, "timeout_ms": 10000, **(shadow or {})}
    shadow = ", ".join(f"{k}: {json.dumps(v)}" for k, v in settings.items())
    return f"""
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: "{PGHOST}:{PGPORT}", user: postgres, database: app }}
{targets}
    primary: legacy
admin:
  listen: 127.0.0.1:{admin}
  token_env: SY_TEST_ADMIN_TOKEN
runtime: {{ workers: 2 }}
{f"state_file: {state_file}" if state_file else ""}
tenants:
  - name: acme
    match: {{ listener: pg }}
    phase: {phase}
{canary}
    shadow: {{ {shadow} }}
{guard}
    migrations: [order_status]
migrations:
  order_status:
    table: sh_orders
    legacy_column: status
    unified_column: unified_status
    map: {json.dumps(MAP)}
"""


class Admin:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {TOKEN}")
        if data:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        """{(family, frozenset(labels)): value} of the switchyard_* series."""
        _, text = self.call("GET", "/metrics")
        out = {}
        for line in text.splitlines():
            m = re.match(r"switchyard_(\w+)(?:\{(.*)\})? (\S+)$", line)
            if m:
                labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
                out[(m.group(1), labels)] = float(m.group(3))
        return out

    def total(self, family, **labels):
        want = set(labels.items())
        return sum(v for (f, ls), v in self.metrics().items() if f == family and want <= set(ls))

    def tenant(self):
        return json.loads(self.call("GET", "/v1/tenants/acme")[1])["tenants"][0]

    def mismatches(self):
        return json.loads(self.call("GET", "/v1/mismatches")[1])["mismatches"]


def settled(admin, bound=120.0):
    """Waits until every shadow taken has an outcome (the counters stop moving)."""
    last, still, deadline = None, 0, time.monotonic() + bound
    while time.monotonic() < deadline:
        now = tuple(admin.total(f, tenant="acme") for f in
                    ("shadow_compared_total", "shadow_dropped_total", "shadow_noise_total", "shadow_mismatches_total"))
        still = still + 1 if now == last else 0
        if still >= 5:
            return now
        last = now
        time.sleep(0.2)
    raise AssertionError("shadow counters kept moving")


def make_table(conn, corrupt=()):
    conn.execute("DROP TABLE IF EXISTS sh_orders")
    conn.execute("CREATE TABLE sh_orders (id int PRIMARY KEY, status text, unified_status text, created int,"
                 " amount numeric(10,2))")
    case = "CASE status " + " ".join(f"WHEN '{l}' THEN '{u}'" for l, u in MAP.items()) + " END"
    statuses = ", ".join(f"'{s}'" for s in LEGACY)
    conn.execute(f"INSERT INTO sh_orders SELECT i, (ARRAY[{statuses}])[1 + i % 4], NULL, i / 50, i * 1.5"
                 f" FROM generate_series(1, {ROWS}) i")
    conn.execute(f"UPDATE sh_orders SET unified_status = {case}")
    for i in corrupt:
        # Another valid unified value: only the comparison can tell.
        conn.execute("UPDATE sh_orders SET unified_status = CASE unified_status WHEN 'DELIVERED' THEN 'LOST'"
                     " ELSE 'DELIVERED' END WHERE id = %s", (i,))


class ShadowTest(unittest.TestCase):
    def setUp(self):
        self.port, self.admin_port = free_port(), free_port()
        self.admin = Admin(self.admin_port)
        self.tmp = tempfile.mkdtemp(prefix="sy-shadow-")
        os.chmod(self.tmp, 0o755)  # a second server (e) runs as user postgres below it
        with connect(PGPORT) as c:
            make_table(c)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def proxy(self, **kw):
        kw.setdefault("state_file", os.path.join(self.tmp, "state.json"))
        return Proxy(config_text(self.port, self.admin_port, **kw), env={"SY_TEST_ADMIN_TOKEN": TOKEN})

    def read_under_writes(self, ids, pgbench_args):
        """pgbench (4 clients) writes each legacy status to random rows among
        the first `ids` through the proxy while one client reads six of those
        rows at a time, prepared, until pgbench is done (and must succeed).
        Returns pgbench's output, the number of reads and the read errors."""
        scripts = []
        for n, status in enumerate(LEGACY):
            path = Path(self.tmp, f"w{n}.sql")
            path.write_text(f"\\set id random(1, {ids})\n"
                            f"UPDATE sh_orders SET status = '{status}' WHERE id = :id;\n")
            scripts += ["-f", f"{path}@1"]
        env = dict(os.environ, PGPASSWORD="")
        bench = subprocess.Popen([str(PG_BIN / "pgbench"), "-n", "-h", "127.0.0.1", "-p", str(self.port),
                                  "-U", "postgres", "-c", "4", *pgbench_args, *scripts, "app"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        reads, errors = 0, []
        with connect(self.port) as c:
            while bench.poll() is None:
                i = random.randint(1, ids - 5)
                try:
                    c.execute("SELECT id, status FROM sh_orders WHERE id BETWEEN %s AND %s ORDER BY id",
                              (i, i + 5), prepare=True)
                    reads += 1
                except Exception as e:  # noqa: BLE001 - counted, then asserted
                    errors.append(e)
        out = bench.communicate()[0]
        self.assertEqual(bench.returncode, 0, out)
        return out, reads, errors

    # (a) -----------------------------------------------------------------------------------------
    def test_consistent_data_gives_no_mismatch(self):
        reads = int(os.environ.get("SY_SHADOW_READS", "10000"))
        with self.proxy() as proxy:
            cpu_before = proxy_cpu(proxy)
            rng = random.Random(7)
            with connect(self.port) as simple, connect(self.port) as prepared:
                kinds = {}
                for n in range(reads):
                    i = rng.randint(1, ROWS)
                    kind = n % 8
                    kinds[kind] = kinds.get(kind, 0) + 1
                    if kind == 0:  # simple protocol, a literal: single row
                        rows = simple.execute(f"SELECT id, status FROM sh_orders WHERE id = {i}").fetchall()
                        self.assertEqual(len(rows), 1)
                    elif kind == 1:  # prepared, text parameter
                        prepared.execute("SELECT id, status, amount FROM sh_orders WHERE id = %s", (i,), prepare=True)
                    elif kind == 2:  # prepared, binary parameter
                        prepared.execute("SELECT status, id FROM sh_orders WHERE id = %b", (i,), prepare=True)
                    elif kind == 3:  # aggregate over the status column
                        simple.execute("SELECT status, count(*) FROM sh_orders GROUP BY status")
                    elif kind == 4:  # aggregate with a filter on it (parameter)
                        prepared.execute("SELECT count(*) FROM sh_orders WHERE status = %s", (LEGACY[i % 4],))
                    elif kind == 5:  # ORDER BY with ties (50 rows per `created`), cut by LIMIT
                        prepared.execute("SELECT id, status, created FROM sh_orders WHERE created >= %s"
                                         " ORDER BY created LIMIT 70", (i // 50,))
                    elif kind == 6:  # ordered by a unique key
                        simple.execute(f"SELECT o.id, o.status FROM sh_orders o WHERE o.id BETWEEN {i} AND {i + 20}"
                                       " ORDER BY o.id")
                    else:  # a range, as a multiset, binary results
                        prepared.cursor(binary=True).execute(
                            "SELECT id, status FROM sh_orders WHERE id > %s AND id < %s", (i, i + 15))
            compared, dropped, noise, mismatches = settled(self.admin)
            cpu_after = proxy_cpu(proxy)
            print(f"\n(a) {reads} reads: compared {compared:.0f}, dropped {dropped:.0f}, noise {noise:.0f}, "
                  f"mismatches {mismatches:.0f}; proxy CPU {1e6 * (cpu_after - cpu_before) / reads:.0f} us/read "
                  f"(client statement + shadow)")
            self.assertEqual(mismatches, 0, self.admin.mismatches()[:3])
            self.assertEqual(noise, 0)
            self.assertGreaterEqual(compared, reads * 0.99)
            self.assertEqual(self.admin.mismatches(), [])
            # Both protocols were shadowed.
            self.assertGreater(self.admin.total("statements_total", tenant="acme", kind="simple"), 0)
            self.assertGreater(self.admin.total("statements_total", tenant="acme", kind="extended"), 0)

    # (b) -----------------------------------------------------------------------------------------
    def test_corrupted_rows_are_named_and_the_guard_rolls_back(self):
        corrupt = set(random.Random(11).sample(range(1, ROWS + 1), ROWS // 20))  # 5 %
        with connect(PGPORT) as c:
            make_table(c, corrupt)
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
                        conns[k % 4].execute("SELECT id, status FROM sh_orders WHERE id = %s", (i,))
                    settled(self.admin)
                    if self.admin.tenant()["phase"] != "dual_write":
                        tripped_at = batch
                        break
                    read_before += batch
            finally:
                for c in conns:
                    c.close()
            self.assertIsNotNone(tripped_at, "the guard never tripped")
            # The guard rolled the tenant and its canary back, persisted and logged.
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
            # Every mismatch names one corrupted row, and every corrupted row
            # read before the trip was named.
            entries = self.admin.mismatches()
            named = {int(r.split()[1]) for e in entries for r in e["rows"]}
            self.assertTrue(named <= corrupt, named - corrupt)
            self.assertEqual({i for i in read_before if i in corrupt} - named, set())
            self.assertEqual(len(entries), self.admin.total("shadow_mismatches_total", tenant="acme"))
            e = entries[0]
            self.assertEqual(e["compared"], "legacy vs unified")
            self.assertEqual(len(e["params"]), 1)
            self.assertRegex(e["diff"], r"id \d+: status '[^']+' → map [A-Z_]+, unified '[^']+' \([A-Z_]+\)")
            status_lines = [r for r in proxy.log_records() if r.get("category") == "STATUS_MISMATCH"]
            self.assertEqual(len(status_lines), len(entries))
            # An operator moves it forward again; the guard lets go.
            status, body = self.admin.call("PATCH", "/v1/tenants/acme",
                                           {"phase": "dual_write", "canary": {"phase": "read_switch"}})
            self.assertEqual(status, 200, body)
            t = self.admin.tenant()
            self.assertEqual((t["phase"], t["canary"]["phase"], t["canary"]["percent"]), ("dual_write", "read_switch", 50))
            self.assertEqual(self.admin.total("guard_state", tenant="acme"), 0)

    def test_freeze_stops_the_canary_and_keeps_every_phase(self):
        # on_critical: freeze. Every unified value wrong, so the guard trips
        # as soon as min_samples compares are in.
        with connect(PGPORT) as c:
            make_table(c, range(1, ROWS + 1))
        canary = "    canary: { phase: read_switch, percent: 50, sticky_by: session }"
        guard = "    guard: { critical_mismatch_rate: 0.03, min_samples: 50, on_critical: freeze }"
        with self.proxy(canary=canary, guard=guard) as proxy:
            with connect(self.port) as conn:
                for i in range(1, 401):
                    conn.execute("SELECT id, status FROM sh_orders WHERE id = %s", (i,))
                    if i % 50 == 0 and self.admin.total("guard_trips_total", tenant="acme"):
                        break
            settled(self.admin)
            t = self.admin.tenant()
            self.assertEqual(self.admin.total("guard_trips_total", tenant="acme"), 1)
            self.assertEqual((t["phase"], t["canary"]["phase"], t["canary"]["percent"]), ("dual_write", "read_switch", 0))
            trip = proxy.wait_for_log(r'"category":"GUARD_TRIP"')
            self.assertIn('"action":"freeze"', trip)
            state = json.loads(Path(self.tmp, "state.json").read_text())
            self.assertEqual(state["tenants"]["acme"]["canary"]["percent"], 0)

    # (c) -----------------------------------------------------------------------------------------
    def test_concurrent_writes_cause_no_false_mismatch(self):
        guard = "    guard: { min_samples: 50 }"
        with self.proxy(guard=guard) as proxy:
            out, reads, errors = self.read_under_writes(ROWS // 10, ["-t", "3000"])
            compared, dropped, noise, mismatches = settled(self.admin)
            rate = mismatches / max(compared, 1)
            drops = {(dict(ls)["reason"]): v for (f, ls), v in self.admin.metrics().items()
                     if f == "shadow_dropped_total" and v}
            print(f"\n(c) {reads} reads under pgbench writes: compared {compared:.0f}, mismatches "
                  f"{mismatches:.0f} ({100 * rate:.3f} %), dropped {drops}")
            self.assertEqual(errors, [])
            self.assertGreater(compared, 200)
            self.assertLessEqual(rate, 0.001, self.admin.mismatches()[:3])
            self.assertEqual(self.admin.total("guard_trips_total", tenant="acme"), 0)
            self.assertIn("processed", out)
            # The writes were dual-written: the data is consistent afterwards.
            with connect(PGPORT) as direct:
                case = "CASE status " + " ".join(f"WHEN '{l}' THEN '{u}'" for l, u in MAP.items()) + " END"
                bad = direct.execute(f"SELECT count(*) FROM sh_orders WHERE unified_status IS DISTINCT FROM {case}"
                                     ).fetchone()[0]
                self.assertEqual(bad, 0)
            self.assertIsNotNone(proxy)

    # (d) -----------------------------------------------------------------------------------------
    def test_volatile_queries_are_noise_and_never_trip(self):
        guard = "    guard: { min_samples: 20, critical_mismatch_rate: 0.01, warn_mismatch_rate: 0.005 }"
        with self.proxy(guard=guard) as proxy:
            with connect(self.port) as c:
                for n in range(300):
                    i = 1 + n % ROWS
                    c.execute("SELECT id, status, random() AS r FROM sh_orders WHERE id = %s", (i,))
                    c.execute(f"SELECT id, status, now() AS t, clock_timestamp() > now() AS later"
                              f" FROM sh_orders WHERE id = {i}")
            compared, dropped, noise, mismatches = settled(self.admin)
            self.assertEqual(mismatches, 0, self.admin.mismatches()[:3])
            self.assertGreater(noise, 250)  # the random() reads: all but the few run before it was known
            self.assertGreater(compared, 250)  # now() is one value in one snapshot: compared, equal
            self.assertEqual(self.admin.total("guard_trips_total", tenant="acme"), 0)
            self.assertEqual(self.admin.tenant()["phase"], "dual_write")
            proxy.wait_for_log(r'"category":"SHADOW_NOISE".*random\(\)')

    # (e) -----------------------------------------------------------------------------------------
    def test_a_stopped_shadow_target_costs_the_client_nothing(self):
        second = Path(self.tmp, "second")
        subprocess.run(["bash", str(REPO / "tests" / "pg_server.sh"), "start", str(second)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stopped = []
        try:
            port2 = int(re.search(r"PGPORT=(\d+)", (second / "env").read_text()).group(1))
            with connect(port2) as c:
                make_table(c)
            targets = f'      shadow: {{ address: "127.0.0.1:{port2}", user: postgres, database: app }}'
            with self.proxy(targets=targets, shadow={"target": "shadow", "timeout_ms": 300, "max_inflight": 8}) as proxy:
                errors, reads = [], 0
                with connect(self.port) as c:
                    # The target answers. How many shadows fit in max_inflight 8
                    # and 300 ms depends on the machine's load, so read until
                    # some have been compared rather than count on a share.
                    compared_before = 0
                    for n in range(5000):
                        c.execute("SELECT id, status FROM sh_orders WHERE id = %s", (1 + n % ROWS,), prepare=True)
                        if n % 100 == 99:
                            settled(self.admin)
                            compared_before = self.admin.total("shadow_compared_total", tenant="acme")
                            if compared_before >= 50:
                                break
                    self.assertGreaterEqual(compared_before, 50)
                    self.assertEqual(self.admin.total("shadow_mismatches_total", tenant="acme"), 0)
                    stopped = server_processes(second)
                    for pid in stopped:
                        os.kill(pid, signal.SIGSTOP)
                    for n in range(2000):  # it does not
                        try:
                            row = c.execute("SELECT id, status FROM sh_orders WHERE id = %s", (1 + n % ROWS,),
                                            prepare=True).fetchone()
                            self.assertEqual(row[0], 1 + n % ROWS)
                            reads += 1
                        except psycopg_error() as e:
                            errors.append(e)
                dropped = {reason: self.admin.total("shadow_dropped_total", tenant="acme", reason=reason)
                           for reason in ("queue_full", "deadline", "target_down")}
                print(f"\n(e) shadow target stopped: {reads} reads, 0 client errors expected, drops {dropped}")
                self.assertEqual(errors, [])
                self.assertEqual(reads, 2000)
                self.assertGreater(sum(dropped.values()), 0)
                self.assertEqual(self.admin.total("shadow_mismatches_total", tenant="acme"), 0)
                for pid in stopped:
                    os.kill(pid, signal.SIGCONT)
                stopped = []
                self.assertIsNotNone(proxy)
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)
            subprocess.run(["bash", str(REPO / "tests" / "pg_server.sh"), "stop", str(second)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # (f) -----------------------------------------------------------------------------------------
    def test_a_shadow_target_is_compared_with_the_clients_own_answer(self):
        second = Path(self.tmp, "second")
        subprocess.run(["bash", str(REPO / "tests" / "pg_server.sh"), "start", str(second)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        differ = {7, 77, 777}
        try:
            port2 = int(re.search(r"PGPORT=(\d+)", (second / "env").read_text()).group(1))
            with connect(port2) as c:
                make_table(c)
                # The target disagrees on three rows: another valid legacy value.
                c.execute("UPDATE sh_orders SET status = CASE status WHEN 'Delivered' THEN 'Lost' ELSE 'Delivered'"
                          " END WHERE id = ANY(%s)", (list(differ),))
            targets = f'      shadow: {{ address: "127.0.0.1:{port2}", user: postgres, database: app }}'
            # Room for every read in flight: this test is about which answer
            # is compared, not about how fast the lanes keep up (dropped 0).
            with self.proxy(targets=targets, shadow={"target": "shadow", "max_inflight": 2000}):
                import psycopg
                sql = "SELECT id, status, amount FROM sh_orders WHERE id = %s"
                ids = list(range(1, 1001))
                with connect(self.port) as c:
                    for n, i in enumerate(ids):
                        if n % 3 == 0:
                            c.execute(sql, (i,), prepare=True)  # named statement, text results
                        elif n % 3 == 1:
                            c.execute(sql, (i,), prepare=False)  # unnamed statement
                        else:
                            psycopg.ClientCursor(c).execute(sql, (i,))  # simple Query protocol
                settled(self.admin)
                compared = self.admin.total("shadow_compared_total", tenant="acme")
                kept = self.admin.total("shadow_answers_kept_total", tenant="acme")
                dropped = self.admin.total("shadow_dropped_total", tenant="acme")
                print(f"\n(f) {len(ids)} text reads: {compared:.0f} compared, {kept:.0f} with the client's answer,"
                      f" {dropped:.0f} dropped")
                self.assertEqual(dropped, 0)
                self.assertGreaterEqual(compared + self.admin.total("shadow_mismatches_total", tenant="acme"),
                                        len(ids) * 0.99)
                # Every shadow took the client's answer (a mismatch looks
                # again at both, fresh, before it counts).
                self.assertGreaterEqual(kept, len(ids) * 0.99)
                named = {int(r.split()[1]) for e in self.admin.mismatches() for r in e["rows"]}
                self.assertEqual(named, differ)
                self.assertEqual(self.admin.mismatches()[0]["compared"], "primary vs shadow")
                # Binary results are not kept, nor dates, nor answers over
                # 60 KiB: those shadows read the primary, and still find the
                # rows that differ.
                mismatches = self.admin.total("shadow_mismatches_total", tenant="acme")
                with connect(self.port) as c:
                    cur = c.cursor(binary=True)
                    for i in range(1001, 1101):
                        cur.execute(sql, (i,))
                    for i in range(1101, 1111):  # a date's text depends on the session's DateStyle
                        c.execute("SELECT id, status, DATE '2020-01-01' + created AS day FROM sh_orders"
                                  " WHERE id = %s", (i,))
                    rows = c.execute("SELECT id, status, amount, repeat('x', 40) AS pad FROM sh_orders"
                                     " WHERE id > %s ORDER BY id", (0,)).fetchall()
                    self.assertEqual(len(rows), ROWS)
                settled(self.admin)
                self.assertEqual(self.admin.total("shadow_answers_kept_total", tenant="acme"), kept)
                self.assertEqual(self.admin.total("shadow_mismatches_total", tenant="acme"), mismatches + 1)
                self.assertGreaterEqual(self.admin.total("shadow_compared_total", tenant="acme"), compared + 99)
        finally:
            subprocess.run(["bash", str(REPO / "tests" / "pg_server.sh"), "stop", str(second)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # (g) -----------------------------------------------------------------------------------------
    def test_a_replicated_shadow_target_under_concurrent_writes(self):
        """The cutover plan's new cluster, kept current by logical replication
        from the primary. It lags by a moment, so a first look at a row just
        written may differ; the re-check (after up to 250 ms, at both) is what
        keeps that from counting. What remains is measured and printed."""
        second = Path(self.tmp, "second")
        subprocess.run(["bash", str(REPO / "tests" / "pg_server.sh"), "start", str(second)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port2 = int(re.search(r"PGPORT=(\d+)", (second / "env").read_text()).group(1))
        try:
            with connect(PGPORT) as c:
                c.execute("CREATE PUBLICATION sy_shadow_g FOR TABLE sh_orders")
            with connect(port2) as c:
                make_table(c)
                c.execute("TRUNCATE sh_orders")
                c.execute(f"CREATE SUBSCRIPTION sy_shadow_g CONNECTION 'host={PGHOST} port={PGPORT}"
                          f" user=postgres dbname=app' PUBLICATION sy_shadow_g")
                deadline = time.monotonic() + 120
                while c.execute("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'").fetchone()[0]:
                    self.assertLess(time.monotonic(), deadline, "the subscription never caught up")
                    time.sleep(0.2)
                self.assertEqual(c.execute("SELECT count(*) FROM sh_orders").fetchone()[0], ROWS)
            targets = f'      shadow: {{ address: "127.0.0.1:{port2}", user: postgres, database: app }}'
            # A tenth of the reads: what four lanes keep up with while the
            # reader runs flat out, so the figure is about lag, not queues.
            # Writes spread over every row at a steady rate, as an
            # application's are.
            with self.proxy(targets=targets, shadow={"target": "shadow", "sample_percent": 10}):
                out, reads, errors = self.read_under_writes(ROWS, ["-R", "400", "-t", "1500"])
                compared, dropped, noise, mismatches = settled(self.admin)
                kept = self.admin.total("shadow_answers_kept_total", tenant="acme")
                rate = mismatches / max(compared, 1)
                tps = re.search(r"tps = ([\d.]+)", out)
                drops = {(dict(ls)["reason"]): v for (f, ls), v in self.admin.metrics().items()
                         if f == "shadow_dropped_total" and v}
                print(f"\n(g) {reads} reads under {tps.group(1) if tps else '?'} writes/s, logically replicated"
                      f" target: compared {compared:.0f} ({kept:.0f} with the client's answer), false mismatches"
                      f" {mismatches:.0f} ({100 * rate:.3f} %), dropped {drops}")
                self.assertEqual(errors, [])
                self.assertGreater(compared, 200)
                # Every mismatch here is false: the target holds what the
                # primary held a moment before. A row written just before a
                # lag spike longer than the re-check window (250 + 500 ms)
                # differs at every look and counts, so the rate follows the
                # subscriber's lag on this machine (0 to 1.8 % measured; the
                # figures are in the README) and the bound only catches a
                # re-check that does not work at all.
                self.assertLessEqual(rate, 0.05, self.admin.mismatches()[:3])
        finally:
            try:
                with connect(port2) as c:
                    c.execute("DROP SUBSCRIPTION IF EXISTS sy_shadow_g")  # drops its slot on the primary
            finally:
                with connect(PGPORT) as c:
                    c.execute("DROP PUBLICATION IF EXISTS sy_shadow_g")
                    c.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                              " WHERE slot_name = 'sy_shadow_g'")
                subprocess.run(["bash", str(REPO / "tests" / "pg_server.sh"), "stop", str(second)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def psycopg_error():
    import psycopg
    return psycopg.Error


def server_processes(pg_dir):
    """The postmaster of the server in pg_dir and its children."""
    postmaster = int((pg_dir / "data" / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(stat.parent.name))
    return pids


def proxy_cpu(proxy):
    """User + system CPU seconds of the proxy process so far."""
    fields = Path(f"/proc/{proxy.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    unittest.main()
