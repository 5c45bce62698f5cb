"""What the session layer must keep doing for PostgreSQL, seen from real
clients, each run directly against the server and through the proxy with the
same expected outcome: pgbench pipelines (\\startpipeline) in dual_write,
psycopg 3 pipeline mode with a failure in the middle of a sync, node-postgres
named prepared statements interleaved, and 50 pgbench clients while the
config is reloaded 100 times.

These pin the behaviour before the session layer is rebuilt (request
tracking, session state, one writer per client socket) and must pass
unchanged after it."""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import psycopg

from harness import PGPORT, Proxy, config, connect, free_port, pg_listener

NODE_DIR = Path(__file__).parent / "node"

# Legacy values are digits so that pgbench, whose variables are numbers, can
# send them as parameters; '0' is what every row starts with.
STATUS_MAP = {"0": "CREATED", "1": "PENDING_APPROVAL", "2": "DISPATCHED", "3": "DELIVERED"}


def dual_write_config(table, port=None, extra_map=""):
    """A pg listener whose tenant (every session on database app) dual-writes
    `table`.status into unified_status."""
    mapping = ", ".join(f'"{k}": {v}' for k, v in STATUS_MAP.items()) + extra_map
    return config(pg_listener("pg", port, PGPORT), extra=f"""
        tenants:
          - name: session_layer
            match: {{ listener: pg, database: app }}
            phase: dual_write
            migrations: [sl_status]
        migrations:
          sl_status:
            table: {table}
            legacy_column: status
            unified_column: unified_status
            map: {{ {mapping} }}
        """)


def reset_orders(table, rows):
    """`table` with ids 1..rows, all status '0' and unified 'CREATED' (as after a backfill)."""
    with connect(PGPORT) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, status text, unified_status text, note text)")
        conn.execute(f"INSERT INTO {table} SELECT i, '0', 'CREATED', '' FROM generate_series(1, %s) i", (rows,))


def inconsistent_rows(table):
    """(touched rows, rows whose unified_status is not map(status))."""
    with connect(PGPORT) as conn:
        touched = conn.execute(f"SELECT count(*) FROM {table} WHERE status <> '0'").fetchone()[0]
        bad = conn.execute(
            f"SELECT id, status, unified_status FROM {table} WHERE unified_status IS DISTINCT FROM"
            " (%s::jsonb ->> status) ORDER BY id LIMIT 10", (json.dumps(STATUS_MAP),)).fetchall()
    return touched, bad


def script_file(test_case, text):
    """A pgbench script file holding `text`, removed after the test."""
    tmp = tempfile.TemporaryDirectory()
    test_case.addCleanup(tmp.cleanup)
    path = Path(tmp.name) / "script.pgbench"
    path.write_text(text)
    return path


def pgbench(port, script, *args, timeout=120):
    return subprocess.run(["pgbench", "-n", "-f", str(script), *args, "-h", "127.0.0.1", "-p", str(port), "app"],
                          capture_output=True, text=True, timeout=timeout, env=dict(os.environ, PGPASSWORD=""))


def pgbench_counts(test_case, r):
    """(processed, failed) from pgbench's summary, after checking it ran clean."""
    test_case.assertEqual(r.returncode, 0, r.stdout + r.stderr)
    processed = re.search(r"number of transactions actually processed: (\d+)/(\d+)", r.stdout)
    failed = re.search(r"number of failed transactions: (\d+) ", r.stdout)
    test_case.assertIsNotNone(processed, r.stdout)
    test_case.assertIsNotNone(failed, r.stdout)
    return int(processed.group(1)), int(failed.group(1))


# Each client works on its own 100 ids (client_id * 100 + 1 .. + 100), in
# ascending order inside the pipeline, so the clients never wait for each
# other's row locks and a deadlock cannot fail a transaction. One pipeline is
# one Sync: one implicit transaction of five statements.
PIPELINE_SCRIPT = """\
\\set id1 :client_id * 100 + random(1, 50)
\\set id2 :id1 + random(1, 50)
\\set s random(1, 3)
\\startpipeline
SELECT status FROM sl_pipe WHERE id = :id1;
UPDATE sl_pipe SET status = '2' WHERE id = :id1;
SELECT count(*) FROM sl_pipe WHERE id BETWEEN :id1 AND :id2;
UPDATE sl_pipe SET status = :s, note = 'pipelined' WHERE id = :id2;
SELECT unified_status FROM sl_pipe WHERE id = :id2;
\\endpipeline
"""


