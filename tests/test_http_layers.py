"""test_http_layers.py: the plain-socket and OpenSSL plaintext layers on
programs that speak HTTP themselves (python3 requests, httpx, urllib,
aiohttp; node fetch), asserted on what the fake Hub received byte for byte.

Over http:// the socket layer acts; over https:// the OpenSSL layer acts
on the plaintext (python's _ssl uses the system libssl). A connection that
must not reach the network is virtual (a socketpair; for TLS, a virtual
session with an in-process certificate): `respond` then works with the
server stopped, and strace shows no connect to its address.
"""

import hashlib
import json
import shutil
import subprocess
import time

import pytest

import tlsca
from conftest import PY
from fakehub import expected_bytes

STALE = "hf_" + "T" * 34
MB = 1 << 20
SHA = "c0ffee0123456789abcdef0123456789abcdef01"
PY_CLIENTS = ["requests", "httpx", "urllib", "aiohttp"]

# One script drives every python client: GET each path (argv[2:]) on one
# session/connection pool, with the stale token, and print status, length
# and sha256 of each body on its own line.
CLIENT = r"""
import hashlib, json, os, sys
which, base, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
H = {"Authorization": "Bearer " + os.environ["STALE"]}
def show(p, status, body):
    print(p, status, len(body), hashlib.sha256(body).hexdigest()[:16], body[:100].decode("latin-1") if p.startswith("/api") else "")
if which == "requests":
    import requests
    s = requests.Session()
    for p in paths:
        r = s.get(base + p, headers=H, timeout=20); show(p, r.status_code, r.content)
elif which == "httpx":
    import httpx
    with httpx.Client(timeout=20) as c:
        for p in paths:
            r = c.get(base + p, headers=H); show(p, r.status_code, r.content)
elif which == "urllib":
    import urllib.request, urllib.error
    for p in paths:
        try:
            r = urllib.request.urlopen(urllib.request.Request(base + p, headers=H), timeout=20); show(p, r.status, r.read())
        except urllib.error.HTTPError as e:
            show(p, e.code, e.read())
elif which == "aiohttp":
    import asyncio, aiohttp
    async def main():
        async with aiohttp.ClientSession() as s:
            for p in paths:
                async with s.get(base + p, headers=H) as r:
                    show(p, r.status, await r.read())
    asyncio.run(main())
"""

NODE = r"""
const crypto = require("crypto");
const [base, ...paths] = process.argv.slice(1);
(async () => {
  for (const p of paths) {
    const r = await fetch(base + p, {headers: {Authorization: "Bearer " + process.env.STALE}});
    const b = Buffer.from(await r.arrayBuffer());
    console.log(p, r.status, b.length, crypto.createHash("sha256").update(b).digest("hex").slice(0, 16),
                p.startsWith("/api") ? b.toString("latin1").slice(0, 100) : "");
  }
})().catch(e => { console.error("fetch failed:", e.cause ? e.cause.code : e); process.exit(1); });
"""


def client_run(shim, which, base, paths, rules, env=None, timeout=30, wrap=()):
    env = shim.base_env(dict(env or {}, STALE=STALE))
    if which == "node":
        cmd = ["node", "-e", NODE, base, *paths]
    else:
        cmd = [PY, "-c", CLIENT, which, base, *paths]
    return shim.hfshim("run", "--rules", rules, "--", *wrap, *cmd, env=env, timeout=timeout)


def lines(r):
    return [line.split(" ", 4) for line in r.stdout.splitlines()]


def sha16(b):
    return hashlib.sha256(b).hexdigest()[:16]


def rules_for(shim, port, *extra):
    return shim.write_rules({"version": 1, "rules": [
        {"name": "answer-info", "match": {"port": port, "path": "^/api/models/"}, "action": "respond",
         "status": 200, "headers": {"Content-Type": "application/json"},
         "body": json.dumps({"id": "acme/tiny", "sha": SHA})},
        {"name": "strip-auth", "match": {"port": port}, "action": "strip-header", "header": "Authorization"},
        *extra]})


def no_auth_anywhere(hub):
    return all(q.header("Authorization") is None for q in hub.requests) and \
        all(b"authorization" not in c.received.lower() for c in hub.connections)


