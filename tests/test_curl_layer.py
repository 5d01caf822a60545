"""test_curl_layer.py: HTTP actions on libcurl programs (curl CLI, git,
pycurl, a C program on the multi interface), asserted on what the fake Hub
received byte for byte.

Rules act on the libcurl API, so they work the same over http and https,
HTTP/1.1 and HTTP/2, and `respond` needs no server at all.
"""

import hashlib
import json
import subprocess
import time

import pytest

import tlsca
from conftest import PY
from fakehub import expected_bytes

STALE = "hf_" + "S" * 34  # a token-shaped secret that must never reach the server nor the log
MB = 1 << 20


def strip_rules(shim, port, extra=()):
    return shim.write_rules({"version": 1, "rules": [
        {"name": "strip-auth", "match": {"host": "127.0.0.1", "port": port}, "action": "strip-header",
         "header": "Authorization"}, *extra]})


def no_auth_anywhere(hub):
    return all(q.header("Authorization") is None for q in hub.requests) and \
        all(b"authorization" not in c.received.lower() for c in hub.connections)


@pytest.mark.parametrize("how", ["header", "userpwd"])
def test_curl_strip_authorization_1mb(shim, fakehub, tmp_path, how):
    shim.skip_if_asan_deadlocks("curl")
    rules = strip_rules(shim, fakehub.port)
    out = tmp_path / "out.bin"
    auth = ["-H", f"Authorization: Bearer {STALE}"] if how == "header" else ["-u", f"user:{STALE}"]
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", *auth, "-H", "X-Keep: yes", "-o", out,
                    f"{fakehub.url}/bytes/{MB}")
    assert r.returncode == 0, r
    assert out.read_bytes() == expected_bytes(MB)
    assert len(fakehub.requests) == 1 and no_auth_anywhere(fakehub)
    q = fakehub.requests[0]
    assert q.header("X-Keep") == "yes" and q.header("User-Agent").startswith("curl/") and q.header("Accept") == "*/*"
    assert "stripped header Authorization from GET" in r.log and "(rule strip-auth" in r.log, r
    assert STALE not in r.log


def test_curl_many_header_lines(shim, fakehub):
    """More header lines than hfs_curl_plan holds on its stack (curlplan.c
    SMALL_LINES), one of them the token to strip and one an empty
    "Accept:" that stops libcurl's own: every other line arrives as sent,
    in order, and the token does not."""
    shim.skip_if_asan_deadlocks("curl")
    rules = strip_rules(shim, fakehub.port)
    extra = [f"X-Line-{i:02d}: v{i}" for i in range(60)]
    args = sum((["-H", h] for h in extra[:30] + [f"Authorization: Bearer {STALE}", "Accept:"] + extra[30:]), [])
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", *args, "-o", "/dev/null",
                    fakehub.url + "/headers", timeout=20)
    assert r.returncode == 0, r
    assert no_auth_anywhere(fakehub) and STALE not in r.log, r
    q = fakehub.requests[0]
    got = [(k, v) for k, v in q.header_lines if k.startswith("X-Line-")]
    assert got == [(f"X-Line-{i:02d}", f"v{i}") for i in range(60)], got
    assert q.header("Accept") is None
    assert "stripped header Authorization from GET" in r.log, r


def test_curl_chunked_post_intact(shim, fakehub, tmp_path):
    shim.skip_if_asan_deadlocks("curl")
    body = expected_bytes(300_000)[::-1]
    f = tmp_path / "body.bin"
    f.write_bytes(body)
    rules = strip_rules(shim, fakehub.port)
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", "-H", f"Authorization: Bearer {STALE}",
                    "-H", "Transfer-Encoding: chunked", "--data-binary", f"@{f}", "-o", tmp_path / "echo.bin",
                    f"{fakehub.url}/echo")
    assert r.returncode == 0, r
    q = fakehub.requests[0]
    assert q.method == "POST" and q.header("Transfer-Encoding") == "chunked"
    assert q.body == body and (tmp_path / "echo.bin").read_bytes() == body
    assert no_auth_anywhere(fakehub)


