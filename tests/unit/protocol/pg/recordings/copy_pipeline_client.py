"""A minimal protocol-level client for COPY inside extended-protocol pipelines,
which libpq's pipeline mode refuses. It sends what libpq sends for an Execute
(a Sync right behind it, which the server drops once the COPY has started)
and then the cases no driver exercises: a CopyFail and, with the argument
"abort", a pipeline that goes on behind a COPY FROM STDIN without sending the
data, which the server answers by ending the session."""
import os
import socket
import struct
import sys


def msg(t, body=b""):
    return t + struct.pack(">I", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def extended(sql, describe=False):
    out = msg(b"P", cstr("") + cstr(sql) + b"\0\0") + msg(b"B", cstr("") + cstr("") + b"\0\0\0\0\0\0")
    if describe:
        out += msg(b"D", b"P" + cstr(""))
    return out + msg(b"E", cstr("") + b"\0\0\0\0")


SYNC = msg(b"S")


class Conn:
    def __init__(self):
        self.sock = socket.create_connection((os.environ["PGHOST"], int(os.environ["PGPORT"])))
        self.buf = b""
        params = cstr("user") + cstr("postgres") + cstr("database") + cstr("app") + b"\0"
        body = struct.pack(">I", 196608) + params
        self.sock.sendall(struct.pack(">I", len(body) + 4) + body)
        self.until(b"Z")

    def read(self):
        while len(self.buf) < 5 or len(self.buf) < 1 + struct.unpack(">I", self.buf[1:5])[0]:
            data = self.sock.recv(65536)
            assert data, "server closed"
            self.buf += data
        n = 1 + struct.unpack(">I", self.buf[1:5])[0]
        m, self.buf = self.buf[:n], self.buf[n:]
        return m

    def until(self, t, count=1):
        seen = []
        while count:
            m = self.read()
            seen.append(m[:1])
            if m[:1] == t:
                count -= 1
        return seen


c = Conn()
c.sock.sendall(extended("CREATE TEMP TABLE c (a int)") + SYNC)
c.until(b"Z")
# libpq's COPY FROM STDIN: Execute and Sync at once; data after CopyInResponse; a second Sync.
c.sock.sendall(extended("COPY c FROM STDIN", describe=True) + SYNC)
c.until(b"G")
c.sock.sendall(msg(b"d", b"1\n2\n") + msg(b"d", b"3\n") + msg(b"c") + SYNC)
assert b"E" not in c.until(b"Z")
# COPY TO STDOUT in a pipeline with a query behind it, one Sync for both.
c.sock.sendall(extended("COPY c TO STDOUT") + extended("SELECT count(*) FROM c", describe=True) + SYNC)
c.until(b"Z")
# The client gives up on a COPY FROM STDIN: the server fails it.
c.sock.sendall(extended("COPY c FROM STDIN") + SYNC)
c.until(b"G")
c.sock.sendall(msg(b"d", b"4\n") + msg(b"f", cstr("client changed its mind")) + SYNC)
assert b"E" in c.until(b"Z")
if sys.argv[1:] == ["abort"]:
    # The server drops the Sync, reads the Parse's type byte as COPY input,
    # fails the copy and, being in the middle of a message, ends the session.
    c.sock.sendall(extended("COPY c FROM STDIN") + SYNC + extended("SELECT 1") + SYNC)
    try:
        c.until(b"Z")
    except AssertionError:
        sys.exit(0)
    sys.exit("the server went on after a request inside COPY data")
c.sock.sendall(msg(b"Q", cstr("SELECT count(*) FROM c")))
c.until(b"Z")
c.sock.sendall(msg(b"X"))
c.sock.close()
