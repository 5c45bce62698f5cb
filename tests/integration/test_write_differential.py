"""Differential check of the write rewrite: each statement runs directly on one
fresh copy of the data and through the proxy (dual_write) on another, and
the two copies are compared.

For every statement:
  1. success and failure agree;
  2. every column but the unified one agrees, row for row, and so do the side
     effects (a counter table that a volatile function bumps);
  3. every row the proxied statement touched has unified = map(legacy), or
     the proxy reported the statement (REWRITE_UNSUPPORTED) and left it alone.

A statement may also say what the proxy must do with it: REPORTED (it cannot
be rewritten safely, so it must be reported: an INSERT that leaves the legacy
column to its default, a DO block, a PREPARE string, an executable comment)
or NOT_REPORTED (it must be rewritten, or left alone when the client sets the
unified column itself). The legacy columns have defaults, so a reported
INSERT that the proxy forwarded silently would leave unified != map(legacy).

The shapes here are the ones that evaluated the client's expression twice:
volatile values (seeded random(), RAND(seed)), a function with side effects,
sub-queries, and MySQL assignments that read the unified column after the
legacy one is set. Seeds make "direct" and "proxied" comparable: the same
seed gives the same sequence, so a second evaluation shows up as a
difference.
"""
import os
import re
import unittest

import psycopg
import pymysql

from harness import PGPORT, Proxy, connect, dsn, free_port

MYPORT = int(os.environ.get("MYPORT", "3306"))

ORDER_MAP = {"Created": "CREATED", "Dispatched": "DISPATCHED", "Delivered": "DELIVERED", "Cancelled": "CANCELLED"}
TRANSFER_MAP = {"draft": "OPEN", "sent": "SENT", "received": "RECEIVED", "cancelled": "CANCELLED"}


def yaml_map(m):
    return "{ " + ", ".join(f'"{k}": {v}' for k, v in m.items()) + " }"


PG_SCHEMA = """
CREATE TABLE orders (id int PRIMARY KEY, status varchar(20) DEFAULT 'Created', unified_status varchar(20), note text);
CREATE TABLE staging (id int PRIMARY KEY, status varchar(20));
CREATE TABLE calls (n int NOT NULL);
INSERT INTO calls VALUES (0);
-- Volatile, with a side effect: each call bumps the counter, and the value
-- depends on how many calls came before.
CREATE FUNCTION next_status(i int) RETURNS varchar LANGUAGE sql VOLATILE AS $$
  UPDATE calls SET n = n + 1 RETURNING (ARRAY['Created','Dispatched','Delivered','Cancelled'])[1 + (n + i) % 4]
$$;
INSERT INTO orders SELECT g, (ARRAY['Created','Dispatched','Delivered','Cancelled'])[1 + g % 4], NULL, 'n' || g
  FROM generate_series(1, 40) g;
UPDATE orders SET unified_status = upper(status);  -- = map(status) for every value
INSERT INTO staging SELECT g, (ARRAY['Delivered','Cancelled'])[1 + g % 2] FROM generate_series(1, 40) g;
"""

REPORTED, NOT_REPORTED = "reported", "not reported"

