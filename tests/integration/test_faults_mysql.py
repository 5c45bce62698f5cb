"""Faults injected against a real MariaDB behind the proxy: the server killed
(SIGKILL) or restarted under a session, clients that vanish mid-LOAD DATA,
mid-result and mid-login, a client that stops reading a 1 GiB result, and a
connection storm. Each case asserts what the client sees (the mariadb CLI,
i.e. libmariadb, and PyMySQL) AND the state of the server (rows, the process
list) and of the proxy (descriptors, memory), and that the same proxy process
serves new sessions afterwards.

The server is a throwaway one (fault_servers.ThrowawayMariaDb), so killing it
leaves the suites on the shared server alone.
"""

import socket
import struct
import subprocess
import threading
import unittest

import pymysql

from fault_servers import ThrowawayMariaDb, client_connections, fds, rss_kib, steady_fds, wait_until
from harness import Proxy, free_port
from test_faults_pg import reset_close
from test_mysql_clients import listener

MY = None


def setUpModule():
    global MY
    MY = ThrowawayMariaDb().start()


def tearDownModule():
    if MY:
        MY.destroy()


def packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def read_packet(sock):
    """One packet's (seq, payload); (None, b"") at EOF."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    header = exactly(4)
    if header is None:
        return None, b""
    length = int.from_bytes(header[:3], "little")
    return header[3], exactly(length) or b""


def detach_socket(conn):
    """PyMySQL's logged-in socket, taken from it: closing it then really closes
    it (PyMySQL's reader holds a reference that would keep it open)."""
    s = conn._sock
    conn._rfile.close()
    conn._sock = conn._rfile = None
    return s


def lost(e):
    """The client library's own words for a server that went away."""
    return isinstance(e, pymysql.err.OperationalError) and e.args[0] in (2006, 2013)


class ServerFaultCase(unittest.TestCase):
    extra = ""  # top-level YAML after the listener
    listener_extra = ""

    def setUp(self):
        if not MY.accepting():  # a failed test must not leave the next without a server
            MY.restart()
        with MY.as_root() as c, c.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS faults")
            cur.execute("CREATE TABLE faults (id INT PRIMARY KEY, note TEXT) ENGINE=InnoDB")
        text = listener(free_port(), target_port=MY.port).replace(
            "    targets:", (f"    {self.listener_extra}\n" if self.listener_extra else "") + "    targets:")
        self.proxy = Proxy(text + self.extra).start()
        self.port = self.proxy.port

    def tearDown(self):
        self.proxy.stop()

    def via(self, **kw):
        args = dict(host="127.0.0.1", port=self.port, user="app", password="apppass", database="app",
                    autocommit=True)
        args.update(kw)
        return pymysql.connect(**args)

    def cli(self, sql):
        return subprocess.Popen(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uapp", "-papppass",
                                 "app", "-e", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def rows(self):
        with MY.as_root() as c, c.cursor() as cur:
            cur.execute("SELECT count(*) FROM faults")
            return cur.fetchone()[0]

    def assert_serves_new_sessions(self):
        self.assertIsNone(self.proxy.proc.poll())
        for i in range(3):
            with self.via() as conn, conn.cursor() as cur:
                cur.execute("SELECT %s", (i,))
                self.assertEqual(cur.fetchone(), (i,))

    def run_in_thread(self, fn):
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
        conn = self.via()
        t, outcome = self.run_in_thread(lambda: conn.cursor().execute("SELECT SLEEP(61)"))
        cli = self.cli("SELECT SLEEP(62)")
        for sql in ("SELECT SLEEP(61)", "SELECT SLEEP(62)"):
            self.assertTrue(wait_until(lambda: MY.app_threads(f"INFO = '{sql}'") == 1), sql)
        MY.kill()
        t.join(20)
        self.assertTrue(lost(outcome[0]), outcome)
        self.assertEqual(outcome[0].args[0], 2013)  # Lost connection ... during query
        _, err = cli.communicate(timeout=20)
        self.assertEqual(cli.returncode, 1, err)
        self.assertIn("ERROR 2013", err)  # libmariadb's own code, no malformed packet
        conn.close()
        # Until the server is back, a new session gets a clean refusal.
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            self.via()
        self.assertEqual(cm.exception.args[0], 1429)
        self.assertIn('cannot connect to target "legacy"', cm.exception.args[1])
        cli = self.cli("SELECT 1")
        _, err = cli.communicate(timeout=20)
        # libmariadb wraps any error sent in place of the greeting (the
        # server's own "too many connections" too) in its 2002.
        self.assertIn('1429 - switchyard: cannot connect to target "legacy"', err)
        MY.restart()
        self.assert_serves_new_sessions()

    def test_server_killed_mid_transaction(self):
        conn = self.via(autocommit=False)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO faults VALUES (%s, 'uncommitted')", [(i,) for i in range(100)])
        MY.kill()
        with self.assertRaises(pymysql.err.OperationalError) as cm:
            conn.commit()
        self.assertTrue(lost(cm.exception), cm.exception)
        conn.close()
        MY.restart()
        self.assertEqual(self.rows(), 0)  # InnoDB recovery rolled it back
        self.assert_serves_new_sessions()

    def test_server_killed_mid_long_insert(self):
        conn = self.via()
        sql = "INSERT INTO faults SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000000"
        t, outcome = self.run_in_thread(lambda: conn.cursor().execute(sql))
        self.assertTrue(wait_until(lambda: MY.app_threads("INFO LIKE 'INSERT INTO faults%'") == 1))
        MY.kill()
        t.join(20)
        self.assertTrue(lost(outcome[0]), outcome)
        conn.close()
        MY.restart()
        self.assertEqual(self.rows(), 0)  # one statement: all or nothing
        self.assert_serves_new_sessions()


class BackendRestarted(ServerFaultCase):
    def test_clean_restart_tells_idle_sessions(self):
        idle = [self.via() for _ in range(3)]
        for conn in idle:
            conn.ping(reconnect=False)
        MY.stop()
        for conn in idle:
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                conn.cursor().execute("SELECT 1")
            self.assertTrue(lost(cm.exception), cm.exception)
            conn.close()
        MY.restart()
        self.assert_serves_new_sessions()


class ClientsVanish(ServerFaultCase):
    def settled(self, baseline):
        pid = self.proxy.proc.pid
        ok = wait_until(lambda: fds(pid) == baseline and MY.app_threads() == 0, timeout=10)
        self.assertTrue(ok, f"proxy fds {fds(pid)} (baseline {baseline}), server threads {MY.app_threads()}")

    def test_no_leaks_after_clients_vanish(self):
        pid = self.proxy.proc.pid
        with self.via() as conn:
            conn.ping()
        baseline = steady_fds(pid, quiet=lambda: MY.app_threads() == 0)
        with MY.as_root() as c, c.cursor() as cur:
            cur.execute("INSERT INTO faults SELECT seq, REPEAT('r', 500) FROM seq_1_to_20000")


        def mid_load_data(close):
            s = detach_socket(self.via(local_infile=True))
            s.sendall(packet(0, b"\x03LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE faults"))
            seq, payload = read_packet(s)
            self.assertEqual(payload[:1], b"\xfb")  # the server asks for the file
            s.sendall(packet(seq + 1, b"100001\tpartial\n"))  # and never gets its end
            close(s)

        def mid_result(close):
            s = detach_socket(self.via())
            s.sendall(packet(0, b"\x03SELECT note FROM faults, seq_1_to_20"))
            s.recv(4096)
            close(s)

        def after_greeting(close):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            read_packet(s)
            close(s)

        def mid_handshake_response(close):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            read_packet(s)
            s.sendall(packet(1, b"\x0d\xa2")[:6])
            close(s)

        for case in (mid_load_data, mid_result, after_greeting, mid_handshake_response):
            for close in (socket.socket.close, reset_close):
                with self.subTest(case=case.__name__, close=close.__name__):
                    for _ in range(3):
                        case(close)
                    self.settled(baseline)
        self.assertEqual(self.rows(), 20000)  # the half-sent LOAD DATA left no row
        self.assert_serves_new_sessions()


class SlowReader(ServerFaultCase):
    def test_client_that_stops_reading_a_1gib_result(self):
        pid = self.proxy.proc.pid
        with self.via() as conn, conn.cursor() as cur:
            cur.execute("SELECT REPEAT('x', 100000) FROM seq_1_to_100")
            cur.fetchall()
        before = rss_kib(pid)
        with MY.as_root() as c, c.cursor() as q:
            q.execute("SHOW GLOBAL STATUS LIKE 'Bytes_sent'")
            sent_before = int(q.fetchone()[1])
        conn = self.via(cursorclass=pymysql.cursors.SSCursor)
        conn._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        cur = conn.cursor()
        # 1,000,000 rows of 1 KiB: about 1 GiB on the wire. Unbuffered: PyMySQL
        # reads the first row and then nothing more.
        cur.execute("SELECT REPEAT('x', 1024) FROM seq_1_to_1000000")
        self.assertEqual(len(cur.fetchone()[0]), 1024)

        def running():
            return MY.app_threads("INFO LIKE 'SELECT REPEAT%' AND COMMAND = 'Query'") == 1

        def bytes_sent():  # by the whole server; nothing else runs on it
            with MY.as_root() as c, c.cursor() as q:
                q.execute("SHOW GLOBAL STATUS LIKE 'Bytes_sent'")
                return int(q.fetchone()[1])

        # The server is made to wait: what it sends stops growing (but for
        # these few monitoring queries) far short of 1 GiB, while the
        # statement is still running. (Bytes_sent counts since the server
        # started: what earlier tests sent is taken off.)
        samples = []

        def stalled():
            samples.append(bytes_sent())
            return len(samples) >= 5 and samples[-1] - samples[-5] < 64 * 1024

        self.assertTrue(wait_until(stalled, timeout=30, interval=0.2), samples)
        self.assertTrue(running())
        self.assertLess(samples[-1] - sent_before, 64 * 1024 * 1024)
        peak = before
        for _ in range(10):
            peak = max(peak, rss_kib(pid))
            threading.Event().wait(0.1)
        growth = peak - before
        print(f"\nslow reader (MariaDB): proxy RSS {before} KiB before, peak {peak} KiB, growth {growth} KiB;"
              f" the server stalled after sending {(samples[-1] - sent_before) // 1024} KiB")
        self.assertLessEqual(growth, 8 * 1024)
        self.assertTrue(running())
        self.assertLess(bytes_sent() - samples[-1], 64 * 1024)
        cur._result.unbuffered_active = False  # nothing left for PyMySQL to drain
        reset_close(detach_socket(conn))
        self.assertTrue(wait_until(lambda: MY.app_threads() == 0, timeout=10))
        self.assert_serves_new_sessions()


class ConnectionStorm(ServerFaultCase):
    LIMIT = 20
    listener_extra = f"max_client_connections: {LIMIT}"
    admin_port = free_port()
    extra = f"admin: {{ listen: 127.0.0.1:{admin_port} }}\n"

    def test_storm_of_five_times_the_limit(self):
        def sessions():
            return client_connections(self.admin_port, "my")

        admitted = [self.via() for _ in range(self.LIMIT)]
        refused, other = [], []
        lock = threading.Lock()

        def storm_client():
            try:
                self.via(connect_timeout=30).close()
                with lock:
                    other.append("admitted over the limit")
            except pymysql.err.OperationalError as e:
                with lock:
                    (refused if e.args[0] == 1040 else other).append(repr(e))

        threads = [threading.Thread(target=storm_client) for _ in range(4 * self.LIMIT - 5)]
        for t in threads:
            t.start()
        clis = [self.cli("SELECT 1") for _ in range(5)]  # libmariadb reads the refusal too
        for i, conn in enumerate(admitted):
            with conn.cursor() as cur:
                cur.execute("SELECT %s", (i,))
                self.assertEqual(cur.fetchone(), (i,))
        for t in threads:
            t.join(60)
        for cli in clis:
            _, err = cli.communicate(timeout=30)
            # libmariadb wraps an error sent in place of the greeting in its
            # 2002, as it does the server's own 1040.
            self.assertIn("1040 - switchyard: too many connections", err)
        self.assertEqual(other, [])
        self.assertEqual(len(refused), 4 * self.LIMIT - 5)
        self.assertEqual(sessions(), self.LIMIT)
        self.assertEqual(MY.app_threads(), self.LIMIT)  # the refused never reached the server
        for i, conn in enumerate(admitted):
            with conn.cursor() as cur:
                cur.execute("SELECT %s", (i,))
                self.assertEqual(cur.fetchone(), (i,))
            conn.close()
        self.assertTrue(wait_until(lambda: sessions() == 0 and MY.app_threads() == 0))
        fresh = [self.via() for _ in range(self.LIMIT)]
        for conn in fresh:
            conn.ping(reconnect=False)
            conn.close()


if __name__ == "__main__":
    unittest.main()