class QuietLog:
    def assertQuietLog(self, log):
        """No error, and the session's request tracker followed every reply."""
        self.assertNotIn('"level":"ERROR"', log)
        self.assertNotIn("request_tracking_lost", log)


class PgbenchPipeline(QuietLog, unittest.TestCase):
    CLIENTS, TRANSACTIONS = 4, 100

    def test_pipelined_updates_are_dual_written(self):
        script = script_file(self, PIPELINE_SCRIPT)
        rows = (self.CLIENTS + 1) * 100
        args = ["-c", str(self.CLIENTS), "-j", "2", "-t", str(self.TRANSACTIONS)]
        want = (self.CLIENTS * self.TRANSACTIONS, 0)
        for mode in ("extended", "prepared"):
            with self.subTest(mode=mode):
                reset_orders("sl_pipe", rows)
                direct = pgbench_counts(self, pgbench(PGPORT, script, "-M", mode, *args))
                self.assertEqual(direct, want)
                # Directly, nothing maps the legacy value: the rows touched are inconsistent.
                touched, bad = inconsistent_rows("sl_pipe")
                self.assertGreater(touched, 0)
                self.assertTrue(bad)

                reset_orders("sl_pipe", rows)
                with Proxy(dual_write_config("sl_pipe")) as proxy:
                    via = pgbench_counts(self, pgbench(proxy.port, script, "-M", mode, *args))
                self.assertEqual(via, direct)
                self.assertQuietLog(proxy.log_text())
                touched, bad = inconsistent_rows("sl_pipe")
                self.assertGreater(touched, self.TRANSACTIONS)  # each transaction touches 1 or 2 rows
                self.assertEqual(bad, [], "rows a pipelined UPDATE touched without unified_status = map(status)")


def pipeline_transcript(port):
    """psycopg 3 pipeline mode on a fresh session: what each statement gave
    (rows, or the exception's class and SQLSTATE), plus what the database
    holds afterwards. Deterministic, so direct and proxied runs compare equal."""
    out = []

    def fetch(label, cur):
        try:
            out.append((label, "rows", cur.fetchall()))
        except psycopg.Error as e:
            out.append((label, type(e).__name__, e.sqlstate))

    with connect(port) as conn:
        conn.execute("DROP TABLE IF EXISTS sl_pipeline")
        conn.execute("DROP SEQUENCE IF EXISTS sl_pipeline_seq")
        conn.execute("CREATE TABLE sl_pipeline (id int PRIMARY KEY, status text, amount numeric)")
        # nextval() is not rolled back: the sequence tells which statements
        # the server actually executed.
        conn.execute("CREATE SEQUENCE sl_pipeline_seq")
        with conn.pipeline() as p:
            # Sync 1: parameters of several types, fetched one by one.
            fetch("insert 1", conn.execute("INSERT INTO sl_pipeline VALUES (%s, %s, %s) RETURNING id, amount",
                                           (1, "Created", 12.5)))
            fetch("select text", conn.execute("SELECT %s::text || %s, %s::int * 2", ("pipe", "line", 21)))
            fetch("nextval 1", conn.execute("SELECT nextval('sl_pipeline_seq')"))
            p.sync()
            # Sync 2: the failure is fetched as it comes; statements sent after
            # it before the Sync are skipped by the server (PipelineAborted).
            fetch("insert 2", conn.execute("INSERT INTO sl_pipeline VALUES (%s, %s, %s) RETURNING id",
                                           (2, "Dispatched", 1)))
            fetch("divide", conn.execute("SELECT 10 / %s", (0,)))
            fetch("after: select", conn.execute("SELECT %s::int", (99,)))
            fetch("after: nextval", conn.execute("SELECT nextval('sl_pipeline_seq')"))
            fetch("after: insert", conn.execute("INSERT INTO sl_pipeline VALUES (%s, %s, %s) RETURNING id",
                                                (3, "Lost", 0)))
            p.sync()
            fetch("sync 2 done", conn.execute("SELECT %s::int", (7,)))
            # Sync 3: everything queued first, the failure in the middle
            # (a unique violation on a parameterised INSERT), then one Sync.
            # psycopg reads replies whenever the socket has some, so the
            # error may surface in a later execute() or only at sync(),
            # depending on timing: both count as "sync 3 failed with ...".
            queued = [conn.cursor() for _ in range(5)]
            statements = [("SELECT %s::numeric + 1", (41,)),
                          ("INSERT INTO sl_pipeline VALUES (%s, %s, %s)", (4, "Queued", 4)),
                          ("INSERT INTO sl_pipeline VALUES (%s, %s, %s)", (1, "Duplicate", 0)),
                          ("SELECT nextval('sl_pipeline_seq')", None),
                          ("INSERT INTO sl_pipeline VALUES (%s, %s, %s)", (5, "Queued", 5))]
            surfaced = None
            try:
                for cur, (sql, args) in zip(queued, statements):
                    cur.execute(sql, args)
            except psycopg.Error as e:
                surfaced = e
            try:
                p.sync()
            except psycopg.Error as e:
                surfaced = surfaced or e
            out.append(("sync 3", type(surfaced).__name__ if surfaced else "ok",
                        surfaced.sqlstate if surfaced else None))
            fetch("q select", queued[0])
            # Sync 4: the pipeline goes on after the error.
            fetch("after sync 3", conn.execute("SELECT %s::text", ("still here",)))
        # Out of pipeline mode: the session is usable and idle, and only the
        # first sync's work is there.
        out.append(("status", "transaction", conn.info.transaction_status.name))
        fetch("table", conn.execute("SELECT id, status, amount FROM sl_pipeline ORDER BY id"))
        fetch("sequence", conn.execute("SELECT last_value FROM sl_pipeline_seq"))
        fetch("plain", conn.execute("SELECT %s::int + 1", (1,)))
    return out


