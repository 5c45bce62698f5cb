"""A scripted MySQL 8 server that speaks just enough of the protocol to log in
with caching_sha2_password, so its exchanges can be relayed through the proxy.

Debian ships MariaDB, which has no caching_sha2_password, and no MySQL 8
server. This stands in for the authentication part only; everything else is
tested against the real MariaDB. It follows MySQL 8.0's sha2_password.cc:

- fast path: the client's first answer is
  XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + nonce)); if the account is in
  the server's cache and the answer is right, AuthMoreData 0x03 then OK;
- otherwise full authentication, AuthMoreData 0x04: over TLS the client sends
  the password in clear; without TLS it may ask for the RSA public key (0x02)
  and sends the password XOR nonce, RSA-OAEP encrypted. Success caches the
  account for the fast path;
- a greeting that names another plugin gets an AuthSwitchRequest for accounts
  that use caching_sha2_password.

After login every COM_QUERY except SET gets a one-row result set saying how the
session logged in ("user=... path=full tls=1"); SET gets OK; COM_PING gets OK.

    with FakeMySql8({"sha2user": "sha2pass"}, cert=..., key=...) as server:
        server.port, server.logins, server.cleartext_over_plain
"""

import hashlib
import socket
import ssl
import struct
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLIENT_LONG_PASSWORD = 0x1
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_STATEMENTS = 0x10000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_CONNECT_ATTRS = 0x100000
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x200000
CLIENT_DEPRECATE_EOF = 0x1000000

SERVER_CAPS = (CLIENT_LONG_PASSWORD | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
               | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH
               | CLIENT_CONNECT_ATTRS | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_DEPRECATE_EOF)
SHA2 = b"caching_sha2_password"
ER_ACCESS_DENIED = 1045


