"""MariaDB through the proxy with real clients: the mariadb CLI, PyMySQL,
npm mysql2 (server-side prepared statements), sysbench; authentication
plugins, TLS, KILL QUERY, LOAD DATA LOCAL INFILE, bad clients and dead
servers."""
import contextlib
import json
import os
import re
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
from pathlib import Path

import pymysql

from harness import Proxy, free_port
from test_mysql_corpus import MYPORT, direct

NODE_DIR = Path(__file__).parent / "node"
MY_DIR = os.environ.get("SY_MY_DIR", "")
CA = os.environ.get("SY_MY_CA")
PROXY_CERT = os.environ.get("SY_MY_PROXY_CERT")
PROXY_KEY = os.environ.get("SY_MY_PROXY_KEY")


def listener(port, target_port=MYPORT, client_tls="disable", backend_tls="disable", extra=""):
    tls = f"mode: {client_tls}" + (f", cert: {PROXY_CERT}, key: {PROXY_KEY}" if client_tls != "disable" else "")
    return f"""listeners:
  - name: my
    protocol: mysql
    listen: 127.0.0.1:{port}
    tls: {{ {tls} }}
    targets:
      legacy: {{ address: 127.0.0.1:{target_port}, tls: {{ mode: {backend_tls} }} }}
{extra}"""


TENANT = """tenants:
  - name: shop
    match: { listener: my, user: app, database: app }
    phase: dual_write
    migrations: [transfer_state]
migrations:
  transfer_state:
    table: transfers
    legacy_column: state
    unified_column: unified_state
    map: { draft: OPEN, sent: SENT, receiving: DISPATCHED, received: RECEIVED, completed: RECEIVED, cancelled: CANCELLED }
"""


def mariadb_cli(port, *args, user="app", password="apppass", input=None):
    return subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", f"-u{user}", f"-p{password}", "app", *args],
                          input=input, capture_output=True, text=True, timeout=60)


def via(port, **kw):
    args = dict(host="127.0.0.1", port=port, user="app", password="apppass", database="app", autocommit=True)
    args.update(kw)
    return pymysql.connect(**args)