def https_env(tls_ca):
    return tlsca.client_env(tls_ca)


@pytest.fixture(params=["http", "https"])
def scheme(request):
    return request.param


@pytest.mark.parametrize("which", PY_CLIENTS + ["node"])
def test_strip_and_respond_mixed_on_one_connection(shim, fakehub_factory, tls_ca, scheme, which):
    """Real and answered requests alternate on one client session: the
    answered ones never reach the server, the others arrive without the
    token, every response comes back in order, byte-exact."""
    if scheme == "https" and which == "node":
        pytest.skip("node's OpenSSL is linked into the binary: its TLS is seen at the connection level only")
    if which == "node" and not shutil.which("node"):
        pytest.skip("node missing")
    hub = fakehub_factory(tls_context=tlsca.server_context(tls_ca) if scheme == "https" else None)
    rules = rules_for(shim, hub.port)
    paths = ["/bytes/1000", "/api/models/acme/tiny", "/bytes/70000", "/api/models/acme/other", "/headers"]
    r = client_run(shim, which, hub.url, paths, rules, env=https_env(tls_ca))
    assert r.returncode == 0, r
    got = lines(r)
    assert [g[0] for g in got] == paths and all(g[1] == "200" for g in got), r
    assert got[0][3] == sha16(expected_bytes(1000)) and got[2][3] == sha16(expected_bytes(70000)), r
    assert SHA in got[1][4] and SHA in got[3][4], r
    assert [q.path for q in hub.requests] == ["/bytes/1000", "/bytes/70000", "/headers"]
    assert no_auth_anywhere(hub)
    assert f"answered GET {scheme}://127.0.0.1:{hub.port}/api/models/acme/tiny with 200 (rule answer-info" in r.log, r
    assert f"stripped header Authorization from GET {scheme}://127.0.0.1:{hub.port}/bytes/1000" in r.log, r
    assert STALE not in r.log


@pytest.mark.parametrize("which", ["requests", "httpx"])
def test_tls_keeps_one_connection(shim, fakehub_factory, tls_ca, which):
    """Over TLS an answer is served from SSL_read in its turn: 100
    requests, every other one answered, all on one kept-alive connection."""
    hub = fakehub_factory(tls_context=tlsca.server_context(tls_ca))
    rules = rules_for(shim, hub.port)
    paths = [("/api/models/a/m%d" if i % 2 else "/bytes/%d") % (i + 100) for i in range(100)]
    r = client_run(shim, which, hub.url, paths, rules, env=https_env(tls_ca), timeout=60)
    assert r.returncode == 0, r
    got = lines(r)
    assert [g[0] for g in got] == paths and all(g[1] == "200" for g in got)
    for i, g in enumerate(got):
        assert (SHA in g[4]) if i % 2 else (g[3] == sha16(expected_bytes(i + 100))), g
    assert [q.path for q in hub.requests] == paths[0::2]
    assert hub.connection_count() == 1 and no_auth_anywhere(hub)


def test_plain_http_hundred_requests(shim, fakehub):
    """Over plain sockets an answer closes its connection (so poll/epoll
    see it like a server's); the client reconnects: 100 requests, every
    other one answered, all responses right and in order."""
    rules = rules_for(shim, fakehub.port)
    paths = [("/api/models/a/m%d" if i % 2 else "/bytes/%d") % (i + 100) for i in range(100)]
    r = client_run(shim, "requests", fakehub.url, paths, rules, timeout=60)
    assert r.returncode == 0, r
    got = lines(r)
    assert [g[0] for g in got] == paths and all(g[1] == "200" for g in got)
    assert [q.path for q in fakehub.requests] == paths[0::2] and no_auth_anywhere(fakehub)
    assert fakehub.connection_count() <= 51


