"""Throwaway database servers for the fault-injection suites, and what those
suites measure on the proxy.

The servers that tests/run.sh starts are shared by every suite; the fault
tests kill and restart servers, so they get their own (tests/pg_server.sh and
tests/mariadb_server.sh in a temp dir, stopped at the end), and the shared
ones never notice.

    pg = ThrowawayPg().start()      # pg.port, pg.kill(), pg.restart(), pg.stop()
    my = ThrowawayMariaDb().start()
    fds(proxy.proc.pid), rss_kib(proxy.proc.pid)
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pymysql

from harness import REPO

SCRIPTS = REPO / "tests"


def wait_until(predicate, timeout=20.0, interval=0.05):
    """True once predicate() is; False if it still is not after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def fds(pid):
    """Open file descriptors of a process."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def steady_fds(pid, quiet=None, steady_for=1.0, timeout=20.0):
    """The process's descriptor count once it has held still for `steady_for`
    seconds (and `quiet()`, when given, is true): a session that just ended
    may still be closing its sockets, later on a slow (ASan) build."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = fds(pid)
        if now != last or (quiet and not quiet()):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= steady_for:
            return now
        time.sleep(0.05)
    raise AssertionError(f"descriptors of {pid} never held still (last {last})")


def rss_kib(pid):
    """Resident set size of a process, KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def client_connections(admin_port, listener):
    """The proxy's switchyard_client_connections gauge for `listener` (admin API)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(r'^switchyard_client_connections\{listener="%s"\} (\S+)$' % re.escape(listener), text, re.M)
    return int(float(m.group(1))) if m else 0


def _env_file(path):
    env = {}
    for word in Path(path).read_text().split():
        if "=" in word and word != "export":
            k, v = word.split("=", 1)
            env[k] = v
    return env


class _Throwaway:
    script = None
    subdir = None

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="sy-faults-")
        os.chmod(self.root, 0o755)  # the server runs as its own user inside
        self.dir = os.path.join(self.root, self.subdir)
        self.env = {}

    def _run(self, command):
        subprocess.run(["bash", str(SCRIPTS / self.script), command, self.dir], check=True,
                       stdout=subprocess.DEVNULL, timeout=180)

    def start(self):
        self._run("start")
        self.env = _env_file(os.path.join(self.dir, "env"))
        return self

    def kill(self):
        """SIGKILL: the server dies mid-whatever, without a shutdown."""
        self._run("kill")

    def restart(self):
        """Starts it again on the same port and waits until it answers."""
        self._run("restart")

    def stop(self):
        """A clean (fast) shutdown."""
        self._run("stop")

    def destroy(self):
        try:
            self.stop()
        finally:
            if not os.environ.get("SY_KEEP_TMP"):
                shutil.rmtree(self.root, ignore_errors=True)


class ThrowawayPg(_Throwaway):
    """tests/pg_server.sh in a temp dir (roles and pg_hba as that script says)."""
    script, subdir = "pg_server.sh", "pg"

    @property
    def port(self):
        return int(self.env["PGPORT"])

    @property
    def ca(self):
        return self.env["SY_PG_CA"]

    def direct(self, **kw):
        """A superuser connection straight to the server, autocommit. Its commits
        wait for the WAL write: the server runs with synchronous_commit=off, and
        a crash would otherwise take a test's set-up with it."""
        return psycopg.connect(host="127.0.0.1", port=self.port, dbname=kw.pop("dbname", "app"),
                               user="postgres", autocommit=True, options="-c synchronous_commit=on", **kw)

    def client_backends(self):
        """Client backends other than the asking one: on this server, the proxy's."""
        with self.direct() as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                                " AND pid <> pg_backend_pid()").fetchone()[0]

    def accepting(self):
        try:
            with self.direct(connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def backend_pid(self, where):
        """pid of the one client backend whose query matches `where` (SQL on pg_stat_activity), or None."""
        with self.direct() as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND " + where).fetchall()
        return rows[0][0] if len(rows) == 1 else None


class ThrowawayMariaDb(_Throwaway):
    """tests/mariadb_server.sh in a temp dir (users as that script says)."""
    script, subdir = "mariadb_server.sh", "my"

    @property
    def port(self):
        return int(self.env["MYPORT"])

    def as_root(self):
        """root over the unix socket: never counted among the proxy's connections."""
        return pymysql.connect(unix_socket=os.path.join(self.dir, "mysqld.sock"), user="root", database="app",
                               autocommit=True)

    def app_threads(self, where="1"):
        """Server threads of user app (the proxy's sessions on this server) matching `where`."""
        with self.as_root() as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'app' AND " + where)
            return cur.fetchone()[0]

    def accepting(self):
        try:
            with self.as_root() as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
            return True
        except pymysql.Error:
            return False
