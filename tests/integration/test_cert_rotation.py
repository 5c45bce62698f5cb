"""Certificate rotation: the listener's certificate and key, a target's
CA bundle, and the client certificate and key the proxy presents to a target
(PostgreSQL `cert` authentication) are re-read at every reload, which is how Kubernetes rotates a
mounted Secret (a new directory of files, then one atomic symlink swap).
New sessions get the new certificate, open sessions go on, and a certificate
or key that cannot be used is refused like a bad config: the reload fails
(422, config_reload_failed with the reason) and the running certificate
stays. A rotation under load (clients connecting with verify-full in a loop)
costs no client an error."""

import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
from pathlib import Path


from certs import make_ca, make_leaf, served_certificate
from fault_servers import ThrowawayPg, wait_until
from harness import PGPORT, Proxy, config, connect, free_port, pg_listener
from test_pg_robustness import read_error, startup_packet

TOKEN = "rotation-token"


class SecretDir:
    """A directory laid out as Kubernetes mounts a Secret: tls.crt and tls.key
    are symlinks into ..data, itself a symlink to the current version."""

    def __init__(self, root):
        self.root = root
        self.version = 0

    def publish(self, files):
        """files: name -> source path (or bytes). Swaps ..data atomically."""
        self.version += 1
        vdir = os.path.join(self.root, f"..v{self.version}")
        os.mkdir(vdir)
        for name, src in files.items():
            target = os.path.join(vdir, name)
            if isinstance(src, bytes):
                Path(target).write_bytes(src)
            else:
                shutil.copy(src, target)
        tmp = os.path.join(self.root, "..data_tmp")
        os.symlink(os.path.basename(vdir), tmp)
        os.replace(tmp, os.path.join(self.root, "..data"))
        for name in files:
            link = os.path.join(self.root, name)
            if not os.path.islink(link):
                os.symlink(os.path.join("..data", name), link)

    def path(self, name):
        return os.path.join(self.root, name)


