"""Opt-in idle timeouts (listener idle_in_transaction_session_timeout_ms and
idle_session_timeout_ms), seen from real clients against the real servers.

PostgreSQL clients get the server's own FATAL 25P03 / 57P05 and message; the
server connection is closed, so the open transaction is rolled back (its row
is absent). MySQL clients see the connection end as when the server closes it
(their library reports 2013 or 2006, never 2027). A session busy in a long
statement, sessions without a timeout and the default (0) are never closed.
Each wait is for the proxy's `idle_timeout` log line, never a clock."""
import subprocess
import time
import unittest

import psycopg
import pymysql

from harness import PGPORT, Proxy, config, connect, pg_listener
from test_mysql_clients import listener as my_listener
from test_mysql_corpus import MYPORT, direct as my_direct


def pg_proxy(extra):
    return Proxy(config(pg_listener("pg", None, PGPORT, extra=extra)))


def pg_rows(marker):
    with connect(PGPORT) as conn:
        return conn.execute("SELECT count(*) FROM idle_t WHERE note = %s", (marker,)).fetchone()[0]


def my_rows(marker):
    with my_direct() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM idle_t WHERE note = %s", (marker,))
        return cur.fetchone()[0]


def direct_pg_error(setting):
    """What psycopg reports when PostgreSQL itself ends a session for
    `setting` (the oracle): the exception's class, sqlstate and message."""
    conn = connect(PGPORT, autocommit=False)
    pid = conn.info.backend_pid
    conn.execute(f"SET {setting} = 300")
    if setting == "idle_session_timeout":
        conn.commit()
    else:
        conn.execute("SELECT 1")
    with connect(PGPORT) as watcher:
        while watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
            time.sleep(0.05)
    try:
        conn.execute("SELECT 1")
    except psycopg.Error as e:
        return type(e), e.sqlstate, str(e)
    finally:
        conn.close()
    raise AssertionError("PostgreSQL did not end the session")


def setUpModule():
    with connect(PGPORT) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS idle_t (id serial PRIMARY KEY, note text)")
    with my_direct() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS idle_t (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64))")


