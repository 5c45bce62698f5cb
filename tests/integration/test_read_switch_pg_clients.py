"""Real clients read through the proxy in read_switch, unchanged: psql (-c and
a script with variables and \\gset), psycopg with prepared statements,
SQLAlchemy Core and ORM (psycopg2), node-postgres named prepared statements.
Each answer must equal what the same client gets from the oracle database
(read_oracle.py: the tables with legacy := reverse(unified))."""
import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

import psycopg

from harness import PGPORT, Proxy, connect, dsn, free_port
from read_oracle import DB, ORACLE_DB, load_databases, read_config

NODE_DIR = Path(__file__).resolve().parent / "node"


class ReadSwitchClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        load_databases()

    def setUp(self):
        self.proxy = Proxy(read_config(free_port()))
        self.proxy.start()
        self.addCleanup(self.proxy.stop)

    def both(self, fn):
        """fn(port, db) through the proxy and against the oracle."""
        return fn(self.proxy.port, DB), fn(PGPORT, ORACLE_DB)

    def test_psql(self):
        queries = [
            "SELECT id, status FROM orders WHERE status IN ('Dispatched', 'On hold') ORDER BY id LIMIT 12",
            "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status",
            "SELECT id, pr_status FROM orders WHERE pr_status = 'in review' ORDER BY id",
            "SELECT t.id, t.state, c.status FROM transfers t JOIN cashouts c ON c.id = t.cashout_id "
            "WHERE t.id < 40 ORDER BY t.id",
            'SELECT id, status FROM ops."IndividualProcesses" WHERE status LIKE \'%\'\'%\' ORDER BY id',
        ]

        def psql(port, db, *args):
            r = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", dsn(port, dbname=db), *args],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout

        for sql in queries:
            with self.subTest(sql=sql):
                via, oracle = self.both(lambda port, db: psql(port, db, "-c", sql))
                self.assertEqual(via, oracle)
        script = "\n".join([
            "\\set st 'Dispatched'",
            "SELECT id, status FROM orders WHERE status = :'st' ORDER BY id LIMIT 5;",
            "SELECT status AS st FROM orders WHERE id = 7 \\gset",
            "SELECT count(*) FROM orders WHERE status = :'st';",
            "SELECT pr_status, count(*) FROM orders GROUP BY pr_status ORDER BY 1;",
            "BEGIN;",
            "SELECT id, state FROM transfers WHERE state IS NULL ORDER BY id LIMIT 10;",
            "COMMIT;",
            "\\x on",
            'SELECT id, status FROM ops."IndividualProcesses" WHERE id < 4 ORDER BY id;',
        ]) + "\n"
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
            f.write(script)
            f.flush()
            via, oracle = self.both(lambda port, db: psql(port, db, "-f", f.name))
        self.assertEqual(via, oracle)
        self.assertIn("Dispatched", via)

    def test_psycopg_prepared_statements(self):
        cases = [
            ("SELECT id, status FROM orders WHERE status = %s ORDER BY id", [("Dispatched",), ("On hold",),
                                                                              ("Cancelled",)]),
            ("SELECT count(*) FROM orders WHERE pr_status = %s", [("submitted",), ("in review",), (None,)]),
            ("SELECT id, status FROM cashouts WHERE status = ANY(%s) ORDER BY id",
             [(["COMPLETED", "SUCCESS"],), (["EXECUTING"],)]),
            ("SELECT state, count(*) FROM transfers WHERE id > %s GROUP BY state ORDER BY state NULLS FIRST",
             [(10,), (200,)]),
        ]

        def answers(port, db):
            out = []
            # prepare_threshold=0: every statement is prepared (Parse with a
            # name) on its first run and only bound and executed afterwards.
            with psycopg.connect(dsn(port, dbname=db), autocommit=True, prepare_threshold=0) as conn:
                for sql, runs in cases:
                    for params in runs * 2:
                        cur = conn.execute(sql, params, prepare=True)
                        out.append(([(d.name, d.type_code) for d in cur.description], cur.fetchall()))
            return out

        via, oracle = self.both(answers)
        self.assertEqual(via, oracle)

    def test_sqlalchemy_core_and_orm(self):
        import sqlalchemy as sa
        from sqlalchemy.orm import Session, declarative_base

        Base = declarative_base()

        class Customer(Base):
            __tablename__ = "customers"
            id = sa.Column(sa.Integer, primary_key=True)
            name = sa.Column(sa.Text)
            region = sa.Column(sa.Text)

        class Order(Base):
            __tablename__ = "orders"
            id = sa.Column(sa.Integer, primary_key=True)
            customer_id = sa.Column(sa.Integer, sa.ForeignKey("customers.id"))
            status = sa.Column(sa.Enum("Created", "Awaiting approval", "Awaiting fulfilment", "In fulfilment",
                                       "Dispatched", "Delivered", "Cancelled", "On hold", name="order_status",
                                       create_type=False))
            pr_status = sa.Column(sa.String(20))
            amount = sa.Column(sa.Numeric(10, 2))

        class Cashout(Base):
            __tablename__ = "cashouts"
            id = sa.Column(sa.Integer, primary_key=True)
            status = sa.Column(sa.String(32))

        class Transfer(Base):
            __tablename__ = "transfers"
            id = sa.Column(sa.Integer, primary_key=True)
            cashout_id = sa.Column(sa.Integer, sa.ForeignKey("cashouts.id"))
            state = sa.Column(sa.Text)

        process = sa.Table("IndividualProcesses", sa.MetaData(), sa.Column("id", sa.Integer),
                           sa.Column("status", sa.Text), schema="ops")

        def answers(port, db):
            engine = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{db}")
            out = []
            try:
                with Session(engine) as s:
                    out.append([(o.id, o.status, o.pr_status) for o in
                                s.query(Order).filter(Order.status == "Dispatched").order_by(Order.id)])
                    out.append([(o.id, o.status) for o in s.query(Order).filter(
                        Order.status.in_(["Created", "Cancelled"]), Order.amount > 200).order_by(Order.id)])
                    out.append(s.query(Order.status, sa.func.count()).group_by(Order.status)
                               .order_by(Order.status).all())
                    out.append(s.query(Order.pr_status, sa.func.count()).filter(Order.pr_status.isnot(None))
                               .group_by(Order.pr_status).having(sa.func.count() > 5).order_by(Order.pr_status).all())
                    out.append(s.query(Transfer.id, Transfer.state, Cashout.status)
                               .join(Cashout, Cashout.id == Transfer.cashout_id)
                               .filter(Cashout.status.in_(["SUCCESS", "COMPLETED"])).order_by(Transfer.id).all())
                    out.append(s.query(Customer.name, Order.status).join(Order, Order.customer_id == Customer.id)
                               .filter(Customer.region == "west", Order.status != "Delivered")
                               .order_by(Customer.name, Order.id).limit(15).all())
                    o = s.get(Order, 7)
                    out.append((o.id, o.status, o.pr_status))
                    out.append(s.execute(sa.select(Order.id, Order.status).where(Order.status.is_(None))
                                         .order_by(Order.id)).all())
                with engine.connect() as conn:
                    orders = Order.__table__
                    out.append(conn.execute(sa.select(orders.c.id, orders.c.pr_status)
                                            .where(orders.c.pr_status.like("%delivered"))
                                            .order_by(orders.c.id)).all())
                    out.append(conn.execute(sa.select(sa.func.count()).select_from(orders)
                                            .where(orders.c.status != "Delivered")).scalar())
                    out.append(conn.execute(sa.select(process.c.id, process.c.status)
                                            .where(process.c.status == "it's done \\ finally")
                                            .order_by(process.c.id)).all())
                    out.append(conn.execute(sa.select(Transfer.__table__.c.state).distinct()
                                            .order_by(Transfer.__table__.c.state.nulls_first())).all())
            finally:
                engine.dispose()
            return out

        via, oracle = self.both(answers)
        self.assertEqual(via, oracle)
        self.assertTrue(via[0], "no Dispatched orders: the comparison would be empty")

    def test_node_postgres_named_prepared_statements(self):
        self.assertTrue((NODE_DIR / "node_modules" / "pg").exists(), "run deploy/install-deps.sh")
        queries = [
            {"sql": "SELECT id, status FROM orders WHERE status = $1 ORDER BY id", "params": ["Delivered"]},
            {"sql": "SELECT id, status FROM orders WHERE status IN ($1, $2) ORDER BY id LIMIT $3",
             "params": ["Created", "On hold", 20]},
            {"sql": "SELECT status, count(*) FROM cashouts WHERE status <> $1 GROUP BY status ORDER BY status",
             "params": ["SUCCESS"]},
            {"sql": "SELECT t.id, t.state, c.status FROM transfers t LEFT JOIN cashouts c ON c.id = t.cashout_id "
                    "WHERE t.state IS NOT DISTINCT FROM $1 ORDER BY t.id", "params": [None]},
            {"sql": "SELECT id, pr_status FROM orders WHERE pr_status LIKE $1 ORDER BY id", "params": ["%e%"]},
            {"sql": 'SELECT id, status FROM ops."IndividualProcesses" WHERE status = $1 ORDER BY id',
             "params": ["it's done \\ finally"]},
        ]
        for i, q in enumerate(queries):
            q["name"] = f"read_switch_{i}"
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(queries, f)
            f.flush()

            def answers(port, db):
                env = dict(os.environ, SY_PORT=str(port), SY_DB=db)
                r = subprocess.run(["node", "read_switch_pg.js", f.name], cwd=NODE_DIR, env=env,
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                return json.loads(r.stdout)

            via, oracle = self.both(answers)
        for q, v, o in zip(queries, via, oracle):
            with self.subTest(sql=q["sql"]):
                self.assertEqual(v, o)
                self.assertTrue(v.get("again"), "the second execution of the named statement differed")


if __name__ == "__main__":
    unittest.main()
