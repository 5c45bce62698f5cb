"""caching_sha2_password (MySQL 8) relayed through the proxy: the fast path,
full authentication over TLS, the RSA key exchange without TLS, an
AuthSwitchRequest, a wrong password, and TLS on one side of the proxy only
(switchyard does the half of the exchange the other side expects). The server is tests/integration/fake_mysql8.py (no
MySQL 8 is packaged for Debian); the clients are real: PyMySQL and the
mariadb CLI (MariaDB Connector/C's caching_sha2_password plugin)."""
import os
import subprocess
import unittest

import pymysql
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fake_mysql8 import FakeMySql8
from harness import Proxy, free_port
from test_mysql_clients import CA, listener, via

MY_DIR = os.environ.get("SY_MY_DIR", "")
SERVER_CERT = os.path.join(MY_DIR, "certs", "server.crt")
SERVER_KEY = os.path.join(MY_DIR, "certs", "server.key")
ACCOUNTS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}


def login(port, user, tls=False, password=None):
    """Logs in with PyMySQL and returns the server's account of the login."""
    kw = dict(ssl_ca=CA, ssl_verify_cert=True) if tls else {}
    with via(port, user=user, password=password or ACCOUNTS[user], connect_timeout=10, **kw) as conn, \
            conn.cursor() as cur:
        cur.execute("SELECT who")
        return cur.fetchone()[0]


class Sha2Matched(unittest.TestCase):
    def test_full_then_fast_path_with_tls_on_both_sides(self):
        with FakeMySql8(ACCOUNTS, cert=SERVER_CERT, key=SERVER_KEY) as server:
            port = free_port()
            with Proxy(listener(port, server.port, client_tls="require", backend_tls="require")):
                self.assertEqual(login(port, "alice", tls=True), "user=alice path=full tls=1")
                self.assertEqual(login(port, "alice", tls=True), "user=alice path=fast tls=1")
            self.assertEqual(server.cleartext_over_plain, [])

    def test_rsa_key_exchange_without_tls(self):
        with FakeMySql8(ACCOUNTS) as server:
            port = free_port()
            with Proxy(listener(port, server.port)):
                self.assertEqual(login(port, "bob"), "user=bob path=rsa tls=0")
                self.assertEqual(login(port, "bob"), "user=bob path=fast tls=0")

    def test_auth_switch_from_native_password(self):
        with FakeMySql8(ACCOUNTS, cert=SERVER_CERT, key=SERVER_KEY,
                        greeting_plugin=b"mysql_native_password") as server:
            port = free_port()
            with Proxy(listener(port, server.port, client_tls="require", backend_tls="require")):
                self.assertEqual(login(port, "carol", tls=True), "user=carol path=full tls=1")
                # The mariadb CLI: Connector/C answers the switch with its own sha2 plugin.
                r = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", "-ucarol", "-pcarol-pw", "--ssl",
                                    f"--ssl-ca={CA}", "-N", "-e", "SELECT who"],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.strip(), "user=carol path=fast tls=1")

    def test_wrong_password_is_the_servers_error(self):
        with FakeMySql8(ACCOUNTS, cert=SERVER_CERT, key=SERVER_KEY) as server:
            port = free_port()
            with Proxy(listener(port, server.port, client_tls="require", backend_tls="require")):
                with self.assertRaises(pymysql.err.OperationalError) as caught:
                    login(port, "alice", tls=True, password="wrong")
                self.assertEqual(caught.exception.args[0], 1045)
                self.assertIn("Access denied for user 'alice'", caught.exception.args[1])
                self.assertEqual(login(port, "alice", tls=True), "user=alice path=full tls=1")