def test_set_header_only_on_matching_host(shim, fakehub_factory):
    shim.skip_if_asan_deadlocks("curl")
    a, b = fakehub_factory(), fakehub_factory()
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "token-for-a", "match": {"port": a.port}, "action": "set-header", "header": "Authorization",
         "from_env": "A_TOKEN", "prefix": "Bearer "}]})
    env = shim.base_env({"A_TOKEN": STALE})
    for hub in (a, b):
        r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", "-o", "/dev/null", hub.url + "/headers",
                        env=env)
        assert r.returncode == 0, r
    assert a.requests[0].headers_named("Authorization") == [f"Bearer {STALE}"]
    assert b.requests[0].header("Authorization") is None
    assert STALE not in r.log


def test_block_fails_fast(shim, fakehub):
    shim.skip_if_asan_deadlocks("curl")
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "no-metrics", "match": {"method": "POST", "path": "^/metrics"}, "action": "block"}]})
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-d", "x=1", fakehub.url + "/metrics")
    assert r.returncode == 7 and r.elapsed < 1.0, r
    assert "curl: (7) hfshim: blocked by rule no-metrics" in r.stderr, r
    assert f"blocked POST {fakehub.url}/metrics (rule no-metrics" in r.log and "CURLE_COULDNT_CONNECT" in r.log
    # a GET of the same path is not matched by the rule: it goes through
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", "-o", "/dev/null", fakehub.url + "/metrics")
    assert r.returncode == 22  # the fake Hub's own 404
    assert [q.method for q in fakehub.requests] == ["GET"]


def respond_rules(shim, extra=()):
    return shim.write_rules({"version": 1, "rules": [
        {"name": "model-info", "match": {"path": "^/api/models/acme/tiny$"}, "action": "respond", "status": 200,
         "headers": {"Content-Type": "application/json", "X-Repo-Commit": "c0ffee"},
         "body": json.dumps({"id": "acme/tiny", "sha": "c0ffee"})},
        {"name": "gone", "match": {"path": "^/gone"}, "action": "respond", "status": 404, "body": "not here\n"},
        *extra]})


def test_respond_without_server(shim, fakehub_factory, tmp_path):
    """The server is stopped: the answer still comes, with headers and
    getinfo as for a real transfer, and nothing reaches the port."""
    shim.skip_if_asan_deadlocks("curl")
    hub = fakehub_factory()
    url = hub.url
    hub.stop()
    rules = respond_rules(shim)
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-D", tmp_path / "h.txt", "-w",
                    "\n%{http_code} %{content_type} %{size_download}\n", url + "/api/models/acme/tiny")
    assert r.returncode == 0, r
    body, stats = r.stdout.rsplit("\n", 2)[0], r.stdout.rsplit("\n", 2)[1]
    assert json.loads(body) == {"id": "acme/tiny", "sha": "c0ffee"}
    assert stats == f"200 application/json {len(body)}"
    heads = (tmp_path / "h.txt").read_bytes().decode()
    assert heads.startswith("HTTP/1.1 200 OK\r\n") and "X-Repo-Commit: c0ffee\r\n" in heads
    assert f"answered GET {url}/api/models/acme/tiny with 200 (rule model-info" in r.log
    # -f on a 404 answer: curl's own error, exit 22
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", url + "/gone")
    assert r.returncode == 22 and "returned error: 404" in r.stderr, r
    assert hub.connection_count() == 0


