"""Authentication passes through (trust, cleartext-free md5, SCRAM) over every
combination of client-side and server-side TLS."""
import subprocess
import time
import unittest

import psycopg

from harness import PG_CA, PGPORT, PROXY_CERT, Proxy, connect, pg_listener

import os

SERVER_CERT = os.path.join(os.environ.get("SY_PG_DIR", ""), "certs", "server.crt")
SERVER_KEY = os.path.join(os.environ.get("SY_PG_DIR", ""), "certs", "server.key")

USERS = {"scramuser": "scrampass", "md5user": "md5pass", "postgres": None}


def ssl_in_use(conn):
    return conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0]


class AuthAndTls(unittest.TestCase):
    def check_users(self, port, client_sslmode, backend_tls_expected, **kw):
        for user, password in USERS.items():
            with self.subTest(user=user, sslmode=client_sslmode):
                with connect(port, user=user, password=password, sslmode=client_sslmode, **kw) as conn:
                    self.assertEqual(conn.execute("SELECT current_user").fetchone()[0], user)
                    self.assertEqual(conn.pgconn.ssl_in_use, client_sslmode in ("require", "verify-full"))
                    self.assertEqual(ssl_in_use(conn), backend_tls_expected)

    def test_plain_both_sides(self):
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            self.check_users(proxy.port, "disable", False)

    def test_client_tls_required_backend_plain(self):
        with Proxy([pg_listener("pg", None, PGPORT, client_tls="require")]) as proxy:
            self.check_users(proxy.port, "require", False)
            # channel_binding=prefer (libpq's default) must still connect.
            with connect(proxy.port, user="scramuser", password="scrampass", sslmode="require",
                         channel_binding="prefer") as conn:
                self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))
            with self.assertRaises(psycopg.OperationalError) as cm:
                connect(proxy.port, sslmode="disable")
            self.assertIn("requires an encrypted connection", str(cm.exception))

    def test_too_many_clients_is_53300_after_the_tls_exchange(self):
        # As PostgreSQL does: the SSLRequest is answered and the refusal
        # comes after the startup packet, so libpq shows 53300 and its
        # message, not "server sent an error response during SSL exchange".
        listener = pg_listener("pg", None, PGPORT, client_tls="prefer", extra="max_client_connections: 1")
        with Proxy([listener]) as proxy, self.only_client(proxy.port):
            for sslmode in ("require", "prefer", "disable"):
                with self.subTest(sslmode=sslmode), self.assertRaises(psycopg.OperationalError) as cm:
                    connect(proxy.port, sslmode=sslmode)
                self.assertIn("sorry, too many clients already", str(cm.exception))
                self.assertNotIn("SSL exchange", str(cm.exception))

    @staticmethod
    def only_client(port, bound=30.0):
        """The connection that takes the one slot. The harness's readiness
        probe (a TCP connect and close) holds that slot until the proxy has
        seen it close, which a slow build (ASan) may not have yet: until then
        the proxy rightly refuses, so try again."""
        deadline = time.monotonic() + bound
        while True:
            try:
                return connect(port, sslmode="require")
            except psycopg.OperationalError as e:
                if "too many clients" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def test_client_verifies_proxy_certificate(self):
        with Proxy([pg_listener("pg", None, PGPORT, client_tls="require")]) as proxy:
            with connect(proxy.port, host="localhost", sslmode="verify-full", sslrootcert=PG_CA) as conn:
                self.assertTrue(conn.pgconn.ssl_in_use)

    def test_backend_tls_verify_full(self):
        with Proxy([pg_listener("pg", None, PGPORT, backend_tls="verify-full", ca=PG_CA,
                                extra="")]) as proxy:
            self.check_users(proxy.port, "disable", True)
            # A role that pg_hba only admits over TLS proves the server side is encrypted.
            with connect(proxy.port, user="tlsonly", password="tlspass", sslmode="disable") as conn:
                self.assertTrue(ssl_in_use(conn))

    def test_backend_tls_verify_full_rejects_wrong_name(self):
        yaml = pg_listener("pg", None, PGPORT, backend_tls="verify-full", ca=PG_CA)
        yaml = yaml.replace(f'ca: "{PG_CA}"', f'ca: "{PG_CA}", server_name: db.example.invalid')
        with Proxy([yaml]) as proxy:
            with self.assertRaises(psycopg.OperationalError) as cm:
                connect(proxy.port, sslmode="disable")
            self.assertIn("TLS handshake failed", str(cm.exception))
            self.assertIn('"legacy"', str(cm.exception))

    def test_tls_both_sides_with_distinct_certificates(self):
        # The channels differ, so -PLUS is not offered; clients that do not
        # insist on binding connect.
        with Proxy([pg_listener("pg", None, PGPORT, client_tls="require", backend_tls="require")]) as proxy:
            self.check_users(proxy.port, "require", True, channel_binding="disable")

    def test_channel_binding_passes_through_with_the_targets_certificate(self):
        # The listener serves the database's own certificate: tls-server-end-point
        # data then matches end to end and SCRAM-SHA-256-PLUS works through the proxy.
        yaml = pg_listener("pg", None, PGPORT, client_tls="require", backend_tls="verify-full", ca=PG_CA)
        yaml = yaml.replace(f'cert: "{PROXY_CERT}"', f'cert: "{SERVER_CERT}"')
        yaml = yaml.replace(f'key: "{os.environ["SY_PROXY_KEY"]}"', f'key: "{SERVER_KEY}"')
        with Proxy([yaml]) as proxy:
            for binding in ("prefer", "require"):
                with connect(proxy.port, user="scramuser", password="scrampass", sslmode="require",
                             channel_binding=binding) as conn:
                    self.assertTrue(ssl_in_use(conn))

    def test_wrong_password_is_the_servers_error(self):
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            for user in ("scramuser", "md5user"):
                with self.assertRaises(psycopg.OperationalError) as cm:
                    connect(proxy.port, user=user, password="wrong", sslmode="disable")
                self.assertIn(f'password authentication failed for user "{user}"', str(cm.exception))
            # and the proxy did not pile its own "lost connection" error on top
            self.assertNotIn("backend_lost", proxy.log_text())

    def test_psql_prompts_via_proxy(self):
        with Proxy([pg_listener("pg", None, PGPORT, client_tls="prefer")]) as proxy:
            r = subprocess.run(["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "md5user",
                                "app", "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
                               env=dict(os.environ, PGPASSWORD="md5pass", PGSSLMODE="prefer"),
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
