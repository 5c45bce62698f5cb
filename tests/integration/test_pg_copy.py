"""COPY IN and COPY OUT of 100 000 rows through the proxy are byte-identical."""
import hashlib
import subprocess
import unittest

from harness import PGPORT, Proxy, dsn, pg_listener

ROWS = 100_000


def make_rows():
    # Tabs, backslashes and multibyte text exercise COPY's escaping.
    statuses = ["Awaiting approval", "Awaiting fulfilment", "Dispatched \\\\ partial", "Entregado ✓"]
    return "".join(f"{i}\t{statuses[i % 4]}\t{i * 7 % 1000}.{i % 100:02d}\n" for i in range(1, ROWS + 1))


class Copy(unittest.TestCase):
    def test_copy_round_trip(self):
        data = make_rows().encode()
        with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
            setup = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", dsn(proxy.port), "-c",
                                    "DROP TABLE IF EXISTS copy_orders; "
                                    "CREATE TABLE copy_orders (id int, status text, amount numeric)"],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(setup.returncode, 0, setup.stderr)
            copy_in = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", dsn(proxy.port), "-c",
                                      "COPY copy_orders FROM STDIN"], input=data, capture_output=True, timeout=120)
            self.assertEqual(copy_in.returncode, 0, copy_in.stderr)
            self.assertIn(b"COPY 100000", copy_in.stdout)
            via_proxy = subprocess.run(["psql", "-X", dsn(proxy.port), "-c",
                                        "COPY (SELECT * FROM copy_orders ORDER BY id) TO STDOUT"],
                                       capture_output=True, timeout=120)
        direct = subprocess.run(["psql", "-X", dsn(PGPORT), "-c",
                                 "COPY (SELECT * FROM copy_orders ORDER BY id) TO STDOUT"],
                                capture_output=True, timeout=120)
        self.assertEqual(via_proxy.returncode, 0, via_proxy.stderr)
        self.assertEqual(len(via_proxy.stdout), len(data))
        self.assertEqual(hashlib.sha256(via_proxy.stdout).hexdigest(), hashlib.sha256(data).hexdigest())
        self.assertEqual(via_proxy.stdout, direct.stdout)


if __name__ == "__main__":
    unittest.main()