def test_respond_offline_hub(shim, fakehub_factory):
    """Offline, the Hub endpoint is blocked at the HTTP level (403) except
    what a respond rule answers; no connection either way."""
    shim.skip_if_asan_deadlocks("curl")
    hub = fakehub_factory()
    rules = respond_rules(shim)
    env = shim.base_env({"HF_ENDPOINT": hub.url})
    r = shim.hfshim("run", "--offline", "--rules", rules, "--", "curl", "-sS", hub.url + "/api/models/acme/tiny",
                    env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["sha"] == "c0ffee", r
    r = shim.hfshim("run", "--offline", "--rules", rules, "--", "curl", "-sS", "-D", "-",
                    hub.url + "/api/models/other/x", env=env)
    assert r.stdout.startswith("HTTP/1.1 403 Forbidden\n"), r  # (text mode turns CRLF into LF)
    assert "X-Error-Message: hfshim: blocked by rule offline (Hugging Face Hub host, offline mode)" in r.stdout
    assert "X-Error-Code" not in r.stdout
    assert hub.connection_count() == 0


def test_curl_parallel_mixed(shim, fakehub):
    shim.skip_if_asan_deadlocks("curl")
    rules = respond_rules(shim, [{"name": "strip-auth", "match": {"port": fakehub.port}, "action": "strip-header",
                                  "header": "Authorization"}])
    urls = [fakehub.url + p for p in ("/api/models/acme/tiny", "/bytes/5000", "/gone", "/headers")]
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "--parallel", "--parallel-max", "4",
                    "-H", f"Authorization: Bearer {STALE}", *sum((["-o", "/dev/null"] for _ in urls), []),
                    "-w", "%{url} %{http_code}\n", *urls)
    assert r.returncode == 0, r
    codes = dict(line.split() for line in r.stdout.splitlines())
    assert codes == {urls[0]: "200", urls[1]: "200", urls[2]: "404", urls[3]: "200"}
    assert sorted(q.path for q in fakehub.requests) == ["/bytes/5000", "/headers"]
    assert no_auth_anywhere(fakehub)


def test_curl_https_and_http2(shim, tls_hub, tls_ca, fakehub_factory):
    """Over TLS (and with --http2 asked for) the libcurl layer acts the
    same: it works on the API, not on the bytes."""
    shim.skip_if_asan_deadlocks("curl")
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "strip-auth", "match": {"scheme": "https", "port": tls_hub.port}, "action": "strip-header",
         "header": "Authorization"},
        {"name": "answer", "match": {"path": "^/answered"}, "action": "respond", "status": 200, "body": "ok\n"}]})
    env = shim.base_env(tlsca.client_env(tls_ca))
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", "--http2", "-H",
                    f"Authorization: Bearer {STALE}", "-o", "/dev/null", f"{tls_hub.url}/bytes/{MB}", env=env)
    assert r.returncode == 0, r
    assert tls_hub.requests[0].tls and no_auth_anywhere(tls_hub)
    # an https URL nobody listens on, HTTP/2 asked for: answered all the same
    down = fakehub_factory()
    url = down.url.replace("http:", "https:")
    down.stop()
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "--http2", url + "/answered", env=env)
    assert r.returncode == 0 and r.stdout == "ok\n", r


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_git_clone_strips_header(shim, fakehub_factory, git_repo, tls_ca, tmp_path, scheme):
    shim.skip_if_asan_deadlocks("git")
    ctx = tlsca.server_context(tls_ca) if scheme == "https" else None
    hub = fakehub_factory(git_root=git_repo.parent, tls_context=ctx)
    rules = strip_rules(shim, hub.port)
    env = shim.base_env({**tlsca.client_env(tls_ca), "GIT_TERMINAL_PROMPT": "0"})
    dest = tmp_path / "clone"
    r = shim.hfshim("run", "--rules", rules, "--", "git", "-c", f"http.extraHeader=Authorization: Bearer {STALE}",
                    "clone", "-q", f"{hub.url}/git/{git_repo.name}", dest, env=env, timeout=60)
    assert r.returncode == 0, r
    assert (dest / "weights.bin").read_bytes() == expected_bytes(204800)
    assert len(hub.requests) >= 3 and no_auth_anywhere(hub)
    assert "git-remote-http" in r.log and "stripped header Authorization" in r.log


