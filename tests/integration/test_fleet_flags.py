"""A fleet of sidecars acts as one (SPEC "Fleet", issue 19): three proxies
share one flags store.

  (a) PostgreSQL store: a PATCH to one moves the other two (LISTEN/NOTIFY:
      poll_ms is 5 s here, so a delay under 1 s is the push); two concurrent
      PATCHes with the same If-Match: exactly one 200 and one 409; the
      history lists every change with who, from, to and why; /v1/fleet and
      the status page (headless Chromium) show all three in step.
  (b) A guard trip on one sidecar rolls back all three, with a PostgreSQL
      store and with a MariaDB one (polling every second).
  (c) MariaDB store (polling, poll_ms 250): the same moves, first-write race
      and 409s.
  (d) Store down: the store is a second throwaway PostgreSQL (the proxied
      one stays up), killed during client traffic: 0 client errors, the last
      flags kept, /readyz stays 200 with a note, flags_store_up 0, PATCH 503;
      a sidecar started meanwhile serves the config file and says so; after
      the restart every sidecar catches up.
"""
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from fault_servers import ThrowawayPg
from harness import PGHOST, PGPORT, SY_BIN, Proxy, connect, free_port

TOKEN = "fleet-token"
MYPORT = int(os.environ.get("MYPORT", "3306"))
ARTIFACTS = Path(os.environ.get("SY_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"))
MAP = {"Awaiting approval": "PENDING_APPROVAL", "Dispatched": "DISPATCHED", "Delivered": "DELIVERED", "Lost": "LOST"}
ROWS = 2000


def config_text(port, admin, state_file, store, *, extra_targets="", mysql_listener="", shadow=""):
    return f"""
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: "{PGHOST}:{PGPORT}", user: postgres, database: app }}
{extra_targets}
    primary: legacy
{mysql_listener}
admin:
  listen: 127.0.0.1:{admin}
  token_env: SY_TEST_ADMIN_TOKEN
state_file: {state_file}
flags_store: {store}
runtime: {{ workers: 2 }}
tenants:
  - name: acme
    match: {{ listener: pg }}
    phase: dual_write
    canary: {{ phase: read_switch, percent: 50, sticky_by: session }}
{shadow}
    migrations: [order_status]
migrations:
  order_status:
    table: fl_orders
    legacy_column: status
    unified_column: unified_status
    map: {json.dumps(MAP)}
"""


MYSQL_LISTENER = f"""  - name: my
    protocol: mysql
    listen: 127.0.0.1:{{port}}
    targets:
      store: {{{{ address: "127.0.0.1:{MYPORT}", user: app, password_env: SY_STORE_PASSWORD, database: app }}}}
    primary: store"""


class Admin:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {TOKEN}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if data:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def get(self, path):
        status, body = self.call("GET", path)
        return status, json.loads(body)

    def tenant(self):
        return self.get("/v1/tenants/acme")[1]["tenants"][0]

    def metric(self, family):
        _, text = self.call("GET", "/metrics")
        total = 0.0
        for line in text.splitlines():
            m = re.match(rf"switchyard_{family}(?:{{.*}})? (\S+)$", line)
            if m:
                total += float(m.group(1))
        return total