PG_RANDOM = "CASE WHEN random() < 0.5 THEN 'Delivered' ELSE 'Cancelled' END"
PG_STATEMENTS = [
    # (sql, params)
    (f"UPDATE orders SET status = {PG_RANDOM}", None),
    (f"UPDATE orders SET note = 'r', status = {PG_RANDOM} WHERE id % 3 = 0", None),
    ("UPDATE orders SET status = next_status(id) WHERE id <= 10", None),
    ("UPDATE orders o SET status = next_status(o.id), note = 'x' WHERE o.id = 7", None),
    ("UPDATE orders SET status = (SELECT s.status FROM staging s WHERE s.id = orders.id)", None),
    ("UPDATE orders SET status = s.status || '' FROM staging s WHERE s.id = orders.id AND s.id > 30", None),
    ("UPDATE orders SET status = coalesce(next_status(id), %s) WHERE id BETWEEN 11 AND 14", ["Created"]),
    ("UPDATE orders SET status = initcap(lower(status)) WHERE id < 5", None),
    ("INSERT INTO orders (id, status) VALUES (100, next_status(100)) "
     "ON CONFLICT (id) DO UPDATE SET status = next_status(EXCLUDED.id)", None),
    ("INSERT INTO orders (id, status) VALUES (5, 'Created') "
     f"ON CONFLICT (id) DO UPDATE SET status = {PG_RANDOM}", None),
    ("INSERT INTO orders (id, status) VALUES (200, next_status(200))", None),
    (f"INSERT INTO orders (id, status) SELECT id + 1000, {PG_RANDOM} FROM orders WHERE id < 6", None),
    ("INSERT INTO orders (id, status) SELECT id + 2000, status FROM staging WHERE id < 6", None),
    ("UPDATE orders SET status = 'Delivered', note = unified_status WHERE id = 9", None),
    # (sql, params, what the proxy must do)
    ("INSERT INTO orders (id, note) VALUES (300, 'x')", None, REPORTED),
    ("INSERT INTO orders (id, status) VALUES (301, DEFAULT), (302, 'Delivered')", None, REPORTED),
    ("INSERT INTO orders (id, status) VALUES (%s, DEFAULT)", [303], REPORTED),
    ("INSERT INTO orders (id) SELECT id + 500 FROM staging WHERE id < 4", None, REPORTED),
    ("INSERT INTO orders DEFAULT VALUES", None, REPORTED),  # fails on the NULL id, both ways
    ("INSERT INTO orders (id, note, unified_status) VALUES (304, 'x', 'CREATED')", None, NOT_REPORTED),
    ("DO $$BEGIN UPDATE orders SET status = 'Delivered' WHERE id = 3; END$$", None, REPORTED),
    ("DO LANGUAGE plpgsql 'BEGIN INSERT INTO orders (id, status) VALUES (305, ''Cancelled''); END'", None, REPORTED),
    ("DO $q$BEGIN EXECUTE format('UPDATE orders SET status = %L WHERE id = 4', 'Dispatched'); END$q$", None,
     REPORTED),
    ("UPDATE orders SET status = 'Dispatched' WHERE id = 6", None, NOT_REPORTED),
]

MY_SCHEMA = [
    "CREATE TABLE transfers (id INT PRIMARY KEY, state VARCHAR(20) DEFAULT 'draft', unified_state VARCHAR(20),"
    " note VARCHAR(40))",
    "CREATE TABLE calls (n INT NOT NULL)",
    "INSERT INTO calls VALUES (0)",
    """CREATE FUNCTION next_state(i INT) RETURNS VARCHAR(20) MODIFIES SQL DATA NOT DETERMINISTIC
       BEGIN
         UPDATE calls SET n = n + 1;
         RETURN ELT(1 + (i + (SELECT n FROM calls)) % 4, 'draft', 'sent', 'received', 'cancelled');
       END""",
    """INSERT INTO transfers
       SELECT seq, ELT(1 + seq % 4, 'draft', 'sent', 'received', 'cancelled'), NULL, CONCAT('n', seq)
       FROM seq_1_to_40""",
    "UPDATE transfers SET unified_state = ELT(FIELD(state, 'draft', 'sent', 'received', 'cancelled'),"
    " 'OPEN', 'SENT', 'RECEIVED', 'CANCELLED')",
]

