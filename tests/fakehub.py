"""fakehub.py: a fake Hugging Face Hub for the tests, on 127.0.0.1 only.

It speaks HTTP/1.1 over raw sockets (plain, or TLS with a context the tests
make from their throwaway CA), keeps connections alive, understands
Content-Length and chunked request bodies and `Expect: 100-continue`, and
records every connection and every request byte-exact (request line, header
lines in their original order and casing, body) so tests assert on what
really crossed the wire, not on what the shim says it did.

Behaviour is chosen per server with `mode`:
  ok          answer like the Hub (see `Repo` and `_hub_answer`)
  hang        accept, read the request, never answer (a firewall that
              swallows packets; the client's own timeout must fire)
  close       accept and close at once
  status:NNN  answer every request with status NNN and a small JSON body

Besides the Hub's API, "ok" mode serves endpoints for transport tests:
  GET /bytes/<n>[?chunked=1]  n deterministic pseudo-random bytes (the same
              as `expected_bytes(n)`), with Content-Length, or chunked in
              uneven chunks; `Range: bytes=a-b` gives a 206 slice
  POST|PUT /echo  200 echoing the request body, with X-Body-Sha256 (hex)
              and X-Body-Length headers
  GET /headers  200, a JSON list of the request's [name, value] header
              lines as received, in order
  GET /git/<path>  the file <path> under FakeHub(git_root=DIR), with
              Content-Length (dumb-HTTP git: `git clone URL/git/repo.git`
              works against a bare repo made by `make_git_repo`); `..`,
              absolute paths and symlinks leading out of DIR give 404

Token-dependent answers, like the Hub's (research/hf-protocol.md section 4;
see `_hub_answer`): `hub.valid_tokens` (a stale token gets 401 "Invalid
credentials in Authorization header" on every Hub route, public repos
included), private and gated repos (`TOKEN_REPOS`, `hub.grants`), 404
RevisionNotFound for an unknown revision, whoami-v2, and Inference-router-
like routes (`hub.inference_tokens`). Every answer, errors included, keeps
the connection alive unless the request said `Connection: close`.

Each Connection and Request records `tls` (bool), `alpn` (the negotiated
ALPN protocol or None) and `tls_version` ("TLSv1.3", or None); a failed
TLS handshake is kept as Connection.tls_error. `stop()` is idempotent,
closes every socket and returns within about a second.

Run as a program for manual use: `python3 tests/fakehub.py [--mode M]
[--port P] [--git-root DIR] [--tls-dir DIR]` prints `READY <port>` and
serves until killed.
"""

import functools
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

from acceptloop import AcceptLoop

HUB_REPO = "acme/tiny-model"
HUB_SHA = "0123456789abcdef0123456789abcdef01234567"


class Repo:
    """One repository the fake Hub serves: files at one commit. faithful:
    its ids are the Hub's (research/hf-protocol.md §1, §6): a regular
    file's ETag and tree oid are its git blob id; the files in lfs are LFS
    files (ETag/oid: the git id of the LFS pointer, X-Linked-Etag and
    lfs.oid: the content's sha256, X-Linked-Size). Not faithful (the
    default repo, which older tests rely on): ETag is the sha256."""

    def __init__(self, repo_id, sha, files, kind="model", lfs=(), faithful=False, private=False, gated=False,
                 refs=()):
        self.repo_id, self.sha, self.files, self.kind = repo_id, sha, dict(files), kind
        self.lfs, self.faithful = set(lfs), faithful or bool(lfs)
        # private: served only to a valid token (FakeHub.grants may narrow
        # it); gated: repo info for anyone, files only to a granted token;
        # refs: branch/tag names besides "main" (and "HEAD", the commit)
        self.private, self.gated, self.refs = private, gated, set(refs)

    def has_revision(self, rev):
        """Whether rev names this repo's commit: main, HEAD, a ref, the sha."""
        return rev in ("main", "HEAD", self.sha) or rev in self.refs

    def etag(self, path):
        if self.faithful:
            return self.item(path)["oid"]
        return hashlib.sha256(self.files[path]).hexdigest()

    def item(self, path):
        """The Hub's tree / paths-info entry of a file."""
        data = self.files[path]
        if path in self.lfs:
            h = hashlib.sha256(data).hexdigest()
            ptr = b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (h.encode(), len(data))
            return {"type": "file", "oid": _git_blob_id(ptr), "size": len(data), "path": path,
                    "lfs": {"oid": h, "size": len(data), "pointerSize": len(ptr)}}
        return {"type": "file", "oid": _git_blob_id(data), "size": len(data), "path": path}

    def tree(self, prefix, recursive):
        """The Hub's tree listing under the folder prefix ("" for the top)."""
        pre = prefix.strip("/") + "/" if prefix.strip("/") else ""
        out, dirs = [], set()
        for path in sorted(self.files):
            if not path.startswith(pre):
                continue
            parts = path[len(pre):].split("/")
            for i in range(1, len(parts) if recursive else min(2, len(parts))):
                d = pre + "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    out.append({"type": "directory", "oid": _git_blob_id(d.encode()), "size": 0, "path": d})
            if recursive or len(parts) == 1:
                out.append(self.item(path))
        return out