@pytest.mark.parametrize("which", ["requests", "urllib", "node"])
def test_one_megabyte_and_chunked_post_byte_exact(shim, fakehub, which, tmp_path):
    if which == "node" and not shutil.which("node"):
        pytest.skip("node missing")
    rules = rules_for(shim, fakehub.port)
    r = client_run(shim, which, fakehub.url, [f"/bytes/{MB}", f"/bytes/{MB}?chunked=1"], rules, timeout=60)
    assert r.returncode == 0, r
    assert [g[3] for g in lines(r)] == [sha16(expected_bytes(MB))] * 2
    body = expected_bytes(300_000)[::-1]
    f = tmp_path / "body.bin"
    f.write_bytes(body)
    code = ("import os, sys, requests\n"
            "def gen():\n    b = open(sys.argv[2], 'rb').read()\n    for i in range(0, len(b), 7777): yield b[i:i+7777]\n"
            "r = requests.post(sys.argv[1] + '/echo', data=gen(), headers={'Authorization': 'Bearer ' + os.environ['STALE']})\n"
            "import hashlib; print(r.status_code, hashlib.sha256(r.content).hexdigest()[:16])\n")
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, fakehub.url, f,
                    env=shim.base_env({"STALE": STALE}), timeout=60)
    assert r.returncode == 0 and r.stdout.split() == ["200", sha16(body)], r
    q = fakehub.requests[-1]
    assert q.method == "POST" and q.header("Transfer-Encoding") == "chunked" and q.body == body
    assert no_auth_anywhere(fakehub)


def test_set_header_only_where_scoped(shim, fakehub_factory):
    a, b = fakehub_factory(), fakehub_factory()
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "add-token", "match": {"port": a.port}, "action": "set-header", "header": "Authorization",
         "from_env": "SCOPED_TOKEN", "prefix": "Bearer "}]})
    code = "import sys, requests\nfor u in sys.argv[1:]: print(requests.get(u + '/headers').status_code)\n"
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, a.url, b.url,
                    env=shim.base_env({"SCOPED_TOKEN": "hf_scoped_value_123456789012345"}))
    assert r.returncode == 0 and r.stdout.split() == ["200", "200"], r
    assert a.requests[0].header("Authorization") == "Bearer hf_scoped_value_123456789012345"
    assert b.requests[0].header("Authorization") is None
    assert "hf_scoped_value" not in r.log


@pytest.mark.parametrize("which", PY_CLIENTS + ["node"])
@pytest.mark.parametrize("how", ["blocked", "down"])
def test_respond_with_server_stopped(shim, fakehub_factory, tls_ca, scheme, which, how):
    """The server is down (and, "blocked", its host blocked too): answered
    requests still get their answer over a virtual connection. Blocked: no
    connect is even tried; down: the refused connect becomes virtual."""
    if scheme == "https" and which == "node":
        pytest.skip("node's OpenSSL is linked into the binary: its TLS is seen at the connection level only")
    if which == "node" and not shutil.which("node"):
        pytest.skip("node missing")
    hub = fakehub_factory(tls_context=tlsca.server_context(tls_ca) if scheme == "https" else None)
    port, base = hub.port, hub.url
    hub.stop()
    extra = [{"name": "down", "match": {"host": "127.0.0.1", "port": port}, "action": "block", "form": "http",
              "status": 404}] if how == "blocked" else []
    rules = rules_for(shim, port, *extra)
    wrap = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(shim.tmp / "strace.txt")] \
        if shutil.which("strace") and shim.kind == "plain" else []
    paths = ["/api/models/acme/tiny", "/bytes/10"] if how == "blocked" else ["/api/models/acme/tiny"]
    r = client_run(shim, which, base, paths, rules, env=https_env(tls_ca), wrap=wrap)
    assert r.returncode == 0, r
    got = lines(r)
    assert got[0][1] == "200" and SHA in got[0][4], r
    if how == "blocked":
        assert got[1][1] == "404", r  # the HTTP-form block
        assert "blocked GET" in r.log and "-> HTTP 404" in r.log, r
        if wrap:
            assert f"htons({port})" not in (shim.tmp / "strace.txt").read_text()
    else:
        assert "the server is unreachable (Connection refused)" in r.log, r
    # a request no rule answers fails as the connection would have
    if how == "down":
        r = client_run(shim, which, base, ["/bytes/10"], rules, env=https_env(tls_ca))
        assert r.returncode != 0, r
        assert "(rule (no rule): the server is unreachable and no rule answers it) -> ECONNRESET" in r.log, r