MY_RANDOM = "IF(RAND(7) < 0.5, 'sent', 'cancelled')"
MY_STATEMENTS = [
    (f"UPDATE transfers SET state = {MY_RANDOM}", None),
    ("UPDATE transfers SET state = next_state(id) WHERE id <= 10", None),
    ("UPDATE transfers SET state = 'cancelled', note = unified_state WHERE id = 3", None),
    ("UPDATE transfers SET state = 'sent', note = CONCAT(unified_state, '/', state) WHERE id BETWEEN 4 AND 8", None),
    ("UPDATE transfers SET note = 'y', state = next_state(id), note = unified_state WHERE id = 12", None),
    ("UPDATE transfers SET state = %s, note = unified_state WHERE id = 13", ["received"]),
    (f"INSERT INTO transfers (id, state) SELECT id + 1000, {MY_RANDOM} FROM transfers WHERE id < 6", None),
    ("INSERT INTO transfers (id, state, note) SELECT id + 2000, 'sent' s, 'x' FROM transfers WHERE id < 4", None),
    ("INSERT INTO transfers (id, state, note) SELECT id + 3000, state, note FROM transfers WHERE id < 4", None),
    ("INSERT INTO transfers (id, state) VALUES (14, 'draft') "
     "ON DUPLICATE KEY UPDATE state = 'received', note = unified_state", None),
    ("INSERT INTO transfers SET id = 300, state = next_state(300), note = 'set'", None),
    # (sql, params, what the proxy must do)
    ("INSERT INTO transfers (id, note) VALUES (400, 'x')", None, REPORTED),
    ("INSERT INTO transfers (id, state) VALUES (401, DEFAULT), (402, 'sent')", None, REPORTED),
    ("INSERT INTO transfers SET id = 403, note = 'x'", None, REPORTED),
    ("REPLACE INTO transfers (id) VALUES (1)", None, REPORTED),
    ("INSERT INTO transfers (id, note, unified_state) VALUES (404, 'x', 'OPEN')", None, NOT_REPORTED),
    ("EXECUTE IMMEDIATE 'UPDATE transfers SET state = ''sent'' WHERE id = 1'", None, REPORTED),
    ("PREPARE s FROM 'UPDATE transfers SET state = ? WHERE id = ?'", None, REPORTED),
    ("SET @q = 'UPDATE transfers SET state = ''received'' WHERE id = 2'", None, REPORTED),
    ("UPDATE transfers SET note = 'x' /*!, state = 'sent' */ WHERE id = 5", None, REPORTED),
    ("UPDATE transfers SET note = 'x' /*M!, state = 'received' */ WHERE id = 6", None, REPORTED),
    ("/*!40000 UPDATE transfers SET state = 'cancelled' WHERE id = 7 */", None, REPORTED),
    ("UPDATE transfers SET state := 'sent' WHERE id = 9", None, NOT_REPORTED),
    ("UPDATE transfers SET note := 'y', state := 'received' WHERE id = 10", None, NOT_REPORTED),
    ("UPDATE transfers SET state = X'73656e74' WHERE id = 11", None, NOT_REPORTED),
    ("UPDATE transfers SET state = 0x7265636569766564 WHERE id = 12", None, NOT_REPORTED),
    ("UPDATE transfers SET state = b'01110011011001010110111001110100' WHERE id = 13", None, NOT_REPORTED),
    ("INSERT INTO transfers (id, state) VALUES (405, x'6472616674'), (406, 0x73656e74)", None, NOT_REPORTED),
]


def reported(log_before, log_after):
    return "REWRITE_UNSUPPORTED" in log_after[len(log_before):]


class Differential:
    """Each dialect's case provides proxy, fresh(db), run_on(port, db, sql,
    params) -> (ok, error) and state(db) -> (rows, calls)."""

    def run_differential(self, server, port, statements, mapping):
        failures = []
        for i, (sql, params, *expect) in enumerate(statements):
            self.fresh("diff_direct")
            self.fresh("diff_proxied")
            before = self.proxy.log_text()
            direct = self.run_on(port, "diff_direct", sql, params)
            proxied = self.run_on(self.proxy.port, "diff_proxied", sql, params)
            was_reported = reported(before, self.proxy.log_text())
            d_rows, d_calls = self.state("diff_direct")
            p_rows, p_calls = self.state("diff_proxied")
            failures += compare(i, sql, direct, proxied, d_rows, p_rows, d_calls, p_calls, was_reported, mapping)
            if expect and (expect[0] == REPORTED) != was_reported:
                failures.append(f"#{i} {sql}: expected {expect[0]}, but it was "
                                f"{'reported' if was_reported else 'not reported'}")
        print(f"\n{server}: {len(statements)} statements compared")
        self.assertEqual(failures, [])


