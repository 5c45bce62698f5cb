"""Throwaway CAs and certificates made with openssl, for the TLS tests
(the same extensions as tests/lib/test_env.sh's make_test_certs).

    ca = make_ca(dir, "other CA")                      # .crt, .key
    leaf = make_leaf(dir, "wrong", ca, cn="wrong.example", sans="DNS:wrong.example")
    served_certificate(port)  # DER of the certificate a PostgreSQL listener serves
"""

import os
import socket
import ssl
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Cert:
    crt: str
    key: str

    def der(self):
        return ssl.PEM_cert_to_DER_cert(Path(self.crt).read_text())


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory, name):
    base = os.path.join(directory, name.replace(" ", "_"))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-sha256", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", base + ".key", "-out", base + ".crt")
    return Cert(base + ".crt", base + ".key")


def make_leaf(directory, name, ca, cn="localhost", sans="DNS:localhost,IP:127.0.0.1", serial=1):
    base = os.path.join(directory, name)
    ext = base + ".ext"
    Path(ext).write_text("basicConstraints=CA:FALSE\n"
                         "keyUsage=critical,digitalSignature,keyEncipherment\n"
                         "extendedKeyUsage=serverAuth,clientAuth\n"
                         f"subjectAltName={sans}\n")
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", base + ".key",
             "-out", base + ".csr")
    _openssl("x509", "-req", "-in", base + ".csr", "-days", "30", "-sha256", "-CA", ca.crt, "-CAkey", ca.key,
             "-set_serial", str(serial), "-extfile", ext, "-out", base + ".crt")
    os.chmod(base + ".key", 0o600)
    return Cert(base + ".crt", base + ".key")


def served_certificate(port):
    """DER of the certificate a PostgreSQL listener on 127.0.0.1:port serves
    (SSLRequest, then a handshake that verifies nothing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack("!II", 8, 80877103))
        if s.recv(1) != b"S":
            raise AssertionError("the listener declined TLS")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)
