"""The rewrite seen from real clients: parameter types are unchanged, an ORM's
writes are dual-written, untouched statements reach the server byte for byte,
and every phase behaves as SPEC.md says."""
import os
import re
import time
import unittest
from pathlib import Path

import psycopg

from harness import PGPORT, Proxy, connect, free_port
from test_rewrite_corpus import corpus_config, load_schema

PG_LOG = Path(os.environ.get("SY_PG_DIR", "/nonexistent")) / "postgres.log"


def config(phase="dual_write", on_unsupported="forward"):
    text = corpus_config(free_port()).replace("phase: dual_write", f"phase: {phase}")
    return text.replace("on_unsupported: forward", f"on_unsupported: {on_unsupported}")


def param_types(conn, sql):
    """The parameter types the server reports for `sql` (Parse + Describe)."""
    name = f"s{time.monotonic_ns()}".encode()
    res = conn.pgconn.prepare(name, sql.encode())
    assert res.status == psycopg.pq.ExecStatus.COMMAND_OK, res.error_message
    desc = conn.pgconn.describe_prepared(name)
    return [desc.param_type(i) for i in range(desc.nparams)]


class ParameterTypes(unittest.TestCase):
    def test_inferred_parameter_types_do_not_change(self):
        load_schema()
        statements = [
            "UPDATE orders SET status = $1 WHERE id = $2",                       # enum legacy
            "UPDATE orders SET pr_status = $1, note = $2 WHERE id = $3",         # varchar legacy
            "UPDATE purchase_orders SET po_status = $1 WHERE id = $2",           # text legacy
            "INSERT INTO orders (id, status, pr_status) VALUES ($1, $2, $3)",
            "INSERT INTO cashouts (id, user_id, amount, status) VALUES ($1, $2, $3, $4)",
            "INSERT INTO orders (id, status) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status",
            "UPDATE orders SET status = CASE WHEN $1 THEN 'Created'::order_status ELSE status END WHERE id = $2",
        ]
        for phase in ("dual_write", "cleanup"):
            with Proxy(config(phase)) as proxy, connect(PGPORT) as direct, connect(proxy.port) as via:
                for sql in statements:
                    with self.subTest(phase=phase, sql=sql):
                        self.assertEqual(param_types(via, sql), param_types(direct, sql))


class Orm(unittest.TestCase):
    def test_sqlalchemy_orm_updates_are_dual_written(self):
        import sqlalchemy as sa
        from sqlalchemy.orm import Session, declarative_base

        load_schema()
        Base = declarative_base()

        class Order(Base):
            __tablename__ = "orders"
            id = sa.Column(sa.Integer, primary_key=True)
            status = sa.Column(sa.Enum("Created", "Awaiting approval", "Awaiting fulfilment", "In fulfilment",
                                       "Dispatched", "Delivered", "Cancelled", "On hold", name="order_status",
                                       create_type=False))
            pr_status = sa.Column(sa.String(40))
            note = sa.Column(sa.Text)

        with Proxy(config()) as proxy:
            # SQLAlchemy 1.4 (Debian) drives PostgreSQL through psycopg2.
            engine = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{proxy.port}/app")
            with Session(engine) as s:
                s.add_all([Order(id=500 + i, status="Created", pr_status="draft") for i in range(5)])
                s.commit()
                for o in s.query(Order).filter(Order.id >= 500).order_by(Order.id):
                    o.status = ["Awaiting approval", "Dispatched", "Delivered", "Cancelled", "On hold"][o.id - 500]
                    o.pr_status = "approved"
                s.commit()
                s.query(Order).filter(Order.id == 504).update({Order.status: "In fulfilment"})
                s.commit()
            engine.dispose()
        with connect(PGPORT) as conn:
            rows = conn.execute("SELECT id, status::text, unified_status, unified_pr_status FROM orders "
                                "WHERE id >= 500 ORDER BY id").fetchall()
        self.assertEqual(rows, [(500, "Awaiting approval", "PENDING_APPROVAL", "APPROVED"),
                                (501, "Dispatched", "DISPATCHED", "APPROVED"),
                                (502, "Delivered", "DELIVERED", "APPROVED"),
                                (503, "Cancelled", "CANCELLED", "APPROVED"),
                                (504, "In fulfilment", "IN_FULFILMENT", "APPROVED")])


