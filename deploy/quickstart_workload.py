#!/usr/bin/env python3
"""The quickstart's scripted workload (run by deploy/quickstart.sh).

Loads a few thousand rows, then moves the tenant through the phases with the
admin API while application-like sessions update statuses through the proxy,
and prints what a person wants to see: rewritten statements, consistency
before and after, the canary split, and where the status page and metrics are.
"""
import argparse
import json
import os
import random
import subprocess
import urllib.request

STATUSES = ["Created", "Awaiting approval", "Awaiting fulfilment", "In fulfilment", "Dispatched", "Delivered",
            "Cancelled"]
PR = ["draft", "submitted", "approved", "rejected", "partially delivered", "fully delivered"]
STATES = ["draft", "sent", "receiving", "received", "completed", "cancelled"]
ORDER_MAP = {"Created": "CREATED", "Awaiting approval": "PENDING_APPROVAL", "Awaiting fulfilment": "APPROVED",
             "In fulfilment": "IN_FULFILMENT", "Dispatched": "DISPATCHED", "Delivered": "DELIVERED",
             "Cancelled": "CANCELLED"}
STATE_MAP = {"draft": "OPEN", "sent": "SENT", "receiving": "DISPATCHED", "received": "RECEIVED",
             "completed": "RECEIVED", "cancelled": "CANCELLED"}
ROWS = 5000


class Pg:
    table, legacy, unified, tenant = "orders", "status", "unified_status", "acme"
    values, mapping = STATUSES, ORDER_MAP
    update_sql = "UPDATE orders SET status = %s WHERE id = %s"

    def connect(self, port):
        import psycopg
        return psycopg.connect(f"host=127.0.0.1 port={port} dbname=app user=postgres", autocommit=True)

    def setup(self, port):
        with self.connect(port) as c:
            c.execute("DROP TABLE IF EXISTS orders")
            c.execute("CREATE TABLE orders (id int PRIMARY KEY, status text, unified_status text, pr_status text, "
                      "unified_pr_status text, amount numeric, updated_at timestamptz DEFAULT now())")
            c.execute("INSERT INTO orders (id, status, pr_status, amount) SELECT i, (ARRAY['Created','Awaiting approval',"
                      "'Awaiting fulfilment','In fulfilment','Dispatched','Delivered'])[1 + i %% 6], (ARRAY['draft',"
                      "'submitted','approved'])[1 + i %% 3], (i %% 97) * 10 FROM generate_series(1, %s) i", (ROWS,))

    def query(self, port, sql):
        with self.connect(port) as c:
            return c.execute(sql).fetchall()

    def execute(self, port, sql):
        with self.connect(port) as c:
            c.execute(sql)


