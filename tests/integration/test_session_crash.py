"""A throw inside a session's loop ends that session, visibly, and nothing else.

Before the session layer had a handler on every co_spawn, the server->client
loop was detached and Boost swallowed its exceptions: the client hung with its
server connection open. switchyard-faults (tests/faults/) is the proxy built
with a fault plan from the environment: the named loop of sessions with the
named application_name throws on its next step. Each case shows that the
client gets an error (the connection ends, as when a server crashes),
`session_crashed` is logged with the loop, the server connection is closed
too (the server sees its backend go), and other clients go on being served.
"""

import os
import time
import unittest

import psycopg
import pymysql

from harness import PGPORT, Proxy, config, connect, free_port, pg_listener
from test_mysql_clients import listener as my_listener
from test_mysql_corpus import direct as my_direct

FAULTS_BIN = os.environ.get("SY_FAULTS_BIN")
CRASH_APP = "crash-me"


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def pg_backends(application_name):
    with connect(PGPORT) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            (application_name,)).fetchone()[0]


def my_backends(connection_id):
    # The proxy relays the server's greeting, so the client knows its
    # server connection's id.
    with my_direct() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = %s", (connection_id,))
        return cur.fetchone()[0]


class PgSessionCrash(unittest.TestCase):
    def run_case(self, loop):
        env = {"SY_FAULT_THROW_IN": loop, "SY_FAULT_APPLICATION_NAME": CRASH_APP}
        with Proxy(config(pg_listener("pg", free_port(), PGPORT)), binary=FAULTS_BIN, env=env) as proxy:
            conn = connect(proxy.port, application_name=CRASH_APP)
            self.assertEqual(pg_backends(CRASH_APP), 1)
            with self.assertRaises(psycopg.OperationalError):
                conn.execute("SELECT 1").fetchone()
            conn.close()
            line = proxy.wait_for_log(r'"session_crashed"')
            self.assertIn(f'"loop":"{loop}"', line)
            self.assertIn("injected fault", line)
            # The server connection went with it.
            self.assertTrue(wait_until(lambda: pg_backends(CRASH_APP) == 0), "server connection left open")
            # Everyone else is served.
            with connect(proxy.port, application_name="bystander") as other:
                self.assertEqual(other.execute("SELECT 'still serving'").fetchone(), ("still serving",))

    def test_throw_in_server_to_client_loop(self):
        self.run_case("from_server")

    def test_throw_in_client_to_server_loop(self):
        self.run_case("from_client")


class MySqlSessionCrash(unittest.TestCase):
    def run_case(self, loop):
        env = {"SY_FAULT_THROW_IN": loop, "SY_FAULT_APPLICATION_NAME": CRASH_APP}
        port = free_port()
        with Proxy(my_listener(port), binary=FAULTS_BIN, env=env) as proxy:
            # autocommit=None: PyMySQL then sends nothing after the login, so
            # the fault fires at the first statement, not inside connect().
            conn = pymysql.connect(host="127.0.0.1", port=port, user="app", password="apppass", database="app",
                                   program_name=CRASH_APP, autocommit=None)
            thread_id = conn.server_thread_id[0]
            self.assertEqual(my_backends(thread_id), 1)
            with self.assertRaises(pymysql.err.OperationalError):
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    cur.fetchall()
            conn.close()
            line = proxy.wait_for_log(r'"session_crashed"')
            self.assertIn(f'"loop":"{loop}"', line)
            self.assertTrue(wait_until(lambda: my_backends(thread_id) == 0), "server connection left open")
            with pymysql.connect(host="127.0.0.1", port=port, user="app", password="apppass", database="app",
                                 program_name="bystander") as other, other.cursor() as cur:
                cur.execute("SELECT 'still serving'")
                self.assertEqual(cur.fetchone(), ("still serving",))

    def test_throw_in_server_to_client_loop(self):
        self.run_case("from_server")

    def test_throw_in_client_to_server_loop(self):
        self.run_case("from_client")


if __name__ == "__main__":
    unittest.main()