class Phases(unittest.TestCase):
    def setUp(self):
        load_schema()

    def unified(self, table, id_):
        with connect(PGPORT) as conn:
            return conn.execute(f"SELECT unified_status FROM {table} WHERE id = %s", (id_,)).fetchone()[0]

    def test_off_and_non_matching_statements_reach_the_server_byte_for_byte(self):
        statements = ["UPDATE orders SET note = 'x' /* keep   me */ WHERE id = 1",
                      "SELECT  status ,pr_status FROM orders WHERE id = 2 -- tail",
                      "update   customers_tbl_missing set status = 'Dispatched'"]
        for phase in ("off", "dual_write"):
            with Proxy(config(phase)) as proxy, connect(proxy.port) as conn:
                conn.execute("SET log_statement = 'all'")
                marker = f"/* probe {phase} {time.monotonic_ns()} */"
                for sql in statements:
                    text = f"{sql} {marker}" if "--" not in sql else f"{marker} {sql}"
                    try:
                        conn.execute(text, prepare=False)
                    except psycopg.Error:
                        pass
                    time.sleep(0.05)
                    log = PG_LOG.read_text(errors="replace")
                    self.assertIn(f"statement: {text}", log, phase)
            if phase == "off":
                self.assertNotIn("unified", log.split(marker)[0][-200:])

    def test_off_leaves_writes_alone(self):
        with Proxy(config("off")) as proxy, connect(proxy.port) as conn:
            conn.execute("UPDATE orders SET status = 'Dispatched' WHERE id = 1")
        self.assertEqual(self.unified("orders", 1), "CREATED")

    def test_observe_logs_but_does_not_change(self):
        with Proxy(config("observe")) as proxy, connect(proxy.port) as conn:
            conn.execute("UPDATE orders SET status = 'Dispatched' WHERE id = 1")
            conn.execute("UPDATE orders SET pr_status = 'lost in post' WHERE id = 2")
            conn.execute("UPDATE orders SET (status, note) = ('Delivered', 'x') WHERE id = 3")
            proxy.wait_for_log(r'"category":"REWRITE_UNSUPPORTED"')
            records = [r for r in proxy.log_records() if r.get("event") == "rewrite"]
        self.assertEqual(self.unified("orders", 1), "CREATED")
        by_category = {r["category"]: r for r in records}
        self.assertEqual(by_category["STATUS_UPDATE"]["transition"], {"legacy": "Dispatched", "unified": "DISPATCHED"})
        self.assertEqual(by_category["STATUS_UPDATE"]["entity_id"], "1")
        self.assertEqual(by_category["STATUS_UPDATE"]["outcome"], "observed")
        self.assertEqual(by_category["UNMAPPED_VALUE"]["transition"]["legacy"], "lost in post")
        self.assertIn("multi-column", by_category["REWRITE_UNSUPPORTED"]["reason"])
        for r in records:
            self.assertEqual(r["tenant"], "corpus")
            self.assertTrue(r["fingerprint"])

    def test_cleanup_writes_only_the_unified_column(self):
        with Proxy(config("cleanup")) as proxy, connect(proxy.port) as conn:
            conn.execute("UPDATE orders SET status = 'Dispatched' WHERE id = 1")
            conn.execute("UPDATE orders SET status = %s WHERE id = %s", ("Delivered", 2))
            conn.execute("INSERT INTO orders (id, status, pr_status) VALUES (700, 'Cancelled', 'draft')")
        with connect(PGPORT) as conn:
            rows = conn.execute("SELECT id, status::text, unified_status FROM orders WHERE id IN (1, 2, 700) ORDER BY id").fetchall()
        self.assertEqual(rows, [(1, "Created", "DISPATCHED"), (2, "Created", "DELIVERED"), (700, None, "CANCELLED")])

    def test_rejections_are_clear_errors_and_write_nothing(self):
        with Proxy(config("dual_write", on_unsupported="reject")) as proxy, connect(proxy.port) as conn:
            with self.assertRaises(psycopg.errors.FeatureNotSupported) as cm:
                conn.execute("UPDATE orders SET (status, note) = ('Delivered', 'x') WHERE id = 3", prepare=False)
            self.assertIn("on_unsupported: reject", str(cm.exception))
            # No column named: the legacy column is written by position.
            with self.assertRaises(psycopg.errors.FeatureNotSupported) as cm:
                conn.execute("INSERT INTO orders SELECT * FROM orders WHERE id = 3", prepare=False)
            self.assertIn("on_unsupported: reject", str(cm.exception))
            with self.assertRaises(psycopg.Error) as cm:
                conn.execute("UPDATE escrows SET status = 'LIMBO' WHERE id = 1")  # extended protocol
            self.assertIn("switchyard: unmapped value 'LIMBO'", str(cm.exception))
            with self.assertRaises(psycopg.errors.InvalidParameterValue):
                conn.execute("UPDATE escrows SET status = 'LIMBO' WHERE id = 1", prepare=False)  # simple protocol
            # The session is still usable afterwards.
            self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))
        with connect(PGPORT) as conn:
            self.assertEqual(conn.execute("SELECT status::text FROM orders WHERE id = 3").fetchone()[0], "Created")
            self.assertEqual(conn.execute("SELECT status FROM escrows WHERE id = 1").fetchone()[0], "CREATED")


