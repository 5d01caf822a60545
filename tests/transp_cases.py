"""transp_cases.py: the unusual-but-legal I/O cases of test_transparency.py.

`python3 transp_cases.py CASE` runs one case: a server and a client in this
process (threads; a child process for fork), on 127.0.0.1 only, and prints a
canonical JSON transcript on stdout: each side's calls in order with their
return value (bytes as latin-1 text, or length + sha256 prefix when long),
exception class, errno name or TLS reason. Nothing timing-dependent goes in
the transcript; each case synchronises explicitly (events, exact reads), so
two runs without the shim print the same bytes, and a run under the shim
must print them too. TLS cases read the server certificate, its key and the
CA from TRANSP_CERT, TRANSP_KEY and TRANSP_CA (tests/tlsca.py makes them).
`python3 transp_cases.py --list` prints the case names.
"""

import asyncio
import ctypes
import errno
import hashlib
import http.client
import json
import os
import random
import select
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time

CLIENT, SERVER = [], []
CASES = {}
HOST = "127.0.0.1"
WAIT = 5  # s: no wait in a case is longer; the test's bound is 8 s a run


def case(fn):
    CASES[fn.__name__[2:]] = fn
    return fn


# -- recording ------------------------------------------------------------

def show(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        if len(b) <= 96:
            return {"b": b.decode("latin-1")}
        return {"len": len(b), "sha": hashlib.sha256(b).hexdigest()[:16]}
    if isinstance(v, (list, tuple)):
        return [show(x) for x in v]
    if isinstance(v, dict):
        return {k: show(x) for k, x in v.items()}
    if v is None or isinstance(v, (int, str, bool, float)):
        return v
    return type(v).__name__


def exc(e):
    d = {"exc": type(e).__name__}
    if isinstance(e, ssl.SSLError):
        d["reason"] = e.reason
    elif isinstance(e, OSError) and e.errno is not None:
        d["errno"] = errno.errorcode.get(e.errno, e.errno)
    return d


def rec(log, name, fn, *a, **kw):
    """Calls fn, records [name, result] or [name, exception]; returns the
    result, or the exception object."""
    try:
        r = fn(*a, **kw)
    except Exception as e:  # noqa: BLE001 - every outcome is data here
        log.append([name, exc(e)])
        return e
    log.append([name, show(r)])
    return r


def note(log, name, value):
    log.append([name, show(value)])


# -- plumbing -------------------------------------------------------------

def sctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    c.load_cert_chain(os.environ["TRANSP_CERT"], os.environ["TRANSP_KEY"])
    return c


def cctx():
    return ssl.create_default_context(cafile=os.environ["TRANSP_CA"])


def serve(handler, tls=False, n=1, backlog=8, before_listen=None):
    """Listens on 127.0.0.1, runs handler(conn) for n accepted connections
    in a thread; returns (addr, join). A handler that raises is recorded."""
    lsock = socket.socket()
    lsock.bind((HOST, 0))
    if before_listen:
        before_listen(lsock)
    lsock.listen(backlog)
    ctx = sctx() if tls else None

    def run():
        try:
            for _ in range(n):
                c, _ = lsock.accept()
                c.settimeout(WAIT)
                if tls:
                    c = ctx.wrap_socket(c, server_side=True)
                with c:
                    handler(c)
        except Exception as e:  # noqa: BLE001
            SERVER.append(["server-raised", exc(e)])
        finally:
            lsock.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return lsock.getsockname(), lambda: t.join(WAIT)


def connect(addr, tls=False, timeout=None, ragged_ok=True):
    """A client connection: blocking (no Python timeout, so the fd is
    blocking too) unless timeout is given; the test's kill bounds a hang."""
    s = socket.create_connection(addr, timeout=timeout)
    if tls:
        s = cctx().wrap_socket(s, server_hostname="localhost", suppress_ragged_eofs=ragged_ok)
    return s


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            break
        buf += d
    return buf


def read_eof(s):
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            return buf
        buf += d


def read_head(s):
    """Reads up to and including the blank line, one byte at a time past
    what was read (so nothing after the head is consumed)."""
    buf = b""
    while not buf.endswith(b"\r\n\r\n"):
        d = s.recv(1)
        if not d:
            break
        buf += d
    return buf


def content_length(head):
    for line in head.split(b"\r\n"):
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return int(v)
    return 0


def read_response(s):
    head = read_head(s)
    return head + read_exact(s, content_length(head))


def ok(body=b"ok", extra=b""):
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def http_echo(c, count=1):
    """Reads `count` requests (head + Content-Length body); answers each
    with the sha of what it read."""
    for _ in range(count):
        head = read_head(c)
        if not head:
            return
        body = read_exact(c, content_length(head))
        SERVER.append(["request", show(head), show(body)])
        c.sendall(ok(hashlib.sha256(head + body).hexdigest()[:16].encode()))


def blob(n, seed=7):
    return random.Random(seed).randbytes(n)


GET = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"


# -- zero-length I/O --------------------------------------------------------

@case
def c_zero_len_plain():
    addr, join = serve(lambda c: (http_echo(c), SERVER.append(["eof", show(read_eof(c))])))
    s = connect(addr)
    C = CLIENT
    rec(C, "send0", s.send, b"")
    rec(C, "sendall0", s.sendall, b"")
    rec(C, "write0", os.write, s.fileno(), b"")
    rec(C, "sendmsg-no-iov", s.sendmsg, [])
    rec(C, "sendmsg-empty-iovs", s.sendmsg, [b"", b""])
    rec(C, "recv0", s.recv, 0)
    rec(C, "read0", os.read, s.fileno(), 0)
    rec(C, "send-head-part", s.send, GET[:9])
    rec(C, "send0-mid-head", s.send, b"")
    rec(C, "send-head-rest", s.sendall, GET[9:])
    rec(C, "response", read_response, s)
    rec(C, "send0-after", s.send, b"")
    rec(C, "recv0-after", s.recv, 0)
    s.shutdown(socket.SHUT_WR)
    rec(C, "eof", s.recv, 100)
    join()


@case
def c_zero_len_tls():
    addr, join = serve(lambda c: (http_echo(c), SERVER.append(["eof", show(read_eof(c))])), tls=True)
    s = connect(addr, tls=True)
    C = CLIENT
    rec(C, "send0", s.send, b"")
    rec(C, "sendall0", s.sendall, b"")
    rec(C, "recv0", s.recv, 0)
    rec(C, "send-head-part", s.send, GET[:9])
    rec(C, "send0-mid-head", s.send, b"")
    rec(C, "send-head-rest", s.sendall, GET[9:])
    rec(C, "response", read_response, s)
    rec(C, "send0-after", s.send, b"")
    rec(C, "recv0-after", s.recv, 0)
    rec(C, "unwrap", lambda: s.unwrap() and None)
    join()


@case
def c_zero_len_tls_c_api():
    # libssl called directly (ctypes; symbols looked up like a C program's,
    # so hfshim's hooks apply): SSL_write_ex and SSL_write of 0 bytes, each
    # with SSL_get_error after it, then a request on the same session.
    # Zero-length SSL_read/SSL_read_ex are left out: libssl itself fails
    # the session on them.
    ctypes.CDLL("libcrypto.so.3", mode=ctypes.RTLD_GLOBAL)
    ctypes.CDLL("libssl.so.3", mode=ctypes.RTLD_GLOBAL)
    L = ctypes.CDLL(None)
    P, I, Z = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    for name, res, args in [("TLS_client_method", P, []), ("SSL_CTX_new", P, [P]), ("SSL_new", P, [P]),
                            ("SSL_set_fd", I, [P, I]), ("SSL_connect", I, [P]),
                            ("SSL_write_ex", I, [P, ctypes.c_char_p, Z, ctypes.POINTER(Z)]),
                            ("SSL_write", I, [P, ctypes.c_char_p, I]), ("SSL_read", I, [P, ctypes.c_char_p, I]),
                            ("SSL_get_error", I, [P, I]), ("ERR_clear_error", None, []),
                            ("SSL_free", None, [P]), ("SSL_CTX_free", None, [P])]:
        f = getattr(L, name)
        f.restype, f.argtypes = res, args
    addr, join = serve(lambda c: (http_echo(c), SERVER.append(["eof", show(read_eof(c))])), tls=True)
    s = connect(addr)
    ctx = L.SSL_CTX_new(L.TLS_client_method())  # no verification: the peer is ours
    ssl_ = L.SSL_new(ctx)
    L.SSL_set_fd(ssl_, s.fileno())
    note(CLIENT, "SSL_connect", L.SSL_connect(ssl_))
    n = Z(99)

    def call(name, fn, *a):
        L.ERR_clear_error()
        r = fn(*a)
        note(CLIENT, name, [r, L.SSL_get_error(ssl_, r) if r <= 0 else 0])

    call("SSL_write_ex-0", L.SSL_write_ex, ssl_, b"", 0, ctypes.byref(n))
    note(CLIENT, "written", n.value)
    call("SSL_write-0", L.SSL_write, ssl_, b"", 0)
    call("SSL_write_ex-GET", L.SSL_write_ex, ssl_, GET, len(GET), ctypes.byref(n))
    buf = ctypes.create_string_buffer(1000)
    want, got = len(ok(b"0" * 16)), b""
    while len(got) < want:
        L.ERR_clear_error()
        r = L.SSL_read(ssl_, buf, 1000)
        if r <= 0:
            note(CLIENT, "SSL_read", [r, L.SSL_get_error(ssl_, r)])
            break
        got += buf.raw[:r]
    note(CLIENT, "response", got)
    s.shutdown(socket.SHUT_WR)
    join()
    L.SSL_free(ssl_)
    L.SSL_CTX_free(ctx)


# -- MSG_PEEK / MSG_WAITALL ---------------------------------------------------

@case
def c_msg_peek():
    def srv(c):
        http_echo(c)
        c.sendall(b"220 banner after the response\r\n")
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    C = CLIENT
    s.sendall(GET)
    s.settimeout(WAIT)
    r = rec(C, "peek12", s.recv, 12, socket.MSG_PEEK)
    rec(C, "peek12-again", s.recv, 12, socket.MSG_PEEK)
    rec(C, "response", read_response, s)
    head = b""
    while not head.endswith(b"\n"):
        p = s.recv(64, socket.MSG_PEEK)
        if not p:
            break
        head += s.recv(p.index(b"\n") + 1 if b"\n" in p else len(p))
    note(C, "banner", head)
    s.shutdown(socket.SHUT_WR)
    rec(C, "peek-eof", s.recv, 10, socket.MSG_PEEK)
    join()


@case
def c_msg_waitall():
    body = blob(200000)
    gate = threading.Event()

    def srv(c):
        read_head(c)
        resp = ok(body)
        third = len(resp) // 3
        c.sendall(resp[:third])
        gate.wait(WAIT)
        c.sendall(resp[third:2 * third])
        time.sleep(0.05)
        c.sendall(resp[2 * third:])
        c.sendall(b"\x00\x01\x02binary tail")
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    s.sendall(GET)
    total = len(ok(body))
    threading.Timer(0.1, gate.set).start()
    rec(CLIENT, "recv-waitall", s.recv, total, socket.MSG_WAITALL)
    rec(CLIENT, "recv-waitall-tail", s.recv, 14, socket.MSG_WAITALL)
    s.shutdown(socket.SHUT_WR)
    rec(CLIENT, "recv-waitall-eof", s.recv, 10, socket.MSG_WAITALL)
    join()


# -- non-blocking -------------------------------------------------------------

def _nonblock(payload):
    """A non-blocking send of 1 MiB into a 4 KiB send buffer nobody reads:
    a partial count, then EAGAIN, at once; what was counted as sent is what
    the peer gets, no more, no less."""
    drain, got = threading.Event(), []

    def srv(c):
        drain.wait(3)  # a send blocked in hfshim shows as "returned-at-once": false
        got.append(read_eof(c))

    addr, join = serve(srv)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s.connect(addr)
    s.setblocking(False)
    C = CLIENT
    rec(C, "recv-nothing", s.recv, 100)
    t = time.monotonic()
    sent = b""
    try:
        n = s.send(payload)
        sent += payload[:n]
        note(C, "send-1MiB", "partial" if 0 < n < len(payload) else n)
    except OSError as e:
        note(C, "send-1MiB", exc(e))
    outcome = None
    while len(sent) < len(payload):
        rest = payload[len(sent):len(sent) + 65536]
        try:
            sent += rest[:s.send(rest)]
        except OSError as e:
            outcome = exc(e)
            break
    note(C, "send-until", outcome)
    note(C, "returned-at-once", time.monotonic() - t < 2)
    rec(C, "select-writable-now", lambda: bool(select.select([], [s], [], 0)[1]))
    drain.set()
    s.setblocking(True)
    s.shutdown(socket.SHUT_WR)
    join()
    note(C, "peer-got-exactly-what-was-counted", got == [sent])
    s.close()


@case
def c_nonblock_binary():
    _nonblock(bytes(range(256)) * 4096)


@case
def c_nonblock_http():
    _nonblock(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" + blob(1 << 20))


def _nonblock_tls(payload):
    """A non-blocking TLS send into a full socket: SSLWantWriteError at
    once, the same buffer retried once writable, everything arrives."""
    drain, got = threading.Event(), []

    def srv(c):
        drain.wait(WAIT)
        got.append(read_exact(c, len(payload)))
        c.sendall(b"done")

    addr, join = serve(srv, tls=True)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    raw.connect(addr)
    s = cctx().wrap_socket(raw, server_hostname="localhost")
    s.setblocking(False)
    C = CLIENT
    rec(C, "recv-nothing", s.recv, 100)
    off, errors, t = 0, [], time.monotonic()
    while off < len(payload):
        chunk = payload[off:off + 65536]
        try:
            off += s.send(chunk)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError) as e:
            if not errors:
                note(C, "first-would-block", exc(e))
                note(C, "returned-at-once", time.monotonic() - t < 2)
                drain.set()
            errors.append(1)
            select.select([], [s], [], WAIT)
    note(C, "would-block-seen", bool(errors))
    drain.set()
    reply, end = b"", time.monotonic() + WAIT
    while len(reply) < 4 and time.monotonic() < end:
        select.select([s], [], [], WAIT)
        try:
            reply += s.recv(10)
        except ssl.SSLWantReadError:  # a session ticket, not data yet
            pass
    note(C, "reply", reply)
    join()
    note(C, "peer-got-all", got == [payload])


@case
def c_nonblock_tls_binary():
    _nonblock_tls(blob(2 << 20, 31))


@case
def c_nonblock_tls_http():
    _nonblock_tls(b"PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n" + blob(2 << 20, 32))


@case
def c_nonblock_recv_http():
    gate = threading.Event()

    def srv(c):
        head = read_head(c)
        SERVER.append(["head", show(head)])
        gate.wait(WAIT)
        resp = ok(b"x" * 5000)
        for i in range(0, len(resp), 1000):
            c.sendall(resp[i:i + 1000])
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    s.setblocking(False)
    C = CLIENT
    rec(C, "send", s.send, GET)
    rec(C, "recv-before-response", s.recv, 100)
    gate.set()
    buf = b""
    while len(buf) < len(ok(b"x" * 5000)):
        select.select([s], [], [], WAIT)
        try:
            buf += s.recv(7)
        except BlockingIOError:
            pass
    note(C, "response", buf)
    rec(C, "recv-after-response", s.recv, 100)
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_nonblock_connect():
    # an event loop's connect: EINPROGRESS, wait for writable, SO_ERROR;
    # and a refused port, blocking and not
    addr, join = serve(lambda c: (http_echo(c), SERVER.append(["eof", show(read_eof(c))])))
    C = CLIENT
    s = socket.socket()
    s.setblocking(False)
    rec(C, "connect_ex", lambda: errno.errorcode.get(s.connect_ex(addr), 0))
    rec(C, "writable", lambda: bool(select.select([], [s], [], WAIT)[1]))
    rec(C, "SO_ERROR", s.getsockopt, socket.SOL_SOCKET, socket.SO_ERROR)
    rec(C, "getpeername-port-ok", lambda: s.getpeername() == addr)
    rec(C, "send", s.send, GET)
    select.select([s], [], [], WAIT)
    rec(C, "response", s.recv, 1000)
    s.close()
    join()
    dead = socket.socket()
    dead.bind((HOST, 0))
    port = dead.getsockname()[1]  # bound, never listening: refused
    b = socket.socket()
    rec(C, "blocking-refused", b.connect, (HOST, port))
    rec(C, "send-after-refused", b.send, GET)
    b.close()
    n = socket.socket()
    n.setblocking(False)
    rec(C, "nb-connect_ex", lambda: errno.errorcode.get(n.connect_ex((HOST, port)), 0))
    select.select([], [n], [], WAIT)
    rec(C, "nb-SO_ERROR", lambda: errno.errorcode.get(n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0))
    rec(C, "nb-send", n.send, GET)
    n.close()
    dead.close()


@case
def c_recv_timeouts():
    # SO_RCVTIMEO and MSG_DONTWAIT while a watched request waits for its
    # response: EAGAIN, at the time the program asked for
    gate = threading.Event()

    def srv(c):
        SERVER.append(["head", show(read_head(c))])
        gate.wait(WAIT)
        c.sendall(ok(b"late"))
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    s.sendall(GET)
    C = CLIENT
    rec(C, "MSG_DONTWAIT", s.recv, 100, socket.MSG_DONTWAIT)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, (0).to_bytes(8, "little") + (200000).to_bytes(8, "little"))
    t = time.monotonic()
    rec(C, "SO_RCVTIMEO-recv", s.recv, 100)
    took = time.monotonic() - t
    note(C, "waited-about-0.2s", 0.15 < took < 1.5)
    gate.set()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, bytes(16))
    rec(C, "response", read_response, s)
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_dup_fds():
    # a request written on a dup()ed fd with write(), read with read() on
    # the original; a second one on a dup2() copy after the original closed
    addr, join = serve(lambda c: (http_echo(c, 2), SERVER.append(["eof", show(read_eof(c))])))
    s = connect(addr)
    d = os.dup(s.fileno())
    rec(CLIENT, "write-on-dup", os.write, d, GET)
    want = len(ok(b"0" * 16))
    got = b""
    while len(got) < want:
        b = os.read(s.fileno(), want - len(got))
        if not b:
            break
        got += b
    note(CLIENT, "read-on-original", got)
    fd2 = os.dup2(d, 100)
    os.close(d)
    s.close()
    rec(CLIENT, "write-on-dup2", os.write, fd2, b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while len(got) < want:
        b = os.read(fd2, want - len(got))
        if not b:
            break
        got += b
    note(CLIENT, "read-on-dup2", got)
    socket.socket(fileno=fd2).shutdown(socket.SHUT_WR)
    join()


@case
def c_ipv6_loopback():
    lsock = socket.socket(socket.AF_INET6)
    lsock.bind(("::1", 0))
    lsock.listen(1)

    def run():
        c, _ = lsock.accept()
        with c:
            http_echo(c)
            SERVER.append(["eof", show(read_eof(c))])

    t = threading.Thread(target=run, daemon=True)
    t.start()
    s = socket.create_connection(("::1", lsock.getsockname()[1]))
    rec(CLIENT, "send", s.sendall, GET)
    rec(CLIENT, "response", read_response, s)
    s.shutdown(socket.SHUT_WR)
    rec(CLIENT, "eof", s.recv, 10)
    t.join(WAIT)


# -- half-close ---------------------------------------------------------------

def _half_close(request, reply):
    def srv(c):
        data = read_eof(c)
        SERVER.append(["got-until-eof", show(data)])
        c.sendall(reply)
        c.shutdown(socket.SHUT_WR)
        SERVER.append(["after", show(c.recv(10))])

    addr, join = serve(srv)
    s = connect(addr)
    s.sendall(request)
    rec(CLIENT, "shutdown-wr", s.shutdown, socket.SHUT_WR)
    rec(CLIENT, "send-after-shutdown", s.send, b"x")
    rec(CLIENT, "reply-until-eof", read_eof, s)
    rec(CLIENT, "recv-after-eof", s.recv, 10)
    s.close()
    join()


@case
def c_half_close_http():
    _half_close(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", ok(b"done"))


@case
def c_half_close_http_no_length():
    # a body delimited by the half-close alone (legal for the server to read)
    _half_close(b"POST /x HTTP/1.0\r\nHost: x\r\n\r\nbody until FIN", b"HTTP/1.0 200 OK\r\n\r\nclose-delimited")


@case
def c_half_close_binary():
    _half_close(blob(100000), blob(3000, seed=3))


# -- many iovecs ----------------------------------------------------------------

@case
def c_sendmsg_iovecs():
    addr, join = serve(lambda c: (http_echo(c, 2), SERVER.append(["eof", show(read_eof(c))])))
    s = connect(addr)
    body = blob(1 << 20)
    req = b"POST /iov HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    # 1024 iovecs (IOV_MAX), cut at odd places, the head spread over many
    cuts = sorted(set([0, len(req)] + [1 + i * 3 for i in range(40)] + random.Random(1).sample(range(200, len(req)), 982)))
    iov = [req[a:b] for a, b in zip(cuts, cuts[1:])]
    note(CLIENT, "iovecs", len(iov))
    n = rec(CLIENT, "sendmsg", s.sendmsg, iov)
    s.sendall(req[n:])  # a short count is legal; the rest follows
    bufs = [bytearray(5) for _ in range(64)]
    got = b""
    want = len(ok(b"0" * 16))
    while len(got) < want:
        n = s.recvmsg_into(bufs)[0]
        if not n:
            break
        got += b"".join(bytes(b) for b in bufs)[:n]
    note(CLIENT, "recvmsg_into", got)
    # the same again with writev and a zero-length iovec in the head
    req2 = b"PUT /w HTTP/1.1\r\n" + b"Host: x\r\nContent-Length: 5\r\n\r\nhello"
    rec(CLIENT, "writev", os.writev, s.fileno(), [req2[:4], b"", req2[4:30], req2[30:]])
    rec(CLIENT, "readv-response", read_response, s)
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_writev_big():
    addr, join = serve(lambda c: (http_echo(c), SERVER.append(["eof", show(read_eof(c))])))
    s = connect(addr)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
    n = rec(CLIENT, "writev", os.writev, s.fileno(), [head, b"z" * 2000000])
    s.sendall((head + b"z" * 2000000)[n:])
    rec(CLIENT, "response", read_response, s)
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_writev_big_binary():
    def srv(c):
        SERVER.append(["got", show(read_eof(c))])
        c.sendall(b"bye")

    addr, join = serve(srv)
    s = connect(addr)
    iov = [b"\x16\x03\x01", blob(700000), b"", blob(300000, 2)]
    n = rec(CLIENT, "writev", os.writev, s.fileno(), iov)
    s.sendall(b"".join(iov)[n:])
    s.shutdown(socket.SHUT_WR)
    rec(CLIENT, "reply", read_eof, s)
    join()


# -- sendfile -------------------------------------------------------------------

@case
def c_sendfile():
    data = blob(3 << 20, seed=9)
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        addr, join = serve(lambda c: (http_echo(c, 2), SERVER.append(["eof", show(read_eof(c))])))
        s = connect(addr)
        s.sendall(b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(data))
        rec(CLIENT, "os.sendfile-64KiB", os.sendfile, s.fileno(), f.fileno(), 0, 65536)
        f.seek(65536)
        rec(CLIENT, "socket.sendfile-rest", s.sendfile, f, 65536)
        rec(CLIENT, "response", read_response, s)
        # a whole request (head and body) out of a file
        req = b"POST /g HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
        f.seek(0)
        f.truncate()
        f.write(req)
        f.flush()
        rec(CLIENT, "os.sendfile-request", os.sendfile, s.fileno(), f.fileno(), 0, len(req))
        rec(CLIENT, "response2", read_response, s)
        s.shutdown(socket.SHUT_WR)
        join()


# -- HTTP/1.1 framing ------------------------------------------------------------

def _pipeline(n):
    def srv(c):
        for i in range(n):
            head = read_head(c)
            if not head:
                SERVER.append(["early-eof-at", i])
                return
            c.sendall(ok(b"r%d" % i))
        SERVER.append(["served", n])
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    reqs = b"".join(b"GET /p/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(n))
    rec(CLIENT, "sendall", s.sendall, reqs)
    bodies = []
    for _ in range(n):
        r = read_response(s)
        if not r:
            break
        bodies.append(r.rsplit(b"\r\n", 1)[-1].decode())
    note(CLIENT, "responses", len(bodies))
    note(CLIENT, "in-order", bodies == ["r%d" % i for i in range(n)])
    s.shutdown(socket.SHUT_WR)
    rec(CLIENT, "eof", s.recv, 10)
    join()


def _partial_head(tls):
    # the request line is written alone and the client waits for the peer
    # to have read it (an interactive or slow client may): bytes a blocking
    # send() counted as sent must reach the peer without more being written
    def srv(c):
        c.settimeout(2)
        try:
            SERVER.append(["line", show(_read_line(c))])
            c.sendall(b"100 line seen\r\n")
            http_echo(c)
        except OSError as e:
            SERVER.append(["raised", exc(e)])

    addr, join = serve(srv, tls=tls)
    s = connect(addr, tls=tls)
    rec(CLIENT, "send-line", s.send, b"GET /slow HTTP/1.1\r\n")
    rec(CLIENT, "ack", _read_line, s)
    rec(CLIENT, "send-rest", s.sendall, b"Host: x\r\n\r\n")
    rec(CLIENT, "response", read_response, s)
    s.close()
    join()


@case
def c_partial_head_delivered():
    _partial_head(False)


@case
def c_partial_head_delivered_tls():
    _partial_head(True)


@case
def c_head_then_get_pipelined():
    # a HEAD's response has a Content-Length but no body
    def srv(c):
        for _ in range(2):
            SERVER.append(["head", show(read_head(c))])
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + ok(b"two"))
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
    rec(CLIENT, "head-response", read_head, s)
    rec(CLIENT, "get-response", read_response, s)
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_two_responses_one_segment():
    # two pipelined responses in one segment, read by a non-blocking client
    # that waits with select(): nothing may stay inside hfshim unannounced
    def srv(c):
        read_head(c)
        read_head(c)
        c.sendall(ok(b"one") + ok(b"two"))
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    s.setblocking(False)
    s.send(GET + GET)
    got, want = b"", len(ok(b"one") + ok(b"two"))
    while len(got) < want:
        if not select.select([s], [], [], 3)[0]:
            note(CLIENT, "select-timed-out-with", got)
            break
        got += s.recv(65536)
    note(CLIENT, "got", got)
    s.shutdown(socket.SHUT_WR)
    join()


WS_FRAME = b"\x81\x93abcdPOST / HTTP/1.1\r\n\r\n"


@case
def c_websocket_upgrade():
    def srv(c):
        SERVER.append(["head", show(read_head(c))])
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello")
        SERVER.append(["frame", show(read_exact(c, len(WS_FRAME)))])
        c.sendall(GET)
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    rec(CLIENT, "101", read_head, s)
    rec(CLIENT, "frame", read_exact, s, 7)
    # frames that look like HTTP both ways
    rec(CLIENT, "send", s.sendall, WS_FRAME)
    rec(CLIENT, "server-bytes", read_exact, s, len(GET))
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_connect_tunnel_tls():
    # an HTTPS proxy: CONNECT on a watched connection, then TLS inside it
    taddr, tjoin = serve(lambda c: (http_echo(c), SERVER.append(["tls-eof", show(read_eof(c))])), tls=True)

    def pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def proxy(c):
        SERVER.append(["proxy", show(read_head(c))])
        u = socket.create_connection(taddr)
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        th = threading.Thread(target=pump, args=(u, c))
        th.start()
        pump(c, u)
        th.join(WAIT)
        u.close()

    paddr, pjoin = serve(proxy)
    s = connect(paddr)
    s.sendall(b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n")
    rec(CLIENT, "connect", read_head, s)
    ts = cctx().wrap_socket(s, server_hostname="localhost")
    ts.sendall(GET)
    rec(CLIENT, "tls-response", read_response, ts)
    rec(CLIENT, "unwrap", lambda: ts.unwrap().shutdown(socket.SHUT_WR))
    pjoin()
    tjoin()


BIG_HEAD = b"GET / HTTP/1.1\r\nHost: x\r\nCookie: " + b"a" * 200000 + b"\r\n\r\n"


@case
def c_big_head():
    # a 200 KB Cookie header: longer than any head buffer
    def srv(c):
        head = read_exact(c, len(BIG_HEAD))  # known length: no byte-wise reads
        SERVER.append(["big", show(head)])
        c.sendall(ok(b"big"))
        http_echo(c)
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    rec(CLIENT, "send", s.sendall, BIG_HEAD)
    rec(CLIENT, "response", read_response, s)
    rec(CLIENT, "send2", s.sendall, GET)
    rec(CLIENT, "response2", read_response, s)
    s.shutdown(socket.SHUT_WR)
    join()


def _short_first_write(tls):
    # a client-first protocol whose first message has no line end and only
    # token characters (it could still start an HTTP method): the peer
    # answers it, so it must go out when send() says it went
    def srv(c):
        c.settimeout(2)
        try:
            SERVER.append(["got", show(c.recv(100))])
            c.sendall(b"+OK")
            SERVER.append(["then", show(read_exact(c, 4))])
        except OSError as e:
            SERVER.append(["raised", exc(e)])

    addr, join = serve(srv, tls=tls)
    s = connect(addr, tls=tls)
    rec(CLIENT, "send", s.send, b"hello")
    rec(CLIENT, "reply", s.recv, 10)
    rec(CLIENT, "send2", s.sendall, b"\x00bye")
    s.close()
    join()


@case
def c_short_first_write():
    _short_first_write(False)


@case
def c_short_first_write_tls():
    _short_first_write(True)


@case
def c_odd_request_forms():
    # legal request shapes: an extra CRLF after a body (old clients), the
    # absolute form a proxy gets, OPTIONS *, a lowercase (unknown) method
    reqs = [b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\r\n",
            b"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", b"get /lower HTTP/1.1\r\nHost: x\r\n\r\n"]

    def srv(c):
        for i in range(len(reqs)):
            line = _read_line(c)
            while line == b"\r\n":  # RFC 9112 2.2: empty lines before a request line are ignored
                line = _read_line(c)
            head = line + read_head(c)
            SERVER.append(["request", show(head), show(read_exact(c, content_length(head)))])
            c.sendall(ok(b"r%d" % i))
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    for r in reqs:
        s.sendall(r)
        rec(CLIENT, "response", read_response, s)
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_pipeline_3():
    _pipeline(3)


@case
def c_pipeline_65():
    _pipeline(65)


@case
def c_pipeline_200():
    _pipeline(200)


@case
def c_pipeline_bodies():
    # POSTs with bodies and a GET, in one write, cut mid-head and mid-body
    reqs = b"".join(b"POST /b/%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (i, i * 100) + blob(i * 100, i)
                    for i in range(1, 8)) + GET
    addr, join = serve(lambda c: (http_echo(c, 8), SERVER.append(["eof", show(read_eof(c))])))
    s = connect(addr)
    for a in range(0, len(reqs), 333):
        s.sendall(reqs[a:a + 333])
    for i in range(8):
        rec(CLIENT, "response%d" % i, read_response, s)
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_expect_100():
    def srv(c):
        head = read_head(c)
        SERVER.append(["head", show(head)])
        c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = read_exact(c, content_length(head))
        SERVER.append(["body", show(body)])
        c.sendall(ok(b"stored"))
        # second request: the server refuses before the body
        head = read_head(c)
        SERVER.append(["head2", show(head)])
        c.sendall(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    rec(CLIENT, "send-head", s.sendall, b"PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
    rec(CLIENT, "interim", read_head, s)
    rec(CLIENT, "send-body", s.sendall, b"0123456789")
    rec(CLIENT, "final", read_response, s)
    rec(CLIENT, "send-head2", s.sendall, b"PUT /e2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99\r\n\r\n")
    rec(CLIENT, "refused", read_response, s)
    s.shutdown(socket.SHUT_WR)
    rec(CLIENT, "eof", s.recv, 10)
    join()


def _read_line(c):
    line = b""
    while not line.endswith(b"\r\n"):
        d = c.recv(1)
        if not d:
            break
        line += d
    return line


def _read_chunked(c):
    body = b""
    while True:
        size = int(_read_line(c).split(b";")[0], 16)
        if size == 0:
            trailer = b""
            while True:
                line = _read_line(c)
                trailer += line
                if line in (b"\r\n", b""):
                    return body, trailer
        body += read_exact(c, size)
        read_exact(c, 2)


@case
def c_chunked_upload():
    def srv(c):
        for _ in range(2):
            head = read_head(c)
            body, trailer = _read_chunked(c)
            SERVER.append(["upload", show(head), show(body), show(trailer)])
            c.sendall(ok(hashlib.sha256(body).hexdigest()[:16].encode()))
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    conn = http.client.HTTPConnection(*addr, timeout=WAIT)
    conn.request("POST", "/up", body=iter([b"a" * 10, blob(70000), b"", b"end"]),
                 headers={"Host": "x", "Transfer-Encoding": "chunked"}, encode_chunked=True)
    r = conn.getresponse()
    note(CLIENT, "http.client", [r.status, r.read()])
    # by hand: extensions, a trailer, everything cut into odd pieces
    raw = (b"POST /up2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
           b"5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 42\r\n\r\n")
    s = conn.sock
    for i in range(0, len(raw), 7):
        s.sendall(raw[i:i + 7])
    rec(CLIENT, "by-hand", read_response, s)
    s.shutdown(socket.SHUT_WR)
    join()


CHUNKED_RESPONSE = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
                    b"5;name=value\r\nhello\r\n" + b"%x\r\n" % 70000 + blob(70000, 41) + b"\r\n"
                    b"1\r\n\n\r\n" b"0\r\nX-T: done\r\n\r\n")


def _chunked_response(tls):
    # chunked responses (extensions, a trailer, a chunk that is a bare LF)
    # cut at odd places, pipelined with a Content-Length one
    def srv(c):
        read_head(c)
        read_head(c)
        data = CHUNKED_RESPONSE + ok(b"after") + CHUNKED_RESPONSE[:40]
        for i in range(0, len(data), 997):
            c.sendall(data[i:i + 997])
        read_head(c)
        c.sendall(CHUNKED_RESPONSE[40:])
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv, tls=tls)
    s = connect(addr, tls=tls)
    s.sendall(GET + GET)
    rec(CLIENT, "chunked", read_exact, s, len(CHUNKED_RESPONSE))
    rec(CLIENT, "after", read_response, s)
    s.sendall(GET)
    rec(CLIENT, "chunked-again", read_exact, s, len(CHUNKED_RESPONSE))
    if tls:
        s = socket.socket(fileno=s.detach())
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_chunked_response():
    _chunked_response(False)


@case
def c_chunked_response_tls():
    _chunked_response(True)


@case
def c_slow_responses_waited_for():
    # three clients wait 1.2 s for their responses (blocking plain, blocking
    # TLS, non-blocking with poll): a wait, not a spin (the test checks CPU)
    go = threading.Event()
    results = {}

    def srv(c):
        head = read_head(c)
        go.wait(WAIT)
        c.sendall(ok(head.split(b" ")[1]))

    def client(name, tls, nonblock):
        addr, join = serve(srv, tls=tls)
        s = connect(addr, tls=tls)
        s.sendall(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % name.encode())
        if nonblock:
            s.setblocking(False)
            p = select.poll()
            p.register(s, select.POLLIN)
            p.poll(WAIT * 1000)
            s.setblocking(True)
        results[name] = read_response(s)
        s.close()
        join()

    ts = [threading.Thread(target=client, args=a) for a in (("plain", False, False), ("tls", True, False),
                                                             ("poll", False, True))]
    for t in ts:
        t.start()
    time.sleep(1.2)
    go.set()
    for t in ts:
        t.join(WAIT)
    note(CLIENT, "responses", [results.get(k) for k in ("plain", "tls", "poll")])


@case
def c_http10_no_length():
    body = blob(300000, 4)

    def srv(c):
        SERVER.append(["head", show(read_head(c))])
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
        for i in range(0, len(body), 50000):
            c.sendall(body[i:i + 50000])

    addr, join = serve(srv, n=2)
    s = connect(addr)
    s.sendall(b"GET /old HTTP/1.0\r\n\r\n")
    rec(CLIENT, "until-eof", read_eof, s)
    s.close()
    conn = http.client.HTTPConnection(*addr, timeout=WAIT)
    conn.request("GET", "/old2", headers={"Host": "x"})
    r = conn.getresponse()
    note(CLIENT, "http.client", [r.status, r.version, r.read()])
    join()


@case
def c_http11_close_delimited():
    def srv(c):
        SERVER.append(["head", show(read_head(c))])
        c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + blob(100000, 5))
        c.shutdown(socket.SHUT_WR)
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    s.sendall(GET)
    rec(CLIENT, "until-eof", read_eof, s)
    s.shutdown(socket.SHUT_WR)
    join()


# -- other protocols on a watched connection ------------------------------------

def _smtp(tls):
    def srv(c):
        f = c.makefile("rb")
        c.sendall(b"220 mail.test ESMTP\r\n")
        for reply in (b"250 hello\r\n", b"354 go ahead\r\n"):
            SERVER.append(["line", show(f.readline())])
            c.sendall(reply)
        data = b""
        while not data.endswith(b"\r\n.\r\n"):
            data += f.readline()
        SERVER.append(["data", show(data)])
        c.sendall(b"250 queued\r\n")
        SERVER.append(["line", show(f.readline())])
        c.sendall(b"221 bye\r\n")

    addr, join = serve(srv, tls=tls)
    s = connect(addr, tls=tls)
    f = s.makefile("rb")
    rec(CLIENT, "banner", f.readline)
    for line in (b"EHLO client\r\n", b"DATA\r\n"):
        s.sendall(line)
        rec(CLIENT, line.decode().strip(), f.readline)
    # a body that contains what looks like HTTP, sent in pieces
    s.sendall(b"GET / HTTP/1.1\r\nHost: evil\r\n")
    s.sendall(b"Authorization: Bearer hf_" + b"A" * 34 + b"\r\n\r\n.\r\n")
    rec(CLIENT, "queued", f.readline)
    s.sendall(b"QUIT\r\n")
    rec(CLIENT, "bye", f.readline)
    rec(CLIENT, "eof", f.read)
    join()


@case
def c_line_protocol_tcp():
    _smtp(False)


@case
def c_line_protocol_tls():
    _smtp(True)


@case
def c_line_protocol_client_first():
    # redis-like: the client speaks first, with a non-HTTP line
    def srv(c):
        for _ in range(3):
            d = c.recv(100)
            SERVER.append(["cmd", show(d)])
            c.sendall(b"+PONG\r\n" if b"PING" in d else b"$2\r\nok\r\n")
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv)
    s = connect(addr)
    for cmd in (b"*1\r\n$4\r\nPING\r\n", b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", b"PING\r\n"):
        s.sendall(cmd)
        rec(CLIENT, "reply", s.recv, 100)
    s.shutdown(socket.SHUT_WR)
    join()


BIN_FRAMES = [b"", b"\x00", b"GET / HTTP/1.1\r\n\r\n", b"\r\n\r\n" * 10, blob(70000, 11), blob(1 << 20, 12), b"\xff" * 3]


def _binary(tls):
    def srv(c):
        for _ in BIN_FRAMES:
            h = read_exact(c, 4)
            body = read_exact(c, int.from_bytes(h, "big"))
            SERVER.append(["frame", show(body)])
            c.sendall(h + body[::-1])
        if tls:
            SERVER.append(["unwrap", show(read_eof(c.unwrap()))])
        else:
            SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv, tls=tls)
    s = connect(addr, tls=tls)
    for fr in BIN_FRAMES:
        s.sendall(len(fr).to_bytes(4, "big") + fr)
        h = read_exact(s, 4)
        rec(CLIENT, "echo", read_exact, s, int.from_bytes(h, "big"))
    if tls:
        s = rec(CLIENT, "unwrap", s.unwrap)
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_binary_protocol_tcp():
    _binary(False)


@case
def c_binary_protocol_tls():
    _binary(True)


# -- TLS endings and a corrupted record --------------------------------------------

@case
def c_tls_close_notify():
    def srv(c):
        http_echo(c)
        raw = c.unwrap()  # sends close_notify, waits for the client's
        SERVER.append(["unwrapped", True])
        SERVER.append(["raw-eof", show(read_eof(raw))])

    addr, join = serve(srv, tls=True)
    s = connect(addr, tls=True)
    s.sendall(GET)
    rec(CLIENT, "response", read_response, s)
    rec(CLIENT, "recv-close-notify", s.recv, 100)
    rec(CLIENT, "recv-again", s.recv, 100)
    raw = rec(CLIENT, "unwrap", s.unwrap)
    raw.close()
    join()


@case
def c_tls_abrupt_close():
    def srv(c):
        http_echo(c)
        c.sendall(b"trailing bytes")
        # no close_notify: the TCP connection just ends
        socket.socket(fileno=c.detach()).close()

    addr, join = serve(srv, tls=True)
    s = connect(addr, tls=True, ragged_ok=False)
    s.sendall(GET)
    rec(CLIENT, "response", read_response, s)
    rec(CLIENT, "trailing", read_exact, s, 14)
    rec(CLIENT, "recv-abrupt", s.recv, 100)
    rec(CLIENT, "recv-again", s.recv, 100)
    join()


@case
def c_tls_corrupt_record():
    def srv(c):  # plain socket: TLS by hand through memory BIOs
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        o = sctx().wrap_bio(inc, out, server_side=True)

        def pump(fn, *a):
            while True:
                try:
                    r = fn(*a)
                    if out.pending:
                        c.sendall(out.read())
                    return r
                except ssl.SSLWantReadError:
                    if out.pending:
                        c.sendall(out.read())
                    d = c.recv(65536)
                    if not d:
                        raise EOFError
                    inc.write(d)

        pump(o.do_handshake)
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += pump(o.read, 65536)
        SERVER.append(["head", show(head)])
        o.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        record = bytearray(out.read())
        record[-3] ^= 0x40  # inside the authentication tag
        c.sendall(bytes(record))
        try:
            read_eof(c)
            SERVER.append(["then", "eof"])
        except OSError as e:
            SERVER.append(["then", exc(e)])

    addr, join = serve(srv)
    s = connect(addr, tls=True)
    s.sendall(GET)
    rec(CLIENT, "recv-corrupt", s.recv, 100)
    rec(CLIENT, "recv-again", s.recv, 100)
    s.close()
    join()


# -- asyncio TLS ---------------------------------------------------------------------

@case
def c_asyncio_start_tls():
    async def main():
        done = asyncio.Event()

        async def handle(r, w):
            line = await r.readline()
            SERVER.append(["plain", show(line)])
            w.write(b"OK go ahead\r\n")
            await w.drain()
            await w.start_tls(sctx())
            head = await r.readuntil(b"\r\n\r\n")
            SERVER.append(["tls-head", show(head)])
            body = await r.readexactly(content_length(head))
            SERVER.append(["tls-body", show(body)])
            w.write(ok(blob(100000, 21)))
            await w.drain()
            rest = await r.read()
            SERVER.append(["eof", show(rest)])
            w.close()
            done.set()

        srv = await asyncio.start_server(handle, HOST, 0)
        port = srv.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection(HOST, port)
        w.write(b"STARTTLS\r\n")
        await w.drain()
        note(CLIENT, "plain-reply", await r.readline())
        await w.start_tls(cctx(), server_hostname="localhost")
        w.write(b"POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n")
        w.write(b"abc")
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        note(CLIENT, "head", head)
        note(CLIENT, "body", await r.readexactly(content_length(head)))
        w.write_eof() if w.can_write_eof() else None
        w.close()
        await asyncio.wait_for(done.wait(), WAIT)
        srv.close()
        await srv.wait_closed()

    asyncio.run(asyncio.wait_for(main(), WAIT))


@case
def c_asyncio_tls_small_reads():
    # a TLS server in asyncio answering byte-exact lengths the client awaits
    async def main():
        async def handle(r, w):
            for i in range(5):
                head = await r.readuntil(b"\r\n\r\n")
                SERVER.append(["head", show(head)])
                w.write(ok(b"x" * i))
                await w.drain()
            w.close()

        srv = await asyncio.start_server(handle, HOST, 0, ssl=sctx())
        port = srv.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection(HOST, port, ssl=cctx(), server_hostname="localhost")
        for i in range(5):
            w.write(b"GET /s/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            await w.drain()
            head = await r.readuntil(b"\r\n\r\n")
            note(CLIENT, "response", head + await r.readexactly(content_length(head)))
        note(CLIENT, "eof", await r.read())
        w.close()
        srv.close()
        await srv.wait_closed()

    asyncio.run(asyncio.wait_for(main(), WAIT))


@case
def c_asyncio_tls_short_write():
    # an asyncio TLS client (memory-BIO session) whose message has no line
    # end, answered by a plain threaded TLS server
    def srv(c):
        c.settimeout(2)
        try:
            SERVER.append(["got", show(c.recv(100))])
            c.sendall(b"+OK")
            SERVER.append(["eof", show(read_eof(c))])
        except OSError as e:
            SERVER.append(["raised", exc(e)])

    addr, join = serve(srv, tls=True)

    async def main():
        r, w = await asyncio.open_connection(*addr, ssl=cctx(), server_hostname="localhost")
        w.write(b"hello")
        await w.drain()
        try:
            note(CLIENT, "reply", await asyncio.wait_for(r.read(10), 3))
        except asyncio.TimeoutError as e:
            note(CLIENT, "reply", exc(e))
        w.close()

    asyncio.run(main())
    join()


# -- threads, fork, signals -------------------------------------------------------------

@case
def c_threads_32():
    def handler(c):
        http_echo(c, 2)

    lsock = socket.socket()
    lsock.bind((HOST, 0))
    lsock.listen(64)
    addr = lsock.getsockname()

    def acceptor():
        for _ in range(32):
            c, _ = lsock.accept()
            c.settimeout(WAIT)
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    threading.Thread(target=acceptor, daemon=True).start()
    barrier = threading.Barrier(32)
    results = [None] * 32

    def client(i):
        conn = http.client.HTTPConnection(*addr, timeout=WAIT)
        barrier.wait(WAIT)
        out = []
        try:
            for j in range(2):
                conn.request("POST", "/t/%d/%d" % (i, j), body=blob(1000 * i, i), headers={"Host": "x"})
                r = conn.getresponse()
                out.append([r.status, r.read().decode()])
        except Exception as e:  # noqa: BLE001
            out.append(exc(e))
        results[i] = out
        conn.close()

    ts = [threading.Thread(target=client, args=(i,)) for i in range(32)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(WAIT)
    note(CLIENT, "results", results)
    SERVER[:] = [["requests", len(SERVER)]]  # arrival order is the scheduler's


@case
def c_fork_open_connection():
    addr, join = serve(lambda c: (http_echo(c, 3), SERVER.append(["eof", show(read_eof(c))])))
    s = connect(addr)
    s.sendall(GET)
    rec(CLIENT, "parent-1", read_response, s)
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            s.sendall(b"GET /child HTTP/1.1\r\nHost: x\r\n\r\n")
            os.write(wr, json.dumps(show(read_response(s))).encode())
        finally:
            os._exit(7)
    os.close(wr)
    _, status = os.waitpid(pid, 0)
    note(CLIENT, "child-exit", os.waitstatus_to_exitcode(status))
    note(CLIENT, "child-got", json.loads(os.read(rd, 1000) or b"null"))
    s.sendall(b"GET /parent HTTP/1.1\r\nHost: x\r\n\r\n")
    rec(CLIENT, "parent-2", read_response, s)
    s.shutdown(socket.SHUT_WR)
    rec(CLIENT, "eof", s.recv, 10)
    join()


@case
def c_fork_tls_connection():
    addr, join = serve(lambda c: (http_echo(c, 2), SERVER.append(["eof", show(read_eof(c))])), tls=True)
    s = connect(addr, tls=True)
    s.sendall(GET)
    rec(CLIENT, "parent", read_response, s)
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            s.sendall(b"GET /child HTTP/1.1\r\nHost: x\r\n\r\n")
            os.write(wr, json.dumps(show(read_response(s))).encode())
        finally:
            os._exit(5)
    os.close(wr)
    _, status = os.waitpid(pid, 0)
    note(CLIENT, "child-exit", os.waitstatus_to_exitcode(status))
    note(CLIENT, "child-got", json.loads(os.read(rd, 1000) or b"null"))
    socket.socket(fileno=s.detach()).close()
    join()


@case
def c_shutdown_wakes_reader():
    # a thread blocked in recv() on a watched request is woken by another
    # thread's shutdown(SHUT_RDWR): recv returns b"" (a common way to stop)
    got, release = [], threading.Event()

    def srv(c):
        SERVER.append(["head", show(read_head(c))])
        release.wait(WAIT)

    addr, join = serve(srv)
    s = connect(addr)
    s.sendall(GET)
    reader = threading.Thread(target=lambda: got.append(rec([], "recv", s.recv, 100)))
    reader.start()
    _wait_blocked(reader.native_id)
    rec(CLIENT, "shutdown", s.shutdown, socket.SHUT_RDWR)
    reader.join(WAIT)
    note(CLIENT, "reader-got", got)
    rec(CLIENT, "send-after", s.send, GET)
    release.set()
    s.close()
    join()


@case
def c_sigpipe_after_reset():
    # the peer resets the connection; a send then fails with EPIPE, and a
    # program that keeps SIGPIPE's default action dies of it
    read_it = threading.Event()

    def srv(c):
        http_echo(c)
        read_it.wait(WAIT)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, (1).to_bytes(4, "little") + (0).to_bytes(4, "little"))

    addr, join = serve(srv)
    s = connect(addr)
    s.sendall(GET)
    rec(CLIENT, "response", read_response, s)
    read_it.set()
    join()
    rec(CLIENT, "recv-after-reset", s.recv, 100)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        try:
            s.send(GET)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    note(CLIENT, "child-exit", os.waitstatus_to_exitcode(status))
    rec(CLIENT, "send-ignoring-SIGPIPE", s.send, GET)


BLOCKING_SYSCALLS = {0, 7, 23, 45, 47, 232, 270, 271, 281}  # x86_64: read poll select recvfrom recvmsg epoll*


def _wait_blocked(tid):
    """Waits until thread tid sits in a blocking I/O system call."""
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        try:
            with open("/proc/self/task/%d/syscall" % tid) as f:
                nr = f.read().split()[0]
            if nr.isdigit() and int(nr) in BLOCKING_SYSCALLS:
                time.sleep(0.05)
                return True
        except OSError:
            pass
        time.sleep(0.01)
    return False


def _eintr(tls, restart, via_ctypes):
    main_tid = threading.get_native_id()
    main_ident = threading.get_ident()
    replied = threading.Event()
    fired = []

    def handler(signum, frame):
        fired.append(signum)
        if not restart and not via_ctypes:
            raise InterruptedError("handler raised")

    signal.signal(signal.SIGUSR1, handler)
    signal.siginterrupt(signal.SIGUSR1, not restart)

    def srv(c):
        head = read_head(c)
        SERVER.append(["head", show(head)])
        SERVER.append(["client-blocked", _wait_blocked(main_tid)])
        signal.pthread_kill(main_ident, signal.SIGUSR1)
        replied.wait(0.5 if restart else WAIT)
        c.sendall(ok(b"late"))
        SERVER.append(["eof", show(read_eof(c))])

    addr, join = serve(srv, tls=tls)
    s = connect(addr, tls=tls)
    s.sendall(GET)
    if via_ctypes:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(200)
        n = libc.recv(s.fileno(), buf, 200, 0)
        note(CLIENT, "libc.recv", [n, errno.errorcode.get(ctypes.get_errno(), 0) if n < 0 else buf.raw[:n]])
    else:
        rec(CLIENT, "recv", s.recv, 200)
    replied.set()
    note(CLIENT, "handler-ran", fired == [signal.SIGUSR1])
    if not restart:
        rec(CLIENT, "response-after", read_response, s)
    if tls:
        s = socket.socket(fileno=s.detach())
    s.shutdown(socket.SHUT_WR)
    join()


@case
def c_eintr_recv_no_restart():
    _eintr(False, restart=False, via_ctypes=True)


@case
def c_eintr_recv_restart():
    _eintr(False, restart=True, via_ctypes=True)


@case
def c_eintr_python_handler_raises():
    _eintr(False, restart=False, via_ctypes=False)


@case
def c_eintr_tls_handler_raises():
    _eintr(True, restart=False, via_ctypes=False)


def main():
    if sys.argv[1:] == ["--list"]:
        print("\n".join(CASES))
        return
    CASES[sys.argv[1]]()
    print(json.dumps({"client": CLIENT, "server": SERVER}, sort_keys=True, indent=0))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