class _Conn:
    def __init__(self, sock):
        self.sock = sock
        self.seq = 0

    def _exactly(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def read(self):
        header = self._exactly(4)
        length = int.from_bytes(header[:3], "little")
        self.seq = (header[3] + 1) & 0xFF
        return self._exactly(length)

    def write(self, payload):
        self.sock.sendall(len(payload).to_bytes(3, "little") + bytes([self.seq]) + payload)
        self.seq = (self.seq + 1) & 0xFF


def _lenenc_int(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    return b"\xfd" + n.to_bytes(3, "little")


def _lenenc_str(b):
    return _lenenc_int(len(b)) + b


def _cstr(data, i):
    end = data.index(b"\0", i)
    return data[i:end], end + 1


def ok_packet(header=b"\x00"):
    return header + _lenenc_int(0) + _lenenc_int(0) + struct.pack("<HH", 2, 0)


def err_packet(code, state, message):
    return b"\xff" + struct.pack("<H", code) + b"#" + state + message.encode()


def sha2_scramble(password, nonce):
    p1 = hashlib.sha256(password).digest()
    p3 = hashlib.sha256(hashlib.sha256(p1).digest() + nonce).digest()
    return bytes(a ^ b for a, b in zip(p1, p3))


class FakeMySql8:
    def __init__(self, accounts, cert=None, key=None, greeting_plugin=SHA2, public_pem=None, key_error=None):
        """public_pem: what to send when asked for the RSA key (default: the
        real one); key_error: an error message to send instead."""
        self.accounts = {u.encode(): p.encode() for u, p in accounts.items()}
        self.greeting_plugin = greeting_plugin
        self.key_error = key_error
        self.tls = None
        if cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(cert, key)
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = public_pem or self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.cache = set()
        self.logins = []                 # (user, path, tls) per successful login
        self.cleartext_over_plain = []   # passwords that reached us in clear without TLS
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.next_id = 100

    def __enter__(self):
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.listener.close()

    def _accept_loop(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        c = _Conn(sock)
        try:
            self._session(c)
        except (EOFError, OSError, ssl.SSLError, ValueError):
            pass
        finally:
            c.sock.close()  # the TLS wrapper if there is one

    def _session(self, c):
        with self.lock:
            self.next_id += 1
            conn_id = self.next_id
        nonce = bytes((i * 37 + conn_id) % 94 + 33 for i in range(20))  # printable, never NUL
        caps = SERVER_CAPS | (CLIENT_SSL if self.tls else 0)
        c.write(b"\x0a" + b"8.0.36-switchyard-fake\0" + struct.pack("<I", conn_id) + nonce[:8] + b"\0"
                + struct.pack("<HBHH", caps & 0xFFFF, 255, 2, caps >> 16) + bytes([21]) + b"\0" * 10
                + nonce[8:] + b"\0" + self.greeting_plugin + b"\0")
        hello = c.read()
        secure = False
        if len(hello) == 32 and struct.unpack("<I", hello[:4])[0] & CLIENT_SSL:
            c.sock = self.tls.wrap_socket(c.sock, server_side=True)
            secure = True
            hello = c.read()
        client_caps = struct.unpack("<I", hello[:4])[0]
        user, i = _cstr(hello, 32)
        # A length-encoded (always < 251 bytes here) or one-byte-length answer:
        # the same bytes either way.
        n = hello[i]
        answer, i = hello[i + 1:i + 1 + n], i + 1 + n
        if client_caps & CLIENT_CONNECT_WITH_DB and i < len(hello):
            _, i = _cstr(hello, i)
        plugin = b""
        if client_caps & CLIENT_PLUGIN_AUTH and i < len(hello):
            plugin, i = _cstr(hello, i)

        password = self.accounts.get(user)
        if plugin != SHA2:
            c.write(b"\xfe" + SHA2 + b"\0" + nonce + b"\0")
            answer = c.read()
        if password is not None and user in self.cache and answer == sha2_scramble(password, nonce):
            c.write(b"\x01\x03")
            path = "fast"
        else:
            c.write(b"\x01\x04")
            sent = c.read()
            if secure:
                given = sent.rstrip(b"\0")
                path = "full"
            else:
                if sent == b"\x02" and self.key_error:
                    c.write(err_packet(ER_ACCESS_DENIED, b"28000", self.key_error))
                    return
                if sent == b"\x02":
                    c.write(b"\x01" + self.public_pem)
                    sent = c.read()
                try:
                    plain = self.rsa.decrypt(sent, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()),
                                                                algorithm=hashes.SHA1(), label=None))
                    given = bytes(b ^ nonce[k % 20] for k, b in enumerate(plain)).rstrip(b"\0")
                except ValueError:
                    # Not RSA: a client that believed the channel was secure sent it in clear.
                    with self.lock:
                        self.cleartext_over_plain.append(sent.rstrip(b"\0"))
                    given = None
                path = "rsa"
            if password is None or given != password:
                c.write(err_packet(ER_ACCESS_DENIED, b"28000",
                                   f"Access denied for user '{user.decode()}'@'localhost' (using password: YES)"))
                return
            with self.lock:
                self.cache.add(user)
        c.write(ok_packet())
        with self.lock:
            self.logins.append((user.decode(), path, secure))
        self._commands(c, f"user={user.decode()} path={path} tls={int(secure)}".encode(),
                       bool(client_caps & CLIENT_DEPRECATE_EOF))

    def _commands(self, c, who, deprecate_eof):
        while True:
            c.seq = 0
            packet = c.read()
            command = packet[:1]
            if command == b"\x01":  # COM_QUIT
                return
            if command == b"\x03" and not packet[1:].lstrip().upper().startswith(b"SET"):
                c.write(_lenenc_int(1))
                c.write(_lenenc_str(b"def") + _lenenc_str(b"") * 3 + _lenenc_str(b"who") + _lenenc_str(b"")
                        + b"\x0c" + struct.pack("<HIBHB", 255, 1024, 0xFD, 0, 0) + b"\0\0")
                if not deprecate_eof:
                    c.write(b"\xfe" + struct.pack("<HH", 0, 2))
                c.write(_lenenc_str(who))
                c.write(ok_packet(b"\xfe") if deprecate_eof else b"\xfe" + struct.pack("<HH", 0, 2))
            elif command in (b"\x03", b"\x0e", b"\x02"):  # SET, COM_PING, COM_INIT_DB
                c.write(ok_packet())
            else:
                c.write(err_packet(1047, b"08S01", "Unknown command"))