def test_pycurl(shim, fakehub):
    code = f"""
import io, pycurl, sys
def get(url, headers=()):
    c = pycurl.Curl(); buf = io.BytesIO()
    c.setopt(pycurl.URL, url); c.setopt(pycurl.WRITEDATA, buf); c.setopt(pycurl.HTTPHEADER, list(headers))
    c.perform(); code = c.getinfo(pycurl.RESPONSE_CODE); c.close()
    return code, buf.getvalue()
code, body = get(sys.argv[1] + "/bytes/{MB}", ["Authorization: Bearer {STALE}", "X-Keep: 1"])
print(code, body == bytes(__import__("fakehub").expected_bytes({MB})))
print(*get(sys.argv[1] + "/api/models/acme/tiny"))
"""
    rules = respond_rules(shim, [{"name": "strip-auth", "match": {"port": fakehub.port}, "action": "strip-header",
                                  "header": "Authorization"}])
    env = shim.base_env({"PYTHONPATH": str(shim.progs.parent.parent / "tests")})
    import os

    env["PYTHONPATH"] = os.path.join(os.path.dirname(__file__))
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, fakehub.url, env=env)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "200 True"
    assert lines[1].startswith("200 b'{\"id\": \"acme/tiny\"")
    assert [q.path for q in fakehub.requests] == [f"/bytes/{MB}"]
    assert no_auth_anywhere(fakehub) and fakehub.requests[0].header("X-Keep") == "1"


def test_c_multi_interface(shim, fakehub):
    rules = respond_rules(shim, [
        {"name": "strip-auth", "match": {"port": fakehub.port}, "action": "strip-header", "header": "Authorization"},
        {"name": "no-post", "match": {"path": "^/blocked"}, "action": "block"}])
    urls = [fakehub.url + p for p in ("/api/models/acme/tiny", "/bytes/100000", "/gone", "/blocked", "/headers",
                                      "/bytes/3000?chunked=1")]
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_multi", "-H", f"Authorization: Bearer {STALE}",
                    "multi", *urls)
    assert r.returncode == 1, r  # one transfer (blocked) failed
    res = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert "result=0" in res[urls[0]] and "status=200" in res[urls[0]]
    assert f"sha256={hashlib.sha256(expected_bytes(100000)).hexdigest()}" in res[urls[1]]
    assert "status=404" in res[urls[2]] and "bytes=9" in res[urls[2]]
    assert "result=7" in res[urls[3]] and "error=hfshim: blocked by rule no-post" in res[urls[3]]
    assert f"sha256={hashlib.sha256(expected_bytes(3000)).hexdigest()}" in res[urls[5]]
    assert sorted(q.path for q in fakehub.requests) == ["/bytes/100000", "/bytes/3000", "/headers"]
    assert no_auth_anywhere(fakehub)


def test_eight_threads(shim, fakehub):
    rules = respond_rules(shim, [{"name": "strip-auth", "match": {"port": fakehub.port}, "action": "strip-header",
                                  "header": "Authorization"}])
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_multi", "-H", f"Authorization: Bearer {STALE}",
                    "threads", "8", fakehub.url + "/bytes/20000", timeout=60)
    assert r.returncode == 0, r
    want = hashlib.sha256(expected_bytes(20000)).hexdigest()
    lines = r.stdout.splitlines()
    assert len(lines) == 160 and all(f"sha256={want}" in line for line in lines)
    assert len(fakehub.requests) == 160 and no_auth_anywhere(fakehub)
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_multi", "threads", "8",
                    fakehub.url + "/api/models/acme/tiny", timeout=60)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 160
    assert all("status=200" in line for line in r.stdout.splitlines())
    assert len(fakehub.requests) == 160  # the answered ones never reached it


def test_unmatched_bytes_identical(shim, fakehub, tmp_path):
    """A program no rule matches sends exactly the same bytes with and
    without the shim."""
    shim.skip_if_asan_deadlocks("curl")
    f = tmp_path / "b.bin"
    f.write_bytes(b"payload " * 1000)
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "elsewhere", "match": {"host": "other.test"}, "action": "strip-header", "header": "Authorization"},
        {"name": "elsewhere-block", "match": {"path": "^/nothing-like-this"}, "action": "block"}]})
    cmd = ["curl", "-sS", "-H", "Authorization: Bearer x", "-H", "X-A:  spaced ", "--data-binary", f"@{f}",
           "-o", "/dev/null", fakehub.url + "/echo"]
    subprocess.run(cmd, check=True, env=shim.base_env(), capture_output=True)
    r = shim.hfshim("run", "--rules", rules, "--", *cmd)
    assert r.returncode == 0, r
    fakehub.wait_for_connections(2)
    time.sleep(0.1)
    a, b = fakehub.connections[0].received, fakehub.connections[1].received
    assert a == b and len(a) > 8000


