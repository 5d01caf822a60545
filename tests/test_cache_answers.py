"""test_cache_answers.py: Hub metadata answered from the local cache.

A cache is built in the Hub layout (tests/cachebuild.py, which computes
the Hub's ids independently of hfshim); real clients (python3 requests and
httpx, curl) then ask a Hub that is stopped, answers 401 to a stale token,
or accepts and never answers, over http:// and https://, under
rules/cache-first.json or offline mode. Asserted: the answers (sha,
siblings, tree oids, HEAD headers, bytes), that the fake Hub saw nothing
(or exactly the misses), timings that show nothing waited, and that
hostile paths and cache contents never make hfshim read outside the cache.
"""

import json
import socket

import pytest

import tlsca
from cachebuild import CachedRepo
from conftest import PY, have

SHA = "0123456789abcdef0123456789abcdef01234567"
PR_SHA = "89abcdef0123456789abcdef0123456789abcdef"
STALE = "Bearer hf_staleStaleStaleStaleStaleStale12"
FAST = 3.0  # seconds: far below any client's retry or timeout budget


@pytest.fixture
def cache(tmp_path):
    root = tmp_path / "hub-cache"
    repo = CachedRepo(root, "acme/tiny", SHA,
                      files={"config.json": b'{"model_type": "bert"}\n', "tokenizer/vocab.txt": b"[PAD]\nhello\n"},
                      lfs={"onnx/model.onnx": bytes(range(256)) * 40},
                      refs={"main": SHA, "refs/pr/1": PR_SHA}, no_exist=["tokenizer.json", "config.json"])
    CachedRepo(root, "acme/tiny", PR_SHA, files={"config.json": b'{"pr": 1}\n'}, refs={})
    CachedRepo(root, "acme/data", SHA, kind="dataset", files={"train.csv": b"a,b\n1,2\n"})
    # hostile cache contents: links leaving the repo folder, a blob gone
    snap = repo.dir / "snapshots" / SHA
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the Hub\n")
    (snap / "escape.txt").symlink_to(outside)
    (snap / "passwd").symlink_to("/etc/passwd")
    (snap / "gone.bin").symlink_to("../../blobs/" + "f" * 64)
    root.joinpath("models--acme--tiny", ".no_exist", SHA, "gone.bin").write_bytes(b"")
    return repo


def env_for(shim, cache, endpoint, extra=None):
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root), "HF_ENDPOINT": endpoint})
    env.update(extra or {})
    return env


CLIENT = r"""
import json, sys, time
which, base = sys.argv[1], sys.argv[2]
auth = {"Authorization": sys.argv[3]} if len(sys.argv) > 3 else {}
if which == "httpx":
    import httpx
    s = httpx.Client(timeout=10)
    head = lambda u: s.head(u, headers=auth)
else:
    import requests
    s = requests.Session()
    head = lambda u: s.head(u, headers=auth, timeout=10)
t0 = time.monotonic()
out = {}
r = s.get(base + "/api/models/acme/tiny", headers=auth)
out["info"] = [r.status_code, r.json()]
r = head(base + "/acme/tiny/resolve/main/onnx/model.onnx")
out["head"] = [r.status_code, {k.lower(): v for k, v in r.headers.items()}]
r = s.get(base + "/acme/tiny/resolve/main/onnx/model.onnx", headers=auth)
out["get"] = [r.status_code, r.content.hex()]
r = s.get(base + "/api/models/acme/tiny/tree/" + "%s?recursive=true&expand=false" % sys.argv[4], headers=auth)
out["tree"] = [r.status_code, r.json()]
out["secs"] = time.monotonic() - t0
print(json.dumps(out))
"""


