"""Bad clients, many clients and dead backends: each failure stays with the
session that caused it, gets a proper protocol error, and never takes the
proxy down."""
import socket
import struct
import threading
import time
import unittest

import psycopg

from harness import PGPORT, Proxy, config, connect, free_port, pg_listener


def read_error(sock, timeout=5):
    """Reads until EOF and returns the ErrorResponse fields found, if any."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    pos = data.find(b"E")
    if pos < 0:
        return data, {}
    length = struct.unpack("!I", data[pos + 1:pos + 5])[0]
    fields = {}
    for part in data[pos + 5:pos + 1 + length].split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode()
    return data, fields


def startup_packet(user="postgres", database="app"):
    body = struct.pack("!I", 196608) + b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
    return struct.pack("!I", len(body) + 4) + body


def read_until_ready(sock):
    """Consumes a login's replies up to the first ReadyForQuery."""
    data = b""
    while True:
        data += sock.recv(65536)
        pos = 0
        while pos + 5 <= len(data):
            kind, length = data[pos:pos + 1], struct.unpack("!I", data[pos + 1:pos + 5])[0]
            if kind == b"Z" and pos + 1 + length <= len(data):
                return
            pos += 1 + length


class Background:
    """A good client running queries in a loop while bad things happen."""

    def __init__(self, port):
        self.port, self.errors, self.count = port, [], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        try:
            with connect(self.port) as conn:
                while not self.stop.is_set():
                    assert conn.execute("SELECT 1").fetchone() == (1,)
                    self.count += 1
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(e)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        # Served at least once more after the bad clients: on a loaded
        # machine 0.2 s is not always enough for a first query (a count, not
        # a time, is what the test asserts).
        seen = self.count
        deadline = time.monotonic() + 10
        while self.count <= seen and not self.errors and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.stop.set()
        self.thread.join(10)


class BadClients(unittest.TestCase):
    def setUp(self):
        self.proxy = Proxy([pg_listener("pg", None, PGPORT, extra="max_message_bytes: 65536")]).start()

    def tearDown(self):
        self.proxy.stop()

    def raw(self):
        return socket.create_connection(("127.0.0.1", self.proxy.port), timeout=5)

    def test_bad_clients_are_cut_off_while_a_good_one_works(self):
        with Background(self.proxy.port) as good:
            cases = {
                "garbage": b"GET / HTTP/1.1\r\nHost: example\r\n\r\n",
                "two_gib_startup": struct.pack("!II", 0x80000000, 196608),
                "tiny_startup": struct.pack("!I", 2),
            }
            for name, payload in cases.items():
                with self.subTest(name), self.raw() as s:
                    s.sendall(payload)
                    _, fields = read_error(s)
                    self.assertEqual(fields.get("C"), "08P01", name)
                    self.assertIn("switchyard", fields.get("M", ""))
            with self.subTest("truncated"), self.raw() as s:
                s.sendall(startup_packet()[:10])
                s.shutdown(socket.SHUT_WR)
                data, _ = read_error(s)
                self.assertEqual(data, b"")
            time.sleep(0.2)
        self.assertEqual(good.errors, [])
        self.assertGreater(good.count, 0)

    def test_absurd_lengths_after_login(self):
        for name, msg in {
            "two_gib_query": b"Q" + struct.pack("!I", 0x80000000) + b"SELECT",
            "query_over_limit": b"Q" + struct.pack("!I", 1 << 20) + b"SELECT",
            "negative_length": b"B" + struct.pack("!I", 2),
        }.items():
            with self.subTest(name), Background(self.proxy.port) as good:
                with connect(self.proxy.port) as conn:
                    # Reach into libpq's socket and write a hostile message.
                    fd = conn.pgconn.socket
                    s = socket.socket(fileno=socket.dup(fd))
                    s.sendall(msg)
                    _, fields = read_error(s)
                    s.close()
                    self.assertEqual(fields.get("C"), "08P01")
                time.sleep(0.1)
                self.assertEqual(good.errors, [])
        with connect(self.proxy.port) as conn:
            self.assertEqual(conn.execute("SELECT 'still serving'").fetchone(), ("still serving",))

    def test_encryption_requests_on_a_plaintext_listener(self):
        # GSSENCRequest and SSLRequest are both declined with 'N'; the client
        # then continues in plaintext on the same connection.
        with self.raw() as s:
            s.sendall(struct.pack("!II", 8, 80877104))
            self.assertEqual(s.recv(1), b"N")
            s.sendall(struct.pack("!II", 8, 80877103))
            self.assertEqual(s.recv(1), b"N")
            s.sendall(startup_packet())
            read_until_ready(s)
            s.sendall(b"Q" + struct.pack("!I", 4 + 9) + b"SELECT 7\0")
            reply = b""
            while not reply.endswith(b"Z\0\0\0\x05I"):
                reply += s.recv(65536)
            self.assertIn(b"\x00\x00\x00\x017", reply)  # one DataRow column "7"

    def test_many_truncated_clients_in_parallel(self):
        socks = []
        for _ in range(50):
            s = self.raw()
            s.sendall(startup_packet()[:7])
            socks.append(s)
        with connect(self.proxy.port) as conn:
            self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))
        for s in socks:
            s.close()


class ManyClients(unittest.TestCase):
    def test_500_concurrent_sessions(self):
        n = 500
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            barrier = threading.Barrier(n, timeout=120)
            results, errors = [], []

            def client(i):
                try:
                    with connect(proxy.port, connect_timeout=60) as conn:
                        barrier.wait()  # all 500 are connected at the same time
                        results.append(conn.execute("SELECT %s::int * 2", (i,)).fetchone()[0])
                        barrier.wait()
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))

            threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
            self.assertEqual(errors, [])
            self.assertEqual(sorted(results), [i * 2 for i in range(n)])


