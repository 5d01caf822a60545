"""test_zero_io.py: "do no harm" at the edges of the HTTP layers, on
connections no rule acts on (the default rules watch every TCP connection).

- Zero-length reads and writes (send/write/writev/sendto/sendmsg with an
  empty buffer or iov, read/recv/readv/recvmsg of 0 bytes; SSL_write,
  SSL_write_ex, SSL_read, SSL_read_ex, SSL_peek_ex of 0 bytes) return what
  they return without the shim, on an ordinary connection and on a
  virtual one the shim answers (offline mode); python's sslsock.send(b"")
  and node's socket.write("") no longer spin.
- SSL_peek/SSL_peek_ex are hooked: on an answered session they show the
  answer (they used to wait forever).
- Bytes that are not HTTP are never held back: a server that speaks first
  (an asyncio TLS client over a memory BIO reads its greeting and answers
  b"B"), and a client that writes the beginning of what could be a head
  (b"B") and then waits for the peer.

Every case runs the same program with and without the shim and compares
what each side saw, within a time bound that catches spinning and waiting.
"""

import socket
import ssl
import shutil
import threading
import time

import pytest

import tlsca
from acceptloop import AcceptLoop
from conftest import PY

BOUND = 5.0  # seconds: every case takes well under one without the shim


class Server:
    """A server on 127.0.0.1 in a thread, one thread per connection.
    mode "http": reads a request head, answers 200 "hello PATH" and
    closes (TLS: with close_notify). "greet": sends b"hello\\n", then
    answers every chunk X it receives with b"got X\\n". "echo": the same
    without the greeting. `got` lists every head or chunk received,
    `errors` what ended connections early (a client gone without
    close_notify, a timeout)."""

    def __init__(self, mode, tls_ctx=None):
        self.mode, self.ctx, self.got, self.errors = mode, tls_ctx, [], []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.loop = AcceptLoop(self.sock, self._accepted).start()

    def _accepted(self, c, _peer):
        threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(BOUND)
        try:
            if self.ctx:
                c = self.ctx.wrap_socket(c, server_side=True)
            if self.mode == "http":
                head = b""
                while b"\r\n\r\n" not in head:
                    k = c.recv(4096)
                    if not k:
                        return
                    head += k
                self.got.append(head)
                body = b"hello " + head.split(b" ")[1]
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                if self.ctx:
                    c.unwrap()  # close_notify, then waits for the client's (it closes instead)
                return
            if self.mode == "greet":
                c.sendall(b"hello\n")
            while True:
                k = c.recv(100)
                if not k:
                    return
                self.got.append(k)
                c.sendall(b"got " + k + b"\n")
        except (OSError, ssl.SSLError) as e:
            self.errors.append(repr(e))
        finally:
            c.close()

    def stop(self):
        self.loop.stop()  # the loop's thread closes the listener (acceptloop.py says why)


@pytest.fixture
def servers():
    made = []

    def make(mode, tls_ctx=None):
        made.append(Server(mode, tls_ctx))
        return made[-1]

    yield make
    for s in made:
        s.stop()


def shim_env(shim, extra=None):
    return shim.preload_env(dict(extra or {}, HFSHIM_RULES=str(shim.rules_dir / "default.json")))


def both(shim, cmd, extra=None, env_extra=None):
    """Runs cmd without and with the shim (default rules): both Results."""
    plain = shim.run(cmd, env=shim.base_env(env_extra), timeout=3 * BOUND)
    shimmed = shim.run(cmd, env=shim_env(shim, dict(env_extra or {}, **(extra or {}))), timeout=3 * BOUND)
    for r in (plain, shimmed):
        assert not r.timed_out and r.elapsed < BOUND, r
    return plain, shimmed


def zero_io(shim):
    return str(shim.progs / "zero_io")


# -- zero-length calls on an ordinary connection -------------------------------


@pytest.mark.parametrize("mode", ["plain", "tls"])
def test_zero_length_calls_ordinary_connection(shim, servers, tls_ca, mode):
    """Every zero-length call, before, inside and after one request, and
    SSL_peek/SSL_peek_ex before reading the response: the same results
    (return values, errno, SSL_get_error, SSL_get_shutdown) and the same
    bytes as without the shim. It used to be EAGAIN for every zero-length
    write, SSL_write_ex 0 with SSL_ERROR_WANT_WRITE, SSL_read_ex marking
    the session shut down."""
    srv = servers("http", tlsca.server_context(tls_ca) if mode == "tls" else None)
    cmd = [zero_io(shim), mode, "127.0.0.1", str(srv.port), "localhost", "/zero"]
    plain, shimmed = both(shim, cmd)
    assert plain.returncode == 0 and "status HTTP/1.1 200 OK" in plain.stdout, plain
    assert shimmed.stdout == plain.stdout, shimmed
    assert shimmed.returncode == 0, shimmed
    assert srv.got[0] == srv.got[1] and srv.got[0].startswith(b"GET /zero HTTP/1.1\r\nHost: localhost\r\n")