class PostgresIdleTimeouts(unittest.TestCase):
    def test_idle_in_transaction_gets_25P03_and_is_rolled_back(self):
        with pg_proxy("idle_in_transaction_session_timeout_ms: 300") as proxy:
            idle = connect(proxy.port, autocommit=False)
            idle.execute("INSERT INTO idle_t (note) VALUES ('pg-idle-tx')")
            outside = connect(proxy.port)  # idle too, but not in a transaction: no timeout applies
            outside.execute("SELECT 1")
            proxy.wait_for_log(r'"event":"idle_timeout".*"kind":"idle_in_transaction"', timeout=20)
            with self.assertRaises(psycopg.OperationalError) as caught:
                idle.execute("SELECT 1")
            kind, sqlstate, _ = direct_pg_error("idle_in_transaction_session_timeout")
            self.assertIs(type(caught.exception), kind)
            self.assertEqual(caught.exception.sqlstate, sqlstate)
            self.assertIn("terminating connection due to idle-in-transaction timeout", str(caught.exception))
            self.assertEqual(pg_rows("pg-idle-tx"), 0)
            self.assertEqual(outside.execute("SELECT 2").fetchone()[0], 2)
            # A statement that runs longer than the timeout is not idleness.
            with connect(proxy.port, autocommit=False) as busy:
                self.assertEqual(busy.execute("SELECT 3 FROM pg_sleep(1.5)").fetchone()[0], 3)
                busy.rollback()
            outside.close()
            self.assertEqual(proxy.log_text().count('"event":"idle_timeout"'), 1)

    def test_idle_session_gets_57P05(self):
        with pg_proxy("idle_session_timeout_ms: 300") as proxy:
            conn = connect(proxy.port)
            conn.execute("SELECT 1")
            proxy.wait_for_log(r'"event":"idle_timeout".*"kind":"idle_session"', timeout=20)
            with self.assertRaises(psycopg.OperationalError) as caught:
                conn.execute("SELECT 1")
            kind, sqlstate, _ = direct_pg_error("idle_session_timeout")
            self.assertIs(type(caught.exception), kind)
            self.assertEqual(caught.exception.sqlstate, sqlstate)
            self.assertIn("terminating connection due to idle-session timeout", str(caught.exception))

    def test_psql_shows_the_sqlstate_and_message(self):
        with pg_proxy("idle_in_transaction_session_timeout_ms: 300") as proxy:
            psql = subprocess.Popen(["psql", "-X", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "postgres", "app"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            psql.stdin.write("\\set VERBOSITY verbose\nBEGIN;\nINSERT INTO idle_t (note) VALUES ('psql-idle-tx');\n")
            psql.stdin.flush()
            proxy.wait_for_log(r'"event":"idle_timeout"', timeout=20)
            out, err = psql.communicate("SELECT 1;\n", timeout=30)
            self.assertIn("FATAL:  25P03: terminating connection due to idle-in-transaction timeout", err)
            self.assertEqual(pg_rows("psql-idle-tx"), 0)

    def test_off_by_default_nothing_is_closed(self):
        with pg_proxy("") as proxy:
            conn = connect(proxy.port, autocommit=False)
            conn.execute("INSERT INTO idle_t (note) VALUES ('pg-default')")
            plain = connect(proxy.port)
            time.sleep(1.5)  # idle for a while: not a timing assertion, nothing may happen at all
            conn.commit()
            self.assertEqual(plain.execute("SELECT 1").fetchone()[0], 1)
            conn.close()
            plain.close()
            self.assertEqual(pg_rows("pg-default"), 1)
            self.assertNotIn("idle_timeout", proxy.log_text())


class MysqlIdleTimeouts(unittest.TestCase):
    def proxy(self, extra):
        from harness import free_port
        return Proxy(my_listener(free_port(), extra="    " + extra + "\n"))

    def test_idle_in_transaction_closes_and_rolls_back(self):
        with self.proxy("idle_in_transaction_session_timeout_ms: 300") as proxy:
            idle = pymysql.connect(host="127.0.0.1", port=proxy.port, user="app", password="apppass", database="app")
            idle.begin()
            with idle.cursor() as cur:
                cur.execute("INSERT INTO idle_t (note) VALUES ('my-idle-tx')")
            other = pymysql.connect(host="127.0.0.1", port=proxy.port, user="app", password="apppass",
                                    database="app", autocommit=True)
            with other.cursor() as cur:
                cur.execute("SELECT 1")
            proxy.wait_for_log(r'"event":"idle_timeout".*"kind":"idle_in_transaction"', timeout=20)
            with self.assertRaises(pymysql.err.OperationalError) as caught:
                with idle.cursor() as cur:
                    cur.execute("SELECT 1")
            self.assertIn(caught.exception.args[0], (2006, 2013))
            self.assertEqual(my_rows("my-idle-tx"), 0)
            with other.cursor() as cur:
                cur.execute("SELECT 2")
                self.assertEqual(cur.fetchone()[0], 2)
            other.close()

    def test_mariadb_cli_reports_2013_or_2006(self):
        with self.proxy("idle_session_timeout_ms: 300") as proxy:
            cli = subprocess.Popen(["mariadb", "-h127.0.0.1", f"-P{proxy.port}", "-uapp", "-papppass", "app", "-N"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            cli.stdin.write("SELECT 1;\n")
            cli.stdin.flush()
            proxy.wait_for_log(r'"event":"idle_timeout".*"kind":"idle_session"', timeout=20)
            out, err = cli.communicate("SELECT 2;\n", timeout=30)
            self.assertRegex(err, r"ERROR (2013|2006)")
            self.assertNotIn("2027", err)

    def test_off_by_default_nothing_is_closed(self):
        with self.proxy("") as proxy:
            conn = pymysql.connect(host="127.0.0.1", port=proxy.port, user="app", password="apppass", database="app")
            conn.begin()
            with conn.cursor() as cur:
                cur.execute("INSERT INTO idle_t (note) VALUES ('my-default')")
            time.sleep(1.5)  # idle for a while: not a timing assertion, nothing may happen at all
            conn.commit()
            conn.close()
            self.assertEqual(my_rows("my-default"), 1)
            self.assertNotIn("idle_timeout", proxy.log_text())


if __name__ == "__main__":
    unittest.main()