class ProcessWideClientLimit(unittest.TestCase):
    def test_runtime_max_client_connections_spans_listeners(self):
        """runtime.max_client_connections counts every listener's clients:
        with room on each listener, the process-wide limit refuses with 53300
        and a slot freed on one listener is taken on the other."""
        text = config(pg_listener("a", None, PGPORT), pg_listener("b", None, PGPORT),
                      extra="runtime: { max_client_connections: 3 }")
        with Proxy(text) as proxy:
            a, b = proxy.ports
            held = [connect(a), connect(a), connect(b)]
            for port in (a, b):
                with self.assertRaises(psycopg.OperationalError) as refused:
                    connect(port)
                # libpq reports a FATAL at login as a connection failure,
                # without a sqlstate; the server's message is in the text.
                self.assertIn("sorry, too many clients already", str(refused.exception))
            held.pop(0).close()
            deadline = time.monotonic() + 10
            while True:  # the proxy sees the close a moment after the client
                try:
                    held.append(connect(b))
                    break
                except psycopg.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            for conn in held:
                self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))
                conn.close()
            refusals = [r for r in proxy.log_records() if r.get("event") == "client_refused"]
            self.assertEqual({r.get("reason") for r in refusals}, {"runtime.max_client_connections"})


class LoginTimeout(unittest.TestCase):
    def test_a_silent_client_is_closed_after_login_timeout_ms(self):
        with Proxy([pg_listener("pg", None, PGPORT, extra="login_timeout_ms: 300")]) as proxy:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as silent:
                start = time.monotonic()
                self.assertEqual(silent.recv(1), b"")  # closed by the proxy, not by our timeout
                self.assertLess(time.monotonic() - start, 5)
            proxy.wait_for_log(r'"event":"login_timeout"')
            with connect(proxy.port) as conn:  # a client that logs in in time is unaffected
                time.sleep(0.5)
                self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))


class DeadBackends(unittest.TestCase):
    def test_unreachable_backend_gives_08001_with_target_name(self):
        dead = free_port()
        with Proxy([pg_listener("pg", None, dead)]) as proxy:
            with self.assertRaises(psycopg.OperationalError) as cm:
                connect(proxy.port)
            self.assertIn('cannot connect to target "legacy"', str(cm.exception))
            # libpq does not expose a login error's SQLSTATE; read it off the wire.
            with socket.create_connection(("127.0.0.1", proxy.port)) as s:
                s.sendall(startup_packet())
                _, fields = read_error(s)
            self.assertEqual(fields.get("C"), "08001")
            self.assertEqual(fields.get("S"), "FATAL")
            self.assertIn("backend_connect_failed", proxy.log_text())

    def test_backend_dying_mid_session(self):
        # A relay we control stands between proxy and server, so the server
        # side can vanish without a goodbye, as it does when a host dies.
        relay = Relay(PGPORT)
        with relay, Proxy([pg_listener("pg", None, relay.port)]) as proxy:
            with connect(proxy.port) as victim, Background(proxy.port) as good:
                self.assertEqual(victim.execute("SELECT 1").fetchone(), (1,))
                time.sleep(0.1)
                relay.cut(first_only=True)
                with self.assertRaises(psycopg.OperationalError) as cm:
                    victim.execute("SELECT 1")
                self.assertIn('lost connection to target "legacy"', str(cm.exception))
                # The same through a raw client, to see the SQLSTATE.
                with socket.create_connection(("127.0.0.1", proxy.port)) as s:
                    s.sendall(startup_packet())
                    read_until_ready(s)
                    relay.cut(last_only=True)
                    _, fields = read_error(s)
                self.assertEqual(fields.get("C"), "08006")
                time.sleep(0.2)
            self.assertEqual(good.errors, [])
            self.assertGreater(good.count, 0)

    def test_server_terminating_a_backend(self):
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            with connect(proxy.port) as victim, connect(proxy.port) as other:
                pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))
                with self.assertRaises(psycopg.OperationalError) as cm:
                    victim.execute("SELECT 1")
                # The server's own FATAL reaches the client unaltered.
                self.assertIn("terminating connection due to administrator command", str(cm.exception))
                self.assertEqual(other.execute("SELECT 1").fetchone(), (1,))


class Relay:
    """TCP relay to the real server whose connections can be cut at will."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs = []
        self.closed = set()  # client sockets whose peer hung up
        self.talked = set()  # client sockets that sent data: sessions, not readiness probes
        self.lock = threading.Lock()

    def __enter__(self):
        threading.Thread(target=self.accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.listener.close()
        self.cut()

    def accept(self):
        while True:
            try:
                a, _ = self.listener.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.pairs.append((a, b))
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self.pump, args=(src, dst), daemon=True).start()

    def pump(self, src, dst):
        try:
            while data := src.recv(65536):
                self.talked.add(src)
                dst.sendall(data)
        except OSError:
            pass
        with self.lock:
            self.closed.add(src)

    def cut(self, first_only=False, last_only=False):
        with self.lock:
            live = [(a, b) for a, b in self.pairs if a in self.talked and a not in self.closed]
            pairs = live[:1] if first_only else live[-1:] if last_only else self.pairs
            for a, b in pairs:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()


if __name__ == "__main__":
    unittest.main()