def check_client_output(r, cache):
    assert r.returncode == 0, r
    out = json.loads(r.stdout.strip().splitlines()[-1])
    status, info = out["info"]
    assert status == 200 and info["id"] == "acme/tiny" and info["sha"] == SHA, out
    # only cached files are listed: not the escaped links, not the missing blob
    assert sorted(s["rfilename"] for s in info["siblings"]) == cache.paths(), out
    status, h = out["head"]
    want = cache.expected("onnx/model.onnx")
    assert status == 200 and h["x-repo-commit"] == SHA, out
    assert h["etag"] == '"%s"' % want["oid"] and h["x-linked-etag"] == '"%s"' % want["etag"], out
    assert h["x-linked-size"] == str(want["size"]) and h["content-length"] == str(want["size"]), out
    assert out["get"] == [200, cache.data("onnx/model.onnx").hex()]
    status, tree = out["tree"]
    assert status == 200
    files = {t["path"]: t for t in tree if t["type"] == "file"}
    assert sorted(files) == cache.paths(), tree
    for p in cache.paths():
        e = cache.expected(p)
        assert files[p]["oid"] == e["oid"] and files[p]["size"] == e["size"], (p, files[p], e)
        assert files[p].get("lfs") == e["lfs"], (p, files[p])
    assert sorted(t["path"] for t in tree if t["type"] == "directory") == ["onnx", "tokenizer"], tree
    return out


def tls_env(tls_ca):
    return tlsca.client_env(tls_ca)


@pytest.mark.parametrize("which", ["requests", "httpx"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_cache_first_server_down(shim, fakehub_factory, cache, tls_ca, which, scheme):
    """The Hub is down (nothing listens): every call is answered from the
    cache, https included (the refused connection becomes virtual, virtual
    TLS needs no server)."""
    ctx = tlsca.server_context(tls_ca) if scheme == "https" else None
    hub = fakehub_factory("ok", tls_context=ctx)
    url = hub.url
    hub.stop()
    env = env_for(shim, cache, url, tls_env(tls_ca))
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, "-c", CLIENT, which, url,
                    STALE, "main", env=env)
    out = check_client_output(r, cache)
    assert out["secs"] < FAST, out
    assert "answered GET %s/api/models/acme/tiny with 200 (rule hub-cache: repo info of acme/tiny@0123456789ab" % url \
        in r.log, r
    assert hub.request_count() == 0


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_cache_first_stale_token_401_hub(shim, fakehub_factory, cache, tls_ca, scheme):
    """The Hub answers 401 to the stale token: cached calls never reach it
    (zero requests); a miss (an uncached repo) goes to the network as
    usual, where the 401 is the Hub's own."""
    ctx = tlsca.server_context(tls_ca) if scheme == "https" else None
    hub = fakehub_factory("ok", tls_context=ctx)
    hub.valid_tokens = {"hf_the_only_good_one"}
    env = env_for(shim, cache, hub.url, tls_env(tls_ca))
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, "-c", CLIENT, "requests",
                    hub.url, STALE, SHA, env=env)
    check_client_output(r, cache)
    assert hub.request_count() == 0, hub.requests
    miss = ("import requests, sys; r = requests.get(sys.argv[1] + '/api/models/acme/tiny-model', "
            "headers={'Authorization': sys.argv[2]}); print(r.status_code, r.headers.get('X-Error-Message'))")
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, "-c", miss, hub.url, STALE,
                    env=env)
    assert r.stdout.strip() == "401 Invalid credentials in Authorization header", r
    assert [q.path for q in hub.requests] == ["/api/models/acme/tiny-model"]


def test_cache_first_curl(shim, fakehub_factory, cache, tls_ca):
    """curl (the libcurl layer) over https to a Hub that accepts and never
    answers: HEAD and GET of resolve URLs answered at once with the right
    headers and bytes; a Range gives 206; the Hub sees no request."""
    shim.skip_if_asan_deadlocks("curl")
    hub = fakehub_factory("hang", tls_context=tlsca.server_context(tls_ca))
    env = env_for(shim, cache, hub.url, tls_env(tls_ca))
    rules = shim.rules_dir / "cache-first.json"
    url = hub.url + "/acme/tiny/resolve/main/config.json"
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-I", "-m", "5", url, env=env)
    want = cache.expected("config.json")
    assert r.returncode == 0 and r.elapsed < FAST, r
    lines = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in r.stdout.splitlines() if ":" in l}
    assert r.stdout.startswith("HTTP/1.1 200"), r
    assert lines["x-repo-commit"] == SHA and lines["etag"] == '"%s"' % want["oid"], r
    assert lines["content-length"] == str(want["size"]) and "x-linked-etag" not in lines, r
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-m", "5", url, env=env)
    assert r.stdout == cache.data("config.json").decode(), r
    part = shim.tmp / "part"
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-m", "5", "-r", "2-6", "-w", "%{http_code}",
                    "-o", part, hub.url + "/acme/tiny/resolve/main/onnx/model.onnx", env=env)
    assert r.stdout == "206" and part.read_bytes() == cache.data("onnx/model.onnx")[2:7], r
    assert hub.request_count() == 0