def wait_until(pred, timeout=20.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def make_table(corrupt=()):
    with connect(PGPORT) as conn:
        conn.execute("DROP TABLE IF EXISTS fl_orders")
        conn.execute("CREATE TABLE fl_orders (id int PRIMARY KEY, status text, unified_status text)")
        case = "CASE status " + " ".join(f"WHEN '{l}' THEN '{u}'" for l, u in MAP.items()) + " END"
        statuses = ", ".join(f"'{s}'" for s in MAP)
        conn.execute(f"INSERT INTO fl_orders SELECT i, (ARRAY[{statuses}])[1 + i % 4], NULL"
                     f" FROM generate_series(1, {ROWS}) i")
        conn.execute(f"UPDATE fl_orders SET unified_status = {case}")
        for i in corrupt:
            conn.execute("UPDATE fl_orders SET unified_status = CASE unified_status WHEN 'DELIVERED' THEN 'LOST'"
                         " ELSE 'DELIVERED' END WHERE id = %s", (i,))


class Fleet:
    """N proxies sharing one store, each with its own state_file."""

    def __init__(self, test, n, store, mysql=False, **kw):
        self.test, self.store, self.kw, self.mysql = test, store, kw, mysql
        self.tmp = tempfile.mkdtemp(prefix="sy-fleet-")
        self.proxies, self.admins, self.ports = [], [], []
        for i in range(n):
            self.add(i)

    def add(self, i, wait_ready=True):
        port, admin = free_port(), free_port()
        kw = dict(self.kw)
        if self.mysql:  # the MariaDB store is a target of a MySQL listener, on a port of each proxy's own
            kw["mysql_listener"] = MYSQL_LISTENER.format(port=free_port())
        text = config_text(port, admin, f"{self.tmp}/state-{i}.json", self.store, **kw)
        p = Proxy(text, env={"SY_TEST_ADMIN_TOKEN": TOKEN, "SWITCHYARD_SIDECAR_ID": f"sidecar-{i}",
                             "SY_STORE_PASSWORD": "apppass"})
        p.start()
        self.proxies.append(p)
        self.admins.append(Admin(admin))
        self.ports.append(port)
        return p

    def init_store(self):
        r = subprocess.run([SY_BIN, "init-flags-store", "-c", str(self.proxies[0].config_path)],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "SY_STORE_PASSWORD": "apppass"})
        self.test.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def close(self):
        for p in self.proxies:
            p.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def init_store_for(test, store, **kw):
    """Creates the store's tables with the CLI, from a config naming it (twice: idempotent)."""
    tmp = tempfile.mkdtemp(prefix="sy-fleet-init-")
    path = Path(tmp) / "c.yaml"
    path.write_text(config_text(free_port(), free_port(), f"{tmp}/s.json", store, **kw))
    for _ in range(2):
        r = subprocess.run([SY_BIN, "init-flags-store", "-c", str(path)], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "SY_STORE_PASSWORD": "apppass"})
        test.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        test.assertIn("flags store ready", r.stdout)
    shutil.rmtree(tmp, ignore_errors=True)


def drop_store(table, mysql=False):
    names = [table, table + "_history", table + "_sidecars"]
    if mysql:
        import pymysql
        with pymysql.connect(host="127.0.0.1", port=MYPORT, user="app", password="apppass", database="app",
                             autocommit=True) as conn, conn.cursor() as cur:
            for n in names:
                cur.execute(f"DROP TABLE IF EXISTS {n}")
        return
    with connect(PGPORT) as conn:
        for n in names:
            conn.execute(f"DROP TABLE IF EXISTS {n}")