if __name__ == "__main__":
    unittest.main()


class MetricsAndHealth(unittest.TestCase):
    def get(self, port, path):
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_rewrites_are_counted_by_outcome(self):
        load_schema()
        admin = free_port()
        with Proxy(config() + f"admin: {{ listen: 127.0.0.1:{admin} }}\n") as proxy, connect(proxy.port) as conn:
            conn.execute("UPDATE orders SET status = 'Dispatched' WHERE id = 1")
            conn.execute("UPDATE orders SET status = %s WHERE id = %s", ("Delivered", 2))
            conn.execute("UPDATE orders SET pr_status = 'lost' WHERE id = 3")
            conn.execute("UPDATE orders SET (status, note) = ('Delivered', 'x') WHERE id = 4")
            conn.execute("SELECT 1")
            status, text = self.get(admin, "/metrics")
        self.assertEqual(status, 200)
        series = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        self.assertEqual(series['switchyard_rewrites_total{tenant="corpus",migration="order_status",outcome="rewritten"}'], "2")
        self.assertEqual(series['switchyard_rewrites_total{tenant="corpus",migration="pr_status",outcome="unmapped"}'], "1")
        self.assertEqual(series['switchyard_rewrites_total{tenant="corpus",migration="order_status",outcome="unsupported"}'], "1")
        self.assertGreaterEqual(int(series['switchyard_statements_total{tenant="corpus",kind="extended"}']) +
                                int(series['switchyard_statements_total{tenant="corpus",kind="simple"}']), 5)
        self.assertEqual(series['switchyard_client_connections{listener="pg"}'], "1")
        self.assertGreaterEqual(int(series["switchyard_rewrite_duration_seconds_count"]), 3)
        self.assertIn("# TYPE switchyard_rewrite_duration_seconds histogram", text)

    def test_health_and_readiness(self):
        admin = free_port()
        with Proxy(config() + f"admin: {{ listen: 127.0.0.1:{admin} }}\n") as proxy:
            self.assertEqual(self.get(admin, "/healthz")[0], 200)
            deadline = time.monotonic() + 5
            while self.get(admin, "/readyz")[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(self.get(admin, "/readyz"), (200, '{"ready":true}'))
            self.assertEqual(self.get(admin, "/nope")[0], 404)
        dead = free_port()
        cfg = config().replace(f"address: 127.0.0.1:{PGPORT}", f"address: 127.0.0.1:{dead}")
        with Proxy(cfg + f"admin: {{ listen: 127.0.0.1:{admin} }}\n") as proxy:
            deadline = time.monotonic() + 5
            while self.get(admin, "/readyz")[0] != 503 and time.monotonic() < deadline:
                time.sleep(0.1)
            status, body = self.get(admin, "/readyz")
            self.assertEqual(status, 503)
            self.assertIn('target \\"legacy\\" of listener \\"pg\\"', body)
            self.assertIn("unreachable", body)