class Sha2SplitTls(unittest.TestCase):
    """TLS on one side of the proxy only. Full authentication over TLS sends the
    password in clear; without TLS the client asks for the server's RSA key."""

    def test_plaintext_client_tls_target_is_bridged(self):
        # The usual sidecar: plaintext on localhost, TLS to the database. The
        # client asks for a key, gets switchyard's, and the server gets the
        # password in clear over TLS.
        with FakeMySql8(ACCOUNTS, cert=SERVER_CERT, key=SERVER_KEY) as server:
            port = free_port()
            with Proxy(listener(port, server.port, backend_tls="require")):
                self.assertEqual(login(port, "bob"), "user=bob path=full tls=1")
                self.assertEqual(login(port, "bob"), "user=bob path=fast tls=1")
                with self.assertRaises(pymysql.err.OperationalError) as caught:
                    login(port, "alice", password="wrong")
                self.assertEqual(caught.exception.args[0], 1045)  # the server's verdict, relayed
                # Connector/C's sha2 plugin takes the same route.
                r = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", "-ualice", "-palice-pw", "--skip-ssl",
                                    "-N", "-e", "SELECT who"], capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.strip(), "user=alice path=full tls=1")

    def test_a_client_holding_the_servers_key_is_refused(self):
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        with FakeMySql8(ACCOUNTS, cert=SERVER_CERT, key=SERVER_KEY) as server:
            port = free_port()
            with Proxy(listener(port, server.port, backend_tls="require")) as proxy:
                with self.assertRaises(pymysql.err.OperationalError) as caught:
                    pymysql.connect(host="127.0.0.1", port=port, user="carol", password="carol-pw",
                                    server_public_key=other, connect_timeout=10)
                self.assertEqual(caught.exception.args[0], 1251, caught.exception.args)
                self.assertIn("not encrypted with the public key switchyard sent", caught.exception.args[1])
                self.assertIn('"event":"auth_refused"', proxy.log_text())
                self.assertEqual(login(port, "carol"), "user=carol path=full tls=1")  # others carry on
            self.assertEqual(server.logins, [("carol", "full", True)])

    def test_tls_client_plaintext_target_is_bridged(self):
        # The client sends its password in clear inside TLS; switchyard asks
        # the server for its key and sends the password encrypted with it.
        with FakeMySql8(ACCOUNTS) as server:
            port = free_port()
            with Proxy(listener(port, server.port, client_tls="require")):
                self.assertEqual(login(port, "alice", tls=True), "user=alice path=rsa tls=0")
                self.assertEqual(login(port, "alice", tls=True), "user=alice path=fast tls=0")
                with self.assertRaises(pymysql.err.OperationalError) as caught:
                    login(port, "bob", tls=True, password="wrong")
                self.assertEqual(caught.exception.args[0], 1045)
                r = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", "-ucarol", "-pcarol-pw", "--ssl",
                                    f"--ssl-ca={CA}", "-N", "-e", "SELECT who"],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.strip(), "user=carol path=rsa tls=0")
            self.assertEqual(server.cleartext_over_plain, [])  # no password crossed the plaintext hop in clear

    def test_a_target_without_a_usable_key_is_refused(self):
        with FakeMySql8(ACCOUNTS, public_pem=b"not a key") as server:
            port = free_port()
            with Proxy(listener(port, server.port, client_tls="require")) as proxy:
                with self.assertRaises(pymysql.err.OperationalError) as caught:
                    login(port, "alice", tls=True)
                self.assertEqual(caught.exception.args[0], 1251, caught.exception.args)
                self.assertIn("sent no usable RSA public key", caught.exception.args[1])
                self.assertIn('"event":"auth_refused"', proxy.log_text())
            self.assertEqual(server.cleartext_over_plain, [])
            self.assertEqual(server.logins, [])

    def test_a_target_refusing_the_key_request_has_the_last_word(self):
        with FakeMySql8(ACCOUNTS, key_error="RSA key pair is not available") as server:
            port = free_port()
            with Proxy(listener(port, server.port, client_tls="require")):
                with self.assertRaises(pymysql.err.OperationalError) as caught:
                    login(port, "alice", tls=True)  # PyMySQL checks every sequence id on the way
                self.assertEqual(caught.exception.args, (1045, "RSA key pair is not available"))

    def test_cached_accounts_use_the_fast_path_either_way(self):
        with FakeMySql8(ACCOUNTS, cert=SERVER_CERT, key=SERVER_KEY) as server:
            both, split = free_port(), free_port()
            with Proxy(listener(both, server.port, client_tls="require", backend_tls="require")):
                self.assertEqual(login(both, "carol", tls=True), "user=carol path=full tls=1")
            with Proxy(listener(split, server.port, backend_tls="require")):
                self.assertEqual(login(split, "carol"), "user=carol path=fast tls=1")

if __name__ == "__main__":
    unittest.main()