HANG_CLIENT = r"""
import sys, time
import requests
base = sys.argv[1]
t = time.monotonic()
r = requests.get(base + "/api/models/acme/tiny", headers={"Authorization": sys.argv[2]}, timeout=5)
print("hit", r.status_code, r.json()["sha"], round(time.monotonic() - t, 2) < 1.5)
t = time.monotonic()
try:
    r = requests.get(base + "/api/models/not/cached", timeout=5)
    print("miss", r.status_code, r.headers.get("X-Error-Code"), round(time.monotonic() - t, 1))
except requests.exceptions.RequestException as e:
    print("miss", type(e).__name__, round(time.monotonic() - t, 1))
"""


@pytest.fixture
def silent_listener():
    """A TCP port whose connections the kernel completes but nobody ever
    accepts or reads: a TLS handshake with it never ends."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    yield s.getsockname()[1]
    s.close()


def test_cache_first_https_hanging_hub_deferred_handshake(shim, cache, tls_ca, silent_listener):
    """A Hub that accepts TCP and never answers, not even the TLS
    handshake, python3 requests over https: the handshake is deferred, so a
    cached call is answered at once without the server; a miss makes the
    real handshake, which waits reach.handshake_ms (1.5 s), not the
    client's own timeout (5 s here): the Hub host is then unreachable and
    the miss gets the HTTP 403 Hub clients treat as "no Hub" (hfshim-rules(5)
    REACH KEYS)."""
    url = "https://127.0.0.1:%d" % silent_listener
    env = env_for(shim, cache, url, tls_env(tls_ca))
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, "-c", HANG_CLIENT, url,
                    STALE, env=env, timeout=30)
    lines = r.stdout.splitlines()
    assert lines[0] == "hit 200 %s True" % SHA, r
    assert lines[1].startswith("miss 403 None ") and 1.3 <= float(lines[1].split()[-1]) <= 4.0, r
    assert "Hub host 127.0.0.1 is unreachable: the TLS handshake did not finish in time" in r.log, r


FASTEMBED = r"""
import os, sys, requests
base = sys.argv[1]
print("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE"))
s = requests.Session()
repo = "acme/tiny"
sha = s.get(f"{base}/api/models/{repo}").json()["sha"]          # model_info(repo).sha
top = s.get(f"{base}/api/models/{repo}/tree/{sha}").json()        # list_repo_tree(revision=sha)
info = s.get(f"{base}/api/models/{repo}/revision/main").json()    # snapshot_download: repo_info
allf = s.get(f"{base}/api/models/{repo}/tree/{info['sha']}?recursive=true&expand=false").json()
heads = [s.head(f"{base}/{repo}/resolve/{sha}/{t['path']}", headers={"Accept-Encoding": "identity"})
         for t in allf if t["type"] == "file"]
print(sha == info["sha"], sorted(t["path"] for t in top), [h.status_code for h in heads],
      all(h.headers["X-Repo-Commit"] == sha for h in heads))