class PostgresDifferential(Differential, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with connect(PGPORT, dbname="postgres") as c:
            c.execute("DROP DATABASE IF EXISTS diff_base WITH (FORCE)")
            c.execute("CREATE DATABASE diff_base")
        with connect(PGPORT, dbname="diff_base") as c:
            c.execute(PG_SCHEMA)
        port = free_port()
        cls.proxy = Proxy(f"""listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: 127.0.0.1:{PGPORT} }}
tenants:
  - name: diff
    match: {{ listener: pg }}
    phase: dual_write
    on_unsupported: forward
    migrations: [order_status]
migrations:
  order_status:
    table: orders
    legacy_column: status
    unified_column: unified_status
    map: {yaml_map(ORDER_MAP)}
    unmapped: keep
""").start()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def fresh(self, name):
        with connect(PGPORT, dbname="postgres") as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {name} TEMPLATE diff_base")

    def run_on(self, port, db, sql, params):
        """Runs sql after seeding random(); returns (ok, error text)."""
        with psycopg.connect(dsn(port, dbname=db), autocommit=True) as c:
            c.execute("SELECT setseed(0.25)")
            try:
                c.execute(sql, params, prepare=params is not None)
                return True, ""
            except psycopg.Error as e:
                return False, str(e).splitlines()[0]

    @staticmethod
    def state(db):
        with psycopg.connect(dsn(PGPORT, dbname=db)) as c:
            rows = c.execute("SELECT id, status, note, unified_status FROM orders ORDER BY id").fetchall()
            calls = c.execute("SELECT n FROM calls").fetchone()[0]
        return rows, calls

    def test_direct_and_proxied_agree(self):
        self.run_differential("PostgreSQL", PGPORT, PG_STATEMENTS, ORDER_MAP)


class MariaDbDifferential(Differential, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.proxy = Proxy(f"""listeners:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: 127.0.0.1:{MYPORT} }}
tenants:
  - name: diff
    match: {{ listener: my }}
    phase: dual_write
    on_unsupported: forward
    migrations: [transfer_state]
migrations:
  transfer_state:
    table: transfers
    legacy_column: state
    unified_column: unified_state
    map: {yaml_map(TRANSFER_MAP)}
    unmapped: keep
""").start()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    @staticmethod
    def root():
        return pymysql.connect(host="127.0.0.1", port=MYPORT, user="root", password="", autocommit=True)

    def fresh(self, name):
        with self.root() as c, c.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name}")
            cur.execute(f"USE {name}")
            for stmt in MY_SCHEMA:
                cur.execute(stmt)
            cur.execute(f"GRANT ALL ON {name}.* TO 'app'@'%'")

    def run_on(self, port, db, sql, params):
        conn = pymysql.connect(host="127.0.0.1", port=port, user="app", password="apppass", database=db,
                               autocommit=True)
        try:
            with conn.cursor() as cur:
                try:
                    cur.execute(sql, params)
                    return True, ""
                except pymysql.MySQLError as e:
                    return False, str(e.args[0])
        finally:
            conn.close()

    def state(self, db):
        with self.root() as c, c.cursor() as cur:
            cur.execute(f"SELECT id, state, note, unified_state FROM {db}.transfers ORDER BY id")
            rows = [tuple(r) for r in cur.fetchall()]
            cur.execute(f"SELECT n FROM {db}.calls")
            calls = cur.fetchone()[0]
        return rows, calls

    def test_direct_and_proxied_agree(self):
        self.run_differential("MariaDB", MYPORT, MY_STATEMENTS, TRANSFER_MAP)


def compare(i, sql, direct, proxied, d_rows, p_rows, d_calls, p_calls, was_reported, mapping):
    """The three checks; returns a list of failure descriptions. Every row of
    the base data already has unified = map(legacy), so after a statement
    the proxy rewrote, every row must still have it."""
    out = []
    one_line = re.sub(r"\s+", " ", sql)
    label = f"#{i} {one_line}"
    if direct[0] != proxied[0]:
        out.append(f"{label}: direct ok={direct[0]} {direct[1]!r}, proxied ok={proxied[0]} {proxied[1]!r}")
        return out
    legacy_d = [r[:3] for r in d_rows]
    legacy_p = [r[:3] for r in p_rows]
    if legacy_d != legacy_p:
        diff = [(a, b) for a, b in zip(legacy_d, legacy_p) if a != b][:3]
        out.append(f"{label}: legacy columns differ (direct, proxied): {diff or (len(legacy_d), len(legacy_p))}")
    if d_calls != p_calls:
        out.append(f"{label}: side effects differ: the function ran {d_calls}x direct, {p_calls}x proxied")
    if not direct[0] or was_reported:
        return out
    for r in p_rows:
        want = mapping.get(r[1])
        if want is not None and r[3] != want:
            out.append(f"{label}: row {r[0]}: legacy {r[1]!r}, unified {r[3]!r}, expected {want!r}")
    return out


if __name__ == "__main__":
    unittest.main()
