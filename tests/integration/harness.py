"""Helpers for switchyard's integration tests (unittest + psycopg, nothing else).

The environment comes from tests/pg_server.sh (via tests/run.sh):
PGHOST, PGPORT, SY_PG_CA, SY_PROXY_CERT, SY_PROXY_KEY; SY_BIN names the proxy
binary (default <repo>/build/switchyard).

    from harness import Proxy, pg_listener, connect, PGPORT

    with Proxy([pg_listener("pg", None, PGPORT)]) as proxy:
        with connect(proxy.port, user="scramuser", password="scrampass") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        print(proxy.log_text())
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SY_BIN = os.environ.get("SY_BIN", str(REPO / "build" / "switchyard"))
PGHOST = os.environ.get("PGHOST", "127.0.0.1")
PGPORT = int(os.environ.get("PGPORT", "5432"))
PG_CA = os.environ.get("SY_PG_CA")
PROXY_CERT = os.environ.get("SY_PROXY_CERT")
PROXY_KEY = os.environ.get("SY_PROXY_KEY")

# Matches "listen: 127.0.0.1:6432" (plain, quoted, or inside a flow mapping).
_LISTEN_RE = re.compile(r"""\blisten:\s*["']?(\[[^\]]+\]|[\w.-]+):(\d+)""")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _q(value):
    # A JSON string is a valid double-quoted YAML scalar.
    return json.dumps(str(value))


def pg_listener(name, port, target_port, client_tls="disable",
                backend_tls="disable", ca=None, extra=""):
    """YAML for one postgres listener (a `listeners:` list item).

    port None picks a free port. The single target is called `legacy` and is
    the primary. Client-side TLS other than `disable` uses SY_PROXY_CERT/KEY;
    `ca` (e.g. PG_CA) is given to the backend side. `extra` is more YAML for
    the listener, written at listener level (indentation is added here).
    """
    port = free_port() if port is None else port
    client = f"mode: {client_tls}"
    if client_tls != "disable":
        if not (PROXY_CERT and PROXY_KEY):
            raise RuntimeError("client_tls needs SY_PROXY_CERT and SY_PROXY_KEY (source the pg_server.sh env)")
        client += f", cert: {_q(PROXY_CERT)}, key: {_q(PROXY_KEY)}"
    backend = f"mode: {backend_tls}"
    if ca:
        backend += f", ca: {_q(ca)}"
    text = (
        f"  - name: {name}\n"
        f"    protocol: postgres\n"
        f"    listen: 127.0.0.1:{port}\n"
        f"    tls: {{ {client} }}\n"
        f"    targets:\n"
        f"      legacy: {{ address: {_q(f'{PGHOST}:{target_port}')}, tls: {{ {backend} }} }}\n"
        f"    primary: legacy\n"
    )
    for line in textwrap.dedent(extra).strip("\n").splitlines():
        text += f"    {line}\n" if line.strip() else "\n"
    return text


def config(*listeners, extra=""):
    """A whole config file: the given pg_listener() items plus top-level `extra`."""
    extra = textwrap.dedent(extra).strip("\n")
    return "listeners:\n" + "".join(listeners) + (extra + "\n" if extra else "")


def dsn(port, **kw):
    """libpq conninfo for 127.0.0.1:port; defaults dbname=app user=postgres.

    Keyword arguments are conninfo keys (user, password, sslmode, sslrootcert,
    application_name, ...); a value of None drops the key.
    """
    params = {"host": PGHOST, "port": port, "dbname": "app", "user": "postgres"}
    params.update(kw)

    def quote(v):
        v = str(v)
        if v and not re.search(r"[\s'\\]", v):
            return v
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{k}={quote(v)}" for k, v in params.items() if v is not None)


def connect(port, autocommit=True, **kw):
    """psycopg connection to dsn(port, **kw), autocommit by default."""
    import psycopg  # imported lazily so harness loads without it

    return psycopg.connect(dsn(port, **kw), autocommit=autocommit)


class Proxy:
    """A running `switchyard run -c FILE`, as a context manager.

    config: full YAML text, or a list of pg_listener() items.
    Waits (up to ready_timeout s) until every `listen:` address in the config
    accepts TCP. On exit sends SIGTERM, waits 15 s, then SIGKILL; the log is
    echoed to stderr if the block raised.

    .port        first listen port in the config     .ports  all of them
    .proc        the subprocess.Popen                .dir    its temp dir
    .log_text()  stdout+stderr so far                .log_records()  the JSON lines
    .reload(text) rewrite the config and send SIGHUP
    .wait_for_log(regex, timeout=5) -> first matching line
    """

    def __init__(self, config_text, *, args=(), env=None, ready_timeout=10.0, binary=None):
        if not isinstance(config_text, str):
            config_text = config(*config_text)
        self.config_text = config_text
        self.ports = [int(m.group(2)) for m in _LISTEN_RE.finditer(config_text)]
        if not self.ports:
            raise ValueError("config has no `listen: host:port`")
        self.port = self.ports[0]
        self.args = list(args)
        self.binary = binary or SY_BIN  # e.g. SY_FAULTS_BIN, the proxy with faults injected
        self.env = env
        self.ready_timeout = ready_timeout
        self.proc = None
        self.dir = None
        self._log_cache = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is not None:
            print(f"\n--- switchyard config ---\n{self.config_text}"
                  f"--- switchyard log (exit {self.proc.returncode}) ---\n{self.log_text()}"
                  f"--- end of switchyard log ---", file=sys.stderr)
        return False

    @property
    def config_path(self):
        return os.path.join(self.dir, "switchyard.yaml")

    @property
    def log_path(self):
        return os.path.join(self.dir, "switchyard.log")

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="sy-proxy-")
        Path(self.config_path).write_text(self.config_text)
        env = dict(os.environ, **(self.env or {}))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [self.binary, "run", "-c", self.config_path, *self.args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.ready_timeout
        for port in self.ports:
            while not _accepts(port):
                if self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"switchyard exited with {self.proc.returncode}"
                                       f" before listening:\n{self.log_text()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"switchyard not listening on {port} after "
                                       f"{self.ready_timeout}s:\n{self.log_text()}")
                time.sleep(0.05)
        return self

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log_cache is None and self.dir:
            self._log_cache = self._read_log()
            if not os.environ.get("SY_KEEP_TMP"):
                shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode

    def _read_log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_text(self):
        return self._log_cache if self._log_cache is not None else self._read_log()

    def log_records(self):
        """Log lines that are JSON objects, parsed."""
        records = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass
        return records

    def wait_for_log(self, pattern, timeout=5.0):
        """First log line matching the regex, waiting up to `timeout` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_text().splitlines():
                if regex.search(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matching {pattern!r} within "
                                     f"{timeout}s:\n{self.log_text()}")
            time.sleep(0.05)

    def reload(self, config_text):
        """Replace the config file atomically and send SIGHUP.

        The proxy may also notice the file change by itself; the caller checks
        the effect (e.g. with wait_for_log).
        """
        self.config_text = config_text
        tmp = self.config_path + ".new"
        Path(tmp).write_text(config_text)
        os.replace(tmp, self.config_path)
        self.proc.send_signal(signal.SIGHUP)


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