class Clients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_port = free_port()
        cls.proxy = Proxy(listener(free_port(), extra=TENANT + f"admin: {{ listen: 127.0.0.1:{cls.admin_port} }}\n")).start()
        cls.port = cls.proxy.port

    def statements(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        return {kind: int(float(v)) for kind, v in
                re.findall(r'^switchyard_statements_total\{tenant="shop",kind="(\w+)"\} (\S+)$', text, re.M)}

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def test_mariadb_cli_multi_statements_and_result_sets(self):
        r = mariadb_cli(self.port, "-N", "-e", "SELECT 1; SELECT 'two'; SELECT 3 UNION SELECT 4")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["1", "two", "3", "4"])
        r = mariadb_cli(self.port, "-N", "-e", "SELECT 1/0; SHOW WARNINGS")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_pymysql_and_dual_write(self):
        with via(self.port) as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS transfers")
            cur.execute("CREATE TABLE transfers (id INT PRIMARY KEY, state VARCHAR(32), unified_state VARCHAR(32))")
            cur.executemany("INSERT INTO transfers (id, state) VALUES (%s, %s)", [(i, "draft") for i in range(50)])
            cur.execute("UPDATE transfers SET state = %s WHERE id < %s", ("completed", 10))
            cur.execute("SELECT state, unified_state, COUNT(*) FROM transfers GROUP BY 1, 2 ORDER BY 1")
            self.assertEqual(cur.fetchall(), (("completed", "RECEIVED", 10), ("draft", "OPEN", 40)))
            conn.select_db("app")  # COM_INIT_DB
            conn.ping()            # COM_PING
            cur.execute("SELECT REPEAT('x', 100000), 2")
            self.assertEqual(len(cur.fetchone()[0]), 100000)

    @contextlib.contextmanager
    def loaded(self, table, columns, data):
        """A cursor on a session that has just LOAD DATA LOCAL INFILEd `data`
        into a fresh `table` through the proxy."""
        with tempfile.NamedTemporaryFile("w", suffix=".tsv") as f:
            f.write(data)
            f.flush()
            with via(self.port, local_infile=True) as conn, conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
                cur.execute(f"CREATE TABLE {table} ({columns})")
                cur.execute(f"LOAD DATA LOCAL INFILE '{f.name}' INTO TABLE {table}")
                yield cur

    def test_large_result_and_load_data_local_infile(self):
        data = "".join(f"{i}\tsent\n" for i in range(1, 20001))
        with self.loaded("bulk", "id INT PRIMARY KEY, state VARCHAR(32)", data) as cur:
            cur.execute("SELECT COUNT(*), SUM(id) FROM bulk")
            self.assertEqual(cur.fetchone(), (20000, sum(range(1, 20001))))
            cur.execute("SELECT a.id, b.id FROM bulk a JOIN bulk b ON b.id <= 10 WHERE a.id <= 20000")
            self.assertEqual(len(cur.fetchall()), 200000)

    def test_local_infile_is_data_even_where_sequence_ids_wrap(self):
        # PyMySQL sends the file in 16 KiB packets numbered from 2, so the
        # 255th has sequence id 0 again. Starting with 0x03 it looks exactly
        # like a COM_QUERY; it must go through as the file's bytes.
        special = "\x03UPDATE transfers SET state = 'sent' WHERE id = 1"
        offset = 254 * 16384  # where the packet numbered 0 again starts
        lines, size, i = [], 0, 1
        while offset - size > 100:
            lines.append(f"{i}\t{'x' * 60}\n")
            size += len(lines[-1])
            i += 1
        pad = offset - size - len(f"{i}\t")
        lines.append(f"{i}\t{'y' * pad}{special}\n")
        lines += [f"{n}\tz\n" for n in range(i + 1, i + 1000)]
        data = "".join(lines)
        self.assertEqual(data.index("\x03"), offset)
        with self.loaded("infile_notes", "id INT PRIMARY KEY, note TEXT", data) as cur:
            cur.execute("SELECT note FROM infile_notes WHERE id = %s", (i,))
            self.assertEqual(cur.fetchone()[0], "y" * pad + special)
            cur.execute("SELECT COUNT(*) FROM infile_notes")
            self.assertEqual(cur.fetchone()[0], len(lines))
            cur.execute("SELECT 1")  # the session still follows its replies
            self.assertEqual(cur.fetchone(), (1,))

    def test_mysql2_prepared_statements(self):
        before = self.statements()
        r = subprocess.run(["node", "mysql_client.js"], cwd=NODE_DIR, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, SY_PORT=str(self.port)))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("mysql2 ok", r.stdout)
        after = self.statements()
        # mysql_client.js: 52 executions of prepared statements and 4 texts run
        # with query(); preparing a statement is neither.
        self.assertEqual(after.get("extended", 0) - before.get("extended", 0), 52)
        self.assertEqual(after.get("simple", 0) - before.get("simple", 0), 4)

    def test_kill_query_from_a_second_connection(self):
        with via(self.port) as victim, via(self.port) as killer:
            thread_id = victim.thread_id()  # the server's id: the proxy relays the real greeting
            result = {}

            def sleep():
                start = time.monotonic()
                try:
                    with victim.cursor() as cur:
                        cur.execute("SELECT SLEEP(30)")
                        result["value"] = cur.fetchone()[0]
                except pymysql.MySQLError as e:
                    result["error"] = e.args[0]
                result["elapsed"] = time.monotonic() - start

            t = threading.Thread(target=sleep)
            t.start()
            time.sleep(0.5)
            with killer.cursor() as cur:
                cur.execute(f"KILL QUERY {thread_id}")
            t.join(10)
            self.assertLess(result["elapsed"], 3)
            self.assertTrue(result.get("value") == 1 or result.get("error") == 1317, result)
            with victim.cursor() as cur:
                cur.execute("SELECT 1")
                self.assertEqual(cur.fetchone(), (1,))

    def test_sysbench_through_the_proxy(self):
        run_sysbench(self, self.port)