r = s.get(f"{base}/api/models/other/model")
print("miss", r.status_code, r.headers.get("X-Error-Code"), r.elapsed.total_seconds() < 1)
"""


@pytest.mark.parametrize("how", ["--offline", "rules/offline.json"])
def test_offline_fastembed_sequence_with_users_offline_variable(shim, fakehub_factory, cache, how):
    """Offline, the Hub unreachable, and the user's own HF_HUB_OFFLINE=1
    taken over (set to 0, so huggingface_hub would make the calls): a
    FastEmbed-like sequence (model_info sha, tree, revision, recursive
    tree, HEAD per file) is answered from the cache; an uncached repo
    fails at once with a 403 without X-Error-Code."""
    hub = fakehub_factory("ok")
    env = env_for(shim, cache, hub.url, {"HF_HUB_OFFLINE": "1"})
    args = ["--offline"] if how == "--offline" else ["--rules", shim.rules_dir / "offline.json"]
    r = shim.hfshim("run", *args, "--", PY, "-c", FASTEMBED, hub.url, env=env)
    lines = r.stdout.splitlines()
    assert lines[0] == "HF_HUB_OFFLINE 0", r
    assert lines[1] == "True ['config.json', 'onnx', 'tokenizer'] [200, 200, 200] True", r
    assert lines[2] == "miss 403 None True", r
    assert hub.request_count() == 0 and hub.connection_count() == 0


def test_offline_real_hub_name_in_netns(shim, cache, netns):
    """The real huggingface.co over https, inside a network namespace (no
    network at all): answered from the cache through virtual TLS."""
    code = ("import requests; r = requests.get('https://huggingface.co/api/models/acme/tiny/revision/main');"
            "print(r.status_code, r.json()['sha'])")
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root)})
    r = shim.hfshim("run", "--offline", "--", *netns, PY, "-c", code, env=env)
    assert r.stdout.strip() == "200 " + SHA, r


REVS = r"""
import json, sys, requests
base = sys.argv[1]
def get(p, method="GET"):
    r = requests.request(method, base + p)
    return [r.status_code, r.headers.get("X-Error-Code"), r.headers.get("X-Repo-Commit")]
print(json.dumps({
  "pr": requests.get(base + "/api/models/acme/tiny/revision/refs%2Fpr%2F1").json()["sha"],
  "pr_file": requests.get(base + "/acme/tiny/resolve/refs%2Fpr%2F1/config.json").text,
  "by_sha": requests.get(base + "/api/models/acme/tiny/revision/" + sys.argv[2]).json()["sha"],
  "no_exist": get("/acme/tiny/resolve/main/tokenizer.json", "HEAD"),
  "cached_and_no_exist": get("/acme/tiny/resolve/main/config.json", "HEAD"),
  "gone_blob": get("/acme/tiny/resolve/main/gone.bin", "HEAD"),
  "unknown_rev": get("/api/models/acme/tiny/revision/v9"),
  "dataset": requests.get(base + "/datasets/acme/data/resolve/main/train.csv").text,
  "dataset_info": requests.get(base + "/api/datasets/acme/data").json()["siblings"],
  "resolve_cache": requests.get(base + "/api/resolve-cache/models/acme/tiny/" + sys.argv[2] + "/config.json").text,
  "paths_form": requests.post(base + "/api/models/acme/tiny/paths-info/main",
                              data={"paths": ["config.json", "nope.txt", "onnx"], "expand": "true"}).json(),
  "paths_json": requests.post(base + "/api/models/acme/tiny/paths-info/main", json={"paths": ["tokenizer/vocab.txt"]}).json(),
}))
"""


def test_revisions_no_exist_datasets_paths_info(shim, fakehub_factory, cache):
    """Revisions through refs/ (refs%2Fpr%2F1 → refs/refs/pr/1) and by
    commit; .no_exist gives 404 EntryNotFound, but never for a cached file;
    a missing blob and an unknown revision are misses (offline: 403
    without X-Error-Code); datasets; resolve-cache; paths-info with a form
    and a JSON body."""
    hub = fakehub_factory("ok")
    env = env_for(shim, cache, hub.url)
    r = shim.hfshim("run", "--rules", shim.rules_dir / "offline.json", "--", PY, "-c", REVS, hub.url, SHA, env=env)
    assert r.returncode == 0, r
    out = json.loads(r.stdout)
    assert out["pr"] == PR_SHA and out["pr_file"] == '{"pr": 1}\n' and out["by_sha"] == SHA
    assert out["no_exist"] == [404, "EntryNotFound", SHA]
    assert out["cached_and_no_exist"] == [200, None, SHA]
    assert out["gone_blob"] == [403, None, None] and out["unknown_rev"] == [403, None, None]
    assert out["dataset"] == "a,b\n1,2\n" and out["dataset_info"] == [{"rfilename": "train.csv"}]
    assert out["resolve_cache"] == cache.data("config.json").decode()
    e = cache.expected("config.json")
    assert out["paths_form"] == [{"type": "file", "oid": e["oid"], "size": e["size"], "path": "config.json"},
                                 {"type": "directory", "oid": "0" * 40, "size": 0, "path": "onnx"}], out
    assert [p["path"] for p in out["paths_json"]] == ["tokenizer/vocab.txt"]
    assert hub.request_count() == 0


UNSAFE = r"""
import socket, sys
port = int(sys.argv[1])
paths = ["/api/models/../../etc/passwd", "/api/models/acme/tiny/tree/main/%2e%2e/%2e%2e",
         "/acme/tiny/resolve/main/..%2f..%2f..%2fsecret.txt", "/acme/tiny/resolve/main/escape.txt",
         "/acme/tiny/resolve/main/passwd", "/api/models/acme%2ftiny", "/acme/tiny/resolve/..%2F..%2Fmain/config.json",
         "/acme/tiny/resolve/main/%00config.json", "/api/models/acme/tiny/revision/..",
         "/acme/tiny/resolve/main//config.json", "/api/resolve-cache/models/acme/tiny/" + "0" * 40 + "/../../x"]