# -- zero-length calls on a virtual connection (answered by the shim) -----------


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("mode", ["plain", "tls"])
def test_zero_length_calls_virtual_connection(shim, servers, tls_ca, mode):
    """Offline mode: a Hub request on a connection that never reaches the
    network is answered by the shim. Zero-length calls and SSL_peek say
    what they say on a real connection (the baseline: the same program
    against a real server, without the shim); SSL_peek shows the answer
    (it used to wait forever)."""
    srv = servers("http", tlsca.server_context(tls_ca) if mode == "tls" else None)
    path = "/api/models/acme/tiny"
    base = shim.run([zero_io(shim), mode, "127.0.0.1", str(srv.port), "localhost", path], env=shim.base_env(),
                    timeout=3 * BOUND)
    assert base.returncode == 0 and not base.timed_out, base
    port = closed_port()
    scheme = "https" if mode == "tls" else "http"
    env = shim_env(shim, {"HFSHIM_OFFLINE": "1", "HF_ENDPOINT": f"{scheme}://127.0.0.1:{port}"})
    r = shim.run([zero_io(shim), mode, "127.0.0.1", str(port), "localhost", path], env=env,
                 timeout=3 * BOUND)
    assert not r.timed_out and r.elapsed < BOUND, r
    assert r.returncode == 0, r
    assert "blocked GET" in r.log and f"{path} (rule offline" in r.log, r

    def calls(text):  # what differs by design: the response itself
        return [ln for ln in text.splitlines() if not ln.startswith(("status ", "bytes ", "peeked"))]

    assert calls(r.stdout) == calls(base.stdout), r
    assert "status HTTP/1.1 403 Forbidden" in r.stdout, r
    if mode == "tls":
        assert "\npeeked HTTP/1.1 403\n" in r.stdout and "\npeeked_ex HTTP/1.1 403\n" in r.stdout, r


# -- real programs ------------------------------------------------------------------

PY_ZERO = r"""
import os, socket, ssl, sys
mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
if mode == "tls":
    s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="localhost")
    print("recv(0)", s.recv(0))
    print("send(b'')", s.send(b""))
    print("write(b'')", s.write(b""))
else:
    print("send(b'')", s.send(b""))
    print("os.write", os.write(s.fileno(), b""))
    print("sendmsg([])", s.sendmsg([]))
    print("sendmsg([b''])", s.sendmsg([b""]))
    print("os.read 0", os.read(s.fileno(), 0))
s.sendall(b"")
s.sendall(b"GET /py HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
data = b""
while True:
    try:
        k = s.recv(65536)
    except ssl.SSLError as e:  # a server that closed without close_notify
        print("end", e.reason); break
    if not k:
        break
    data += k
print(data.split(b"\r\n")[0], len(data))
"""


@pytest.mark.parametrize("mode", ["plain", "tls"])
def test_python_zero_length_send(shim, servers, tls_ca, mode):
    """python3: sslsock.send(b"") used to spin at 100% CPU forever and a
    plain s.send(b"") raised BlockingIOError; both return 0 as without
    the shim, and the request after them goes out whole."""
    srv = servers("http", tlsca.server_context(tls_ca) if mode == "tls" else None)
    plain, shimmed = both(shim, [PY, "-c", PY_ZERO, mode, str(srv.port), str(tls_ca.ca_cert)])
    assert plain.returncode == 0 and "b'HTTP/1.1 200 OK'" in plain.stdout, plain
    assert (shimmed.returncode, shimmed.stdout) == (plain.returncode, plain.stdout), shimmed


NODE_ZERO = r"""
const net = require("net");
const s = net.connect(+process.argv[1], "127.0.0.1", () => {
  s.write(""); s.write("GET /node HTTP/1.1\r\nHost: localhost\r\n\r\n");
});
s.on("data", d => { console.log(String(d).split("\r\n")[0]); process.exit(0); });
setTimeout(() => { console.log("TIMEOUT"); process.exit(1); }, 4000);
"""


