"""Targets that cannot be reached in time: one that accepts TCP and never
says a word, and one whose DNS name stops resolving (or whose lookups hang).
The connect and login timeouts fire, the client gets a clean error naming
the target, /readyz reports it, and the proxy recovers by itself once the
target is back.

The DNS name is answered by tests/faults/dns_shim.cpp, LD_PRELOADed into
the real proxy: the proxy's own lookups run (Asio's resolver thread,
getaddrinfo), only the answer for that one name comes from a file the test
rewrites.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import psycopg
import pymysql

from harness import PGPORT, Proxy, config, connect, free_port, pg_listener
from test_mysql_clients import listener as my_listener
from test_mysql_corpus import MYPORT
from test_pg_robustness import read_error, startup_packet

DNS_SHIM = os.environ.get("SY_DNS_SHIM")
PG_TIMEOUTS = "connect_timeout_ms: 300\nlogin_timeout_ms: 800"


class SilentServer:
    """Accepts TCP connections and never answers; counts what it got."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns = []

    def __enter__(self):
        threading.Thread(target=self.accept, daemon=True).start()
        return self

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def __exit__(self, *exc):
        self.sock.close()
        for c in self.conns:
            c.close()


class GreetThenSilent(SilentServer):
    """Passes on the real MariaDB's greeting, then never says another word."""

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with socket.create_connection(("127.0.0.1", MYPORT)) as real:
                header = real.recv(4, socket.MSG_WAITALL)
                body = real.recv(int.from_bytes(header[:3], "little"), socket.MSG_WAITALL)
            c.sendall(header + body)
            self.conns.append(c)


def get(admin_port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}{path}", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_ready(admin_port, ready, timeout=15):
    """The /readyz answer once it says `ready` (or the last one after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = get(admin_port, "/readyz")
        if (status == 200) == ready or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def admin(port):
    return f"admin: {{ listen: 127.0.0.1:{port} }}"


def pg_fatal(port):
    """The FATAL a raw client gets after its startup packet: (sqlstate, message)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(startup_packet())
        _, fields = read_error(s, timeout=30)
    return fields.get("C"), fields.get("M", "")


class SilentTarget(unittest.TestCase):
    def test_postgres_login_timeout_gives_a_clean_error(self):
        admin_port = free_port()
        with SilentServer() as silent, Proxy(config(pg_listener("pg", None, silent.port, extra=PG_TIMEOUTS),
                                                    extra=admin(admin_port))) as proxy:
            with self.assertRaises(psycopg.OperationalError) as cm:
                connect(proxy.port, connect_timeout=30)
            self.assertIn(f'target "legacy" at 127.0.0.1:{silent.port} did not complete the login within '
                          'login_timeout_ms (800 ms)', str(cm.exception))
            code, message = pg_fatal(proxy.port)
            self.assertEqual(code, "08001", message)
            proxy.wait_for_log(r'"event":"login_timeout".*"waiting_for":"target"')
            status, body = wait_ready(admin_port, ready=False)
            self.assertEqual(status, 503, body)
            self.assertTrue(any(f"127.0.0.1:{silent.port}" in r and "no answer" in r for r in body["reasons"]), body)

    def test_postgres_tls_negotiation_is_under_the_connect_timeout(self):
        # The SSLRequest is never answered: connect_timeout_ms (300) fires,
        # long before the login timeout (60 s by default).
        with SilentServer() as silent, Proxy([pg_listener("pg", None, silent.port, backend_tls="require",
                                                          extra="connect_timeout_ms: 300")]) as proxy:
            code, message = pg_fatal(proxy.port)
            self.assertEqual(code, "08001", message)
            self.assertIn(f'cannot connect to target "legacy" at 127.0.0.1:{silent.port}: timed out after 300 ms '
                          '(connect_timeout_ms)', message)

    def test_mysql_greeting_is_under_the_connect_timeout(self):
        admin_port = free_port()
        with SilentServer() as silent, Proxy(my_listener(free_port(), target_port=silent.port,
                                                         extra=admin(admin_port)).replace(
                "    targets:", "    connect_timeout_ms: 300\n    targets:")) as proxy:
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                pymysql.connect(host="127.0.0.1", port=proxy.port, user="app", password="apppass",
                                connect_timeout=30, read_timeout=30)
            self.assertEqual(cm.exception.args[0], 1429, cm.exception)
            self.assertIn("timed out after 300 ms (connect_timeout_ms)", cm.exception.args[1])
            status, body = wait_ready(admin_port, ready=False)
            self.assertEqual(status, 503, body)
            self.assertTrue(any("no answer" in r for r in body["reasons"]), body)

    def test_mysql_login_timeout_gives_a_clean_error(self):
        with GreetThenSilent() as silent, Proxy(my_listener(free_port(), target_port=silent.port).replace(
                "    targets:", "    login_timeout_ms: 800\n    targets:")) as proxy:
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                pymysql.connect(host="127.0.0.1", port=proxy.port, user="app", password="apppass",
                                connect_timeout=30, read_timeout=30)
            self.assertEqual(cm.exception.args[0], 1429, cm.exception)
            self.assertIn("did not complete the login within login_timeout_ms (800 ms)", cm.exception.args[1])
            # libmariadb reads it too (the sequence id it expects, a server-range code).
            r = subprocess.run(["mariadb", "--no-defaults", "--skip-ssl", "-h127.0.0.1", f"-P{proxy.port}", "-uapp",
                                "-papppass", "-e", "SELECT 1"], capture_output=True, text=True, timeout=60)
            self.assertIn("ERROR 1429", r.stderr)
            self.assertIn("did not complete the login", r.stderr)

    def test_a_silent_target_does_not_hold_up_other_listeners(self):
        with SilentServer() as silent, Proxy(config(pg_listener("silent", None, silent.port, extra=PG_TIMEOUTS),
                                                    pg_listener("good", None, PGPORT))) as proxy:
            waiting = [socket.create_connection(("127.0.0.1", proxy.ports[0])) for _ in range(20)]
            for s in waiting:
                s.sendall(startup_packet())
            with connect(proxy.ports[1]) as conn:
                self.assertEqual(conn.execute("SELECT 1").fetchone(), (1,))
            for s in waiting:
                _, fields = read_error(s, timeout=30)
                self.assertEqual(fields.get("C"), "08001")
                s.close()