def _git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


DEFAULT_REPOS = [Repo(HUB_REPO, HUB_SHA, {"config.json": b'{"model_type": "bert"}\n', "README.md": b"# tiny\n"})]

# A private and a gated repo (research/hf-protocol.md section 4), for token
# tests: FakeHub(repos=TOKEN_REPOS) serves them next to the default repo.
PRIVATE_REPO = "acme/private-model"
PRIVATE_SHA = "1111111111111111111111111111111111111111"
GATED_REPO = "acme/gated-model"
GATED_SHA = "2222222222222222222222222222222222222222"
TOKEN_REPOS = DEFAULT_REPOS + [
    Repo(PRIVATE_REPO, PRIVATE_SHA, {"config.json": b'{"model_type": "private"}\n'}, private=True),
    Repo(GATED_REPO, GATED_SHA, {"config.json": b'{"model_type": "gated"}\n', "README.md": b"# gated\n"},
         gated=True),
]

_BLOCK = 1 << 20


@functools.lru_cache(maxsize=64)
def _block(i):
    return hashlib.shake_256(b"fakehub-bytes/%d" % i).digest(_BLOCK)


def _byte_stream(start, end):
    """Yields bytes [start, end) of the endless deterministic stream."""
    pos = start
    while pos < end:
        i, off = divmod(pos, _BLOCK)
        piece = _block(i)[off:off + min(_BLOCK - off, end - pos)]
        pos += len(piece)
        yield piece


def expected_bytes(n, start=0):
    """The bytes GET /bytes/<n> answers with (bytes [start, n) of them)."""
    return b"".join(_byte_stream(start, n))


# uneven chunk sizes for /bytes/<n>?chunked=1, used in turn
_CHUNK_SIZES = (1, 7, 100, 4093, 3, 16389, 65535, 2, 777, 131072, 12, 32768 + 5)


def _uneven_chunks(stream):
    buf, k = bytearray(), 0
    for piece in stream:
        buf += piece
        while len(buf) >= _CHUNK_SIZES[k % len(_CHUNK_SIZES)]:
            size = _CHUNK_SIZES[k % len(_CHUNK_SIZES)]
            yield bytes(buf[:size])
            del buf[:size]
            k += 1
    if buf:
        yield bytes(buf)


class Request:
    """One HTTP request as received."""

    def __init__(self, conn_id, method, target, version, header_lines, body, raw_head):
        self.conn_id = conn_id
        self.method, self.target, self.version = method, target, version
        self.header_lines = header_lines  # [(name, value)] as sent
        self.body = body
        self.raw_head = raw_head  # bytes up to and including the blank line
        self.path, _, self.query = target.partition("?")
        self.tls, self.alpn, self.tls_version = False, None, None  # copied from the Connection

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def params(self):
        """The query string as a dict (last value wins)."""
        return dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))

    def header(self, name, default=None):
        for k, v in self.header_lines:
            if k.lower() == name.lower():
                return v
        return default

    def headers_named(self, name):
        return [v for k, v in self.header_lines if k.lower() == name.lower()]

    def __repr__(self):
        return f"<Request {self.method} {self.target} conn={self.conn_id}>"