def test_curl_http2_real_server(shim, nghttpd, tls_ca, tmp_path):
    """A real HTTP/2 server (nghttpd, verbose: it prints every header it
    receives): the stripped header never arrives, the rest does, and a
    300 KB download is byte-exact over h2."""
    shim.skip_if_asan_deadlocks("curl")
    blob = expected_bytes(300_000)
    (nghttpd.docs / "blob.bin").write_bytes(blob)
    rules = strip_rules(shim, nghttpd.port)
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "--http2", "--cacert", tls_ca.ca_cert,
                    "-H", f"Authorization: Bearer {STALE}", "-H", "X-Keep: yes", "-o", tmp_path / "out.bin",
                    "-w", "%{http_version} %{http_code}", f"https://127.0.0.1:{nghttpd.port}/blob.bin")
    assert r.returncode == 0 and r.stdout == "2 200", r
    assert (tmp_path / "out.bin").read_bytes() == blob
    seen = nghttpd.log.read_text().lower()
    assert "recv (stream_id=1) x-keep: yes" in seen and ":path: /blob.bin" in seen
    assert "authorization" not in seen and STALE.lower() not in seen


def test_delay_then_edits_stack(shim, fakehub):
    """Modifiers stack: a delay and a header edit both apply, then the
    request goes on; the log says each."""
    shim.skip_if_asan_deadlocks("curl")
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "slow", "match": {"path": "^/headers"}, "action": "delay", "ms": 400},
        {"name": "strip-auth", "match": {"path": "^/headers"}, "action": "strip-header", "header": "Authorization"},
        {"name": "rest", "match": {}, "action": "allow"}]})
    start = time.monotonic()
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", "-H", f"Authorization: Bearer {STALE}",
                    "-o", "/dev/null", fakehub.url + "/headers")
    assert r.returncode == 0 and time.monotonic() - start >= 0.4, r
    assert no_auth_anywhere(fakehub) and len(fakehub.requests) == 1
    assert "delayed GET" in r.log and "by 400 ms" in r.log and "stripped header Authorization" in r.log, r


def test_curlu_wins_over_url(shim, fakehub):
    """libcurl fetches CURLOPT_CURLU when both are set: so does the shim judge."""
    rules = respond_rules(shim, [{"name": "nope", "match": {"path": "^/blocked"}, "action": "block"}])
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_cases", "curlu", fakehub.url + "/blocked",
                    fakehub.url + "/headers")
    assert r.stdout.strip() == "curlu rc=7 code=0", r
    assert fakehub.requests == []


def test_transfer_from_a_callback_is_decided(shim, fakehub):
    rules = respond_rules(shim, [{"name": "nope", "match": {"path": "^/blocked"}, "action": "block"}])
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_cases", "nested", fakehub.url + "/headers",
                    fakehub.url + "/blocked")
    assert r.stdout.splitlines() == ["inner rc=7 code=0", "outer rc=0 code=200"], r
    assert [q.path for q in fakehub.requests] == ["/headers"]


def test_header_list_never_carries_over(shim, fakehub):
    """A set-header for one host, a multi handle cleaned up without removing
    the easy handle, then the same handle to another host: no token."""
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "tok", "match": {"host": "localhost"}, "action": "set-header", "header": "X-Token",
         "from_env": "MYTOK"}]})
    env = shim.base_env({"MYTOK": STALE})
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_cases", "orphan",
                    f"http://localhost:{fakehub.port}/headers", fakehub.url + "/headers", env=env)
    assert r.stdout.strip() == "second rc=0 code=200", r
    assert [q.header("X-Token") for q in fakehub.requests] == [STALE, None]


def test_doh_handles_of_libcurl_itself(shim, fakehub):
    """libcurl's DoH makes and frees handles internally, through the hooked
    setopt: the shim must neither crash nor judge them as the app's."""
    shim.skip_if_asan_deadlocks("curl")
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "strip", "match": {"path": "^/headers"}, "action": "strip-header", "header": "X-Secret"}]})
    for _ in range(3):
        r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "--doh-url", fakehub.url + "/dns-query",
                        "-H", "X-Secret: 1", "http://doh-test.invalid/headers")
        assert r.returncode == 6, r  # the fake Hub is no DNS server: could not resolve, no crash