class NameStopsResolving(unittest.TestCase):
    NAME = "sy-faults-target"

    def setUp(self):
        self.assertTrue(DNS_SHIM and os.path.exists(DNS_SHIM), "SY_DNS_SHIM must name the built sy_dns_shim")
        self.dir = tempfile.mkdtemp(prefix="sy-dns-")
        self.answer_file = os.path.join(self.dir, "answer")
        self.answer("127.0.0.1")
        self.env = {"LD_PRELOAD": DNS_SHIM, "SY_FAULT_DNS_NAME": self.NAME, "SY_FAULT_DNS_FILE": self.answer_file,
                    "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def answer(self, text):
        tmp = self.answer_file + ".new"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, self.answer_file)

    def test_postgres_target_name_stops_resolving_and_comes_back(self):
        admin_port = free_port()
        listener = pg_listener("pg", None, PGPORT, extra="connect_timeout_ms: 500").replace(
            f'"127.0.0.1:{PGPORT}"', f'"{self.NAME}:{PGPORT}"')
        with Proxy(config(listener, extra=admin(admin_port)), env=self.env) as proxy:
            self.assertEqual(wait_ready(admin_port, ready=True)[0], 200)
            held = connect(proxy.port)  # a session from before keeps working throughout
            self.assertEqual(held.execute("SELECT 1").fetchone(), (1,))

            self.answer("gone")  # NXDOMAIN from now on
            code, message = pg_fatal(proxy.port)
            self.assertEqual(code, "08001", message)
            self.assertIn(f'cannot connect to target "legacy" at {self.NAME}:{PGPORT}: cannot resolve', message)
            status, body = wait_ready(admin_port, ready=False)
            self.assertEqual(status, 503, body)
            self.assertTrue(any(self.NAME in r and "resolve" in r for r in body["reasons"]), body)

            self.answer("hang")  # lookups that never return: the connect timeout still fires
            code, message = pg_fatal(proxy.port)
            self.assertEqual(code, "08001", message)
            self.assertIn("timed out after 500 ms (connect_timeout_ms)", message)
            self.assertEqual(wait_ready(admin_port, ready=False)[0], 503)
            self.assertEqual(held.execute("SELECT 2").fetchone(), (2,))

            self.answer("127.0.0.1")  # back: new sessions and readiness recover by themselves
            self.assertEqual(wait_ready(admin_port, ready=True)[0], 200)
            with connect(proxy.port) as conn:
                self.assertEqual(conn.execute("SELECT 3").fetchone(), (3,))
            self.assertEqual(held.execute("SELECT 4").fetchone(), (4,))
            held.close()


if __name__ == "__main__":
    unittest.main()