SYSBENCH_BASE = ["--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-user=sbtest", "--mysql-password=sbpass",
                 "--mysql-db=sbtest", "--tables=4", "--table-size=10000"]


# InnoDB itself answers some oltp_read_write transactions with a deadlock
# (1213) or a lock-wait timeout (1205), proxied or not (2 in 9,359 direct at 16
# threads here); sysbench retries those, as an application would. Any other
# error ends sysbench with a non-zero status, which is what a proxy fault (a
# lost connection, a malformed packet) would produce.
SYSBENCH_RETRIED_ERRORS = "1213,1205"


def run_sysbench(test_case, port, tls=False):
    """oltp_point_select and oltp_read_write through `port`, 3 s each, with no
    errors but the database's own lock conflicts (under 1 % of transactions)
    and no reconnects. sysbench's TLS reads its CA, cert and key from fixed
    names in the working directory."""
    with tempfile.TemporaryDirectory() as cwd:
        ssl = ["--mysql-ssl=on"] if tls else ["--mysql-ssl=off"]
        if tls:
            for src, name in ((CA, "cacert.pem"), (PROXY_CERT, "client-cert.pem"), (PROXY_KEY, "client-key.pem")):
                Path(cwd, name).write_bytes(Path(src).read_bytes())
        sysbench_tables("cleanup")  # tables an interrupted earlier run left behind would fail `prepare`
        prep = sysbench_tables("prepare")
        test_case.assertEqual(prep.returncode, 0, prep.stdout + prep.stderr)
        try:
            for test in ("oltp_point_select", "oltp_read_write"):
                with test_case.subTest(test=test, tls=tls):
                    r = subprocess.run(["sysbench", test, *SYSBENCH_BASE, *ssl, f"--mysql-port={port}", "--threads=4",
                                        "--time=3", f"--mysql-ignore-errors={SYSBENCH_RETRIED_ERRORS}", "run"],
                                       capture_output=True, text=True, timeout=120, cwd=cwd)
                    test_case.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    transactions = int(re.search(r"transactions:\s+(\d+) ", r.stdout).group(1))
                    retried = int(re.search(r"ignored errors:\s+(\d+) ", r.stdout).group(1))
                    test_case.assertGreater(transactions, 0, r.stdout)
                    test_case.assertLess(retried * 100, transactions, r.stdout)
                    test_case.assertRegex(r.stdout, r"reconnects:\s+0 ")
        finally:
            sysbench_tables("cleanup")


def sysbench_tables(command):
    """`prepare` or `cleanup` of the sbtest tables, directly on the server."""
    return subprocess.run(["sysbench", "oltp_read_write", *SYSBENCH_BASE, "--mysql-ssl=off", f"--mysql-port={MYPORT}",
                           command], capture_output=True, text=True, timeout=120)


class AuthAndTls(unittest.TestCase):
    def test_sysbench_over_tls_on_both_sides(self):
        # Concurrent TLS sessions whose records are read through the same
        # exhaustible recv as plaintext ones (proxy/net/conn.cpp).
        port = free_port()
        with Proxy(listener(port, client_tls="require", backend_tls="require")):
            run_sysbench(self, port, tls=True)

    def test_plugins_and_tls_on_both_sides(self):
        port = free_port()
        with Proxy(listener(port, client_tls="require", backend_tls="prefer")) as proxy:
            # mysql_native_password through PyMySQL with a verified client-side certificate
            with via(port, ssl_ca=CA, ssl_verify_cert=True) as conn, conn.cursor() as cur:
                cur.execute("SELECT CURRENT_USER()")
                self.assertEqual(cur.fetchone()[0], "app@%")
            # ed25519 (MariaDB's own plugin) through the mariadb CLI
            r = mariadb_cli(port, "-N", "-e", "SELECT CURRENT_USER(); SHOW SESSION STATUS LIKE 'Ssl_version'",
                            user="eduser", password="edpass")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("eduser@%", r.stdout)
            self.assertIn("TLSv1", r.stdout)  # the server's side of the session is encrypted too
            # a REQUIRE SSL user: the server sees TLS from the proxy
            r = mariadb_cli(port, "-N", "-e", "SELECT CURRENT_USER()", user="tlsuser", password="tlspass")
            self.assertEqual(r.returncode, 0, r.stderr)
            # plaintext clients are refused by a `require` listener
            r = mariadb_cli(port, "--skip-ssl", "-e", "SELECT 1")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("requires an encrypted connection", r.stderr)
            # wrong password: the server's own error
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                via(port, password="wrong", ssl_ca=CA)
            self.assertEqual(cm.exception.args[0], 1045, cm.exception.args)
            self.assertNotIn("backend_lost", proxy.log_text())


