"""Faults injected against a real PostgreSQL behind the proxy: the server
killed (SIGKILL) or restarted under a session, clients that vanish mid-COPY,
mid-result and mid-login, a client that stops reading a 1 GiB result, and a
connection storm. Each case asserts what the client sees AND the state of
the server (rows, pg_stat_activity) and of the proxy (descriptors, memory),
and that the same proxy process serves new sessions afterwards.

The server is a throwaway one (fault_servers.ThrowawayPg), so killing it
leaves the suites on the shared server alone.
"""

import os
import signal
import socket
import struct
import subprocess
import threading
import unittest

import psycopg

from fault_servers import ThrowawayPg, client_connections, fds, rss_kib, steady_fds, wait_until
from harness import Proxy, config, connect, dsn, free_port, pg_listener
from test_pg_robustness import read_error, read_until_ready, startup_packet

PG = None


def setUpModule():
    global PG
    PG = ThrowawayPg().start()


def tearDownModule():
    if PG:
        PG.destroy()


def raw_login(port, user="postgres"):
    """A socket logged in through the proxy (postgres is trusted over TCP)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(startup_packet(user=user))
    read_until_ready(s)
    return s


def query_message(sql):
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!I", len(body) + 4) + body


def recv_exactly_some(sock, n):
    """Reads at least n bytes (the first replies of a result)."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def reset_close(sock):
    """Closes with an RST, as a client that crashed or was killed does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class ServerFaultCase(unittest.TestCase):
    """One proxy in front of the throwaway server per test."""

    extra = ""  # listener-level YAML
    admin_port = None  # set: the proxy serves its admin API there

    def setUp(self):
        if not PG.accepting():  # a failed test must not leave the next without a server
            PG.restart()
        with PG.direct() as c:
            c.execute("DROP TABLE IF EXISTS faults")
            c.execute("CREATE TABLE faults (id int PRIMARY KEY, note text)")
        admin = f"admin: {{ listen: 127.0.0.1:{self.admin_port} }}" if self.admin_port else ""
        self.proxy = Proxy(config(pg_listener("pg", None, PG.port, extra=self.extra), extra=admin)).start()
        self.port = self.proxy.port

    def tearDown(self):
        self.proxy.stop()

    def rows(self):
        with PG.direct() as c:
            return c.execute("SELECT count(*) FROM faults").fetchone()[0]

    def assert_serves_new_sessions(self):
        """The same proxy process, never restarted, logs new sessions in at once."""
        self.assertIsNone(self.proxy.proc.poll())
        for i in range(3):
            with connect(self.port) as conn:
                self.assertEqual(conn.execute("SELECT %s::int", (i,)).fetchone(), (i,))

    def run_in_thread(self, fn):
        """Runs fn() in a thread; returns a list that gets the exception it raised (or None)."""
        outcome = []

        def body():
            try:
                fn()
                outcome.append(None)
            except Exception as e:  # noqa: BLE001 - the test inspects it
                outcome.append(e)

        t = threading.Thread(target=body, daemon=True)
        t.start()
        return t, outcome


class BackendKilled(ServerFaultCase):
    def test_server_killed_mid_query(self):
        conn = connect(self.port)
        psql = subprocess.Popen(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", "SELECT pg_sleep(60)",
                                 dsn(self.port, application_name="psql-victim")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t, outcome = self.run_in_thread(lambda: conn.execute("SELECT pg_sleep(61)"))
        raw = raw_login(self.port)
        raw.sendall(query_message("SELECT pg_sleep(62)"))
        for victim in ("query = 'SELECT pg_sleep(61)'", "application_name = 'psql-victim'", "query = 'SELECT pg_sleep(62)'"):
            self.assertTrue(wait_until(lambda: PG.backend_pid(victim + " AND state = 'active'") is not None), victim)
        PG.kill()
        t.join(20)
        # On the wire: FATAL 08006 (connection_failure) with the proxy's words.
        _, fields = read_error(raw)
        raw.close()
        self.assertEqual((fields.get("S"), fields.get("C")), ("FATAL", "08006"))
        self.assertIn('lost connection to target "legacy"', fields.get("M"))
        # libpq reports the message, then the closed connection.
        self.assertIsInstance(outcome[0], psycopg.OperationalError, outcome)
        self.assertIn('lost connection to target "legacy"', str(outcome[0]))
        self.assertIn("server closed the connection unexpectedly", str(outcome[0]))
        _, err = psql.communicate(timeout=20)
        self.assertEqual(psql.returncode, 2, err)  # psql: connection to the server lost
        self.assertIn('lost connection to target "legacy"', err)
        self.assertTrue(conn.closed or conn.broken)
        conn.close()
        # Until the server is back, a new session gets a clean refusal (08001).
        with self.assertRaises(psycopg.OperationalError) as cm:
            connect(self.port)
        self.assertIn('cannot connect to target "legacy"', str(cm.exception))
        PG.restart()
        self.assert_serves_new_sessions()

    def test_backend_killed_mid_transaction(self):
        conn = connect(self.port, autocommit=False)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO faults VALUES (%s, 'uncommitted')", [(i,) for i in range(100)])
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        os.kill(pid, signal.SIGKILL)  # the session's own server process; the postmaster resets the rest
        with self.assertRaises(psycopg.OperationalError) as cm:
            conn.commit()
        self.assertIn('lost connection to target "legacy"', str(cm.exception))
        conn.close()
        self.assertTrue(wait_until(PG.accepting), "server did not recover")
        self.assertEqual(self.rows(), 0)  # nothing of the transaction survived
        self.assert_serves_new_sessions()

    def test_backend_killed_mid_copy(self):
        conn = connect(self.port)
        stop = threading.Event()

        def copy_forever():
            with conn.cursor() as cur, cur.copy("COPY faults FROM STDIN") as copy:
                i = 0
                while not stop.is_set():
                    copy.write_row((i, "x" * 100))
                    i += 1

        t, outcome = self.run_in_thread(copy_forever)
        self.assertTrue(wait_until(lambda: PG.backend_pid("query LIKE 'COPY faults%' AND state = 'active'") is not None))
        os.kill(PG.backend_pid("query LIKE 'COPY faults%'"), signal.SIGKILL)
        t.join(20)
        stop.set()
        self.assertIsInstance(outcome[0], psycopg.OperationalError, outcome)
        conn.close()
        self.assertTrue(wait_until(PG.accepting), "server did not recover")
        self.assertEqual(self.rows(), 0)
        self.assert_serves_new_sessions()


class BackendRestarted(ServerFaultCase):
    def test_clean_restart_tells_idle_sessions(self):
        idle = connect(self.port)
        self.assertEqual(idle.execute("SELECT 1").fetchone(), (1,))
        raw = raw_login(self.port)
        PG.stop()  # fast shutdown: each backend sends FATAL 57P01 and closes
        # The raw client reads the server's own words without asking anything.
        _, fields = read_error(raw)
        raw.close()
        self.assertEqual(fields.get("C"), "57P01")
        self.assertIn("terminating connection due to administrator command", fields.get("M"))
        # libpq reports it at the next use.
        with self.assertRaises(psycopg.OperationalError) as cm:
            idle.execute("SELECT 1")
        self.assertIn("terminating connection due to administrator command", str(cm.exception))
        idle.close()
        PG.restart()
        self.assert_serves_new_sessions()


class ClientsVanish(ServerFaultCase):
    """Clients that go away in the middle of something leave nothing behind:
    no descriptor in the proxy, no backend on the server."""

    def settled(self, baseline):
        """Waits until the proxy is back at `baseline` descriptors and no backend is left."""
        pid = self.proxy.proc.pid
        ok = wait_until(lambda: fds(pid) == baseline and PG.client_backends() == 0, timeout=10)
        self.assertTrue(ok, f"proxy fds {fds(pid)} (baseline {baseline}), backends {PG.client_backends()}")

    def test_no_leaks_after_clients_vanish(self):
        pid = self.proxy.proc.pid
        with connect(self.port) as conn:  # warm up: threads, resolver, first-session allocations
            conn.execute("SELECT 1")
        baseline = steady_fds(pid, quiet=lambda: PG.client_backends() == 0)
        with PG.direct() as c:
            c.execute("INSERT INTO faults SELECT g, repeat('r', 500) FROM generate_series(1, 20000) g")

        def mid_copy_in(close):
            s = raw_login(self.port)
            s.sendall(query_message("COPY faults FROM STDIN"))
            self.assertEqual(recv_exactly_some(s, 1)[:1], b"G")  # CopyInResponse
            row = b"100001\tpartial\n"
            s.sendall(b"d" + struct.pack("!I", 4 + len(row)) + row)
            close(s)

        def mid_copy_out(close):
            s = raw_login(self.port)
            s.sendall(query_message("COPY faults TO STDOUT"))
            recv_exactly_some(s, 4096)
            close(s)

        def mid_result(close):
            s = raw_login(self.port)
            s.sendall(query_message("SELECT repeat('x', 1000) FROM generate_series(1, 200000)"))
            recv_exactly_some(s, 4096)
            close(s)

        def mid_login(close):
            # scramuser needs a password: the server's SASL request arrives, the client leaves.
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            s.sendall(startup_packet(user="scramuser"))
            self.assertEqual(recv_exactly_some(s, 1)[:1], b"R")
            close(s)

        def mid_startup_packet(close):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            s.sendall(startup_packet()[:9])
            close(s)

        def after_ssl_request(close):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            s.sendall(struct.pack("!II", 8, 80877103))
            self.assertEqual(s.recv(1), b"N")
            close(s)

        cases = [mid_copy_in, mid_copy_out, mid_result, mid_login, mid_startup_packet, after_ssl_request]
        for case in cases:
            for close in (socket.socket.close, reset_close):
                with self.subTest(case=case.__name__, close=close.__name__):
                    for _ in range(3):
                        case(close)
                    self.settled(baseline)
        self.assertEqual(self.rows(), 20000)  # the half-sent COPY left no row
        self.assert_serves_new_sessions()


class SlowReader(ServerFaultCase):
    def test_client_that_stops_reading_a_1gib_result(self):
        pid = self.proxy.proc.pid
        with connect(self.port) as conn:
            conn.execute("SELECT repeat('x', 100000) FROM generate_series(1, 100)").fetchall()
        before = rss_kib(pid)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.settimeout(10)
        s.connect(("127.0.0.1", self.port))
        s.sendall(startup_packet())
        read_until_ready(s)
        # 1,000,000 rows of 1 KiB: about 1 GiB on the wire.
        s.sendall(query_message("SELECT repeat('x', 1024) FROM generate_series(1, 1000000)"))
        got = recv_exactly_some(s, 64 * 1024)
        self.assertEqual(got[:1], b"T")  # RowDescription, then rows
        # The server is made to wait: blocked writing to the proxy, which
        # stopped reading from it.
        blocked = "query LIKE 'SELECT repeat%' AND state = 'active' AND wait_event = 'ClientWrite'"
        self.assertTrue(wait_until(lambda: PG.backend_pid(blocked) is not None, timeout=30),
                        "the server never blocked: the proxy read on")
        peak = before
        for _ in range(20):  # and stays so while the proxy holds steady
            peak = max(peak, rss_kib(pid))
            self.assertIsNotNone(PG.backend_pid(blocked))
            threading.Event().wait(0.1)
        growth = peak - before
        print(f"\nslow reader (PostgreSQL): proxy RSS {before} KiB before, peak {peak} KiB, growth {growth} KiB")
        self.assertLessEqual(growth, 8 * 1024)
        reset_close(s)
        self.assertTrue(wait_until(lambda: PG.client_backends() == 0, timeout=10))
        self.assert_serves_new_sessions()


class ConnectionStorm(ServerFaultCase):
    LIMIT = 20
    extra = f"max_client_connections: {LIMIT}"
    admin_port = free_port()

    def test_storm_of_five_times_the_limit(self):
        def sessions():
            return client_connections(self.admin_port, "pg")

        admitted = [connect(self.port) for _ in range(self.LIMIT)]
        refused, other = [], []
        lock = threading.Lock()

        def storm_client():
            try:
                connect(self.port, connect_timeout=30).close()
                with lock:
                    other.append("admitted over the limit")
            except psycopg.OperationalError as e:
                with lock:
                    (refused if "sorry, too many clients already" in str(e) else other).append(str(e))

        threads = [threading.Thread(target=storm_client) for _ in range(4 * self.LIMIT)]
        for t in threads:
            t.start()
        # The admitted sessions keep working during the storm.
        for i, conn in enumerate(admitted):
            self.assertEqual(conn.execute("SELECT %s::int", (i,)).fetchone(), (i,))
        for t in threads:
            t.join(60)
        self.assertEqual(sessions(), self.LIMIT)
        self.assertEqual(other, [])
        self.assertEqual(len(refused), 4 * self.LIMIT)
        # On the wire: 53300 after the startup packet, as the server does.
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(struct.pack("!II", 8, 80877103))
            self.assertEqual(s.recv(1), b"N")
            s.sendall(startup_packet())
            _, fields = read_error(s)
        self.assertEqual((fields.get("S"), fields.get("C")), ("FATAL", "53300"))
        self.assertEqual(PG.client_backends(), self.LIMIT)  # the refused never reached the server
        for i, conn in enumerate(admitted):
            self.assertEqual(conn.execute("SELECT %s::int", (i,)).fetchone(), (i,))
            conn.close()
        # The proxy takes a full set of new sessions once the old ones are gone.
        self.assertTrue(wait_until(lambda: sessions() == 0 and PG.client_backends() == 0))
        fresh = [connect(self.port) for _ in range(self.LIMIT)]
        for conn in fresh:
            self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))
            conn.close()


if __name__ == "__main__":
    unittest.main()