class Connection:
    """One accepted connection and everything read from it."""

    def __init__(self, conn_id, peer):
        self.id, self.peer = conn_id, peer
        self.received = bytearray()
        self.opened = time.monotonic()
        self.tls = False  # a TLS handshake completed
        self.alpn = None  # the ALPN protocol chosen ("http/1.1"), None if none
        self.tls_version = None  # "TLSv1.3" ...
        self.tls_error = None  # why the handshake failed, if it did

    def __repr__(self):
        return f"<Connection {self.id} {self.peer} tls={self.tls} alpn={self.alpn} {len(self.received)}B>"


class FakeHub:
    # None: any Authorization is accepted (a public repo's answers do not
    # depend on it). A set of tokens: like the real Hub, a request to the
    # Hub's routes (not the transport-test endpoints) whose `Authorization:
    # Bearer T` has T outside the set gets 401 with `X-Error-Message: Invalid
    # credentials in Authorization header`, even for a public repo
    # (research/hf-protocol.md section 4); requests without the header are
    # answered as usual. Set it on the instance: `hub.valid_tokens = {...}`.
    valid_tokens = None
    # Which tokens may read a gated repo, {repo_id: {token, ...}} (a valid
    # token not listed gets 403 GatedRepo; none gets 401 GatedRepo); for a
    # private repo an entry narrows who may read it (without one, any valid
    # token may). Set it on the instance: `hub.grants = {GATED_REPO: {T}}`.
    grants = None
    # The Inference-router-like endpoints (POST /v1/chat/completions, POST
    # /hf-inference/models/{org}/{name}[/...]): None, any valid token may
    # call them; a set: only those tokens (the "Make calls to Inference
    # Providers" permission). Anything else, or no token, gets 401
    # {"error": "Invalid username or password."} (no X-Error-Message: the
    # router is not the Hub API).
    inference_tokens = None

    def __init__(self, mode="ok", host="127.0.0.1", port=0, tls_context=None, repos=None, git_root=None):
        self.mode = mode
        self.tls_context = tls_context
        self.repos = {r.repo_id: r for r in (repos or DEFAULT_REPOS)}
        self.git_root = Path(git_root) if git_root is not None else None
        self.lock = threading.Lock()
        self.connections = []
        self.requests = []
        self._socks = []
        self._threads = []
        self._stop = threading.Event()
        self._stopped = False
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        self.host = host
        self.port = listener.getsockname()[1]
        self._loop = AcceptLoop(listener, self._accepted, name=f"fakehub-{self.port}")

    @property
    def accept_errors(self):
        """accept() failures the loop went on after (for failure messages)."""
        return self._loop.errors

    # -- public -------------------------------------------------------
    @property
    def url(self):
        scheme = "https" if self.tls_context else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self):
        self._loop.start()
        return self

    def stop(self, timeout=5.0):
        """Stops accepting, ends every connection, waits up to timeout
        seconds for the threads. Safe to call twice or unstarted.

        Sockets are closed only by the threads that use them (acceptloop.py
        says why): here the listener and every connection are shut down,
        which wakes those threads, and they close their sockets."""
        with self.lock:
            if self._stopped:
                return
            self._stopped = True
            self._stop.set()
            socks = list(self._socks)
            threads = list(self._threads)
        end = time.monotonic() + timeout
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._loop.stop(max(0.0, end - time.monotonic()))
        for t in threads:
            t.join(max(0.0, end - time.monotonic()))

    def connection_count(self):
        with self.lock:
            return len(self.connections)

    def request_count(self):
        with self.lock:
            return len(self.requests)

    def wait_for_connections(self, n, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.connection_count() >= n:
                return True
            time.sleep(0.01)
        return False

    def wait_for_requests(self, n, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.request_count() >= n:
                return True
            time.sleep(0.01)
        return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- serving ------------------------------------------------------
    def _track(self, s):
        """Registers a socket for stop(); False (and closes it) if stopping."""
        with self.lock:
            if not self._stopped:
                self._socks.append(s)
                return True
        _kill(s)
        return False

    def _accepted(self, s, peer):
        if not self._track(s):
            return
        with self.lock:
            conn = Connection(len(self.connections), peer)
            self.connections.append(conn)
            t = threading.Thread(target=self._serve, args=(s, conn), daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def _serve(self, s, conn):
        try:
            if self.mode == "close":
                return
            if self.tls_context is not None:
                s.settimeout(10)
                s = self.tls_context.wrap_socket(s, server_side=True, do_handshake_on_connect=False)
                if not self._track(s):
                    return
                try:
                    s.do_handshake()
                except (OSError, ssl.SSLError) as e:
                    conn.tls_error = str(e)
                    return
                s.settimeout(None)
                conn.tls, conn.alpn, conn.tls_version = True, s.selected_alpn_protocol(), s.version()
            reader = _Reader(s, conn)
            while not self._stop.is_set():
                req = reader.read_request(self._send_continue)
                if req is None:
                    return
                with self.lock:
                    self.requests.append(req)
                if self.mode == "hang":
                    reader.drain_forever(self._stop)
                    return
                status, headers, body = self._answer(req)
                keep = (req.header("Connection", "") or "").lower() != "close"
                self._send(s, req, status, headers, body, keep)
                if not keep:
                    return
        except (OSError, ssl.SSLError, ValueError, AttributeError):
            return  # AttributeError: stop() tore the SSL object down under a read
        finally:
            try:
                s.close()
            except OSError:
                pass

    @staticmethod
    def _send_continue(s):
        s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _send(self, s, req, status, headers, body, keep):
        """Sends one response. body is bytes, or an iterable of bytes when
        headers carry Content-Length or Transfer-Encoding: chunked."""
        reason = _REASONS.get(status, "Status")
        lines = [f"HTTP/1.1 {status} {reason}"]
        headers = dict(headers)
        chunked = headers.get("Transfer-Encoding", "").lower() == "chunked"
        if not chunked:
            if "Content-Length" not in headers:
                if not isinstance(body, (bytes, bytearray)):
                    body = b"".join(body)
                headers["Content-Length"] = str(len(body))
        headers.setdefault("Connection", "keep-alive" if keep else "close")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if req.method == "HEAD":
            s.sendall(head)
        elif isinstance(body, (bytes, bytearray)) and not chunked:
            s.sendall(head + body)
        else:
            s.sendall(head)
            pieces = [body] if isinstance(body, (bytes, bytearray)) else body
            for piece in pieces:
                if not piece:
                    continue  # an empty chunk would end the body
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                s.sendall(b"0\r\n\r\n")

    def _answer(self, req):
        if self.mode.startswith("status:"):
            status = int(self.mode.split(":", 1)[1])
            return status, {"Content-Type": "application/json"}, json.dumps({"error": f"fake status {status}"}).encode()
        return _test_answer(self, req) or _hub_answer(self, req)


def _kill(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


class _Reader:
    """Reads HTTP/1.1 requests from a socket, recording the raw bytes."""

    def __init__(self, s, conn):
        self.s, self.conn, self.buf = s, conn, bytearray()

    def _fill(self):
        data = self.s.recv(65536)
        if not data:
            raise EOFError
        self.conn.received += data
        self.buf += data

    def read_request(self, send_continue):
        try:
            while b"\r\n\r\n" not in self.buf:
                if len(self.buf) > 1 << 20:
                    raise ValueError("request head too large")
                self._fill()
        except EOFError:
            return None
        end = self.buf.index(b"\r\n\r\n") + 4
        raw_head = bytes(self.buf[:end])
        del self.buf[:end]
        lines = raw_head[:-4].decode("latin-1").split("\r\n")
        method, target, version = (lines[0].split(" ", 2) + ["", ""])[:3]
        header_lines = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            header_lines.append((k, v.strip()))
        req = Request(self.conn.id, method, target, version, header_lines, b"", raw_head)
        req.tls, req.alpn, req.tls_version = self.conn.tls, self.conn.alpn, self.conn.tls_version
        if (req.header("Expect", "") or "").lower() == "100-continue":
            send_continue(self.s)
        try:
            if (req.header("Transfer-Encoding", "") or "").lower() == "chunked":
                req.body = self._read_chunked()
            else:
                req.body = self._read_exact(int(req.header("Content-Length", "0") or 0))
        except EOFError:
            return req
        return req

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[: i + 2]
        return line

    def _read_chunked(self):
        body = bytearray()
        while True:
            size = int(self._read_line().split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_line():  # trailers up to the blank line
                    pass
                return bytes(body)
            body += self._read_exact(size)
            self._read_line()

    def drain_forever(self, stop):
        self.s.settimeout(0.2)
        while not stop.is_set():
            try:
                self._fill()
            except socket.timeout:
                continue
            except (EOFError, OSError):
                return


_REASONS = {200: "OK", 206: "Partial Content", 302: "Found", 307: "Temporary Redirect", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            416: "Range Not Satisfiable", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _json(status, obj, extra=None):
    h = {"Content-Type": "application/json; charset=utf-8"}
    h.update(extra or {})
    return status, h, json.dumps(obj).encode()


def _parse_range(value, n):
    """(start, end) for a single `bytes=a-b` / `bytes=a-` / `bytes=-k`, else None."""
    unit, _, spec = (value or "").partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    a, _, b = spec.strip().partition("-")
    try:
        if a == "":
            start, end = max(0, n - int(b)), n
        else:
            start, end = int(a), (min(n, int(b) + 1) if b else n)
    except ValueError:
        return None
    return (start, end) if 0 <= start < end else None


def _bytes_answer(req, arg):
    try:
        n = int(arg)
        if n < 0:
            raise ValueError
    except ValueError:
        return _json(400, {"error": "bad byte count"})
    params = req.params()
    h = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
    status, start, end = 200, 0, n
    rng = req.header("Range")
    if rng is not None:
        r = _parse_range(rng, n)
        if r is None:
            return 416, {"Content-Range": f"bytes */{n}", "Content-Type": "text/plain"}, b"range not satisfiable\n"
        status, (start, end) = 206, r
        h["Content-Range"] = f"bytes {start}-{end - 1}/{n}"
    stream = _byte_stream(start, end)
    if params.get("chunked", "0") not in ("", "0"):
        h["Transfer-Encoding"] = "chunked"
        return status, h, _uneven_chunks(stream)
    h["Content-Length"] = str(end - start)
    return status, h, stream


def _git_answer(hub, req, rel):
    if hub.git_root is None or req.method not in ("GET", "HEAD"):
        return None
    rel = urllib.parse.unquote(rel)
    segs = rel.split("/")
    if not rel or rel.startswith("/") or "\0" in rel or ".." in segs or "\\" in rel:
        return _json(404, {"error": "not found in fake git root"})
    root = os.path.realpath(hub.git_root)
    real = os.path.realpath(os.path.join(root, rel))
    if not real.startswith(root + os.sep) or not os.path.isfile(real):
        return _json(404, {"error": "not found in fake git root"})
    try:
        with open(real, "rb") as f:
            data = f.read()
    except OSError:
        return _json(404, {"error": "not found in fake git root"})
    ctype = "text/plain; charset=utf-8" if rel.endswith(("/info/refs", "/HEAD", "/objects/info/packs")) \
        else "application/octet-stream"
    return 200, {"Content-Type": ctype, "Content-Length": str(len(data))}, data


def _test_answer(hub, req):
    """The endpoints for transport tests (see the module docstring); None
    when req is not for one of them."""
    path = req.path
    if path.startswith("/git/"):
        return _git_answer(hub, req, path[len("/git/"):])
    if path.startswith("/bytes/") and req.method in ("GET", "HEAD"):
        return _bytes_answer(req, path[len("/bytes/"):])
    if path == "/echo" and req.method in ("POST", "PUT"):
        h = {"Content-Type": req.header("Content-Type") or "application/octet-stream",
             "X-Body-Sha256": hashlib.sha256(req.body).hexdigest(), "X-Body-Length": str(len(req.body))}
        return 200, h, req.body
    if path == "/headers" and req.method in ("GET", "HEAD"):
        return _json(200, [[k, v] for k, v in req.header_lines])
    return None


INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
ROUTER_UNAUTHORIZED = "Invalid username or password."


def gated_anonymous_message(repo_id, kind="model"):
    """The Hub's X-Error-Message for a gated repo's file asked anonymously (401)."""
    return (f"Access to {kind} {repo_id} is restricted. You must have access to it and be authenticated to "
            "access it. Please log in.")


def gated_denied_message(repo_id, kind="model"):
    """The Hub's X-Error-Message for a gated repo's file asked with a token without grant (403)."""
    return (f"Access to {kind} {repo_id} is restricted and you are not in the authorized list. Visit "
            f"https://huggingface.co/{repo_id} to ask for access.")


def bearer_of(req):
    """The token of `Authorization: Bearer T` (T), "" for another scheme, None without the header."""
    auth = req.header("Authorization")
    if auth is None:
        return None
    return auth[len("Bearer "):] if auth.startswith("Bearer ") else ""


def _token_valid(hub, tok):
    return bool(tok) and (hub.valid_tokens is None or tok in hub.valid_tokens)


def _repo_not_found():
    # exactly the answer for a repo that does not exist: the Hub does not say which
    return _json(401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})


def _repo_hidden(hub, req, repo):
    """A private repo's answer for a request that may not see it (401
    RepoNotFound, as for a missing repo), else None."""
    if not repo.private:
        return None
    tok = bearer_of(req)
    allowed = (hub.grants or {}).get(repo.repo_id)
    if _token_valid(hub, tok) and (allowed is None or tok in allowed):
        return None
    return _repo_not_found()


def _gate(hub, req, repo):
    """A gated repo's answer for a file request without a grant (401
    anonymous, 403 with a token not granted), else None."""
    if not repo.gated:
        return None
    tok = bearer_of(req)
    if not _token_valid(hub, tok):
        msg = gated_anonymous_message(repo.repo_id, repo.kind)
        return _json(401, {"error": msg}, {"X-Error-Code": "GatedRepo", "X-Error-Message": msg})
    if tok in (hub.grants or {}).get(repo.repo_id, ()):
        return None
    msg = gated_denied_message(repo.repo_id, repo.kind)
    return _json(403, {"error": msg}, {"X-Error-Code": "GatedRepo", "X-Error-Message": msg})


def _revision_not_found(rev):
    msg = f"Invalid rev id: {rev}"
    return _json(404, {"error": msg}, {"X-Error-Code": "RevisionNotFound", "X-Error-Message": msg})


def _router_answer(hub, req):
    """The Inference-router-like endpoints (FakeHub.inference_tokens), or None."""
    path = req.path
    if not ((path == "/v1/chat/completions" and req.method == "POST") or
            (path.startswith("/hf-inference/models/") and req.method in ("POST", "GET"))):
        return None
    tok = bearer_of(req)
    if not _token_valid(hub, tok) or (hub.inference_tokens is not None and tok not in hub.inference_tokens):
        return _json(401, {"error": ROUTER_UNAUTHORIZED})
    if path == "/v1/chat/completions":
        try:
            model = json.loads(req.body or b"{}").get("model", "")
        except (ValueError, AttributeError):
            model = ""
        return _json(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": 1704067200,
                           "model": model, "choices": [{"index": 0, "finish_reason": "stop", "message": {
                               "role": "assistant", "content": "hello from the fake router"}}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6}})
    return _json(200, [[{"label": "POSITIVE", "score": 0.99}, {"label": "NEGATIVE", "score": 0.01}]])


def _hub_answer(hub, req):
    """The subset of the Hub's API the tests need (research/hf-protocol.md):
    GET /api/whoami-v2; GET /api/models/{org}/{name}[/revision/{rev}][?…]
    (the query is ignored: one commit per repo; a revision that is not
    main, HEAD, one of the repo's refs or its sha gets 404 RevisionNotFound
    "Invalid rev id: X"); GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=…,
    POST …/paths-info/{rev} (JSON or form; the revision is ignored there);
    GET/HEAD /{org}/{name}/{resolve|raw}/{rev}/{file}, with a single `Range`
    honoured (206 + Content-Range, as the Hub does for regular files), and
    the revision checked as above. `hub.valid_tokens` makes stale tokens
    fail with 401 (see FakeHub.valid_tokens), first, on every Hub route.
    Private repos (Repo.private) answer 401 RepoNotFound, like a missing
    repo, to a request without a valid (and, with hub.grants, granted)
    token; gated repos (Repo.gated) give their repo info to anyone and their
    files only to a granted token (hub.grants): 401 GatedRepo anonymous, 403
    GatedRepo with a token not granted, with the Hub's X-Error-Message.
    Inference-router-like routes: see FakeHub.inference_tokens. Error
    answers keep the connection alive, as the Hub's do."""
    path = urllib.parse.unquote(req.path)
    parts = [p for p in path.split("/") if p]
    raw_parts = [urllib.parse.unquote(p) for p in req.path.split("/") if p]  # %2F kept inside a segment
    routed = _router_answer(hub, req)
    if routed is not None:
        return routed
    auth = req.header("Authorization")
    if hub.valid_tokens is not None and auth is not None and \
            not (auth.startswith("Bearer ") and auth[len("Bearer "):] in hub.valid_tokens):
        return _json(401, {"error": INVALID_CREDENTIALS}, {"X-Error-Message": INVALID_CREDENTIALS})
    if req.method == "GET" and path == "/api/whoami-v2":
        if req.header("Authorization"):
            tok = bearer_of(req) or ""
            role = "fineGrained" if hub.inference_tokens is not None and tok in hub.inference_tokens else "read"
            return _json(200, {"type": "user", "id": "65a0fa0000000000000000aa", "name": "tester",
                               "fullname": "Fake Tester", "email": "tester@hub.test", "emailVerified": True,
                               "isPro": False, "orgs": [],
                               "auth": {"type": "access_token", "accessToken": {"displayName": "fake", "role": role}}})
        return _json(401, {"error": INVALID_CREDENTIALS}, {"X-Error-Message": INVALID_CREDENTIALS})
    if len(parts) >= 6 and parts[0] == "api" and parts[1] == "models" and parts[4] in ("tree", "paths-info"):
        # tree/{rev}[/{path}]?recursive=… and POST paths-info/{rev} (JSON or form body);
        # the revision is ignored (one commit per repo)
        repo = hub.repos.get("/".join(parts[2:4]))
        if repo is None:
            return _json(401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        hidden = _repo_hidden(hub, req, repo)
        if hidden is not None:
            return hidden
        if parts[4] == "tree" and req.method == "GET":
            prefix = "/".join(parts[6:])
            if prefix and not any(f.startswith(prefix + "/") for f in repo.files):
                return _json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            recursive = req.params().get("recursive", "false").lower() in ("true", "1")
            return _json(200, repo.tree(prefix, recursive))
        if parts[4] == "paths-info" and req.method == "POST":
            body = req.body.decode("utf-8", "replace")
            try:
                paths = json.loads(body)["paths"]
            except (ValueError, KeyError, TypeError):
                paths = [v for k, v in urllib.parse.parse_qsl(body) if k == "paths"]
            out = []
            for p_ in paths:
                p_ = p_.strip("/")
                if p_ in repo.files:
                    out.append(dict(repo.item(p_), lastCommit={"id": repo.sha, "title": "fake",
                                                               "date": "2024-01-01T00:00:00.000Z"}))
                elif any(f.startswith(p_ + "/") for f in repo.files):
                    out.append({"type": "directory", "oid": _git_blob_id(p_.encode()), "size": 0, "path": p_})
            return _json(200, out)
    if len(parts) >= 4 and parts[0] == "api" and parts[1] == "models":
        repo_id = "/".join(parts[2:4])
        repo = hub.repos.get(repo_id)
        if repo is None:
            return _json(401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        hidden = _repo_hidden(hub, req, repo)
        if hidden is not None:
            return hidden
        if len(raw_parts) >= 6 and raw_parts[4] == "revision":
            rev = "/".join(raw_parts[5:])
            if not repo.has_revision(rev):
                return _revision_not_found(rev)
        info = {"id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.sha, "private": repo.private,
                "siblings": [{"rfilename": f} for f in sorted(repo.files)]}
        if repo.gated:
            info["gated"] = "manual"
        return _json(200, info)
    if len(parts) >= 5 and parts[2] in ("resolve", "raw") and req.method in ("GET", "HEAD"):
        # /raw/ is the git blob itself; every fake file is a regular (non-LFS)
        # file, for which the Hub serves the same bytes under both
        repo = hub.repos.get("/".join(parts[0:2]))
        fname = "/".join(parts[4:])
        if repo is None:
            return _json(401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        hidden = _repo_hidden(hub, req, repo) or _gate(hub, req, repo)
        if hidden is not None:
            return hidden
        if len(raw_parts) >= 4 and not repo.has_revision(raw_parts[3]):
            return _revision_not_found(raw_parts[3])
        if fname not in repo.files:
            return _json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.sha})
        body = repo.files[fname]
        h = {"Content-Type": "application/octet-stream", "ETag": f'"{repo.etag(fname)}"', "X-Repo-Commit": repo.sha}
        if fname in repo.lfs:  # the Hub's LFS headers (it would redirect to a CDN; the fake serves the bytes)
            item = repo.item(fname)
            h.update({"X-Linked-Etag": f'"{item["lfs"]["oid"]}"', "X-Linked-Size": str(item["size"])})
        rng = req.header("Range")
        if rng is not None:  # the JS client probes with `Range: bytes=0-0` (206 + Content-Range)
            r = _parse_range(rng, len(body))
            if r is None:
                return 416, {"Content-Range": f"bytes */{len(body)}", "Content-Type": "text/plain"}, \
                    b"range not satisfiable\n"
            start, end = r
            h.update({"Accept-Ranges": "bytes", "Content-Range": f"bytes {start}-{end - 1}/{len(body)}",
                      "Content-Length": str(end - start)})
            return 206, h, body[start:end]
        h["Content-Length"] = str(len(body))
        return 200, h, body
    if req.method in ("GET", "HEAD") and path in ("/", "/health"):
        return 200, {"Content-Type": "text/plain"}, b"fake hub\n"
    return _json(404, {"error": "not found in fake hub"})


def _git(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                "GIT_AUTHOR_NAME": "Fake Hub", "GIT_AUTHOR_EMAIL": "fake@hub.test",
                "GIT_COMMITTER_NAME": "Fake Hub", "GIT_COMMITTER_EMAIL": "fake@hub.test",
                "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"})
    return subprocess.run(["git", *map(str, args)], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout


def make_git_repo(directory, name="repo.git"):
    """Creates DIRECTORY/NAME, a bare repo ready for dumb-HTTP cloning, and
    returns its path. Branch main has two commits: the first (packed) adds
    README.md and weights.bin (200 KB from expected_bytes), the second
    (loose objects) edits README.md and adds config.json. Serve it with
    FakeHub(git_root=DIRECTORY) and clone URL/git/NAME."""
    directory = Path(directory).resolve()
    bare, work = directory / name, directory / (name + ".work")
    if (bare / "info/refs").exists():
        return bare
    _git("init", "-q", "-b", "main", work)
    (work / "README.md").write_text("# tiny repo\n")
    (work / "weights.bin").write_bytes(expected_bytes(200 * 1024))
    _git("add", ".", cwd=work)
    _git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "first: README and weights", cwd=work)
    _git("clone", "-q", "--bare", "--no-local", work, bare)  # objects in a pack
    (work / "README.md").write_text("# tiny repo\n\nsecond commit\n")
    (work / "config.json").write_text('{"model_type": "bert"}\n')
    _git("add", ".", cwd=work)
    _git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "second: config", cwd=work)
    _git("push", "-q", bare, "main", cwd=work)  # few objects: stored loose
    _git("update-server-info", cwd=bare)
    shutil.rmtree(work)
    return bare


def main():
    import argparse

    ap = argparse.ArgumentParser(description="fake Hugging Face Hub on 127.0.0.1")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--git-root", help="serve this directory under /git/")
    ap.add_argument("--tls-dir", help="serve TLS with the throwaway CA made/kept in this directory")
    ap.add_argument("--token-repos", action="store_true", help="serve the private and gated repos too (TOKEN_REPOS)")
    ap.add_argument("--valid-token", action="append", help="a token the Hub accepts (repeat; none: any)")
    ap.add_argument("--grant", action="append", default=[], metavar="REPO=TOKEN", help="grant a gated/private repo")
    ap.add_argument("--inference-token", action="append", help="a token with the Inference Providers permission")
    args = ap.parse_args()
    ctx = None
    if args.tls_dir:
        import tlsca

        ctx = tlsca.server_context(tlsca.make_ca(args.tls_dir))
    hub = FakeHub(args.mode, args.host, args.port, tls_context=ctx, git_root=args.git_root,
                  repos=TOKEN_REPOS if args.token_repos else None)
    if args.valid_token:
        hub.valid_tokens = set(args.valid_token)
    for g in args.grant:
        repo, _, tok = g.partition("=")
        hub.grants = dict(hub.grants or {})
        hub.grants.setdefault(repo, set()).add(tok)
    if args.inference_token:
        hub.inference_tokens = set(args.inference_token)
    hub.start()
    print(f"READY {hub.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