def test_node_zero_length_write(shim, servers):
    """node: socket.write("") before a request used to spin (libuv retried
    the EAGAIN forever) and the request was never sent."""
    if not shutil.which("node"):
        pytest.skip("node missing")
    srv = servers("http")
    plain, shimmed = both(shim, ["node", "-e", NODE_ZERO, str(srv.port)])
    assert plain.stdout == "HTTP/1.1 200 OK\n", plain
    assert (shimmed.returncode, shimmed.stdout) == (plain.returncode, plain.stdout), shimmed


# -- bytes that are not HTTP are never held back ------------------------------------

ASYNC_GREET = r"""
import asyncio, ssl, sys
mode, port, ca, greet = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "greet"
async def main():
    ctx = ssl.create_default_context(cafile=ca) if mode == "tls" else None
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost" if ctx else None)
    if greet:
        print(await r.readline())
    w.write(b"B")
    await w.drain()
    try:
        print(await asyncio.wait_for(r.readline(), 3))
    except asyncio.TimeoutError:
        print("TIMEOUT")
asyncio.run(main())
"""


@pytest.mark.parametrize("mode", ["plain", "tls"])
def test_asyncio_client_answers_server_greeting(shim, servers, tls_ca, mode):
    """A server that speaks first is not HTTP: the asyncio client (TLS
    through a memory BIO) reads the greeting and writes b"B", which the
    server receives at once. It used to be held as the beginning of a
    request head, forever (the server's read timed out)."""
    srv = servers("greet", tlsca.server_context(tls_ca) if mode == "tls" else None)
    plain, shimmed = both(shim, [PY, "-c", ASYNC_GREET, mode, str(srv.port), str(tls_ca.ca_cert), "greet"])
    assert plain.stdout == "b'hello\\n'\nb'got B\\n'\n", plain
    assert (shimmed.returncode, shimmed.stdout) == (plain.returncode, plain.stdout), shimmed
    assert srv.got == [b"B", b"B"]


def test_asyncio_client_speaks_first(shim, servers):
    """The asyncio client writes b"B" first and waits in epoll_wait (it
    reads only once the socket is readable): the byte is released when
    the loop waits, not held forever."""
    srv = servers("echo")
    plain, shimmed = both(shim, [PY, "-c", ASYNC_GREET, "plain", str(srv.port), "-", "no"])
    assert plain.stdout == "b'got B\\n'\n", plain
    assert (shimmed.returncode, shimmed.stdout) == (plain.returncode, plain.stdout), shimmed
    assert srv.got == [b"B", b"B"]


BLOCKING_B = r"""
import socket, ssl, sys
mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
if mode == "tls":
    s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="localhost")
s.settimeout(3)
s.sendall(b"B")
try:
    print(s.recv(100))
except socket.timeout:
    print("TIMEOUT")
"""


@pytest.mark.parametrize("mode", ["plain", "tls"])
def test_partial_head_released_when_client_waits(shim, servers, tls_ca, mode):
    """b"B" could begin a request head ("BREW / HTTP/1.1"), so it is held
    while more may come; once the client waits for the server with no
    response due, it cannot be HTTP (a client never waits in the middle of
    its request): the byte goes out and the server's answer comes back."""
    srv = servers("echo", tlsca.server_context(tls_ca) if mode == "tls" else None)
    plain, shimmed = both(shim, [PY, "-c", BLOCKING_B, mode, str(srv.port), str(tls_ca.ca_cert)])
    assert plain.stdout == "b'got B\\n'\n", plain
    assert (shimmed.returncode, shimmed.stdout) == (plain.returncode, plain.stdout), shimmed
    assert srv.got == [b"B", b"B"]


NODE_FIRST = r"""
const net = require("net");
const s = net.connect(+process.argv[1], "127.0.0.1", () => s.write("B"));
s.on("data", d => { console.log(JSON.stringify(String(d))); process.exit(0); });
setTimeout(() => { console.log("TIMEOUT"); process.exit(1); }, 3000);
"""


def test_node_client_speaks_first(shim, servers):
    """node writes b"B" and waits in epoll_pwait: released as it waits."""
    if not shutil.which("node"):
        pytest.skip("node missing")
    srv = servers("echo")
    plain, shimmed = both(shim, ["node", "-e", NODE_FIRST, str(srv.port)])
    assert plain.stdout == '"got B\\n"\n', plain
    assert (shimmed.returncode, shimmed.stdout) == (plain.returncode, plain.stdout), shimmed
    assert srv.got == [b"B", b"B"]
