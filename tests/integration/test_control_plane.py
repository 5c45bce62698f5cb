"""The control plane runs on a thread of its own: reloading a large config
(YAML parse, every tenant's rewriter rebuilt) over and over does not stall or
fail the sessions served meanwhile, even with a single worker thread.
"""

import threading
import time
import unittest

from harness import PGPORT, Proxy, connect, free_port

TENANTS = 1500  # each with its own migration: a reload that changes them all rebuilds 1500 rewriters


def big_config(port, generation):
    lines = [f"""
listeners:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:{port}
    targets:
      legacy: {{ address: 127.0.0.1:{PGPORT} }}
runtime: {{ workers: 1 }}
tenants:
  - name: acme
    match: {{ listener: pg, database: app }}
    phase: dual_write
    migrations: [cp_status]
"""]
    for i in range(TENANTS):
        lines.append(f"""  - name: t{i}
    match: {{ listener: pg, database: db{i} }}
    phase: dual_write
    migrations: [m{i}]
""")
    lines.append(f"""migrations:
  cp_status:
    table: cp_orders
    legacy_column: status
    unified_column: unified_status
    map: {{ Dispatched: DISPATCHED, Delivered: DELIVERED }}
""")
    for i in range(TENANTS):
        # The generation changes every migration, so every rewriter is rebuilt.
        lines.append(f"""  m{i}:
    table: orders_{i}
    legacy_column: status
    unified_column: unified_status
    map: {{ "Gen {generation}": GEN_{generation}, Dispatched: DISPATCHED }}
""")
    return "".join(lines)


class ControlPlaneTest(unittest.TestCase):
    def setUp(self):
        with connect(PGPORT) as conn:
            conn.execute("DROP TABLE IF EXISTS cp_orders")
            conn.execute("CREATE TABLE cp_orders (id int PRIMARY KEY, status text, unified_status text)")
            conn.execute("INSERT INTO cp_orders SELECT i, 'Created', 'CREATED' FROM generate_series(1, 100) i")

    def test_sessions_keep_running_while_large_configs_reload(self):
        port = free_port()
        with Proxy(big_config(port, 0), ready_timeout=30) as proxy:
            stop = threading.Event()
            errors, done = [], [0]

            def client():
                try:
                    with connect(port) as conn:
                        while not stop.is_set():
                            i = done[0] % 100 + 1
                            conn.execute("UPDATE cp_orders SET status = %s WHERE id = %s",
                                         ("Dispatched" if done[0] % 2 else "Delivered", i))
                            row = conn.execute("SELECT status, unified_status FROM cp_orders WHERE id = %s",
                                               (i,)).fetchone()
                            if row[1] != row[0].upper():
                                errors.append(f"row {i}: {row}")
                            done[0] += 1
                except Exception as e:  # noqa: BLE001 - any failure fails the test
                    errors.append(repr(e))

            worker = threading.Thread(target=client)
            worker.start()
            reloads = 6
            try:
                for gen in range(1, reloads + 1):
                    proxy.reload(big_config(port, gen))
                    deadline = time.monotonic() + 60
                    while proxy.log_text().count('"event":"config_reloaded"') < gen:
                        self.assertLess(time.monotonic(), deadline, "reload did not finish")
                        time.sleep(0.02)
                    self.assertEqual(errors, [])
            finally:
                stop.set()
                worker.join(30)
            self.assertEqual(errors, [])
            self.assertGreater(done[0], 0)
            self.assertNotIn('"event":"config_reload_failed"', proxy.log_text())


if __name__ == "__main__":
    unittest.main()
