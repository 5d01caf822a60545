"""test_fakehub.py: tests of the test infrastructure itself, no shim.

The fake Hub (tests/fakehub.py), the throwaway CA (tests/tlsca.py) and the
libcurl test program (tests/progs/curl_multi.c) must be right before any
test that relies on them means anything: byte-exact bodies with and
without chunked encoding, bodies recorded exactly as sent, keep-alive,
hang mode, dumb-HTTP git over http and https, /git confinement, TLS
recorded as TLS.
"""

import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import time

import pytest
import requests

import tlsca
from conftest import ROOT
from fakehub import FakeHub, expected_bytes

SIZES = [0, 1, 1000, 65536, 3_000_007]


def _env(extra=None):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("GIT_")}
    env.update({"NO_PROXY": "*", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_TERMINAL_PROMPT": "0"})
    env.update(extra or {})
    return env


def _raw(hub, data, timeout=5.0, ctx=None):
    """Sends raw bytes on a fresh connection, returns all bytes read until
    the server closes (send `Connection: close`)."""
    s = socket.create_connection((hub.host, hub.port), timeout=timeout)
    if ctx is not None:
        s = ctx.wrap_socket(s, server_hostname="localhost")
    with s:
        s.sendall(data)
        out = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return bytes(out)
            out += chunk


def _split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _dechunk(body):
    sizes, out = [], bytearray()
    while True:
        line, _, body = body.partition(b"\r\n")
        n = int(line.split(b";")[0], 16)
        if n == 0:
            return sizes, bytes(out)
        sizes.append(n)
        out += body[:n]
        assert body[n:n + 2] == b"\r\n"
        body = body[n + 2:]


# -- /bytes ----------------------------------------------------------------

def test_expected_bytes_is_deterministic_and_prefix_stable():
    a = expected_bytes(3 << 20)
    assert len(a) == 3 << 20
    assert expected_bytes(1000) == a[:1000]
    assert expected_bytes(2_000_123, start=1_000_000) == a[1_000_000:2_000_123]
    assert len(set(a[:4096])) > 200  # looks random
    assert hashlib.sha256(expected_bytes(1000)).hexdigest() == hashlib.sha256(
        hashlib.shake_256(b"fakehub-bytes/0").digest(1 << 20)[:1000]).hexdigest()


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("n", SIZES)
def test_bytes_requests(fakehub, n, chunked):
    r = requests.get(f"{fakehub.url}/bytes/{n}" + ("?chunked=1" if chunked else ""), timeout=10)
    assert r.status_code == 200
    assert r.content == expected_bytes(n)
    if chunked:
        assert r.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in r.headers
    else:
        assert r.headers["Content-Length"] == str(n) and "Transfer-Encoding" not in r.headers


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_bytes_curl(fakehub, tmp_path, chunked):
    n = 1_234_567
    out = tmp_path / "out"
    url = f"{fakehub.url}/bytes/{n}" + ("?chunked=1" if chunked else "")
    r = subprocess.run(["curl", "-sS", "-o", str(out), "-w", "%{http_code}", url], env=_env(),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "200", r.stderr
    assert out.read_bytes() == expected_bytes(n)


def test_bytes_chunked_framing_is_uneven(fakehub):
    raw = _raw(fakehub, b"GET /bytes/300000?chunked=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = _split_response(raw)
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    sizes, data = _dechunk(body)
    assert data == expected_bytes(300000)
    assert len(sizes) > 5 and len(set(sizes)) > 5 and min(sizes) == 1


def test_bytes_range_and_head(fakehub):
    r = requests.get(f"{fakehub.url}/bytes/5000", headers={"Range": "bytes=1000-1999"}, timeout=10)
    assert r.status_code == 206 and r.headers["Content-Range"] == "bytes 1000-1999/5000"
    assert r.content == expected_bytes(5000)[1000:2000]
    r = requests.get(f"{fakehub.url}/bytes/5000", headers={"Range": "bytes=4000-"}, timeout=10)
    assert r.status_code == 206 and r.content == expected_bytes(5000)[4000:]
    r = requests.get(f"{fakehub.url}/bytes/5000", headers={"Range": "bytes=6000-"}, timeout=10)
    assert r.status_code == 416
    r = requests.head(f"{fakehub.url}/bytes/5000", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Length"] == "5000" and r.content == b""
    assert requests.get(f"{fakehub.url}/bytes/-1", timeout=10).status_code == 400


# -- /echo and /headers ----------------------------------------------------

def test_echo_chunked_post_recorded_exactly(fakehub):
    data = expected_bytes(200_003)
    pieces = [data[:1], data[1:70_000], data[70_000:70_001], data[70_001:]]
    r = requests.post(f"{fakehub.url}/echo", data=iter(pieces), timeout=10)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["X-Body-Sha256"] == hashlib.sha256(data).hexdigest()
    assert r.headers["X-Body-Length"] == str(len(data))
    (req,) = fakehub.requests
    assert req.method == "POST" and req.header("Transfer-Encoding") == "chunked"
    assert req.header("Content-Length") is None
    assert req.body == data
    framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    assert bytes(fakehub.connections[0].received) == req.raw_head + framed  # the raw bytes, framing and all


def test_echo_put_with_length_and_expect(fakehub, tmp_path):
    data = expected_bytes(70_000)
    (tmp_path / "body").write_bytes(data)
    r = subprocess.run(["curl", "-sS", "-T", str(tmp_path / "body"), "-H", "Expect: 100-continue",
                        f"{fakehub.url}/echo"], env=_env(), capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data
    (req,) = fakehub.requests
    assert req.method == "PUT" and req.body == data and req.header("Content-Length") == str(len(data))
    assert req.header("Expect") == "100-continue"


def test_headers_as_received(fakehub):
    raw = _raw(fakehub, b"GET /headers HTTP/1.1\r\nHost: x\r\nX-CaSe: One\r\nx-dup: 1\r\nX-Dup: 2\r\n"
                        b"Connection: close\r\n\r\n")
    status, headers, body = _split_response(raw)
    assert status == 200 and headers["content-length"] == str(len(body))
    assert json.loads(body) == [["Host", "x"], ["X-CaSe", "One"], ["x-dup", "1"], ["X-Dup", "2"],
                                ["Connection", "close"]]


def test_status_mode(fakehub_factory):
    hub = fakehub_factory("status:503")
    r = requests.get(f"{hub.url}/bytes/10", timeout=10)
    assert r.status_code == 503 and r.json() == {"error": "fake status 503"}


# -- connections -----------------------------------------------------------

def test_keep_alive_one_connection(fakehub):
    with requests.Session() as s:
        assert s.get(f"{fakehub.url}/bytes/10", timeout=10).content == expected_bytes(10)
        assert s.get(f"{fakehub.url}/health", timeout=10).status_code == 200
    assert [q.path for q in fakehub.requests] == ["/bytes/10", "/health"]
    assert fakehub.connection_count() == 1
    assert {q.conn_id for q in fakehub.requests} == {0}


def test_connection_close_is_honoured(fakehub):
    raw = _raw(fakehub, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
    status, headers, body = _split_response(raw)
    assert status == 200 and headers["connection"] == "close" and body == b"fake hub\n"


def test_hang_mode_hangs(hanging_hub):
    start = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{hanging_hub.url}/bytes/10", timeout=(5, 1.0))
    assert 0.9 < time.monotonic() - start < 5
    assert [q.path for q in hanging_hub.requests] == ["/bytes/10"]
    with socket.create_connection((hanging_hub.host, hanging_hub.port), timeout=1.5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(socket.timeout):
            s.recv(1)
    assert hanging_hub.wait_for_requests(2)


def test_stop_is_fast_and_idempotent():
    hub = FakeHub("hang").start()
    idle = FakeHub("ok").start()
    socks = [socket.create_connection((hub.host, hub.port)) for _ in range(3)]
    for s in socks:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    with requests.Session() as sess:
        sess.get(f"{idle.url}/health", timeout=5)  # leaves an idle keep-alive connection
        assert hub.wait_for_requests(3)
        start = time.monotonic()
        hub.stop()
        idle.stop()
        assert time.monotonic() - start < 2
    hub.stop()  # twice is fine
    FakeHub().stop()  # never started is fine
    for s in socks:
        s.settimeout(2)
        assert s.recv(1) == b""  # closed by stop()
        s.close()
    with pytest.raises(OSError):
        socket.create_connection((hub.host, hub.port), timeout=1).close()


# -- TLS -------------------------------------------------------------------

def test_tls_requests_recorded(tls_hub, tls_ca, fakehub):
    assert tls_hub.url.startswith("https://127.0.0.1:")
    r = requests.get(f"{tls_hub.url}/bytes/100000", verify=str(tls_ca.ca_cert), timeout=10)
    assert r.content == expected_bytes(100000)
    (req,) = tls_hub.requests
    assert req.tls and req.scheme == "https" and req.alpn == "http/1.1" and req.tls_version.startswith("TLSv1.")
    assert tls_hub.connections[0].tls
    requests.get(f"{fakehub.url}/health", timeout=10)
    (plain,) = fakehub.requests
    assert not plain.tls and plain.alpn is None and plain.tls_version is None and plain.scheme == "http"


def test_tls_offers_http1_only(tls_hub, tls_ca):
    ctx = tlsca.client_context(tls_ca)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    for host in ("localhost", "hub.test", "x.hub.test"):
        with socket.create_connection((tls_hub.host, tls_hub.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                assert s.selected_alpn_protocol() == "http/1.1"
    raw = _raw(tls_hub, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ctx=ctx)
    assert _split_response(raw)[2] == b"fake hub\n"


def test_tls_ipv6(fakehub_factory, tls_ca):
    try:
        hub = fakehub_factory("ok", host="::1", tls_context=tlsca.server_context(tls_ca))
    except OSError as e:
        pytest.skip(f"no ::1 here: {e}")
    r = requests.get(f"{hub.url}/bytes/10", verify=str(tls_ca.ca_cert), timeout=10)
    assert r.content == expected_bytes(10) and hub.requests[0].tls


def test_tls_curl_with_client_env_and_untrusted(tls_hub, tls_ca, tmp_path):
    out = tmp_path / "out"
    url = f"{tls_hub.url}/bytes/70000?chunked=1"
    r = subprocess.run(["curl", "-sS", "-o", str(out), url], env=_env(tlsca.client_env(tls_ca)),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == expected_bytes(70000)
    # without the CA curl refuses, and the hub records the failed handshake
    r = subprocess.run(["curl", "-sS", "--cacert", "/dev/null", "-o", "/dev/null", url], env=_env(),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert tls_hub.wait_for_connections(2)
    deadline = time.monotonic() + 5
    while tls_hub.connections[1].tls_error is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tls_hub.connections[1].tls_error and not tls_hub.connections[1].tls
    assert len(tls_hub.requests) == 1


def test_tls_ca_is_reused(tls_ca):
    again = tlsca.make_ca(tls_ca.dir)
    assert again == tls_ca and again.ca_cert.read_bytes() == tls_ca.ca_cert.read_bytes()
    env = tlsca.client_env(tls_ca)
    assert set(env) == {"CURL_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO",
                        "NODE_EXTRA_CA_CERTS"}
    assert set(env.values()) == {str(tls_ca.ca_cert)}


# -- dumb-HTTP git ---------------------------------------------------------

@pytest.mark.parametrize("scheme", ["http", "https"])
def test_git_clone(fakehub_factory, git_repo, tls_ca, tmp_path, scheme):
    ctx = tlsca.server_context(tls_ca) if scheme == "https" else None
    hub = fakehub_factory("ok", git_root=git_repo.parent, tls_context=ctx)
    dest = tmp_path / "clone"
    env = _env(tlsca.client_env(tls_ca) if scheme == "https" else None)
    r = subprocess.run(["git", "clone", "-q", f"{hub.url}/git/{git_repo.name}", str(dest)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (dest / "weights.bin").read_bytes() == expected_bytes(200 * 1024)
    assert (dest / "config.json").exists()
    log = subprocess.run(["git", "-C", str(dest), "log", "--format=%s"], env=env, capture_output=True, text=True)
    assert log.stdout.splitlines() == ["second: config", "first: README and weights"]
    paths = [q.path for q in hub.requests]
    assert paths[0] == f"/git/{git_repo.name}/info/refs"
    assert any(p.endswith(".pack") for p in paths) and any(re.search(r"/objects/[0-9a-f]{2}/", p) for p in paths)
    assert all(q.tls == (scheme == "https") for q in hub.requests)
    assert hub.connection_count() < len(hub.requests)  # kept alive


def test_git_root_confinement(fakehub_factory, tmp_path):
    root = tmp_path / "root"
    (root / "repo.git").mkdir(parents=True)
    (root / "repo.git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    (tmp_path / "secret").write_bytes(b"SECRET\n")
    (root / "repo.git" / "out").symlink_to(tmp_path / "secret")
    (root / "repo.git" / "outdir").symlink_to(tmp_path)
    (root / "repo.git" / "in").symlink_to(root / "repo.git" / "HEAD")
    hub = fakehub_factory("ok", git_root=root)

    def get(target):
        raw = _raw(hub, b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % target.encode())
        return _split_response(raw)

    status, headers, body = get("/git/repo.git/HEAD")
    assert status == 200 and body == b"ref: refs/heads/main\n" and headers["content-length"] == str(len(body))
    assert get("/git/repo.git/in")[0] == 200  # a symlink staying inside is fine
    for bad in ["/git/../secret", "/git/repo.git/../../secret", "/git/%2e%2e/secret", "/git/..%2fsecret",
                f"/git/{tmp_path}/secret", f"/git//{tmp_path}/secret", "/git/repo.git/out", "/git/repo.git/outdir/secret",
                "/git/repo.git", "/git/", "/git/nope", "/git/repo.git/HEAD%00"]:
        status, _, body = get(bad)
        assert status == 404 and b"SECRET" not in body, bad
    assert fakehub_factory("ok").url and get("/git/repo.git/HEAD")[0] == 200
    plain = fakehub_factory("ok")  # no git_root: /git is not served
    raw = _raw(plain, b"GET /git/repo.git/HEAD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert _split_response(raw)[0] == 404


# -- tests/progs/curl_multi ------------------------------------------------

def _curl_multi():
    prog = ROOT / os.environ.get("HFSHIM_BUILD", "build") / "progs/curl_multi"
    if not prog.exists():
        pytest.fail(f"{prog} is missing: run make")
    return str(prog)


_LINE = re.compile(r"(\S+) result=(\d+) (.*?) status=(\d+) bytes=(\d+) sha256=([0-9a-f]{64})(?: error=(.*))?$")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_curl_multi_prog(fakehub_factory, tls_ca, scheme):
    hub = fakehub_factory("ok", tls_context=tlsca.server_context(tls_ca) if scheme == "https" else None)
    env = _env(tlsca.client_env(tls_ca))
    sizes = [0, 55, 64, 1000, 2_000_001]
    urls = [f"{hub.url}/bytes/{n}" for n in sizes] + [f"{hub.url}/bytes/{n}?chunked=1" for n in sizes]
    r = subprocess.run([_curl_multi(), "-H", "X-Probe: yes", "multi", *urls], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [_LINE.match(line) for line in r.stdout.splitlines()]
    assert len(lines) == len(urls) and all(lines)
    assert sorted(m.group(1) for m in lines) == sorted(urls)
    for m in lines:
        n = int(re.search(r"/bytes/(\d+)", m.group(1)).group(1))
        assert (m.group(2), m.group(3), m.group(4), int(m.group(5))) == ("0", "No error", "200", n)
        assert m.group(6) == hashlib.sha256(expected_bytes(n)).hexdigest()
    assert {q.header("X-Probe") for q in hub.requests} == {"yes"}
    assert all(q.tls == (scheme == "https") for q in hub.requests)

    before = hub.connection_count()
    r = subprocess.run([_curl_multi(), "threads", "8", f"{hub.url}/bytes/100000"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    digest = hashlib.sha256(expected_bytes(100000)).hexdigest()
    assert r.stdout.splitlines() == [f"{hub.url}/bytes/100000 result=0 No error status=200 bytes=100000 "
                                     f"sha256={digest}"] * 160
    assert hub.connection_count() - before == 8  # each thread keeps its connection


def test_curl_multi_prog_post_and_failures(fakehub, hanging_hub, tmp_path):
    body = tmp_path / "body"
    body.write_bytes(expected_bytes(5000))
    r = subprocess.run([_curl_multi(), "--data", str(body), "-X", "PUT", "multi", f"{fakehub.url}/echo"],
                       env=_env(), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"bytes=5000 sha256={hashlib.sha256(expected_bytes(5000)).hexdigest()}" in r.stdout
    assert fakehub.requests[-1].method == "PUT" and fakehub.requests[-1].body == expected_bytes(5000)
    r = subprocess.run([_curl_multi(), "--fail", "multi", f"{fakehub.url}/nope", f"{fakehub.url}/health"],
                       env=_env(), capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    got = {m.group(1): m for m in map(_LINE.match, r.stdout.splitlines())}
    assert got[f"{fakehub.url}/nope"].group(2) == "22" and "404" in got[f"{fakehub.url}/nope"].group(7)
    assert got[f"{fakehub.url}/health"].group(2) == "0"
    start = time.monotonic()
    r = subprocess.run([_curl_multi(), "--max-time", "1", "multi", f"{hanging_hub.url}/x"], env=_env(),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and " result=28 " in r.stdout and time.monotonic() - start < 5
    r = subprocess.run([_curl_multi(), "threads", "zero", "x"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2


# -- tokens, private and gated repos, revisions, router (hf-protocol.md §4) --

GOOD_T = "hf_" + "g" * 34
GRANTED_T = "hf_" + "k" * 34
STALE_T = "hf_" + "s" * 34
INFER_T = "hf_" + "i" * 34


@pytest.fixture
def token_hub(fakehub_factory):
    from fakehub import GATED_REPO, TOKEN_REPOS

    hub = fakehub_factory(repos=TOKEN_REPOS)
    hub.valid_tokens = {GOOD_T, GRANTED_T, INFER_T}
    hub.grants = {GATED_REPO: {GRANTED_T}}
    hub.inference_tokens = {INFER_T}
    return hub


def _get(url, token=None, method="GET", **kw):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, url, headers=h, timeout=10, **kw)


def test_private_repo(token_hub):
    from fakehub import PRIVATE_REPO, PRIVATE_SHA

    base = token_hub.url
    for url in (f"{base}/api/models/{PRIVATE_REPO}", f"{base}/api/models/{PRIVATE_REPO}/revision/main",
                f"{base}/{PRIVATE_REPO}/resolve/main/config.json", f"{base}/api/models/{PRIVATE_REPO}/tree/main"):
        r = _get(url)  # anonymous: exactly like a repo that does not exist
        assert r.status_code == 401 and r.headers["X-Error-Code"] == "RepoNotFound", url
        assert r.json() == {"error": "Repository not found"}
        missing = _get(url.replace(PRIVATE_REPO, "acme/does-not-exist"))
        assert (missing.status_code, missing.headers.get("X-Error-Code"), missing.json()) == \
            (401, "RepoNotFound", {"error": "Repository not found"})
        r = _get(url, STALE_T)  # an invalid token: the Hub says so first
        assert r.status_code == 401 and r.headers["X-Error-Message"] == "Invalid credentials in Authorization header"
        r = _get(url, GOOD_T)
        assert r.status_code == 200, url
    r = _get(f"{base}/api/models/{PRIVATE_REPO}", GOOD_T).json()
    assert r["private"] is True and r["sha"] == PRIVATE_SHA
    assert _get(f"{base}/{PRIVATE_REPO}/resolve/main/config.json", GOOD_T).content == b'{"model_type": "private"}\n'
    # grants narrow who may read a private repo
    token_hub.grants = dict(token_hub.grants, **{PRIVATE_REPO: {GRANTED_T}})
    assert _get(f"{base}/api/models/{PRIVATE_REPO}", GOOD_T).headers.get("X-Error-Code") == "RepoNotFound"
    assert _get(f"{base}/api/models/{PRIVATE_REPO}", GRANTED_T).status_code == 200


def test_gated_repo(token_hub):
    from fakehub import GATED_REPO, GATED_SHA

    base = token_hub.url
    for tok in (None, GOOD_T, GRANTED_T):  # repo info is public
        r = _get(f"{base}/api/models/{GATED_REPO}", tok)
        assert r.status_code == 200 and r.json()["sha"] == GATED_SHA and r.json()["gated"] == "manual"
    for method in ("GET", "HEAD"):
        url = f"{base}/{GATED_REPO}/resolve/main/config.json"
        r = _get(url, method=method)
        assert r.status_code == 401 and r.headers["X-Error-Code"] == "GatedRepo"
        assert r.headers["X-Error-Message"] == (
            f"Access to model {GATED_REPO} is restricted. You must have access to it and be authenticated to "
            "access it. Please log in.")
        r = _get(url, GOOD_T, method=method)
        assert r.status_code == 403 and r.headers["X-Error-Code"] == "GatedRepo"
        assert r.headers["X-Error-Message"] == (
            f"Access to model {GATED_REPO} is restricted and you are not in the authorized list. Visit "
            f"https://huggingface.co/{GATED_REPO} to ask for access.")
        r = _get(url, GRANTED_T, method=method)
        assert r.status_code == 200 and r.headers["X-Repo-Commit"] == GATED_SHA
    assert _get(f"{base}/{GATED_REPO}/resolve/main/config.json", GRANTED_T).content == b'{"model_type": "gated"}\n'
    r = _get(f"{base}/{GATED_REPO}/resolve/main/config.json", STALE_T)
    assert r.status_code == 401 and "X-Error-Code" not in r.headers


def test_revision_not_found(token_hub):
    from fakehub import HUB_REPO, HUB_SHA

    base = token_hub.url
    for rev in ("main", "HEAD", HUB_SHA):
        assert _get(f"{base}/api/models/{HUB_REPO}/revision/{rev}").json()["sha"] == HUB_SHA
        assert _get(f"{base}/{HUB_REPO}/resolve/{rev}/config.json").status_code == 200
    for url, rev in ((f"{base}/api/models/{HUB_REPO}/revision/v9", "v9"),
                     (f"{base}/api/models/{HUB_REPO}/revision/refs%2Fpr%2F7", "refs/pr/7"),
                     (f"{base}/{HUB_REPO}/resolve/nope/config.json", "nope"),
                     (f"{base}/{HUB_REPO}/resolve/{'f' * 40}/config.json", "f" * 40)):
        r = _get(url)
        assert r.status_code == 404 and r.headers["X-Error-Code"] == "RevisionNotFound", url
        assert r.headers["X-Error-Message"] == f"Invalid rev id: {rev}" and r.json() == {"error": f"Invalid rev id: {rev}"}
    # EntryNotFound is still about the file, with the commit
    r = _get(f"{base}/{HUB_REPO}/resolve/main/nope.json")
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "EntryNotFound" and r.headers["X-Repo-Commit"] == HUB_SHA


def test_revision_refs(fakehub_factory):
    from fakehub import Repo

    hub = fakehub_factory(repos=[Repo("acme/r", "3" * 40, {"a.txt": b"a"}, refs={"v1.0", "refs/pr/1"})])
    for rev in ("v1.0", "refs%2Fpr%2F1", "main"):
        assert _get(f"{hub.url}/api/models/acme/r/revision/{rev}").status_code == 200, rev
    assert _get(f"{hub.url}/acme/r/resolve/v1.0/a.txt").content == b"a"
    assert _get(f"{hub.url}/api/models/acme/r/revision/v2.0").headers["X-Error-Code"] == "RevisionNotFound"


def test_whoami(token_hub, fakehub):
    url = f"{token_hub.url}/api/whoami-v2"
    r = _get(url, GOOD_T)
    assert r.status_code == 200 and r.json()["type"] == "user" and r.json()["name"] == "tester"
    for tok in (STALE_T, None):
        r = _get(url, tok)
        assert r.status_code == 401 and r.headers["X-Error-Message"] == "Invalid credentials in Authorization header"
    # without valid_tokens any token is taken
    assert _get(f"{fakehub.url}/api/whoami-v2", STALE_T).json()["name"] == "tester"
    assert _get(f"{fakehub.url}/api/whoami-v2").status_code == 401


def test_inference_router(token_hub):
    chat = f"{token_hub.url}/v1/chat/completions"
    body = {"model": "acme/llm", "messages": [{"role": "user", "content": "hi"}]}
    for tok in (None, GOOD_T, STALE_T):  # no token, no permission, invalid: all the router's 401
        r = _get(chat, tok, method="POST", json=body)
        assert r.status_code == 401 and r.json() == {"error": "Invalid username or password."}, tok
        assert "X-Error-Message" not in r.headers and "X-Error-Code" not in r.headers
    r = _get(chat, INFER_T, method="POST", json=body)
    assert r.status_code == 200 and r.json()["model"] == "acme/llm"
    assert r.json()["choices"][0]["message"]["role"] == "assistant"
    hf = f"{token_hub.url}/hf-inference/models/acme/classifier"
    assert _get(hf, GOOD_T, method="POST", json={"inputs": "x"}).status_code == 401
    assert _get(hf, INFER_T, method="POST", json={"inputs": "x"}).json()[0][0]["label"] == "POSITIVE"
    token_hub.inference_tokens = None  # every valid token may call it
    assert _get(chat, GOOD_T, method="POST", json=body).status_code == 200
    assert _get(chat, STALE_T, method="POST", json=body).status_code == 401


def test_error_answers_keep_the_connection(token_hub):
    """Like the Hub, 401/403/404 answers keep the connection alive: a
    client's anonymous retry goes on the same connection. Every request is
    recorded, with its Authorization as sent."""
    from fakehub import GATED_REPO, HUB_REPO, PRIVATE_REPO

    base = token_hub.url
    seq = [(f"/api/models/{HUB_REPO}", STALE_T, 401), (f"/api/models/{HUB_REPO}", None, 200),
           (f"/api/models/{PRIVATE_REPO}", None, 401), (f"/{GATED_REPO}/resolve/main/config.json", None, 401),
           (f"/{GATED_REPO}/resolve/main/config.json", GOOD_T, 403), (f"/{HUB_REPO}/resolve/v9/config.json", None, 404),
           (f"/{HUB_REPO}/resolve/main/nope", None, 404), ("/api/whoami-v2", None, 401), ("/api/whoami-v2", GOOD_T, 200)]
    with requests.Session() as s:
        for path, tok, want in seq:
            h = {"Authorization": f"Bearer {tok}"} if tok else {}
            r = s.get(base + path, headers=h, timeout=10)
            assert r.status_code == want and r.headers["Connection"] == "keep-alive", path
        r = s.post(base + "/v1/chat/completions", json={}, timeout=10)
        assert r.status_code == 401 and r.headers["Connection"] == "keep-alive"
    assert token_hub.connection_count() == 1 and len(token_hub.requests) == len(seq) + 1
    assert [q.header("Authorization") for q in token_hub.requests[:len(seq)]] == \
        [f"Bearer {t}" if t else None for _, t, _ in seq]
    # and on a raw socket: two requests written at once, both answered
    s = socket.create_connection((token_hub.host, token_hub.port), timeout=5)
    s.sendall(f"GET /api/models/{HUB_REPO} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {STALE_T}\r\n\r\n"
              f"GET /api/models/{HUB_REPO} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    assert out.count(b"HTTP/1.1 401 ") == 1 and out.count(b"HTTP/1.1 200 ") == 1


def test_cli_token_options(tmp_path):
    """`python3 tests/fakehub.py --token-repos --valid-token T --grant R=T --inference-token T`."""
    from fakehub import GATED_REPO

    p = subprocess.Popen(["/usr/bin/python3", str(ROOT / "tests/fakehub.py"), "--token-repos", "--valid-token", GOOD_T,
                          "--valid-token", GRANTED_T, "--grant", f"{GATED_REPO}={GRANTED_T}", "--inference-token",
                          GRANTED_T], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        port = int(p.stdout.readline().split()[1])
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/{GATED_REPO}/resolve/main/config.json", GOOD_T).status_code == 403
        assert _get(f"{base}/{GATED_REPO}/resolve/main/config.json", GRANTED_T).status_code == 200
        assert _get(f"{base}/api/models/{GATED_REPO}", STALE_T).status_code == 401
        assert _get(f"{base}/v1/chat/completions", GRANTED_T, method="POST", json={}).status_code == 200
    finally:
        p.terminate()
        p.wait(timeout=5)