class My:
    table, legacy, unified, tenant = "transfers", "state", "unified_state", "consignments"
    values, mapping = STATES, STATE_MAP
    update_sql = "UPDATE transfers SET state = %s WHERE id = %s"

    def connect(self, port):
        import pymysql
        return pymysql.connect(host="127.0.0.1", port=port, user="app", password="apppass", database="app",
                               autocommit=True)

    def setup(self, port):
        with self.connect(port) as c, c.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS transfers")
            cur.execute("CREATE TABLE transfers (id INT PRIMARY KEY, outlet_from INT, outlet_to INT, state VARCHAR(32), "
                        "unified_state VARCHAR(32), updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
            cur.execute(f"INSERT INTO transfers (id, outlet_from, outlet_to, state) SELECT seq, seq % 7, seq % 5, "
                        f"ELT(1 + seq % 6, 'draft','sent','receiving','received','completed','cancelled') "
                        f"FROM seq_1_to_{ROWS}")

    def query(self, port, sql):
        with self.connect(port) as c, c.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def execute(self, port, sql):
        self.query(port, sql)


def admin(args, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{args.admin_port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {os.environ['SY_ADMIN_TOKEN']}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null") if "json" in r.headers.get("Content-Type", "") else r.read().decode()


def consistency(db, port):
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in db.mapping.items())
    rows = db.query(port, f"SELECT COUNT(*), SUM(CASE WHEN {db.unified} = (CASE {db.legacy} {cases} END) THEN 1 ELSE 0 END)"
                          f" FROM {db.table}")
    total, ok = int(rows[0][0]), int(rows[0][1] or 0)
    return ok, total


def verify(args, db):
    """Inconsistent rows over the tenant's migrations, as `switchyard verify` reports them."""
    r = subprocess.run([args.bin, "verify", "-c", args.config, "--tenant", db.tenant, "--json"], capture_output=True,
                       text=True)
    if r.returncode not in (0, 1):
        raise SystemExit(f"quickstart: verify failed: {r.stderr}")
    return sum(m["inconsistent"] for m in json.loads(r.stdout)["migrations"])


def sessions(db, args, n, per_session=5):
    """n application sessions, each updating `per_session` rows through the proxy; returns the ids per session."""
    touched = []
    for s in range(n):
        ids = random.sample(range(1, ROWS + 1), per_session)
        conn = db.connect(args.proxy_port)
        cur = conn.cursor()
        for i in ids:
            cur.execute(db.update_sql, (random.choice(db.values), i))
        conn.close()
        touched.append(ids)
    return touched


def main():
    p = argparse.ArgumentParser()
    for a in ("--dialect", "--config", "--log", "--bin"):
        p.add_argument(a, required=True)
    for a in ("--db-port", "--proxy-port", "--admin-port"):
        p.add_argument(a, type=int, required=True)
    args = p.parse_args()
    random.seed(7)
    db = My() if args.dialect == "mysql" else Pg()

    print(f"\nLoading {ROWS} {db.table} rows (legacy `{db.legacy}` set, unified `{db.unified}` empty) ...")
    db.setup(args.db_port)
    ok, total = consistency(db, args.db_port)
    print(f"Consistency before: {ok} of {total} rows have {db.unified} = map({db.legacy})")

    example = db.update_sql.replace("%s", "?" if args.dialect == "mysql" else "$1", 1).replace(
        "%s", "?" if args.dialect == "mysql" else "$2")
    print("\n== What switchyard does to the application's statements")
    for phase in ("observe", "dual_write"):
        out = subprocess.run([args.bin, "explain", "-c", args.config, "--tenant", db.tenant, "--phase", phase,
                              "--dialect", args.dialect, example], capture_output=True, text=True, check=True).stdout
        print(f"-- phase {phase}:")
        print("   " + out.split("sql:\n", 1)[1].strip())

    print("\n== Phase observe: 40 sessions update statuses; nothing is rewritten, every write is logged")
    sessions(db, args, 40)
    ok_obs, _ = consistency(db, args.db_port)
    observed = sum(1 for line in open(args.log) if '"outcome":"observed"' in line)
    print(f"   {observed} STATUS_UPDATE log lines (outcome observed); consistent rows still {ok_obs}")

    print("\n== Canary: dual_write for 50 % of sessions (sticky by session)")
    admin(args, "PATCH", f"/v1/tenants/{db.tenant}", {"canary": {"phase": "dual_write", "percent": 50}})
    db.execute(args.db_port, f"UPDATE {db.table} SET {db.unified} = NULL")  # a clean slate to count the split
    touched = sessions(db, args, 200, per_session=1)
    written = {r[0] for r in db.query(args.db_port, f"SELECT id FROM {db.table} WHERE {db.unified} IS NOT NULL")}
    in_canary = sum(1 for ids in touched if ids[0] in written)
    print(f"   {in_canary} of {len(touched)} sessions were dual-written: canary split {100.0 * in_canary / len(touched):.1f} %")

    print("\n== Phase dual_write for the whole tenant")
    admin(args, "PATCH", f"/v1/tenants/{db.tenant}", {"phase": "dual_write", "canary": {"percent": 0}})
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in db.mapping.items())
    stale = int(db.query(args.db_port, f"SELECT COUNT(*) FROM {db.table} WHERE {db.unified} IS NOT NULL AND "
                         f"{db.unified} <> (CASE {db.legacy} {cases} END)")[0][0])
    touched = sessions(db, args, 100, per_session=20)
    ok, total = consistency(db, args.db_port)
    written = int(db.query(args.db_port, f"SELECT COUNT(*) FROM {db.table} WHERE {db.unified} IS NOT NULL")[0][0])
    print(f"   rows the proxy dual-wrote so far: {written}; consistent with the map: {ok}")
    ids = ",".join(str(i) for batch in touched for i in batch)
    bad = int(db.query(args.db_port, f"SELECT COUNT(*) FROM {db.table} WHERE id IN ({ids}) AND "
                       f"{db.unified} IS DISTINCT FROM (CASE {db.legacy} {cases} END)".replace(
                           "IS DISTINCT FROM", "<>" if args.dialect == "mysql" else "IS DISTINCT FROM"))[0][0])
    print(f"Consistency after: {ok} of {total} rows have {db.unified} = map({db.legacy}); "
          f"rows written in dual_write that disagree: {bad}")
    if stale:
        print(f"   note: {stale} rows were dual-written by a canary session and then changed by a session outside the "
              f"canary, so their unified value went stale; that is what a write canary does, and why the runbook "
              f"checks consistency (and backfills) before read_switch.")

    print("\n== Backfill the rows no session wrote, then verify (switchyard backfill / verify)")
    before = verify(args, db)
    out = subprocess.run([args.bin, "backfill", "-c", args.config, "--tenant", db.tenant, "--batch", "1000",
                          "--progress", args.log + ".backfill.json"], capture_output=True, text=True, check=True).stdout
    print("   " + "\n   ".join(l for l in out.splitlines() if "done" in l))
    after = verify(args, db)
    print(f"   inconsistent rows before the backfill: {before}; after: {after}")

    metrics = admin(args, "GET", "/metrics")
    lines = [l for l in metrics.splitlines() if l.startswith("switchyard_rewrites_total")]
    print("\n== Metrics (rewrites_total):")
    for l in lines:
        print("   " + l)
    print(f"\nStatus page: http://127.0.0.1:{args.admin_port}/   metrics: http://127.0.0.1:{args.admin_port}/metrics"
          f"   (kept running while deploy/quickstart.sh waits in a terminal)")
    if bad or after:
        raise SystemExit(f"quickstart: {bad} rows written in dual_write and {after} rows after the backfill disagree")


if __name__ == "__main__":
    main()