def bulk_tenant(on_unsupported, table):
    """A listener whose tenant maps the 1-byte legacy value 'p' of `table` to
    200 bytes: a rewrite makes each row's VALUES much longer."""
    return listener(free_port(), extra=f"""tenants:
  - name: shop
    match: {{ listener: my, user: app, database: app }}
    phase: dual_write
    on_unsupported: {on_unsupported}
    migrations: [bulk_state]
migrations:
  bulk_state:
    table: {table}
    legacy_column: state
    unified_column: unified_state
    map: {{ p: {"PENDING_" + "X" * 192} }}
""")


class OversizedRewrite(unittest.TestCase):
    """A rewrite that would outgrow one 16 MiB packet is never forwarded as
    if it had been rewritten: it is an unsupported write like any other."""
    def config(self, on_unsupported):
        return bulk_tenant(on_unsupported, "bulk_load")

    def insert_100k_rows(self, proxy):
        with via(proxy.port) as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bulk_load")
            cur.execute("CREATE TABLE bulk_load (id INT PRIMARY KEY, state VARCHAR(8), unified_state VARCHAR(255))")
            values = ",".join(f"({i},'p')" for i in range(100000))  # 1 MB as sent, 21 MB rewritten
            try:
                cur.execute(f"INSERT INTO bulk_load (id, state) VALUES {values}")
            finally:
                cur.execute("SELECT COUNT(*), COUNT(unified_state) FROM bulk_load")
                self.counts = cur.fetchone()
        return [r for r in proxy.log_records() if r.get("event") == "rewrite"]

    def test_forwarded_as_unsupported(self):
        with Proxy(self.config("forward")) as proxy:
            events = self.insert_100k_rows(proxy)
        self.assertEqual(self.counts, (100000, 0))
        self.assertEqual([(e["category"], e["outcome"]) for e in events], [("REWRITE_UNSUPPORTED", "unsupported")])
        self.assertIn("16 MiB", events[0]["reason"])

    def test_refused_under_on_unsupported_reject(self):
        with Proxy(self.config("reject")) as proxy:
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                self.insert_100k_rows(proxy)
        self.assertEqual(cm.exception.args[0], 1644, cm.exception.args)
        self.assertIn("on_unsupported: reject", cm.exception.args[1])
        self.assertEqual(self.counts, (0, 0))


