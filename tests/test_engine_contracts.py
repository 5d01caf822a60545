"""test_engine_contracts.py: the HTTP engine (shim/core/conn.c and its
socket and OpenSSL adapters) keeps each hooked call's contract on traffic
no rule acts on (issue 15, "Do no harm"). Every test runs the same small
python program with and without the shim under the default rules and
compares what it saw (return values, exceptions, bytes) and what the
server received, with a time bound that catches waiting.

- a non-blocking send never blocks inside the shim: bytes that cannot be
  HTTP, a head too long to frame, a valid head bigger than the socket
  buffer: a partial count at once, the rest written later in order;
- a blocking writev/sendmsg of 2 MB writes 2 MB;
- deep pipelining (65, 300 requests) never kills the connection, plain
  and TLS;
- a broken 401 "Invalid credentials" on the token-retry path reaches the
  client as the server sent it, then the same end, plain and TLS.
"""

import hashlib
import socket
import ssl
import threading
import time

import pytest

import tlsca
from acceptloop import AcceptLoop
from conftest import PY


class Server:
    """A TCP (or TLS) server on 127.0.0.1 running handler(conn) for each
    connection in its own thread; records what each connection received
    (handler returns it)."""

    def __init__(self, handler, tls=None, rcvbuf=None):
        self.handler, self.tls = handler, tls
        self.sock = socket.socket()
        if rcvbuf:  # accepted sockets inherit it: a small window fills fast
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.threads = []
        self.loop = AcceptLoop(self.sock, self._accepted).start()

    def _accepted(self, c, _peer):
        t = threading.Thread(target=self._one, args=(c,), daemon=True)
        t.start()
        self.threads.append(t)

    def _one(self, c):
        try:
            if self.tls:
                c = self.tls.wrap_socket(c, server_side=True)
            self.received.append(self.handler(c))
        except (OSError, ssl.SSLError) as e:
            self.received.append(e)
        finally:
            c.close()

    def wait(self, n, timeout=20):
        end = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.received[:n]

    def close(self):
        self.loop.stop()  # the loop's thread closes the listener (acceptloop.py says why)


def both(shim, code, *args, env=None, timeout=30):
    """Runs code without, then with the shim (default rules); returns the
    two Results (each checked for a clean exit)."""
    extra = dict(env or {})
    plain = shim.run([PY, "-c", code, *map(str, args)], env=shim.base_env(extra), timeout=timeout)
    rules = shim.rules_dir / "default.json"
    shimmed = shim.run([PY, "-c", code, *map(str, args)],
                       env=shim.preload_env({"HFSHIM_RULES": str(rules), **extra}), timeout=timeout)
    for r in (plain, shimmed):
        assert r.returncode == 0 and not r.timed_out, r
    return plain, shimmed


def lines(r):
    return dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)


# -- 5: a non-blocking send never blocks ----------------------------------------

def slow_reader(delay):
    """Reads nothing for delay seconds, then everything until EOF."""
    def handler(c):
        time.sleep(delay)
        data = bytearray()
        c.settimeout(10)
        while True:
            d = c.recv(1 << 16)
            if not d:
                return bytes(data)
            data += d
    return handler


# the client: SO_SNDBUF 4096, non-blocking; the first send of PAYLOAD must
# return at once with a partial count; then a poll-driven loop writes the
# rest; prints the first count's class, its time class and the sha256
NB_CLIENT = r"""
import hashlib, select, socket, sys, time
port, kind = int(sys.argv[1]), sys.argv[2]
if kind == "binary":
    data = bytes(range(256)) * 4096
elif kind == "longhead":   # a head too long to frame: passes through as it is
    data = b"GET /x HTTP/1.1\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"
else:                      # a valid head bigger than the socket buffer, then a body
    data = (b"POST /up HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"p" * 40000 + b"\r\nContent-Length: 300000\r\n\r\n"
            + b"b" * 300000)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
s.connect(("127.0.0.1", port)); s.setblocking(False)
t = time.monotonic()
n = s.send(data)
took = time.monotonic() - t
print("first", "partial" if 0 < n < len(data) else "n=%d" % n)
print("fast", took < 1.0)
off = n
end = time.monotonic() + 20
while off < len(data) and time.monotonic() < end:
    select.select([], [s], [], 1)
    try:
        off += s.send(data[off:])
    except BlockingIOError:
        pass
print("sent", off == len(data))
s.close()
print("sha", hashlib.sha256(data).hexdigest())
"""