class PsycopgPipeline(QuietLog, unittest.TestCase):
    def test_failure_mid_pipeline_same_as_direct(self):
        direct = pipeline_transcript(PGPORT)
        d = {label: rest for label, *rest in direct}
        # What the server does (pinned, so a change in psycopg shows here too).
        self.assertEqual(d["insert 1"][1], [(1, 12.5)])
        self.assertEqual(d["select text"][1], [("pipeline", 42)])
        self.assertEqual(d["insert 2"][1], [(2,)])
        self.assertEqual(d["divide"], ["DivisionByZero", "22012"])
        for label in ("after: select", "after: nextval", "after: insert"):
            self.assertEqual(d[label], ["PipelineAborted", None], label)
        self.assertEqual(d["sync 2 done"][1], [(7,)])
        self.assertEqual(d["sync 3"], ["UniqueViolation", "23505"])
        self.assertEqual(d["after sync 3"][1], [("still here",)])
        self.assertEqual(d["status"], ["transaction", "IDLE"])
        self.assertEqual([r[0] for r in d["table"][1]], [1])  # syncs 2 and 3 were rolled back
        self.assertEqual(d["sequence"][1], [(1,)])  # no nextval after a failure ran
        with Proxy(dual_write_config("sl_pipeline")) as proxy:
            via = pipeline_transcript(proxy.port)
        self.assertEqual(via, direct)
        self.assertQuietLog(proxy.log_text())


class NodePostgresNamedStatements(QuietLog, unittest.TestCase):
    def run_node(self, port):
        r = subprocess.run(["node", "session_layer_pg.js"], cwd=NODE_DIR, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, SY_PORT=str(port)))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def test_interleaved_named_statements_same_as_direct(self):
        self.assertTrue((NODE_DIR / "node_modules" / "pg").exists(), "run deploy/install-deps.sh")
        reset_orders("sl_named", 100)
        direct = self.run_node(PGPORT)
        errors = [e for e in direct if "error" in e]
        self.assertEqual([(e["step"], e["error"]["code"]) for e in errors],
                         [("q_divide 0", "22012"), ("q_bad parse", "42601"), ("q_bad again", "42601"),
                          ("q_update bad param", "22P02")]
                         + [(f"burst {i} q_divide", "22012") for i in range(3, 60, 8)])
        self.assertEqual(len(direct), 251)  # 186 sequential, 4 failing, 60 queued, 1 count
        reset_orders("sl_named", 100)
        with Proxy(dual_write_config("sl_named")) as proxy:
            via = self.run_node(proxy.port)
        self.assertEqual(via, direct)
        self.assertQuietLog(proxy.log_text())
        touched, bad = inconsistent_rows("sl_named")
        self.assertGreater(touched, 0)
        self.assertEqual(bad, [])


