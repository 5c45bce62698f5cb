"""TLS handshakes that fail, on the client side and on the target side: a
client that does not trust the proxy's certificate, a certificate for another
name, plaintext where TLS is required, garbage after the SSLRequest, a client
that stops mid-handshake, a target whose certificate is not trusted or whose
TLS is broken. Each gets a clean error (or a clean close) and a log line,
while a good client keeps being served, and the proxy serves new sessions
afterwards."""

import shutil
import socket
import struct
import tempfile
import threading
import unittest

import psycopg
import pymysql

from certs import make_ca, make_leaf
from harness import PG_CA, PGPORT, PROXY_CERT, PROXY_KEY, Proxy, config, connect, free_port, pg_listener
from test_mysql_clients import CA as MY_CA
from test_mysql_clients import listener as my_listener
from test_pg_robustness import Background, read_error, startup_packet

SSL_REQUEST = struct.pack("!II", 8, 80877103)


def setUpModule():
    global CERTS, OTHER_CA, WRONG_NAME
    CERTS = tempfile.mkdtemp(prefix="sy-tls-")
    OTHER_CA = make_ca(CERTS, "unrelated CA")
    WRONG_NAME = make_leaf(CERTS, "wrong-name", OTHER_CA, cn="wrong.example", sans="DNS:wrong.example")


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