for p in paths:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % p).encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    print(p, data.split(b"\r\n", 1)[0].decode(), b"not for the Hub" in data or b"root:" in data)
"""


def test_hostile_paths_never_leave_the_cache(shim, fakehub_factory, cache):
    """Dot segments (raw and encoded), encoded slashes and NULs, empty
    segments, links in the cache pointing outside the repo folder: never
    answered from the cache (offline: 403), nothing outside the cache is
    ever served, no crash."""
    hub = fakehub_factory("ok")
    env = env_for(shim, cache, hub.url)
    r = shim.hfshim("run", "--rules", shim.rules_dir / "offline.json", "--", PY, "-c", UNSAFE, str(hub.port), env=env)
    lines = r.stdout.splitlines()
    assert len(lines) == 11, r
    for line in lines:
        assert line.endswith("HTTP/1.1 403 Forbidden False"), (line, r)
    assert hub.request_count() == 0


def test_cache_dirs_and_case_insensitive_folder(shim, fakehub_factory, tmp_path):
    """A rule's cache_dirs ($FASTEMBED_CACHE_PATH in the shipped rules) are
    searched after the Hub cache; a folder is found in any case, as
    FastEmbed asks qdrant/… for a models--Qdrant--… folder."""
    fe = tmp_path / "fastembed"
    CachedRepo(fe, "Qdrant/bge-small", SHA, files={"config.json": b"{}\n"}, folder="models--Qdrant--bge-small")
    hub = fakehub_factory("ok")
    env = shim.base_env({"HF_ENDPOINT": hub.url, "FASTEMBED_CACHE_PATH": str(fe)})
    code = ("import requests, sys; r = requests.get(sys.argv[1] + '/api/models/qdrant/bge-small');"
            "print(r.status_code, r.json().get('id'), r.json().get('sha'))")
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, "-c", code, hub.url, env=env)
    assert r.stdout.strip() == "200 qdrant/bge-small " + SHA, r
    assert hub.request_count() == 0
    # without the variable the folder is not searched: the miss goes to the Hub
    env.pop("FASTEMBED_CACHE_PATH")
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, "-c", code, hub.url, env=env)
    assert r.stdout.startswith("401 None None"), r
    assert hub.request_count() == 1


def test_cached_predicate_and_repo_pattern(shim, fakehub_factory, cache):
    """Rules can be limited to repos and can ask `cached`: here only the
    acme/ repos are answered, and a strip-header acts only on requests the
    cache cannot answer."""
    hub = fakehub_factory("ok")
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "strip-uncached", "match": {"host": "@hub", "cached": False}, "action": "strip-header",
         "header": "Authorization"},
        {"name": "acme-cache", "match": {"host": "@hub", "repo": "^acme/"}, "action": "cache"}]})
    code = ("import requests, sys; h = {'Authorization': sys.argv[2]}\n"
            "print(requests.get(sys.argv[1] + '/api/models/acme/tiny', headers=h).json()['sha'])\n"
            "print(requests.get(sys.argv[1] + '/api/models/acme/tiny-model', headers=h).status_code)\n")
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, hub.url, STALE, env=env_for(shim, cache, hub.url))
    assert r.stdout.split() == [SHA, "200"], r
    assert [q.path for q in hub.requests] == ["/api/models/acme/tiny-model"]
    assert hub.requests[0].header("Authorization") is None


def test_hfshim_cache_and_explain(shim, cache):
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root)})
    r = shim.hfshim("cache", env=env)
    assert r.returncode == 0, r
    rows = [l.split() for l in r.stdout.splitlines()]
    assert ["model", "acme/tiny", "main", SHA, "3", str(cache.dir)] in rows, r
    assert ["model", "acme/tiny", "refs/pr/1", PR_SHA, "1", str(cache.dir)] in rows, r
    assert any(row[:3] == ["dataset", "acme/data", "main"] for row in rows), r
    r = shim.hfshim("explain", "GET", "https://huggingface.co/api/models/acme/tiny", env=env)
    assert "respond by rule hub-cache: answered from the local cache" in r.stdout, r
    assert f"cache:                 snapshot model acme/tiny@main = {SHA} in {cache.dir}" in r.stdout, r
    assert "answer:                HTTP 200: repo info of acme/tiny@0123456789ab (3 cached files)" in r.stdout, r
    r = shim.hfshim("explain", "GET", "https://huggingface.co/api/models/other/model", env=env)
    assert "cache:                 no snapshot of model other/model@main" in r.stdout, r
    r = shim.hfshim("explain", "GET", "https://huggingface.co/api/models/acme/tiny/revision/..", env=env)
    assert "a Hub call, but never answered from the cache: the revision is malformed" in r.stdout, r


@pytest.mark.skipif(not have("node"), reason="node is not installed")
def test_node_fetch_http_hanging_hub(shim, fakehub_factory, cache):
    """node fetch over http to a Hub that accepts and never answers: the
    cached model info comes at once (plain-socket layer)."""
    hub = fakehub_factory("hang")
    js = ("fetch(process.argv[1] + '/api/models/acme/tiny').then(r => r.json())"
          ".then(j => console.log(j.sha, j.siblings.length))")
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", "node", "-e", js, hub.url,
                    env=env_for(shim, cache, hub.url))
    assert r.stdout.strip() == SHA + " 3" and r.elapsed < FAST, r
    assert hub.request_count() == 0


COPY_HEADS = r"""
import json, sys, time, requests
base, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = requests.Session()
out = []
for i in range(n):
    t0 = time.monotonic()
    r = s.head(base + "/acme/tiny/resolve/main/big.bin", timeout=30)
    out.append([r.status_code, r.headers.get("etag"), time.monotonic() - t0])