def test_headers_set_after_multi_add(shim, fakehub):
    """A header list set after curl_multi_add_handle (libcurl reads it at the
    first perform) is judged too: the strip still applies."""
    rules = strip_rules(shim, fakehub.port)
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_cases", "late", fakehub.url + "/headers", STALE)
    assert r.stdout.strip() == "late rc=0 code=200", r
    assert len(fakehub.requests) == 1 and no_auth_anywhere(fakehub)


def test_event_driven_socket_action(shim, fakehub):
    """An event loop on curl_multi_socket_action (timer and socket
    callbacks): a real transfer, then a chained one the shim answers; the
    answer arrives through the timer the shim sets, no socket involved."""
    rules = respond_rules(shim)
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_events", fakehub.url + "/health",
                    fakehub.url + "/gone", timeout=30)
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == ["A rc=0 code=200", "B rc=0 code=404"], r
    assert [q.path for q in fakehub.requests] == ["/health"]


def test_handles_reused_and_moved(shim, fakehub):
    """The layer finds a thread's last handle without its lock
    (curlstate.c): a handle made at the address of one freed before, and a
    handle made on one thread, used again and freed on another, each get
    their own state. 28 transfers, each with its own URL, X-Seq header and
    a stale Authorization the rules strip: the program prints the same
    lines as without the shim, and the fake Hub sees every URL with its
    own X-Seq, in order, none with Authorization. With the previous
    handle's state used for the new one, the strip and the URLs go wrong
    (or glibc aborts on a double free)."""
    shim.skip_if_asan_deadlocks("curl")
    prog = [shim.progs / "curl_handles", fakehub.url]
    plain = subprocess.run(prog, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0, plain
    lines = plain.stdout.splitlines()
    assert len(lines) == 29 and all("rc=0 status=200" in x for x in lines[:-1]), plain.stdout
    assert lines[-1] == "reused yes", "no handle reused an address: the case is not exercised"
    before = len(fakehub.requests)
    assert before == 28 and all(q.header("Authorization") for q in fakehub.requests)
    r = shim.hfshim("run", "--rules", strip_rules(shim, fakehub.port), "--", *prog, timeout=60)
    assert r.returncode == 0 and r.stdout == plain.stdout, r
    got = fakehub.requests[before:]
    assert [(q.path, q.header("X-Seq")) for q in got] == [("/bytes/%d" % (100 + i), str(i)) for i in range(28)]
    assert all(q.header("Authorization") is None for q in got)


def test_setopt_every_argument_type(shim, fakehub):
    """curl_easy_setopt takes its value as one integer-class argument on
    x86_64 (curlhooks.c): a long, object, function, curl_off_t (one over
    2^32 included) or blob value, for options the hook records and for
    options it passes on, reaches libcurl unchanged: the program prints the
    same lines with and without the shim, and the fake Hub gets the same
    requests (3 bytes of the 6 POSTed)."""
    shim.skip_if_asan_deadlocks("curl")
    prog = [shim.progs / "curl_setopt_types", fakehub.url]
    plain = subprocess.run(prog, capture_output=True, text=True, timeout=30)
    assert plain.returncode == 0, plain
    seen = [(q.method, q.target, q.body) for q in fakehub.requests]
    assert plain.stdout.splitlines() == [
        "maxfilesize 999: rc=63", "maxfilesize 2^32+999: rc=0 got=1000", "progress: rc=0 got=1000 called=yes",
        "blob: rc=0", "post: rc=0 status=200", "head: rc=0 status=200 got=0", "unknown: rc=48"], plain
    assert seen[3] == ("POST", "/echo", b"abc"), seen
    r = shim.hfshim("run", "--rules", strip_rules(shim, fakehub.port), "--", *prog)
    assert r.returncode == 0 and r.stdout == plain.stdout, r
    assert [(q.method, q.target, q.body) for q in fakehub.requests[len(seen):]] == seen