class FleetCases:
    """What (a) and (c) share: moves, conflicts, history, fleet view."""

    def move_and_measure(self, fleet, origin, body, field_check, label):
        t0 = time.monotonic()
        status, text = fleet.admins[origin].call("PATCH", "/v1/tenants/acme", body)
        self.assertEqual(status, 200, text)
        patched_at = time.monotonic()
        delays = []
        for i, admin in enumerate(fleet.admins):
            if i == origin:
                self.assertTrue(field_check(admin.tenant()))
                continue
            wait_until(lambda: field_check(admin.tenant()), timeout=10, step=0.005, what=f"sidecar {i} to move")
            delays.append(time.monotonic() - patched_at)
        print(f"\n{label}: PATCH took {1000 * (patched_at - t0):.1f} ms; the others moved after "
              + ", ".join(f"{1000 * d:.1f} ms" for d in delays))
        return json.loads(text), delays

    def check_fleet(self, fleet, via=0):
        # A proxy's /v1/fleet lists all of them, in step, once each has heartbeaten
        # and it has read their heartbeats (on its next poll or NOTIFY).
        def in_step():
            _, f = fleet.admins[via].get("/v1/fleet")
            ids = {s["id"] for s in f["sidecars"]}
            want = {f"sidecar-{i}" for i in range(len(fleet.proxies))}
            ok = want <= ids and all(not s["lagging"] for s in f["sidecars"] if s["id"] in want)
            return f if ok else None
        f = wait_until(in_step, timeout=15, what="every sidecar in step in /v1/fleet")
        self.assertTrue(f["store"]["up"])
        self.assertEqual(f["applied_version"], f["fleet_version"])
        return f

    def first_write_race(self, fleet):
        # No row yet (version 0): the first write is an INSERT that does nothing on a duplicate.
        results = [None, None]
        barrier = threading.Barrier(2)

        def patch(k, percent):
            barrier.wait()
            results[k] = fleet.admins[k].call("PATCH", "/v1/tenants/acme", {"canary": {"percent": percent}},
                                              headers={"If-Match": '"0"'})

        threads = [threading.Thread(target=patch, args=(k, p)) for k, p in ((0, 15), (1, 25))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"\nconcurrent first writes (If-Match \"0\"): {sorted(r[0] for r in results)}")
        self.assertEqual(sorted(r[0] for r in results), [200, 409], results)
        want = 15 if results[0][0] == 200 else 25
        wait_until(lambda: all(a.tenant()["canary"]["percent"] == want for a in fleet.admins), what="first write everywhere")

    def concurrent_patches(self, fleet):
        _, base = fleet.admins[0].call("PATCH", "/v1/tenants/acme", {"canary": {"percent": 10}, "why": "baseline"})
        version = json.loads(base)["store_version"]
        wait_until(lambda: all(a.tenant()["canary"]["percent"] == 10 for a in fleet.admins), what="baseline everywhere")
        results = [None, None]
        barrier = threading.Barrier(2)

        def patch(k, percent):
            barrier.wait()
            results[k] = fleet.admins[k].call("PATCH", "/v1/tenants/acme", {"canary": {"percent": percent}},
                                              headers={"If-Match": f'"{version}"'})

        threads = [threading.Thread(target=patch, args=(0, 20)), threading.Thread(target=patch, args=(1, 30))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r[0] for r in results)
        print(f"\nconcurrent PATCHes with If-Match \"{version}\": {statuses}")
        self.assertEqual(statuses, [200, 409], results)
        winner = 0 if results[0][0] == 200 else 1
        loser = json.loads(results[1 - winner][1])
        self.assertIn("conflict", loser["error"])
        self.assertEqual(loser["current"]["version"], version + 1)
        want = 20 if winner == 0 else 30
        self.assertEqual(loser["current"]["overrides"]["canary"]["percent"], want)
        wait_until(lambda: all(a.tenant()["canary"]["percent"] == want for a in fleet.admins), what="winner everywhere")
        # A stale If-Match is a 409 too, with nothing changed.
        status, _ = fleet.admins[2].call("PATCH", "/v1/tenants/acme", {"canary": {"percent": 40}},
                                         headers={"If-Match": f'"{version}"'})
        self.assertEqual(status, 409)
        self.assertEqual(fleet.admins[2].tenant()["canary"]["percent"], want)