# A reload whose map differs from the last one, alternately, so each one
# really publishes a different snapshot.
def reload_config(table, port, i):
    return dual_write_config(table, port, extra_map=f', "9": RELOADED_{i % 2}')


RELOAD_SCRIPT = """\
\\set id random(1, 1000)
\\set s random(1, 3)
UPDATE sl_reload SET status = :s WHERE id = :id;
SELECT status, unified_status FROM sl_reload WHERE id = :id;
"""


def wait_for_clients(n, timeout=20.0):
    """Until n pgbench sessions are connected to the server."""
    deadline = time.monotonic() + timeout
    with connect(PGPORT) as conn:
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'"
                           " AND state IS NOT NULL").fetchone()[0] < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {n} pgbench sessions after {timeout}s")
            time.sleep(0.05)


class ReloadCounter:
    """Counts the proxy's `config_reloaded` lines from SIGHUP, reading only
    what the log gained since the last look."""
    LINE = b'"event":"config_reloaded","who":"sighup"'

    def __init__(self, proxy):
        self.path, self.offset, self.count, self.rest = proxy.log_path, 0, 0, b""

    def wait_for(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = self.rest + f.read()
            self.offset += len(data) - len(self.rest)
            *lines, self.rest = data.split(b"\n")
            self.count += sum(1 for line in lines if self.LINE in line)
            if self.count >= n:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"reload {n} not logged within {timeout}s")
            time.sleep(0.002)


class ReloadUnderLoad(QuietLog, unittest.TestCase):
    """50 pgbench -M prepared clients in dual_write while the config is
    reloaded 100 times by SIGHUP. tests/bench/reload-under-load.sh measures
    the latency cost of the same thing."""
    RELOADS = 100

    def test_100_reloads_under_50_clients(self):
        reset_orders("sl_reload", 1000)
        script = script_file(self, RELOAD_SCRIPT)
        port = free_port()
        with Proxy(reload_config("sl_reload", port, 0)) as proxy:
            bench = subprocess.Popen(["pgbench", "-n", "-c", "50", "-j", "2", "-T", "8", "-M", "prepared",
                                      "-f", str(script), "-h", "127.0.0.1", "-p", str(port), "app"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                wait_for_clients(50)
                running_throughout = True
                reloads = ReloadCounter(proxy)
                for i in range(1, self.RELOADS + 1):
                    # One at a time: a SIGHUP sent before the last one is
                    # handled may be merged with it.
                    proxy.reload(reload_config("sl_reload", port, i))
                    reloads.wait_for(i)
                    running_throughout &= bench.poll() is None
                out, _ = bench.communicate(timeout=60)
            finally:
                if bench.poll() is None:
                    bench.kill()
                    bench.wait()
            log = proxy.log_text()
        self.assertEqual(bench.returncode, 0, out)
        self.assertIn("number of failed transactions: 0 ", out)
        processed = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
        self.assertGreater(processed, 0, out)
        self.assertEqual(log.count('"event":"config_reloaded","who":"sighup"'), self.RELOADS, log[-3000:])
        self.assertNotIn("config_reload_failed", log)
        self.assertQuietLog(log)
        self.assertTrue(running_throughout, "pgbench ended before the last reload: the reloads were not all under "
                                            "load (a very slow machine?)\n" + out)
        touched, bad = inconsistent_rows("sl_reload")
        self.assertGreater(touched, 0)
        self.assertEqual(bad, [], "rows updated across reloads without unified_status = map(status)")


if __name__ == "__main__":
    unittest.main()
