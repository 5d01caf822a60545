"""tlsca.py: a throwaway certificate authority for TLS tests on 127.0.0.1.

`make_ca(dir)` writes, with the `openssl` command (Python's stdlib cannot
make certificates), an EC P-256 CA and a server certificate signed by it for
DNS:localhost, DNS:hub.test, DNS:*.hub.test, IP:127.0.0.1 and IP:::1, and
returns their paths. It reuses what an earlier call left in the same
directory, so a session-scoped fixture pays the ~50 ms once per test run.

`server_context(paths)` is the ssl.SSLContext to give FakeHub(tls_context=)
(ALPN offers http/1.1 only, so clients never switch to HTTP/2), and
`client_env(paths)` the environment that makes curl, libcurl programs in
tests/progs, OpenSSL, requests/httpx, git and node trust the CA.
"""

import os
import ssl
import subprocess
from pathlib import Path
from typing import NamedTuple

SAN = "DNS:localhost,DNS:hub.test,DNS:*.hub.test,IP:127.0.0.1,IP:::1"
DAYS = "30"

_EXT = f"""\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = {SAN}
"""


class CAPaths(NamedTuple):
    dir: Path
    ca_key: Path
    ca_cert: Path  # the file clients trust
    key: Path  # server key
    cert: Path  # server certificate (leaf only)


def _paths(directory):
    d = Path(directory).resolve()
    return CAPaths(d, d / "ca.key", d / "ca.crt", d / "server.key", d / "server.crt")


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30,
                       env={**os.environ, "OPENSSL_CONF": "/dev/null"})
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")


def make_ca(directory):
    """Creates (or reuses) the CA and server certificate in directory."""
    p = _paths(directory)
    p.dir.mkdir(parents=True, exist_ok=True)
    if all(f.exists() and f.stat().st_size > 0 for f in p[1:]):
        return p
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key.tmp", "-out", "ca.crt.tmp", "-days", DAYS, "-sha256",
             "-subj", "/CN=hfshim throwaway test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=p.dir)
    _openssl("req", "-new", *ec, "-keyout", "server.key.tmp", "-out", "server.csr", "-subj", "/CN=localhost",
             cwd=p.dir)
    (p.dir / "server.ext").write_text(_EXT)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt.tmp", "-CAkey", "ca.key.tmp",
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", DAYS, "-sha256",
             "-extfile", "server.ext", "-out", "server.crt.tmp", cwd=p.dir)
    for name in ("ca.key", "server.key", "server.crt", "ca.crt"):  # ca.crt last: it marks completion
        os.replace(p.dir / (name + ".tmp"), p.dir / name)
    return p


def server_context(paths):
    """A server-side SSLContext for FakeHub(tls_context=...), ALPN http/1.1."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(paths.cert), str(paths.key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def client_context(paths):
    """A client-side SSLContext trusting only the throwaway CA."""
    return ssl.create_default_context(cafile=str(paths.ca_cert))


def client_env(paths):
    """Variables that make common clients trust the throwaway CA.

    libcurl itself ignores CURL_CA_BUNDLE (only the curl tool reads it);
    tests/progs/curl_multi honours it like the curl tool does."""
    ca = str(paths.ca_cert)
    return {"CURL_CA_BUNDLE": ca, "SSL_CERT_FILE": ca, "REQUESTS_CA_BUNDLE": ca,
            "GIT_SSL_CAINFO": ca, "NODE_EXTRA_CA_CERTS": ca}


if __name__ == "__main__":
    import sys

    print(make_ca(sys.argv[1] if len(sys.argv) > 1 else "tlsca"))