def test_unmatched_bytes_identical(shim, fakehub):
    """A program no rule matches sends exactly the same bytes with and
    without the shim."""
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "elsewhere", "match": {"host": "other.test"}, "action": "strip-header", "header": "Authorization"},
        {"name": "same-port-other-path", "match": {"port": fakehub.port, "path": "^/nothing-like-this"},
         "action": "block"}]})
    code = ("import sys, requests\n"
            "requests.post(sys.argv[1] + '/echo', data=b'payload ' * 1000, headers={'Authorization': 'Bearer x', 'X-A': 'b'})\n")
    subprocess.run([PY, "-c", code, fakehub.url], check=True, env=shim.base_env(), capture_output=True)
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, fakehub.url)
    assert r.returncode == 0, r
    fakehub.wait_for_connections(2)
    time.sleep(0.1)
    a, b = fakehub.connections[0].received, fakehub.connections[1].received
    assert a == b and len(a) > 8000


def test_eight_threads(shim, fakehub):
    """8 threads, each with its own session, mixing answered and real
    requests."""
    rules = rules_for(shim, fakehub.port)
    code = ("import os, sys, threading, requests, hashlib\n"
            "out = []\n"
            "def work(i):\n"
            "    s = requests.Session()\n"
            "    for k in range(20):\n"
            "        p = '/api/models/a/t%d' % i if k % 2 else '/bytes/%d' % (1000 + i)\n"
            "        r = s.get(sys.argv[1] + p, headers={'Authorization': 'Bearer ' + os.environ['STALE']})\n"
            "        out.append((p, r.status_code, hashlib.sha256(r.content).hexdigest()[:16], r.text[:80] if p.startswith('/api') else ''))\n"
            "ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n"
            "for o in out: print(*o)\n")
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, fakehub.url, env=shim.base_env({"STALE": STALE}),
                    timeout=60)
    assert r.returncode == 0, r
    rows = [line.split(" ", 3) for line in r.stdout.splitlines()]
    assert len(rows) == 160 and all(row[1] == "200" for row in rows)
    for p, _, h, text in rows:
        if p.startswith("/api"):
            assert SHA in text
        else:
            assert h == sha16(expected_bytes(int(p.rsplit("/", 1)[1])))
    assert len(fakehub.requests) == 80 and no_auth_anywhere(fakehub)


def test_hub_client_sequence_offline(shim, fakehub_factory, tls_ca):
    """Offline, a huggingface_hub-style sequence (HEAD .../resolve/... then
    the API) gets an HTTP 403 without X-Error-Code at once, over https."""
    hub = fakehub_factory(tls_context=tlsca.server_context(tls_ca))
    code = ("import sys, httpx\n"
            "with httpx.Client() as c:\n"
            "    r = c.head(sys.argv[1] + '/acme/tiny-model/resolve/main/config.json')\n"
            "    print(r.status_code, 'X-Error-Code' in r.headers, r.headers.get('X-Error-Message'))\n"
            "    r = c.get(sys.argv[1] + '/api/models/acme/tiny-model')\n"
            "    print(r.status_code, 'X-Error-Code' in r.headers)\n")
    env = shim.base_env(dict(https_env(tls_ca), HF_ENDPOINT=hub.url))
    t = time.monotonic()
    r = shim.hfshim("run", "--offline", "--", PY, "-c", code, hub.url, env=env, timeout=20)
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == [
        "403 False hfshim: blocked by rule offline (Hugging Face Hub host, offline mode)", "403 False"], r
    assert time.monotonic() - t < 5
    assert hub.connection_count() == 0


def test_virtual_tls_certificates(shim):
    """tlscert: certificates for virtual TLS sessions carry the host in
    subjectAltName (DNS or IP), verify with their own key, and hostile
    host strings get none (tests/progs/tlscert_probe.c)."""
    r = shim.run([shim.progs / "tlscert_probe"], timeout=60)
    assert r.returncode == 0, r