class BrokenTlsTarget:
    """Answers an SSLRequest with 'S', then sends what is not TLS."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def __enter__(self):
        threading.Thread(target=self.serve, daemon=True).start()
        return self

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.recv(8)
                c.sendall(b"S" + b"HTTP/1.1 400 Bad Request\r\n\r\n" * 4)

    def __exit__(self, *exc):
        self.sock.close()


class PostgresClientSide(unittest.TestCase):
    def setUp(self):
        self.proxy = Proxy([pg_listener("pg", None, PGPORT, client_tls="require",
                                        extra="login_timeout_ms: 500")]).start()
        self.port = self.proxy.port

    def tearDown(self):
        self.proxy.stop()

    def assert_still_serving(self):
        with connect(self.port, sslmode="verify-full", sslrootcert=PG_CA, host="localhost") as conn:
            self.assertEqual(conn.execute("SELECT 'still serving'").fetchone(), ("still serving",))

    def test_client_failures_leave_the_others_alone(self):
        good = Background(self.port)
        with good:
            with self.subTest("client does not trust the certificate"):
                with self.assertRaises(psycopg.OperationalError) as cm:
                    connect(self.port, sslmode="verify-full", sslrootcert=OTHER_CA.crt, host="localhost")
                self.assertIn("certificate verify failed", str(cm.exception))
                self.proxy.wait_for_log(r'"tls_handshake_failed"')
            with self.subTest("plaintext where TLS is required"):
                with self.assertRaises(psycopg.OperationalError) as cm:
                    connect(self.port, sslmode="disable")
                self.assertIn('listener "pg" requires an encrypted connection', str(cm.exception))
            with self.subTest("garbage after the SSLRequest, in the same packet"):
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    s.sendall(SSL_REQUEST + b"GET / HTTP/1.1\r\n\r\n")
                    _, fields = read_error(s)
                self.assertEqual(fields.get("C"), "08P01")
                self.assertIn("unencrypted data after SSL request", fields.get("M"))
            with self.subTest("garbage where the TLS handshake should be"):
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    s.sendall(SSL_REQUEST)
                    self.assertEqual(s.recv(1), b"S")
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    data, _ = read_error(s)
                # A TLS alert at most, then the close; never a session.
                self.assertFalse(data.startswith(b"R"), data)
            with self.subTest("client that stops in the middle of the handshake"):
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    s.sendall(SSL_REQUEST)
                    self.assertEqual(s.recv(1), b"S")
                    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello's first bytes
                    data, _ = read_error(s)  # closed at login_timeout_ms
                    self.assertEqual(data, b"")
                self.proxy.wait_for_log(r'"login_timeout".*"waiting_for":"client"')
        self.assertEqual(good.errors, [])
        self.assertGreater(good.count, 0)
        self.assert_still_serving()

    def test_certificate_for_another_name(self):
        with Proxy(config(pg_listener("pg", None, PGPORT, client_tls="require").replace(
                f'cert: "{PROXY_CERT}", key: "{PROXY_KEY}"',
                f'cert: "{WRONG_NAME.crt}", key: "{WRONG_NAME.key}"'))) as proxy:
            with self.assertRaises(psycopg.OperationalError) as cm:
                connect(proxy.port, sslmode="verify-full", sslrootcert=OTHER_CA.crt, host="localhost")
            self.assertIn('server certificate for "wrong.example" does not match host name "localhost"',
                          str(cm.exception))
            # sslmode=require does not check the name: the same proxy serves it.
            with connect(proxy.port, sslmode="require") as conn:
                self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))


class PostgresTargetSide(unittest.TestCase):
    def test_target_tls_failures(self):
        with BrokenTlsTarget() as broken, Proxy(config(
                pg_listener("untrusted", None, PGPORT, backend_tls="verify-full", ca=OTHER_CA.crt),
                pg_listener("wrongname", None, PGPORT, backend_tls="verify-full", ca=PG_CA).replace(
                    "tls: { mode: verify-full", 'tls: { mode: verify-full, server_name: "db.example"'),
                pg_listener("broken", None, broken.port, backend_tls="require"),
                pg_listener("good", None, PGPORT, backend_tls="verify-full", ca=PG_CA))) as proxy:
            untrusted, wrongname, broken_port, good_port = proxy.ports
            with Background(good_port) as good:
                for port, words in ((untrusted, "certificate verify failed"),
                                    (wrongname, "certificate verify failed"),
                                    (broken_port, "TLS handshake failed")):
                    with self.subTest(port=port):
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                            s.sendall(startup_packet())
                            _, fields = read_error(s)
                        self.assertEqual((fields.get("S"), fields.get("C")), ("FATAL", "08001"))
                        self.assertIn('cannot connect to target "legacy"', fields.get("M"))
                        self.assertIn(words, fields.get("M"))
                        with self.assertRaises(psycopg.OperationalError) as cm:
                            connect(port)
                        self.assertIn(words, str(cm.exception))
            self.assertEqual(good.errors, [])
            self.assertGreater(good.count, 0)
            self.assertIn("backend_connect_failed", proxy.log_text())


class MySqlBothSides(unittest.TestCase):
    def via(self, port, **kw):
        return pymysql.connect(host="127.0.0.1", port=port, user="app", password="apppass", database="app", **kw)

    def test_client_side(self):
        with Proxy(my_listener(free_port(), client_tls="require")) as proxy:
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                self.via(proxy.port)
            self.assertEqual(cm.exception.args[0], 3159)  # ER_SECURE_TRANSPORT_REQUIRED
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                self.via(proxy.port, ssl={"ca": OTHER_CA.crt, "check_hostname": False})
            self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
                s.recv(65536)  # greeting
                hello = struct.pack("<IIB23x", 0x0200 | 0x0800 | 0x8000 | 0x00080000 | 0x00000008, 1 << 24, 33)
                s.sendall(struct.pack("<I", len(hello))[:3] + b"\x01" + hello + b"not a ClientHello" * 10)
                s.settimeout(10)
                while s.recv(65536):
                    pass
            proxy.wait_for_log(r'"tls_handshake_failed"')
            with self.via(proxy.port, ssl={"ca": MY_CA}) as conn, conn.cursor() as cur:
                cur.execute("SELECT 'still serving'")
                self.assertEqual(cur.fetchone(), ("still serving",))

    def test_target_side(self):
        text = my_listener(free_port(), backend_tls="verify-full").replace(
            "tls: { mode: verify-full }", f'tls: {{ mode: verify-full, ca: "{OTHER_CA.crt}" }}')
        with Proxy(text) as proxy:
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                self.via(proxy.port)
            self.assertEqual(cm.exception.args[0], 1429)
            self.assertIn("TLS handshake failed", cm.exception.args[1])
            self.assertIn("certificate verify failed", cm.exception.args[1])
        text = my_listener(free_port(), backend_tls="verify-full").replace(
            "tls: { mode: verify-full }", f'tls: {{ mode: verify-full, ca: "{MY_CA}" }}')
        with Proxy(text) as proxy, self.via(proxy.port) as conn, conn.cursor() as cur:
            cur.execute("SELECT 'verified'")
            self.assertEqual(cur.fetchone(), ("verified",))


if __name__ == "__main__":
    unittest.main()