@pytest.mark.parametrize("kind", ["binary", "longhead", "bighead"])
def test_nonblocking_send_never_blocks(shim, kind):
    srv = Server(slow_reader(2.0), rcvbuf=4096)
    try:
        plain, shimmed = both(shim, NB_CLIENT, srv.port, kind)
        got = srv.wait(2)
    finally:
        srv.close()
    a, b = lines(plain), lines(shimmed)
    assert a == b, (plain, shimmed)
    assert a["first"] == "partial" and a["fast"] == "True" and a["sent"] == "True"
    assert all(isinstance(g, bytes) and hashlib.sha256(g).hexdigest() == a["sha"] for g in got), [len(g) for g in got]


# the same over TLS (non-blocking SSL socket): the first send never waits
NB_TLS_CLIENT = r"""
import hashlib, select, socket, ssl, sys, time
port = int(sys.argv[1])
data = bytes(range(256)) * 4096
ctx = ssl.create_default_context()
raw = socket.socket(); raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
raw.connect(("127.0.0.1", port))
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1"); s.setblocking(False)
t = time.monotonic()
try:
    n = s.send(data)
except ssl.SSLWantWriteError:
    n = 0
print("fast", time.monotonic() - t < 1.0)
off = n
end = time.monotonic() + 20
while off < len(data) and time.monotonic() < end:
    select.select([], [s], [], 1)
    try:
        off += s.send(data[off:])
    except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
        pass
print("sent", off == len(data))
s.setblocking(True); s.settimeout(20)
socket.socket.shutdown(s, socket.SHUT_WR)   # then wait for the server's end (reading what it sent)
try:
    while s.recv(4096):
        pass
except (OSError, ssl.SSLError):
    pass
s.close()
print("sha", hashlib.sha256(data).hexdigest())
"""


def test_nonblocking_tls_send_never_blocks(shim, tls_ca):
    srv = Server(slow_reader(2.0), tls=tlsca.server_context(tls_ca), rcvbuf=4096)
    try:
        plain, shimmed = both(shim, NB_TLS_CLIENT, srv.port, env=tlsca.client_env(tls_ca))
        got = srv.wait(2)
    finally:
        srv.close()
    a, b = lines(plain), lines(shimmed)
    assert a == b, (plain, shimmed)
    assert a["fast"] == "True" and a["sent"] == "True"
    assert all(isinstance(g, bytes) and hashlib.sha256(g).hexdigest() == a["sha"] for g in got)


# -- 6: a blocking writev/sendmsg writes everything -------------------------------

WRITEV_CLIENT = r"""
import os, socket, sys
port, how = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
body = [bytes([65 + i % 26]) * 100000 for i in range(20)]
if how == "writev":
    n = os.writev(s.fileno(), [head] + body)
else:
    n = s.sendmsg([head] + body)
print("wrote", n, "of", len(head) + 2000000)
s.close()
"""


def drain(c):
    data = bytearray()
    while True:
        d = c.recv(1 << 20)
        if not d:
            return bytes(data)
        data += d


@pytest.mark.parametrize("how", ["writev", "sendmsg"])
def test_blocking_writev_writes_everything(shim, how):
    srv = Server(drain)
    try:
        plain, shimmed = both(shim, WRITEV_CLIENT, srv.port, how)
        got = srv.wait(2)
    finally:
        srv.close()
    assert plain.stdout == shimmed.stdout == "wrote 2000053 of 2000053\n", (plain, shimmed)
    assert got[0] == got[1] and len(got[0]) == 2000053


# -- 7: deep pipelining never kills a connection ----------------------------------

