"""OwnedMySqlConnection logging in with caching_sha2_password, which MariaDB
lacks: against tests/integration/fake_mysql8.py (a scripted MySQL 8 login),
through the owned_probe binary. Full authentication over TLS, over plaintext
with the server's RSA key, the fast path once cached, and a wrong password."""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from fake_mysql8 import FakeMySql8  # noqa: E402

PROBE = os.environ["SY_OWNED_PROBE"]
CERTS = os.path.join(os.environ["SY_MY_DIR"], "certs")
ACCOUNTS = {"alice": "alicepw", "bob": "bobpw"}


def probe(port, user, password, tls="disable", ca=""):
    env = dict(os.environ, SY_PROBE_PW=password)
    args = [PROBE, "mysql", "127.0.0.1", str(port), user, "app", tls] + ([ca] if ca else [])
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


class CachingSha2(unittest.TestCase):
    def test_full_over_tls_then_fast(self):
        with FakeMySql8(ACCOUNTS, cert=os.path.join(CERTS, "server.crt"),
                        key=os.path.join(CERTS, "server.key")) as server:
            ca = os.environ["SY_MY_CA"]
            self.assertEqual(probe(server.port, "alice", "alicepw", "verify-full", ca),
                             "user=alice path=full tls=1")
            # The fast path once cached. (It used to fail under load with
            # "Connection timed out (110)": a library timeout of 0 was taken
            # as "now"; see OwnedMySqlConnection::finish.)
            self.assertEqual(probe(server.port, "alice", "alicepw", "verify-full", ca),
                             "user=alice path=fast tls=1")
            self.assertEqual(server.cleartext_over_plain, [])

    def test_rsa_over_plaintext_then_fast(self):
        with FakeMySql8(ACCOUNTS) as server:
            self.assertEqual(probe(server.port, "bob", "bobpw"), "user=bob path=rsa tls=0")
            self.assertEqual(probe(server.port, "bob", "bobpw"), "user=bob path=fast tls=0")

    def test_wrong_password(self):
        with FakeMySql8(ACCOUNTS) as server:
            out = probe(server.port, "bob", "nope")
            self.assertTrue(out.startswith('error: target "probe" at 127.0.0.1:%d: ' % server.port), out)
            self.assertIn("Access denied", out)


if __name__ == "__main__":
    unittest.main()