class MultiPacketStatement(unittest.TestCase):
    """A statement of 16 MiB or more spans several packets and is relayed, not
    rewritten: it must show up as unsupported, and be refused under reject.
    The test server allows 64 MiB packets (tests/mariadb_server.sh)."""

    def config(self, on_unsupported):
        return bulk_tenant(on_unsupported, "big_load")

    def insert_17_mib(self, proxy):
        with via(proxy.port, max_allowed_packet=64 << 20) as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS big_load")
            cur.execute("CREATE TABLE big_load (id INT PRIMARY KEY, state VARCHAR(8), unified_state VARCHAR(255),"
                        " pad TEXT)")
            pad = "x" * 1000
            values = ",".join(f"({i},'p','{pad}')" for i in range(17000))
            self.assertGreater(len(values), 1 << 24)
            try:
                cur.execute(f"INSERT INTO big_load (id, state, pad) VALUES {values}")
            except pymysql.MySQLError as e:
                self.error = e.args
            cur.execute("SELECT 1")  # the session goes on either way
            self.assertEqual(cur.fetchone(), (1,))
        with direct() as d, d.cursor() as dcur:
            dcur.execute("SELECT COUNT(*), COUNT(unified_state) FROM big_load")
            self.counts = dcur.fetchone()
        return [r for r in proxy.log_records() if r.get("event") == "rewrite"]

    error = None

    def test_relayed_and_reported_unsupported(self):
        with Proxy(self.config("forward")) as proxy:
            events = self.insert_17_mib(proxy)
        self.assertIsNone(self.error)
        self.assertEqual(self.counts, (17000, 0))
        self.assertEqual([(e["category"], e["outcome"], e["table"]) for e in events],
                         [("REWRITE_UNSUPPORTED", "unsupported", "big_load")])
        self.assertIn("16 MiB or more", events[0]["reason"])

    def test_refused_before_the_server_has_it_under_reject(self):
        with Proxy(self.config("reject")) as proxy:
            events = self.insert_17_mib(proxy)
        self.assertEqual(self.error[0], 1235, self.error)
        self.assertIn("on_unsupported: reject", self.error[1])
        self.assertEqual(self.counts, (0, 0))
        self.assertEqual([e["outcome"] for e in events], ["rejected"])


