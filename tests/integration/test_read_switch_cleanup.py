"""Writes in cleanup read legacy' too, against the real server.

In cleanup the legacy column is no longer written, so its stored value goes
stale; a write that reads it (WHERE status = ..., SET x = status, INSERT ...
SELECT status, RETURNING status) must see legacy' = reverse(unified), as a
read does. The oracle: the same statements run directly on a copy of the
tables where the legacy column holds reverse(unified) and is written as the
application writes it. Afterwards legacy' of the proxied table, every other
column, and every RETURNING row must equal the oracle's.
"""
import unittest

from harness import PGPORT, Proxy, config, connect, free_port, pg_listener

MAP = {"Awaiting approval": "PENDING_APPROVAL", "Dispatched": "DISPATCHED", "Shipped": "DISPATCHED",
       "Delivered": "DELIVERED", "Lost": "LOST"}
REVERSE = {"PENDING_APPROVAL": "Awaiting approval", "DISPATCHED": "Dispatched", "DELIVERED": "Delivered",
           "LOST": "Lost"}

TENANT = """
tenants:
  - name: acme
    match: { listener: pg }
    phase: cleanup
    on_unsupported: reject
    migrations: [order_status]
migrations:
  order_status:
    table: cl_orders
    legacy_column: status
    unified_column: unified_status
    map: { "Awaiting approval": PENDING_APPROVAL, Dispatched: DISPATCHED, Shipped: DISPATCHED,
           Delivered: DELIVERED, Lost: LOST }
    reverse: { DISPATCHED: Dispatched }
"""

# (statement, whether it returns rows)
STATEMENTS = [
    ("UPDATE cl_orders SET note = status WHERE status = 'Dispatched'", False),
    ("UPDATE cl_orders SET note = 'was ' || coalesce(status, '-') WHERE status IN ('Delivered', 'Lost') OR status IS NULL",
     False),
    ("UPDATE cl_orders SET note = 'shipped?' WHERE status = 'Shipped'", False),
    ("UPDATE cl_orders SET status = 'Delivered' WHERE status = 'Dispatched' AND id < 40 RETURNING id, status, note",
     True),
    ("DELETE FROM cl_orders WHERE status = 'Lost' AND id % 3 = 0 RETURNING id, status", True),
    ("INSERT INTO cl_archive (id, status_copy) SELECT id, status FROM cl_orders WHERE status LIKE 'A%'", False),
    ("UPDATE cl_orders o SET note = a.status_copy FROM cl_archive a WHERE a.id = o.id AND o.status <> 'Delivered'",
     False),
    ("INSERT INTO cl_orders (id, status, note) VALUES (1000, 'Lost', 'new') RETURNING status", True),
    ("UPDATE cl_orders SET note = (SELECT count(*)::text FROM cl_orders i WHERE i.status = 'Delivered') WHERE id = 1",
     False),
]


def reset(conn):
    conn.execute("""
        DROP SCHEMA IF EXISTS cl_oracle CASCADE;
        DROP TABLE IF EXISTS cl_orders, cl_archive;
        CREATE TABLE cl_orders (id int PRIMARY KEY, status text, unified_status text, note text);
        CREATE TABLE cl_archive (id int, status_copy text);
        -- legacy and unified disagree on purpose: a read of the stored legacy
        -- column would show.
        INSERT INTO cl_orders SELECT i,
          (ARRAY['Awaiting approval','Dispatched','Shipped','Delivered','Lost',NULL,'Bogus'])[1 + i % 7],
          (ARRAY['PENDING_APPROVAL','DISPATCHED','DELIVERED','LOST',NULL,'UNKNOWN'])[1 + i % 6], NULL
          FROM generate_series(1, 120) i;
        CREATE SCHEMA cl_oracle;
        CREATE TABLE cl_oracle.cl_orders (LIKE cl_orders INCLUDING ALL);
        CREATE TABLE cl_oracle.cl_archive (LIKE cl_archive);
    """)
    # The oracle's legacy column is what the proxy must make the statements see.
    case = "CASE unified_status " + " ".join(f"WHEN '{u}' THEN '{l}'" for u, l in REVERSE.items()) + " ELSE status END"
    conn.execute(f"INSERT INTO cl_oracle.cl_orders SELECT id, {case}, unified_status, note FROM cl_orders")


def table_state(conn, schema, switched):
    legacy = ("CASE unified_status " + " ".join(f"WHEN '{u}' THEN '{l}'" for u, l in REVERSE.items())
              + " ELSE status END") if switched else "status"
    rows = conn.execute(f"SELECT id, {legacy}, note FROM {schema}.cl_orders ORDER BY id").fetchall()
    archive = conn.execute(f"SELECT id, status_copy FROM {schema}.cl_archive ORDER BY id").fetchall()
    return rows, archive


class CleanupWrites(unittest.TestCase):
    def connection(self, port, **kw):
        conn = connect(port, **kw)
        self.addCleanup(conn.close)
        return conn

    def test_writes_in_cleanup_read_legacy_prime(self):
        direct = self.connection(PGPORT)
        reset(direct)
        oracle = self.connection(PGPORT, options="-csearch_path=cl_oracle")
        with Proxy(config(pg_listener("pg", free_port(), PGPORT), extra=TENANT)) as proxy:
            via = self.connection(proxy.port)
            for sql, returns in STATEMENTS:
                got = via.execute(sql)
                want = oracle.execute(sql)
                if returns:
                    self.assertEqual(sorted(got.fetchall()), sorted(want.fetchall()), sql)
                # cleanup writes only the unified column: the oracle's
                # application would have written legacy, which legacy' mirrors.
            self.assertEqual(table_state(direct, "public", True), table_state(direct, "cl_oracle", False))
            # Cleanup really stopped writing legacy: row 1000's legacy column is empty.
            self.assertEqual(direct.execute("SELECT status, unified_status FROM cl_orders WHERE id = 1000").fetchone(),
                             (None, "LOST"))
            self.assertNotIn('"kind":"read","reason"', proxy.log_text())
            via.close()  # before the proxy stops, which would otherwise wait for the session to drain

    def test_a_write_whose_value_reads_the_replaced_column_is_refused(self):
        direct = self.connection(PGPORT)
        reset(direct)
        before = table_state(direct, "public", False)
        with Proxy(config(pg_listener("pg", free_port(), PGPORT), extra=TENANT)) as proxy:
            via = self.connection(proxy.port)
            with self.assertRaisesRegex(Exception, "switchyard: cannot rewrite this write safely"):
                via.execute("UPDATE cl_orders SET status = CASE WHEN status = 'Dispatched' THEN 'Delivered' END")
            with self.assertRaisesRegex(Exception, "switchyard: cannot rewrite this write safely"):
                via.execute("UPDATE cl_orders SET note = 'x' RETURNING *")
            proxy.wait_for_log(r'"category":"REWRITE_UNSUPPORTED".*"kind":"write"')
            via.close()
        self.assertEqual(table_state(direct, "public", False), before)


if __name__ == "__main__":
    unittest.main()