def pipelined_server(c):
    buf, n = b"", 0
    while True:
        d = c.recv(65536)
        if not d:
            return n
        buf += d
        while b"\r\n\r\n" in buf:
            _, buf = buf.split(b"\r\n\r\n", 1)
            n += 1
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d" % (len(str(n)), n))


PIPE_CLIENT = r"""
import socket, ssl, sys
port, n, tls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "tls"
s = socket.create_connection(("127.0.0.1", port))
if tls:
    s = ssl.create_default_context().wrap_socket(s, server_hostname="127.0.0.1")
s.settimeout(10)
try:
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * n)
    data = b""
    while data.count(b"HTTP/1.1 200") < n or not data.endswith(str(n).encode()):
        d = s.recv(65536)
        if not d:
            break
        data += d
    print("responses", data.count(b"HTTP/1.1 200"), "last", data[-len(str(n)):].decode())
except OSError as e:
    print("error", type(e).__name__, e)
s.close()
"""


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("n", [65, 300])
def test_deep_pipelining(shim, tls_ca, tls, n):
    srv = Server(pipelined_server, tls=tlsca.server_context(tls_ca) if tls else None)
    try:
        plain, shimmed = both(shim, PIPE_CLIENT, srv.port, n, "tls" if tls else "plain",
                              env=tlsca.client_env(tls_ca))
    finally:
        srv.close()
    assert plain.stdout == shimmed.stdout == f"responses {n} last {n}\n", (plain, shimmed)
    assert "closed by hfshim" not in shimmed.log, shimmed.log


# -- 10: a broken 401 on the token-retry path --------------------------------------

BROKEN_401 = (b"HTTP/1.1 401 Unauthorized\r\nX-Error-Message: Invalid credentials in Authorization header\r\n"
              b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")


def broken_401_server(c):
    got = c.recv(4096)
    c.sendall(BROKEN_401)
    time.sleep(0.5)
    return got


# reads the response to a request with a rejected token until the end;
# prints the bytes and how the stream ended (EOF, or the error and errno)
RAW_401_CLIENT = r"""
import socket, ssl, sys
port, tls = int(sys.argv[1]), sys.argv[2] == "tls"
s = socket.create_connection(("127.0.0.1", port))
if tls:
    s = ssl.create_default_context().wrap_socket(s, server_hostname="127.0.0.1")
s.settimeout(10)
s.sendall(b"GET /api/models/a/b HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          b"Authorization: Bearer hf_BADbadBADbadBADbadBADbadBADbadBAD\r\n\r\n")
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            print("end EOF")
            break
        data += d
except OSError as e:
    print("end", type(e).__name__, e.errno)
print("bytes", repr(data))
"""

HTTPCLIENT_401 = r"""
import http.client, sys
port, tls = int(sys.argv[1]), sys.argv[2] == "tls"
C = http.client.HTTPSConnection if tls else http.client.HTTPConnection
c = C("127.0.0.1", port, timeout=10)
c.request("GET", "/api/models/a/b", headers={"Authorization": "Bearer hf_BADbadBADbadBADbadBADbadBADbadBAD"})
try:
    r = c.getresponse(); print("got", r.status, r.read())
except Exception as e:
    print("exc", type(e).__name__, e)
"""


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("client", ["raw", "http.client"])
def test_broken_401_on_retry_path(shim, tls_ca, tls, client):
    srv = Server(broken_401_server, tls=tlsca.server_context(tls_ca) if tls else None)
    scheme = "https" if tls else "http"
    env = {**tlsca.client_env(tls_ca), "HF_ENDPOINT": f"{scheme}://127.0.0.1:{srv.port}"}
    try:
        plain, shimmed = both(shim, RAW_401_CLIENT if client == "raw" else HTTPCLIENT_401, srv.port,
                              "tls" if tls else "plain", env=env)
        got = srv.wait(2)
    finally:
        srv.close()
    assert plain.stdout == shimmed.stdout, (plain, shimmed)
    if client == "raw":
        assert repr(BROKEN_401) in plain.stdout and "end EOF" in plain.stdout
    # one request per run: the engine sent no retry it could not finish
    assert len(got) == 2 and all(g.count(b"GET /api/models/a/b") == 1 for g in got), got
