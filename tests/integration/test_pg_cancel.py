"""A CancelRequest sent to the proxy on a new connection reaches the right backend."""
import threading
import time
import unittest

import psycopg

from harness import PGPORT, Proxy, connect, pg_listener


class Cancel(unittest.TestCase):
    def test_cancel_pg_sleep_within_two_seconds(self):
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            with connect(proxy.port) as victim, connect(proxy.port) as bystander:
                timer = threading.Timer(0.5, victim.cancel)
                start = time.monotonic()
                timer.start()
                with self.assertRaises(psycopg.errors.QueryCanceled):
                    victim.execute("SELECT pg_sleep(60)")
                elapsed = time.monotonic() - start
                self.assertLess(elapsed, 2.0)
                # Only the right backend was cancelled, and both sessions live on.
                self.assertEqual(bystander.execute("SELECT 1").fetchone(), (1,))
                self.assertEqual(victim.execute("SELECT 2").fetchone(), (2,))
            proxy.wait_for_log(r'"event":"cancel_forwarded"')

    def test_unknown_cancel_key_is_ignored(self):
        import socket
        import struct
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            with socket.create_connection(("127.0.0.1", proxy.port)) as s:
                s.sendall(struct.pack("!IIII", 16, 80877102, 12345, 67890))
                self.assertEqual(s.recv(10), b"")  # closed without a word, as the server does
            with connect(proxy.port) as conn:
                self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))


if __name__ == "__main__":
    unittest.main()
