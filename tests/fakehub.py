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

Run as a program for manual use: `python3 tests/fakehub.py [--mode M]
[--port P]` prints `READY <port>` and serves until killed.
"""

import hashlib
import json
import socket
import ssl
import threading
import time
import urllib.parse

HUB_REPO = "acme/tiny-model"
HUB_SHA = "0123456789abcdef0123456789abcdef01234567"


class Repo:
    """One repository the fake Hub serves: files at one commit."""

    def __init__(self, repo_id, sha, files, kind="model"):
        self.repo_id, self.sha, self.files, self.kind = repo_id, sha, dict(files), kind

    def etag(self, path):
        return hashlib.sha256(self.files[path]).hexdigest()


DEFAULT_REPOS = [Repo(HUB_REPO, HUB_SHA, {"config.json": b'{"model_type": "bert"}\n', "README.md": b"# tiny\n"})]


class Request:
    """One HTTP request as received."""

    def __init__(self, conn_id, method, target, version, header_lines, body, raw_head):
        self.conn_id = conn_id
        self.method, self.target, self.version = method, target, version
        self.header_lines = header_lines  # [(name, value)] as sent
        self.body = body
        self.raw_head = raw_head  # bytes up to and including the blank line
        self.path, _, self.query = target.partition("?")

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


class FakeHub:
    def __init__(self, mode="ok", host="127.0.0.1", port=0, tls_context=None, repos=None):
        self.mode = mode
        self.tls_context = tls_context
        self.repos = {r.repo_id: r for r in (repos or DEFAULT_REPOS)}
        self.lock = threading.Lock()
        self.connections = []
        self.requests = []
        self._socks = []
        self._stop = threading.Event()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(128)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    # -- public -------------------------------------------------------
    @property
    def url(self):
        scheme = "https" if self.tls_context else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        self._thread.join(timeout=5)

    def connection_count(self):
        with self.lock:
            return len(self.connections)

    def wait_for_connections(self, n, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.connection_count() >= n:
                return True
            time.sleep(0.01)
        return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- serving ------------------------------------------------------
    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                s, peer = self.listener.accept()
            except OSError:
                return
            with self.lock:
                conn = Connection(len(self.connections), peer)
                self.connections.append(conn)
                self._socks.append(s)
            threading.Thread(target=self._serve, args=(s, conn), daemon=True).start()

    def _serve(self, s, conn):
        try:
            if self.mode == "close":
                return
            if self.tls_context is not None:
                s.settimeout(10)
                s = self.tls_context.wrap_socket(s, server_side=True)
                with self.lock:
                    self._socks.append(s)
                s.settimeout(None)
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
        except (OSError, ssl.SSLError, ValueError):
            return
        finally:
            try:
                s.close()
            except OSError:
                pass

    @staticmethod
    def _send_continue(s):
        s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _send(self, s, req, status, headers, body, keep):
        reason = _REASONS.get(status, "Status")
        lines = [f"HTTP/1.1 {status} {reason}"]
        headers = dict(headers)
        headers.setdefault("Content-Length", str(len(body)))
        headers.setdefault("Connection", "keep-alive" if keep else "close")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        s.sendall(head + (b"" if req.method == "HEAD" else body))

    def _answer(self, req):
        if self.mode.startswith("status:"):
            status = int(self.mode.split(":", 1)[1])
            return status, {"Content-Type": "application/json"}, json.dumps({"error": f"fake status {status}"}).encode()
        return _hub_answer(self, req)


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
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _json(status, obj, extra=None):
    h = {"Content-Type": "application/json; charset=utf-8"}
    h.update(extra or {})
    return status, h, json.dumps(obj).encode()


def _hub_answer(hub, req):
    """The subset of the Hub's API the tests need (research/hf-protocol.md)."""
    path = urllib.parse.unquote(req.path)
    parts = [p for p in path.split("/") if p]
    if req.method == "GET" and path == "/api/whoami-v2":
        if req.header("Authorization"):
            return _json(200, {"type": "user", "name": "tester"})
        return _json(401, {"error": "Invalid credentials in Authorization header"},
                     {"X-Error-Message": "Invalid credentials in Authorization header"})
    if len(parts) >= 4 and parts[0] == "api" and parts[1] == "models":
        repo_id = "/".join(parts[2:4])
        repo = hub.repos.get(repo_id)
        if repo is None:
            return _json(401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        return _json(200, {"id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.sha, "private": False,
                           "siblings": [{"rfilename": f} for f in sorted(repo.files)]})
    if len(parts) >= 5 and parts[2] == "resolve" and req.method in ("GET", "HEAD"):
        repo = hub.repos.get("/".join(parts[0:2]))
        fname = "/".join(parts[4:])
        if repo is None:
            return _json(401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        if fname not in repo.files:
            return _json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.sha})
        body = repo.files[fname]
        return 200, {"Content-Type": "application/octet-stream", "ETag": f'"{repo.etag(fname)}"',
                     "X-Repo-Commit": repo.sha, "Content-Length": str(len(body))}, body
    if req.method in ("GET", "HEAD") and path in ("/", "/health"):
        return 200, {"Content-Type": "text/plain"}, b"fake hub\n"
    return _json(404, {"error": "not found in fake hub"})


def main():
    import argparse

    ap = argparse.ArgumentParser(description="fake Hugging Face Hub on 127.0.0.1")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    hub = FakeHub(args.mode, args.host, args.port).start()
    print(f"READY {hub.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
