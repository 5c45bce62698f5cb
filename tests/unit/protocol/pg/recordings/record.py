#!/usr/bin/env python3
"""Records what a PostgreSQL client and server say to each other.

    record.py OUT -- COMMAND [ARG...]
    record.py --dump FILE      one line per message: direction, type, length

Starts a TCP tee on a free loopback port in front of $PGHOST:$PGPORT, runs
COMMAND with PGPORT (and SY_PORT, for the node client) pointing at the tee and
TLS/GSS encryption off, and writes one of the connections COMMAND opened to
OUT (the last one opened; pgbench opens one to check the scale first).

OUT is a sequence of records, one per socket read, in the order the tee read
them, which is the order a proxy would relay them:
    1 byte   'F' (client to server) or 'B' (server to client)
    4 bytes  big-endian length
    bytes    what was read, cut wherever the read ended
Each read is written down before it is forwarded, so an answer can never come
before the request it answers.
"""
import os
import selectors
import socket
import struct
import subprocess
import sys
import threading


def relay(client, target, records):
    server = socket.create_connection(target)
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ, (b"F", server))
    sel.register(server, selectors.EVENT_READ, (b"B", client))
    open_sides = 2
    while open_sides:
        for key, _ in sel.select():
            marker, peer = key.data
            data = key.fileobj.recv(65536)
            if not data:
                sel.unregister(key.fileobj)
                open_sides -= 1
                try:
                    peer.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            records.append(marker + struct.pack(">I", len(data)) + data)
            peer.sendall(data)
    client.close()
    server.close()


def dump(path):
    streams = {b"F": b"", b"B": b""}
    startup = True
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        d, n = data[pos:pos + 1], struct.unpack(">I", data[pos + 1:pos + 5])[0]
        streams[d] += data[pos + 5:pos + 5 + n]
        pos += 5 + n
        while True:
            s = streams[d]
            if d == b"F" and startup:  # the untyped startup packet
                if len(s) < 4 or len(s) < struct.unpack(">I", s[:4])[0]:
                    break
                n = struct.unpack(">I", s[:4])[0]
                print(f"F  startup  {n}")
                streams[d], startup = s[n:], False
                continue
            if len(s) < 5 or len(s) < 1 + struct.unpack(">I", s[1:5])[0]:
                break
            n = 1 + struct.unpack(">I", s[1:5])[0]
            print(f"{d.decode()}  {chr(s[0])}  {n}  {s[5:n][:60]!r}")
            streams[d] = s[n:]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--dump":
        return dump(sys.argv[2])
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    out, command = sys.argv[1], sys.argv[3:]
    target = (os.environ.get("PGHOST", "127.0.0.1"), int(os.environ["PGPORT"]))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    connections = []  # one record list per connection, in the order they were opened
    threads = []

    def accept():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            records = []
            connections.append(records)
            t = threading.Thread(target=relay, args=(client, target, records))
            t.start()
            threads.append(t)

    threading.Thread(target=accept, daemon=True).start()
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(port), SY_PORT=str(port),
               PGSSLMODE="disable", PGGSSENCMODE="disable")
    rc = subprocess.run(command, env=env).returncode
    listener.close()
    for t in threads:
        t.join(timeout=10)
    if rc != 0 or not connections:
        sys.exit(f"record.py: {command[0]} exited {rc} after {len(connections)} connection(s)")
    with open(out, "wb") as f:
        f.write(b"".join(connections[-1]))
    print(f"record.py: {out}: {len(connections[-1])} reads, connection {len(connections)} of {len(connections)}")


if __name__ == "__main__":
    main()