def test_sendfile_body_is_framed(shim, fakehub, tmp_path):
    """A body sent with sendfile(2) goes through the framer like written
    bytes: the request after it is still judged (its token stripped)."""
    body = expected_bytes(200_000)
    f = tmp_path / "body.bin"
    f.write_bytes(body)
    code = ("import socket, sys\n"
            "host, port = '127.0.0.1', int(sys.argv[1])\n"
            "s = socket.create_connection((host, port))\n"
            "s.sendall(b'POST /echo HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer A\\r\\nContent-Length: %d\\r\\n\\r\\n' "
            "% len(open(sys.argv[2], 'rb').read()))\n"
            "with open(sys.argv[2], 'rb') as fh:\n    s.sendfile(fh)\n"
            "s.sendall(b'GET /headers HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer B\\r\\nConnection: close\\r\\n\\r\\n')\n"
            "data = b''\n"
            "while True:\n    d = s.recv(65536)\n    if not d: break\n    data += d\n"
            "print(data.count(b'HTTP/1.1 200'))\n")
    rules = rules_for(shim, fakehub.port)
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, str(fakehub.port), f)
    assert r.returncode == 0 and r.stdout.strip() == "2", r
    assert [q.path for q in fakehub.requests] == ["/echo", "/headers"]
    assert fakehub.requests[0].body == body
    assert no_auth_anywhere(fakehub)


def test_h2_session_refused_where_rules_apply(shim, nghttpd, tls_ca):
    """A Python TLS session that negotiates HTTP/2 (ALPN h2, here with a
    real h2 server, nghttpd) to a host HTTP rules apply to is refused with a
    log line, never passed through with the rules silently skipped; the same
    session to a host no rule touches negotiates h2 untouched."""
    port = nghttpd.port
    code = ("import socket, ssl, sys\n"
            "ctx = ssl.create_default_context(cafile=sys.argv[2]); ctx.set_alpn_protocols(['h2'])\n"
            "try:\n"
            "    t = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')\n"
            "    print('negotiated', t.selected_alpn_protocol())\n"
            "except ssl.SSLError as e:\n    print('refused', type(e).__name__)\n")
    watched = rules_for(shim, port)
    r = shim.hfshim("run", "--rules", watched, "--", PY, "-c", code, str(port), str(tls_ca.ca_cert))
    assert r.stdout.strip() == "refused SSLError", r
    assert "negotiated HTTP/2, but HTTP rules apply to this host" in r.log, r
    other = rules_for(shim, port + 1)
    r = shim.hfshim("run", "--rules", other, "--", PY, "-c", code, str(port), str(tls_ca.ca_cert))
    assert r.stdout.strip() == "negotiated h2" and "HTTP/2" not in r.log, r


def test_fork_with_watched_connections(shim, fakehub):
    """A process with a thread busy on watched connections forks 5 times;
    each child makes judged requests of its own (no hfshim lock held by the
    busy thread at fork time deadlocks it). A C program: a forked Python
    with threads can deadlock on Python's own locks, shim or not.
    Not under ASan: Debian 12's libasan does not lock its allocator across
    fork, so a child that mallocs while the parent's other thread held the
    allocator lock hangs in asan_malloc (seen in CI); the plain build covers it."""
    if shim.kind == "san":
        pytest.skip("libasan (GCC 12) allocator is not fork-safe with a thread mallocing at fork time")
    rules = rules_for(shim, fakehub.port)
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "fork_busy", str(fakehub.port), timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "0 0 0 0 0", r
    assert [q.path for q in fakehub.requests] == ["/bytes/10"] * 5 and no_auth_anywhere(fakehub)


def test_fd_closed_behind_the_shims_back_is_forgotten(shim, fakehub, tmp_path):
    """A watched socket closed with syscall(SYS_close) (libuv, hence node,
    closes that way) and its fd number reused for a file: writes and reads
    of that fd go to the file, never through the HTTP engine."""
    rules = rules_for(shim, fakehub.port)
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "rawclose", str(fakehub.port), tmp_path / "f.txt")
    assert r.returncode == 0 and r.stdout.strip().endswith("reused: ok"), r
    assert (tmp_path / "f.txt").read_text() == "file contents, not an HTTP request\n"