def post_reload(admin_port):
    req = urllib.request.Request(f"http://127.0.0.1:{admin_port}/v1/reload", method="POST", data=b"",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class Load:
    """Clients connecting with verify-full in a loop, each running a query."""

    def __init__(self, port, ca, threads=4):
        self.port, self.ca = port, ca
        self.errors, self.sessions = [], 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        while not self.stop.is_set():
            try:
                with connect(self.port, sslmode="verify-full", sslrootcert=self.ca, host="localhost") as conn:
                    conn.execute("SELECT 1").fetchone()
                with self.lock:
                    self.sessions += 1
            except Exception as e:  # noqa: BLE001 - the test reports them
                with self.lock:
                    self.errors.append(repr(e))

    def count(self):
        with self.lock:
            return self.sessions

    def wait_for_more(self, n=20):
        seen = self.count()
        assert wait_until(lambda: self.count() >= seen + n or bool(self.errors), timeout=60), "load stalled"

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


class ListenerCertificate(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sy-rotation-")
        self.ca = make_ca(self.tmp, "rotation CA")
        self.first = make_leaf(self.tmp, "first", self.ca, serial=101)
        self.second = make_leaf(self.tmp, "second", self.ca, serial=102)
        self.secret = SecretDir(os.path.join(self.tmp, "secret"))
        os.mkdir(self.secret.root)
        self.secret.publish({"tls.crt": self.first.crt, "tls.key": self.first.key})
        self.admin_port = free_port()
        listener = pg_listener("pg", None, PGPORT, client_tls="require")
        listener = listener.replace(f'cert: "{os.environ.get("SY_PROXY_CERT")}"', f'cert: "{self.secret.path("tls.crt")}"')
        listener = listener.replace(f'key: "{os.environ.get("SY_PROXY_KEY")}"', f'key: "{self.secret.path("tls.key")}"')
        self.proxy = Proxy(config(listener, extra=f"admin: {{ listen: 127.0.0.1:{self.admin_port}, token_env: SY_TOKEN }}"),
                           env={"SY_TOKEN": TOKEN}).start()

    def tearDown(self):
        self.proxy.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_rotation_under_load_and_bad_files_refused(self):
        port = self.proxy.port
        self.assertEqual(served_certificate(port), self.first.der())
        before = connect(port, sslmode="verify-full", sslrootcert=self.ca.crt, host="localhost")
        with Load(port, self.ca.crt) as load:
            load.wait_for_more()
            # Rotate: the new version appears at once; the proxy notices the
            # change of the files by itself (and SIGHUP says the same).
            self.secret.publish({"tls.crt": self.second.crt, "tls.key": self.second.key})
            self.assertTrue(wait_until(lambda: served_certificate(port) == self.second.der(), timeout=15),
                            "the new certificate was never served")
            self.proxy.proc.send_signal(signal.SIGHUP)
            load.wait_for_more()
            self.assertEqual(served_certificate(port), self.second.der())
            line = self.proxy.wait_for_log(r'"tls_certificate_reloaded".*"serial":102')
            self.assertIn('"listener":"pg"', line)

            # A session from before goes on, on the old certificate's connection.
            self.assertEqual(before.execute("SELECT 'before'").fetchone(), ("before",))

            # A certificate that is not one, and a key of another certificate:
            # refused like a bad config, the running certificate stays.
            for files, words in (({"tls.crt": b"-----BEGIN CERTIFICATE-----\ngarbage\n", "tls.key": self.second.key},
                                  "cannot load TLS certificate"),
                                 ({"tls.crt": self.second.crt, "tls.key": self.first.key},
                                  "key values mismatch")):
                with self.subTest(words):
                    failures = self.proxy.log_text().count('"config_reload_failed"')
                    self.secret.publish(files)
                    status, body = post_reload(self.admin_port)
                    self.assertEqual(status, 422, body)
                    self.assertTrue(any(words in d and 'listener "pg"' in d for d in body["errors"]), body)
                    self.assertTrue(wait_until(lambda: self.proxy.log_text().count('"config_reload_failed"') > failures))
                    self.assertIn(words, self.proxy.log_text().split('"config_reload_failed"')[-1])
                    self.assertEqual(served_certificate(port), self.second.der())
                    load.wait_for_more()
            # Fixed: the next reload takes it.
            self.secret.publish({"tls.crt": self.first.crt, "tls.key": self.first.key})
            self.assertEqual(post_reload(self.admin_port)[0], 200)
            self.assertEqual(served_certificate(port), self.first.der())
            load.wait_for_more()
        self.assertEqual(load.errors, [])
        print(f"\ncertificate rotation: {load.count()} verify-full sessions, 0 errors")
        self.assertEqual(before.execute("SELECT 'still'").fetchone(), ("still",))
        before.close()


class TargetCa(unittest.TestCase):
    """The CA a target is verified with is re-read too: the database's
    certificate moves to a new CA, and the proxy follows once its bundle does."""

    def setUp(self):
        self.pg = ThrowawayPg().start()
        self.tmp = tempfile.mkdtemp(prefix="sy-target-ca-")
        self.ca_path = os.path.join(self.tmp, "db-ca.crt")
        shutil.copy(self.pg.ca, self.ca_path)
        self.admin_port = free_port()
        self.proxy = Proxy(config(pg_listener("pg", None, self.pg.port, backend_tls="verify-full", ca=self.ca_path),
                                  extra=f"admin: {{ listen: 127.0.0.1:{self.admin_port}, token_env: SY_TOKEN }}"),
                           env={"SY_TOKEN": TOKEN}).start()

    def tearDown(self):
        self.proxy.stop()
        self.pg.destroy()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_target_ca_rotation(self):
        port = self.proxy.port
        held = connect(port)
        self.assertEqual(held.execute("SELECT 1").fetchone(), (1,))
        # The database gets a certificate from another CA.
        new_ca = make_ca(self.tmp, "new database CA")
        leaf = make_leaf(self.tmp, "db", new_ca)
        certs = os.path.join(self.pg.dir, "certs")
        st = os.stat(os.path.join(certs, "server.key"))
        for src, name in ((leaf.crt, "server.crt"), (leaf.key, "server.key")):
            shutil.copy(src, os.path.join(certs, name))
            os.chown(os.path.join(certs, name), st.st_uid, st.st_gid)
        with self.pg.direct() as c:
            c.execute("SELECT pg_reload_conf()")
        # Until the proxy's bundle follows, new sessions are refused cleanly.
        def refused():
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(startup_packet())
                _, fields = read_error(s)
            return fields.get("C") == "08001" and "certificate verify failed" in fields.get("M", "")
        self.assertTrue(wait_until(refused, timeout=15))
        self.assertEqual(held.execute("SELECT 2").fetchone(), (2,))  # the open session is not touched
        # The bundle is replaced; the reload (here POST /v1/reload) re-reads it.
        shutil.copy(new_ca.crt, self.ca_path + ".new")
        os.replace(self.ca_path + ".new", self.ca_path)
        self.assertEqual(post_reload(self.admin_port)[0], 200)
        with connect(port) as conn:
            self.assertEqual(conn.execute("SELECT 3").fetchone(), (3,))
        self.assertEqual(held.execute("SELECT 4").fetchone(), (4,))
        held.close()


class TargetClientCertificate(unittest.TestCase):
    """A database that authenticates by certificate (pg_hba `cert`): the proxy
    presents tls.cert/tls.key to the target, and a rotation of that Secret
    under load moves new sessions to the new certificate (the server's
    pg_stat_ssl.client_serial tells which one it saw), leaves open sessions
    alone and costs no client an error; a key that does not match its
    certificate is refused on reload and the running pair stays."""

    USER = "certuser"

    def setUp(self):
        self.pg = ThrowawayPg().start()
        self.tmp = tempfile.mkdtemp(prefix="sy-target-cert-")
        os.chmod(self.tmp, 0o755)  # the server (user postgres) reads the client CA from here
        client_ca = make_ca(self.tmp, "client CA")
        os.chmod(client_ca.crt, 0o644)
        self.leaves = {n: make_leaf(self.tmp, f"client{n}", client_ca, cn=self.USER, sans=f"DNS:{self.USER}", serial=n)
                       for n in (11, 12)}
        hba = Path(self.pg.dir, "data", "pg_hba.conf")
        hba.write_text(f"hostssl all {self.USER} 127.0.0.1/32 cert\n" + hba.read_text())
        with self.pg.direct() as c:
            c.execute(f"CREATE ROLE {self.USER} LOGIN")
            c.execute(f"ALTER SYSTEM SET ssl_ca_file = '{client_ca.crt}'")
            c.execute("SELECT pg_reload_conf()")
        self.secret = SecretDir(os.path.join(self.tmp, "secret"))
        os.mkdir(self.secret.root)
        self.secret.publish({"tls.crt": self.leaves[11].crt, "tls.key": self.leaves[11].key})
        self.admin_port = free_port()
        listener = pg_listener("pg", None, self.pg.port, backend_tls="verify-full", ca=self.pg.ca)
        listener = listener.replace(f'ca: "{self.pg.ca}"', f'ca: "{self.pg.ca}", cert: "{self.secret.path("tls.crt")}", '
                                                           f'key: "{self.secret.path("tls.key")}"')
        self.proxy = Proxy(config(listener, extra=f"admin: {{ listen: 127.0.0.1:{self.admin_port}, token_env: SY_TOKEN }}"),
                           env={"SY_TOKEN": TOKEN}).start()

    def tearDown(self):
        self.proxy.stop()
        self.pg.destroy()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def session(self):
        return connect(self.proxy.port, user=self.USER)

    def serial(self, conn):
        return int(conn.execute("SELECT client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0])

    def test_target_client_certificate_rotation_under_load(self):
        held = self.session()
        self.assertEqual(self.serial(held), 11)
        errors, sessions, stop = [], [0], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    with self.session() as conn:
                        conn.execute("SELECT 1").fetchone()
                    sessions[0] += 1
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))

        threads = [threading.Thread(target=load) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            # The Secret is swapped; the file watch reloads within a second or two.
            self.secret.publish({"tls.crt": self.leaves[12].crt, "tls.key": self.leaves[12].key})

            def rotated():
                with self.session() as conn:
                    return self.serial(conn) == 12
            self.assertTrue(wait_until(rotated, timeout=15), "new sessions never presented the new certificate")
            self.proxy_log_has(r'"event":"tls_certificate_reloaded".*"target":"legacy".*"serial":12')
            self.assertEqual(self.serial(held), 11)  # the open session keeps its TLS session
            # A key from another pair: the reload is refused, the running pair stays.
            self.secret.publish({"tls.crt": self.leaves[11].crt, "tls.key": self.leaves[12].key})
            status, body = post_reload(self.admin_port)
            self.assertEqual(status, 422, body)
            self.assertIn("cannot load client key", json.dumps(body))
            with self.session() as conn:
                self.assertEqual(self.serial(conn), 12)
            seen = sessions[0]
            self.assertTrue(wait_until(lambda: sessions[0] >= seen + 20 or bool(errors), timeout=60), "load stalled")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(errors, [])
        print(f"\ntarget client certificate rotation: {sessions[0]} sessions, 0 errors")
        self.assertEqual(held.execute("SELECT 'still'").fetchone(), ("still",))
        held.close()

    def proxy_log_has(self, pattern):
        self.proxy.wait_for_log(pattern, timeout=10)


if __name__ == "__main__":
    unittest.main()