with open(path, "r+b") as f:  # same size, other bytes: the file's change time moves
    f.write(b"changed!")
r = s.head(base + "/acme/tiny/resolve/main/big.bin", timeout=30)
out.append([r.status_code, r.headers.get("etag"), 0])
print(json.dumps(out))
"""


def test_copied_file_hashed_once(shim, fakehub_factory, tmp_path):
    """A file copied into a snapshot (no blob link) has its git blob id
    computed from its bytes: once per identity of the file (inode, size,
    times), not on every request; a changed file is hashed again."""
    import hashlib
    import os
    data = bytearray(os.urandom(1 << 20)) * 48  # 48 MiB: hashing it takes a visible time
    cache = CachedRepo(tmp_path / "hub-cache", "acme/tiny", SHA, files={"config.json": b"{}\n"})
    big = cache.dir / "snapshots" / SHA / "big.bin"
    big.write_bytes(bytes(data))
    hub = fakehub_factory("ok")
    env = env_for(shim, cache, hub.url)
    n = 12
    r = shim.hfshim("run", "--rules", shim.rules_dir / "offline.json", "--", PY, "-c", COPY_HEADS, hub.url, str(n),
                    str(big), env=env, timeout=120)
    assert r.returncode == 0, r
    out = json.loads(r.stdout.strip().splitlines()[-1])
    oid = hashlib.sha1(b"blob %d\0" % len(data) + bytes(data)).hexdigest()
    assert all(o[0] == 200 and o[1] == '"%s"' % oid for o in out[:n]), out
    data[:8] = b"changed!"
    oid2 = hashlib.sha1(b"blob %d\0" % len(data) + bytes(data)).hexdigest()
    assert out[n][:2] == [200, '"%s"' % oid2], out
    first, rest = out[0][2], sum(o[2] for o in out[1:n])
    # hashed on every request, the other 11 would take about 11 times the first
    assert rest < 3 * first, out
    assert hub.request_count() == 0