class PhaseChangeInATransaction(unittest.TestCase):
    """As in PostgreSQL, a promotion waits for an open transaction to end and
    a rollback does not; the proxy reads SERVER_STATUS_IN_TRANS off the
    server's replies."""
    TOKEN = "mysql-admin-token"

    def setUp(self):
        self.admin_port = free_port()
        self.proxy = Proxy(listener(free_port(), extra=TENANT + f"admin: {{ listen: 127.0.0.1:{self.admin_port}, "
                                                                "token_env: SY_TEST_ADMIN_TOKEN }\n"),
                           env={"SY_TEST_ADMIN_TOKEN": self.TOKEN}).start()
        self.addCleanup(self.proxy.stop)
        with direct() as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS transfers")
            cur.execute("CREATE TABLE transfers (id INT PRIMARY KEY, state VARCHAR(32), unified_state VARCHAR(32))")
            cur.execute("INSERT INTO transfers (id, state) SELECT seq, 'draft' FROM seq_1_to_10")

    def phase(self, phase):
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}/v1/tenants/shop", method="PATCH",
                                     data=json.dumps({"phase": phase}).encode(),
                                     headers={"Authorization": f"Bearer {self.TOKEN}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

    def dual_written(self):
        with direct() as conn, conn.cursor() as cur:
            cur.execute("SELECT id FROM transfers WHERE unified_state = 'SENT' ORDER BY id")
            return [r[0] for r in cur.fetchall()]

    def test_pymysql(self):
        self.phase("observe")
        with via(self.proxy.port, autocommit=False) as conn, conn.cursor() as cur:
            cur.execute("UPDATE transfers SET state = 'sent' WHERE id = 1")
            cur.execute("SELECT id, state FROM transfers WHERE id <= 3")  # a result set inside the transaction
            self.assertEqual(len(cur.fetchall()), 3)
            self.phase("dual_write")
            cur.execute("UPDATE transfers SET state = 'sent' WHERE id = 2")  # still observe
            conn.commit()
            cur.execute("UPDATE transfers SET state = 'sent' WHERE id = 3")  # dual_write from here
            self.phase("observe")
            cur.execute("UPDATE transfers SET state = 'sent' WHERE id = 4")  # a rollback applies at once
            conn.commit()
        self.assertEqual(self.dual_written(), [3])

    def test_mariadb_cli(self):
        # Connector/C negotiates CLIENT_DEPRECATE_EOF: result sets end in an OK packet.
        cli = subprocess.Popen(["mariadb", "-h127.0.0.1", f"-P{self.proxy.port}", "-uapp", "-papppass", "app", "-N",
                                "--unbuffered"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        self.addCleanup(cli.kill)

        def run(sql):
            cli.stdin.write(f"{sql}; SELECT 'done';\n")
            cli.stdin.flush()
            while "done" not in cli.stdout.readline():
                pass

        self.phase("observe")
        run("START TRANSACTION")
        run("UPDATE transfers SET state = 'sent' WHERE id = 4")
        run("SELECT id, state FROM transfers")
        self.phase("dual_write")
        run("UPDATE transfers SET state = 'sent' WHERE id = 5")
        run("COMMIT")
        run("UPDATE transfers SET state = 'sent' WHERE id = 6")
        cli.stdin.close()
        cli.wait(30)
        cli.stdout.close()
        self.assertEqual(self.dual_written(), [6])


class Failures(unittest.TestCase):
    def test_dead_backend_gives_an_error_with_the_target_name(self):
        port = free_port()
        with Proxy(listener(port, target_port=free_port())):
            with self.assertRaises(pymysql.err.OperationalError) as cm:
                via(port)
            # A server-range code: 1429 "Unable to connect to foreign data source".
            self.assertEqual(cm.exception.args[0], 1429)
            self.assertIn('cannot connect to target "legacy"', cm.exception.args[1])
            # The C client (libmariadb 3.3) reads it too: it refuses an ERR
            # from a server with a client-range code (2003) as a malformed packet.
            # (It wraps any ERR that comes in place of a greeting, a real
            # server's too, in "error packet before completion of TLS
            # handshake", and still shows the code and the message.)
            r = mariadb_cli(port, "-e", "SELECT 1")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn('1429 - switchyard: cannot connect to target "legacy"', r.stderr)
            self.assertNotIn("malformed packet", r.stderr)

    def test_server_closing_an_idle_transaction_is_a_lost_connection(self):
        # MariaDB closes a connection idle in a transaction past
        # idle_transaction_timeout, saying nothing. The C client must report
        # a lost connection of its own, as directly (2006 "server has gone
        # away"; through the proxy its write still reaches the proxy, so it
        # may see 2013 "lost connection"), not a malformed packet.
        script = "SET SESSION idle_transaction_timeout=1;\nBEGIN;\nSELECT 1;\nsystem sleep 2\nSELECT 2;\n"
        direct_run = mariadb_cli(MYPORT, input=script)
        port = free_port()
        with Proxy(listener(port)):
            proxied = mariadb_cli(port, input=script)
        self.assertIn("ERROR 2006", direct_run.stderr)
        self.assertEqual(proxied.returncode, direct_run.returncode, proxied.stderr)
        self.assertRegex(proxied.stderr, r"ERROR (2006|2013) \(HY000\) at line 5")
        self.assertNotIn("malformed packet", proxied.stderr)

    def test_bad_clients_do_not_hurt_others(self):
        port = free_port()
        config = listener(port).replace("    targets:", "    max_message_bytes: 65536\n    targets:")
        with Proxy(config), via(port) as good:
            # garbage instead of a handshake response
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.recv(4096)  # greeting
                s.sendall(b"\x05\x00\x00\x01GARBAGE!!")
                s.settimeout(5)
                reply = s.recv(4096)
                self.assertTrue(reply == b"" or reply[4] == 0xFF)
            # an oversized COM_QUERY after login
            bad = via(port)
            sock = bad._sock
            sock.sendall(struct.pack("<I", 0xFFFFF0)[:3] + b"\x00\x03SELECT")
            sock.settimeout(5)
            reply = sock.recv(4096)
            self.assertEqual(reply[4], 0xFF)
            self.assertEqual(struct.unpack("<H", reply[5:7])[0], 1153)
            bad._sock = None
            with good.cursor() as cur:
                cur.execute("SELECT 'still serving'")
                self.assertEqual(cur.fetchone(), ("still serving",))


if __name__ == "__main__":
    unittest.main()