class PgStoreTest(unittest.TestCase, FleetCases):
    TABLE = "sy_fleet_pg"

    def setUp(self):
        drop_store(self.TABLE)
        make_table()
        store = f"{{ target: legacy, table: {self.TABLE}, poll_ms: 5000 }}"
        init_store_for(self, store)
        self.fleet = Fleet(self, 3, store)

    def tearDown(self):
        self.fleet.close()

    def test_patch_moves_all_conflicts_are_409_history_and_fleet_view(self):
        fleet = self.fleet
        self.check_fleet(fleet)
        self.first_write_race(fleet)
        all_delays = []
        for k, (origin, phase) in enumerate([(0, "observe"), (1, "dual_write"), (2, "observe")]):
            out, delays = self.move_and_measure(fleet, origin, {"phase": phase, "why": f"step {k}"},
                                                lambda t, p=phase: t["phase"] == p, f"PostgreSQL store (NOTIFY) #{k}")
            all_delays += delays
            self.assertEqual(out["store_version"], k + 2)
        # poll_ms is 5000: moving well under a second is the NOTIFY's doing.
        self.assertLess(max(all_delays), 1.0, all_delays)
        self.concurrent_patches(fleet)
        # The history: newest first, who/from/to/why per change.
        status, h = fleet.admins[2].get("/v1/tenants/acme/history")
        self.assertEqual(status, 200, h)
        versions = [e["version"] for e in h["history"]]
        self.assertEqual(versions, sorted(versions, reverse=True))
        self.assertEqual(len(versions), 6)  # the first write, 3 moves, the baseline, the concurrent winner
        self.assertEqual(h["history"][-1]["from"], {})
        first = h["history"][-2]
        self.assertEqual(first["to"]["phase"], "observe")
        self.assertEqual(first["why"], "step 0")
        self.assertEqual(first["sidecar"], "sidecar-0")
        self.assertTrue(first["who"].startswith("api:127.0.0.1:"), first)
        self.assertRegex(first["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
        # Fleet view and metrics.
        f = self.check_fleet(fleet)
        self.assertEqual(f["fleet_version"], 6)
        for a in fleet.admins:
            wait_until(lambda a=a: a.metric("flags_version_applied") == 6, what="flags_version_applied 6")
            self.assertEqual(a.metric("flags_store_up"), 1)
            self.assertEqual(a.metric("flags_store_version"), 6)
        # Each state_file holds the store's state too (the fallback when the store is down at start-up).
        for i in range(3):
            state = json.loads(Path(f"{fleet.tmp}/state-{i}.json").read_text())
            self.assertEqual(state["tenants"]["acme"]["phase"], "observe")
        self.check_fleet(fleet, via=1)
        self.status_page_in_chromium(fleet)

    def status_page_in_chromium(self, fleet):
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "chromium missing: deploy/install-deps.sh installs it")
        profile = tempfile.mkdtemp()
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1400,700"]
        url = f"http://127.0.0.1:{fleet.admins[1].port}/"
        dom = subprocess.run([chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=60)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertIn('id="fleet"', dom.stdout)
        for i in range(3):
            self.assertRegex(dom.stdout, rf'data-sidecar="sidecar-{i}" data-state="in step"')
        self.assertIn("(this one)", dom.stdout)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "status-page-fleet.png"
        r = subprocess.run([chromium, *flags, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        print(f"\nfleet status page screenshot: {shot}")
        shutil.rmtree(profile, ignore_errors=True)


class GuardTripTest(unittest.TestCase):
    TABLE = "sy_fleet_guard"

    def test_a_trip_on_one_sidecar_rolls_back_all_three(self):
        self.trip_reaches_all(mysql=False)

    def test_the_same_with_a_mariadb_store(self):
        self.trip_reaches_all(mysql=True)

    def trip_reaches_all(self, mysql):
        drop_store(self.TABLE, mysql=mysql)
        corrupt = set(random.Random(19).sample(range(1, ROWS + 1), ROWS // 5))  # 20 %
        make_table(corrupt)
        store = f"{{ target: {'store' if mysql else 'legacy'}, table: {self.TABLE}, poll_ms: 1000 }}"
        shadow = ("    shadow: { sample_percent: 100, max_inflight: 512, timeout_ms: 10000 }\n"
                  "    guard: { warn_mismatch_rate: 0.01, critical_mismatch_rate: 0.03, min_samples: 100 }")
        extra = {"mysql_listener": MYSQL_LISTENER.format(port=free_port())} if mysql else {}
        init_store_for(self, store, shadow=shadow, **extra)
        fleet = Fleet(self, 3, store, mysql=mysql, shadow=shadow)
        try:
            for a in fleet.admins:
                self.assertEqual(a.tenant()["phase"], "dual_write")
            order = list(range(1, ROWS + 1))
            random.Random(5).shuffle(order)
            tripped = False
            conns = [connect(fleet.ports[0]) for _ in range(4)]  # traffic through sidecar 0 only
            try:
                for start in range(0, ROWS, 100):
                    for k, i in enumerate(order[start:start + 100]):
                        conns[k % 4].execute("SELECT id, status FROM fl_orders WHERE id = %s", (i,))
                    try:
                        wait_until(lambda: fleet.admins[0].tenant()["phase"] != "dual_write", timeout=1.0)
                        tripped = True
                        break
                    except AssertionError:
                        pass
            finally:
                for c in conns:
                    c.close()
            self.assertTrue(tripped, "the guard of sidecar 0 never tripped")
            t_trip = time.monotonic()
            for i, a in enumerate(fleet.admins):
                wait_until(lambda a=a: a.tenant()["phase"] == "observe" and a.tenant()["canary"]["phase"] == "dual_write",
                           timeout=10, what=f"sidecar {i} rolled back")
            print(f"\n{'MariaDB' if mysql else 'PostgreSQL'} store: guard trip on sidecar 0 reached all three within {1000 * (time.monotonic() - t_trip):.0f} ms")
            self.assertEqual(fleet.admins[0].metric("guard_trips_total"), 1)
            # Only sidecar 0's guard tripped; the others followed the store.
            self.assertEqual(fleet.admins[1].metric("guard_trips_total"), 0)
            status, h = fleet.admins[2].get("/v1/tenants/acme/history")
            self.assertEqual(status, 200)
            self.assertEqual(h["history"][0]["who"], "guard")
            self.assertEqual(h["history"][0]["sidecar"], "sidecar-0")
            self.assertIn("guard on sidecar-0: rollback", h["history"][0]["why"])
            fleet.proxies[1].wait_for_log(r'"event":"flags_store_applied".*"who":"guard"')
            # The fleet view (from another sidecar) shows who tripped, with its counts.
            def tripped_row():
                _, f = fleet.admins[1].get("/v1/fleet")
                rows = {r["id"]: r for r in f["sidecars"]}
                row = rows.get("sidecar-0")
                return row if row and row["guard"].get("acme") == "tripped" else None
            row = wait_until(tripped_row, timeout=15, what="sidecar-0's tripped guard in the fleet view")
            self.assertGreater(row["compared"], 0)
            self.assertGreater(row["mismatches"], 0)
            print(f"fleet view: sidecar-0 compared {row['compared']}, mismatches {row['mismatches']}, guard {row['guard']}")
        finally:
            fleet.close()


class MariaDbStoreTest(unittest.TestCase, FleetCases):
    TABLE = "sy_fleet_my"

    def test_polling_store_moves_all_and_conflicts_are_409(self):
        drop_store(self.TABLE, mysql=True)
        make_table()
        store = f"{{ target: store, table: {self.TABLE}, poll_ms: 250 }}"
        init_store_for(self, store, mysql_listener=MYSQL_LISTENER.format(port=free_port()))
        fleet = Fleet(self, 3, store, mysql=True)
        try:
            self.check_fleet(fleet)
            self.first_write_race(fleet)
            delays = []
            for k, (origin, phase) in enumerate([(2, "observe"), (0, "dual_write")]):
                _, d = self.move_and_measure(fleet, origin, {"phase": phase}, lambda t, p=phase: t["phase"] == p,
                                             f"MariaDB store (polling every 250 ms) #{k}")
                delays += d
            self.assertLess(max(delays), 1.0, delays)
            self.concurrent_patches(fleet)
            status, h = fleet.admins[1].get("/v1/tenants/acme/history")
            self.assertEqual(status, 200, h)
            self.assertEqual(len(h["history"]), 5)
            self.assertRegex(h["history"][0]["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
            f = self.check_fleet(fleet)
            self.assertEqual(f["fleet_version"], 5)
        finally:
            fleet.close()


class StoreDownTest(unittest.TestCase):
    TABLE = "sy_fleet_down"

    @classmethod
    def setUpClass(cls):
        cls.store_pg = ThrowawayPg().start()

    @classmethod
    def tearDownClass(cls):
        cls.store_pg.destroy()

    def test_store_killed_during_traffic(self):
        make_table()
        sp = self.store_pg.port
        extra = f'      store: {{ address: "127.0.0.1:{sp}", user: postgres, database: app }}'
        store = f"{{ target: store, table: {self.TABLE}, poll_ms: 300 }}"
        init_store_for(self, store, extra_targets=extra)
        fleet = Fleet(self, 3, store, extra_targets=extra)
        errors, done, statements = [], threading.Event(), [0]

        def traffic(port):
            try:
                with connect(port) as conn:
                    while not done.is_set():
                        try:
                            conn.execute("UPDATE fl_orders SET status = 'Dispatched' WHERE id = %s",
                                         (random.randint(1, ROWS),))
                            conn.execute("SELECT status FROM fl_orders WHERE id = %s", (random.randint(1, ROWS),))
                            statements[0] += 2
                        except psycopg.Error as e:
                            errors.append(repr(e))
            except psycopg.Error as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=traffic, args=(p,)) for p in fleet.ports]
        try:
            for t in threads:
                t.start()
            _, body = fleet.admins[0].call("PATCH", "/v1/tenants/acme", {"phase": "observe", "canary": {"percent": 7}})
            wait_until(lambda: all(a.tenant()["phase"] == "observe" for a in fleet.admins), what="observe everywhere")

            self.store_pg.kill()
            for i, a in enumerate(fleet.admins):
                wait_until(lambda a=a: a.metric("flags_store_up") == 0, what=f"sidecar {i} to see the store down")
            for a in fleet.admins:
                status, ready = a.get("/readyz")
                self.assertEqual(status, 200, ready)  # not a readiness failure
                self.assertTrue(ready["ready"])
                self.assertTrue(any("flags store" in n and "unreachable" in n for n in ready["notes"]), ready)
                t = a.tenant()
                self.assertEqual((t["phase"], t["canary"]["percent"]), ("observe", 7))  # last state kept
            status, body = fleet.admins[1].call("PATCH", "/v1/tenants/acme", {"phase": "dual_write"})
            self.assertEqual(status, 503, body)
            self.assertIn("change not applied", body)
            self.assertEqual(fleet.admins[1].tenant()["phase"], "observe")
            # A sidecar started now serves its config file and state_file, and
            # says so. Its state_file (as a pod restarted on the same volume
            # would have it) says observe at 3 %: neither the file's dual_write
            # nor the store's 7 %.
            with open(os.path.join(fleet.tmp, "state-3.json"), "w") as f:
                json.dump({"tenants": {"acme": {"phase": "observe", "canary": {"percent": 3}}}}, f)
            late = fleet.add(3)
            late.wait_for_log(r'"event":"flags_store_down".*config file and state_file', timeout=10)
            with connect(fleet.ports[3]) as conn:
                self.assertEqual(conn.execute("SELECT count(*) FROM fl_orders").fetchone()[0], ROWS)
            _, ready = fleet.admins[3].get("/readyz")
            self.assertTrue(any("not reached since start-up" in n for n in ready["notes"]), ready)
            t = fleet.admins[3].tenant()
            self.assertEqual((t["phase"], t["canary"]["percent"]), ("observe", 3))  # the state_file's
            time.sleep(1.0)  # traffic keeps flowing with the store gone

            self.store_pg.restart()
            t0 = time.monotonic()
            for i, a in enumerate(fleet.admins):
                wait_until(lambda a=a: a.metric("flags_store_up") == 1, timeout=20, what=f"sidecar {i} reconnected")
            # The late one catches up with the store's state.
            wait_until(lambda: fleet.admins[3].tenant()["canary"]["percent"] == 7, what="late sidecar catching up")
            print(f"\nstore back: all four reconnected and in step after {1000 * (time.monotonic() - t0):.0f} ms")
            status, body = fleet.admins[1].call("PATCH", "/v1/tenants/acme", {"phase": "dual_write"})
            self.assertEqual(status, 200, body)
            wait_until(lambda: all(a.tenant()["phase"] == "dual_write" for a in fleet.admins), what="catch-up")
            for a in fleet.admins:
                _, ready = a.get("/readyz")
                self.assertEqual(ready, {"ready": True})
        finally:
            done.set()
            for t in threads:
                t.join(timeout=10)
            fleet.close()
        print(f"\nstore down during traffic: {statements[0]} client statements, {len(errors)} errors")
        self.assertEqual(errors, [])
        self.assertGreater(statements[0], 100)


if __name__ == "__main__":
    unittest.main()
