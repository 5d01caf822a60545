"""test_hub_js.py: the official `@huggingface/hub` JS client (pinned in
tests/js/package.json, installed with `npm ci --prefix tests/js --no-audit
--no-fund`) against the recording fake Hub, without and under the shim.

tests/js/hub_client.mjs makes one library call (modelInfo, downloadFile,
fileExists, fileDownloadInfo) with hubUrl=$HF_ENDPOINT and
accessToken=$HF_TOKEN and prints one JSON line with the outcome; it gives up
by itself after 15 s. Node speaks HTTP itself (undici over plain sockets),
so the shim acts on it through its socket layer: over http:// here.

What the library sends (2.17.5), all seen by the fake Hub:
  model-info   GET /api/models/{repo}/revision/HEAD?expand=…&expand=sha
  download     GET /{repo}/resolve/main/{file} with `Range: bytes=0-0`
               (206 + Content-Range gives the size), then a plain GET
  file-exists  HEAD /{repo}/raw/main/{file}
"""

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from fakehub import DEFAULT_REPOS, HUB_REPO, HUB_SHA

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "tests/js"
CLIENT = JS_DIR / "hub_client.mjs"
NODE = shutil.which("node") or "/usr/bin/node"
NPM_CI = "npm ci --prefix tests/js --no-audit --no-fund"

STALE = "hf_stale" + "S" * 29  # token-shaped; the fake Hub is told it is invalid
GOOD = "hf_good" + "G" * 30
OTHER_SHA = "c0ffee0123456789abcdef0123456789abcdef01"  # not the fake Hub's HUB_SHA
FILE = "config.json"
FILE_BYTES = DEFAULT_REPOS[0].files[FILE]
FAST = 3.0  # seconds: "fails at once", node start-up and the library's import included


@pytest.fixture
def hubjs():
    """Skips when node or the pinned library is not installed."""
    if not os.path.exists(NODE):
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules/@huggingface/hub/package.json").exists():
        pytest.skip(f"tests/js/node_modules is missing: run `{NPM_CI}` from the repository root")
    return [NODE, str(CLIENT)]


def outcome(r):
    """The JSON line the client printed (the last line of stdout)."""
    lines = (r.stdout or "").strip().splitlines()
    assert lines, f"the client printed nothing: {r!r}"
    try:
        return json.loads(lines[-1])
    except ValueError:
        pytest.fail(f"the client's last line is not JSON: {r!r}")


class _Plain:
    """A result of running the client without the shim (like conftest.Result)."""

    def __init__(self, proc, elapsed):
        self.returncode, self.stdout, self.stderr, self.elapsed = proc.returncode, proc.stdout, proc.stderr, elapsed

    def __repr__(self):
        return (f"<rc={self.returncode} {self.elapsed:.2f}s stdout={self.stdout[-2000:]!r} "
                f"stderr={self.stderr[-2000:]!r}>")


def plain_env(tmp_path, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HFSHIM_", "HUGGING")) and "proxy" not in k.lower() and k != "LD_PRELOAD"}
    env["HOME"] = str(tmp_path / "home")
    os.makedirs(env["HOME"], exist_ok=True)
    env["NO_PROXY"] = "*"
    env.update(extra or {})
    return env


def run_plain(hubjs, tmp_path, hub, *args, token=None):
    env = plain_env(tmp_path, {"HF_ENDPOINT": hub.url, **({"HF_TOKEN": token} if token else {})})
    start = time.monotonic()
    proc = subprocess.run([*hubjs, *args], env=env, capture_output=True, text=True, timeout=30)
    return _Plain(proc, time.monotonic() - start)


def run_shim(shim, hubjs, endpoint, *args, rules=None, offline=False, token=None):
    env = shim.base_env({"HF_ENDPOINT": endpoint, **({"HF_TOKEN": token} if token else {})})
    opts = (["--offline"] if offline else []) + (["--rules", rules] if rules else [])
    return shim.hfshim("run", *opts, "--", *hubjs, *args, env=env, timeout=30)


def no_auth_anywhere(hub):
    return all(q.header("Authorization") is None for q in hub.requests) and \
        all(b"authorization" not in c.received.lower() for c in hub.connections)


def model_info_respond_rule(sha=OTHER_SHA):
    return {"name": "model-info", "match": {"path": "^/api/models/"}, "action": "respond", "status": 200,
            "headers": {"Content-Type": "application/json"}, "body": json.dumps({"id": "acme/tiny", "sha": sha})}


def wire(hub):
    """What the fake Hub received, for failure messages: the raw bytes of
    every connection (also those it could not read as a request), and
    every socket on its port at that moment (a second listener there
    would explain an answer the fake Hub never gave)."""
    ss = subprocess.run(["ss", "-tanpe", f"( sport = :{hub.port} or dport = :{hub.port} )"],
                        capture_output=True, text=True)
    return [bytes(c.received) for c in hub.connections], hub.accept_errors, ss.stdout


def check_rules(shim, path):
    """The rules file is valid (`hfshim check` exit 0, no warning)."""
    r = shim.hfshim("check", path)
    assert r.returncode == 0 and "warning" not in r.stderr, r


# -- the fake Hub's routes the JS client needs (no node needed) -----------

def test_fakehub_resolve_range_and_raw(fakehub):
    import requests

    base = f"{fakehub.url}/{HUB_REPO}"
    r = requests.get(f"{base}/resolve/main/{FILE}", headers={"Range": "bytes=0-0"}, timeout=10)
    assert r.status_code == 206 and r.content == FILE_BYTES[:1], r.headers
    assert r.headers["Content-Range"] == f"bytes 0-0/{len(FILE_BYTES)}" and r.headers["X-Repo-Commit"] == HUB_SHA
    assert r.headers["ETag"] == f'"{hashlib.sha256(FILE_BYTES).hexdigest()}"'
    r = requests.get(f"{base}/resolve/main/{FILE}", headers={"Range": "bytes=500-"}, timeout=10)
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(FILE_BYTES)}"
    # without Range: the whole file, as before
    r = requests.get(f"{base}/resolve/main/{FILE}", timeout=10)
    assert r.status_code == 200 and r.content == FILE_BYTES and "Content-Range" not in r.headers
    r = requests.head(f"{base}/raw/main/{FILE}", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Length"] == str(len(FILE_BYTES))
    r = requests.head(f"{base}/raw/main/nope.json", timeout=10)
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "EntryNotFound"


def test_fakehub_valid_tokens(fakehub):
    import requests

    url = f"{fakehub.url}/api/models/{HUB_REPO}"
    fakehub.valid_tokens = {GOOD}
    assert requests.get(url, timeout=10).status_code == 200
    assert requests.get(url, headers={"Authorization": f"Bearer {GOOD}"}, timeout=10).status_code == 200
    r = requests.get(url, headers={"Authorization": f"Bearer {STALE}"}, timeout=10)
    assert r.status_code == 401 and r.headers["X-Error-Message"] == "Invalid credentials in Authorization header"


# -- without the shim: the client and the fake Hub agree -----------------

def test_model_info(hubjs, fakehub, tmp_path):
    r = run_plain(hubjs, tmp_path, fakehub, "model-info", HUB_REPO)
    assert r.returncode == 0, r
    out = outcome(r)
    assert out["ok"] and out["id"] == HUB_REPO and out["sha"] == HUB_SHA, r
    [q] = fakehub.requests
    assert q.method == "GET" and q.path == f"/api/models/{HUB_REPO}/revision/HEAD" and "expand=sha" in q.query
    assert q.header("Authorization") is None


def test_download(hubjs, fakehub, tmp_path):
    r = run_plain(hubjs, tmp_path, fakehub, "download", HUB_REPO, FILE)
    assert r.returncode == 0, r
    out = outcome(r)
    assert out["ok"] and out["status"] == 200 and out["bytes"] == len(FILE_BYTES), r
    assert out["sha256"] == hashlib.sha256(FILE_BYTES).hexdigest()
    assert [(q.method, q.path, q.header("Range")) for q in fakehub.requests] == [
        ("GET", f"/{HUB_REPO}/resolve/main/{FILE}", "bytes=0-0"), ("GET", f"/{HUB_REPO}/resolve/main/{FILE}", None)]


def test_missing_file_and_repo(hubjs, fakehub, tmp_path):
    r = run_plain(hubjs, tmp_path, fakehub, "download", HUB_REPO, "nope.json")
    out = outcome(r)
    assert r.returncode == 2 and not out["ok"] and out["name"] == "EntryNotFound" and out["status"] == 404, r
    r = run_plain(hubjs, tmp_path, fakehub, "model-info", "acme/missing")
    out = outcome(r)
    assert r.returncode == 2 and out["name"] == "HubApiError" and out["status"] == 401, r
    assert out["message"].startswith("Repository not found")


def test_file_exists_and_download_info(hubjs, fakehub, tmp_path):
    for name, want in ((FILE, True), ("nope.json", False)):
        r = run_plain(hubjs, tmp_path, fakehub, "file-exists", HUB_REPO, name)
        assert r.returncode == 0 and outcome(r)["exists"] is want, r
    r = run_plain(hubjs, tmp_path, fakehub, "file-download-info", HUB_REPO, FILE)
    out = outcome(r)
    assert r.returncode == 0 and out["found"] and out["size"] == len(FILE_BYTES), r
    assert out["etag"] == f'"{hashlib.sha256(FILE_BYTES).hexdigest()}"' and not out["xet"]
    r = run_plain(hubjs, tmp_path, fakehub, "file-download-info", HUB_REPO, "nope.json")
    assert r.returncode == 0 and outcome(r) == {"ok": True, "action": "file-download-info", "found": False}, r
    assert [q.method for q in fakehub.requests[:2]] == ["HEAD", "HEAD"]
    assert fakehub.requests[0].path == f"/{HUB_REPO}/raw/main/{FILE}"


def test_token_sent(hubjs, fakehub, tmp_path):
    """With HF_TOKEN the library sends `Authorization: Bearer TOKEN` on every
    request, and a token the Hub rejects makes public-repo calls fail (the
    situation the strip-header rule below repairs)."""
    fakehub.valid_tokens = {GOOD}
    for args in (("model-info", HUB_REPO), ("download", HUB_REPO, FILE)):
        r = run_plain(hubjs, tmp_path, fakehub, *args, token=GOOD)
        assert r.returncode == 0 and outcome(r)["ok"], r
    assert len(fakehub.requests) == 3
    assert all(q.headers_named("Authorization") == [f"Bearer {GOOD}"] for q in fakehub.requests)
    r = run_plain(hubjs, tmp_path, fakehub, "model-info", HUB_REPO, token=STALE)
    out = outcome(r)
    assert r.returncode == 2 and out["status"] == 401 and "Invalid credentials" in out["message"], r


def test_timeout_never_hangs(hubjs, hanging_hub, tmp_path):
    env = plain_env(tmp_path, {"HF_ENDPOINT": hanging_hub.url, "HUB_CLIENT_TIMEOUT_MS": "1500"})
    proc = subprocess.run([*hubjs, "model-info", HUB_REPO], env=env, capture_output=True, text=True, timeout=10)
    assert proc.returncode == 3 and json.loads(proc.stdout)["name"] == "timeout", proc


# -- under the shim, over http:// (the socket layer) ----------------------

def test_strip_stale_token(shim, hubjs, fakehub):
    """(a) A stale HF_TOKEN the Hub rejects: the rule strips Authorization
    before it leaves, and model-info and download succeed."""
    fakehub.valid_tokens = {GOOD}
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "strip-auth", "match": {"port": fakehub.port}, "action": "strip-header", "header": "Authorization"}]})
    check_rules(shim, rules)
    r = run_shim(shim, hubjs, fakehub.url, "model-info", HUB_REPO, rules=rules, token=STALE)
    assert r.returncode == 0 and outcome(r)["sha"] == HUB_SHA, r
    r2 = run_shim(shim, hubjs, fakehub.url, "download", HUB_REPO, FILE, rules=rules, token=STALE)
    out = outcome(r2)
    if not (r2.returncode == 0 and out.get("sha256") == hashlib.sha256(FILE_BYTES).hexdigest()):
        # pytest.fail is not shortened the way an assertion's message is
        pytest.fail(f"download failed: {out}\nheads the fake Hub got: {wire(fakehub)}\n"
                    f"model-info log:\n{r.log}\ndownload log:\n{r2.log}\nstderr:\n{r2.stderr}")
    assert len(fakehub.requests) == 3 and no_auth_anywhere(fakehub), wire(fakehub)
    assert "stripped header Authorization" in r.log and "(rule strip-auth" in r.log, r
    assert STALE not in r.log + r2.log


def test_respond_model_info(shim, hubjs, fakehub):
    """(b) A respond rule answers model-info inside the process: the client
    prints the rule's sha and the fake Hub sees no /api/models request, while
    a download in the same setup still reaches it."""
    rules = shim.write_rules({"version": 1, "rules": [model_info_respond_rule()]})
    check_rules(shim, rules)
    r = run_shim(shim, hubjs, fakehub.url, "model-info", HUB_REPO, rules=rules)
    out = outcome(r)
    assert r.returncode == 0 and out["ok"] and out["sha"] == OTHER_SHA and out["id"] == "acme/tiny", r
    assert f"answered GET {fakehub.url}/api/models/{HUB_REPO}/revision/HEAD" in r.log and "(rule model-info" in r.log, r
    assert not any(q.path.startswith("/api/models") for q in fakehub.requests), fakehub.requests
    r = run_shim(shim, hubjs, fakehub.url, "download", HUB_REPO, FILE, rules=rules)
    if not (r.returncode == 0 and outcome(r).get("bytes") == len(FILE_BYTES)):
        pytest.fail(f"download failed: {r!r}\nwhat the fake Hub received: {wire(fakehub)}")
    assert [q.path for q in fakehub.requests] == [f"/{HUB_REPO}/resolve/main/{FILE}"] * 2


def test_respond_server_down(shim, hubjs, fakehub_factory):
    """(c) The fake Hub is stopped (its port closed): model-info is still
    answered by the respond rule; everything else to that host meets the
    block rule, which for a Hub host (HF_ENDPOINT) is an HTTP 403."""
    hub = fakehub_factory()
    url, port = hub.url, hub.port
    hub.stop()
    rules = shim.write_rules({"version": 1, "rules": [
        model_info_respond_rule(),
        {"name": "hub-down", "match": {"host": "127.0.0.1", "port": port}, "action": "block"}]})
    check_rules(shim, rules)
    r = run_shim(shim, hubjs, url, "model-info", HUB_REPO, rules=rules)
    out = outcome(r)
    assert r.returncode == 0 and out["ok"] and out["sha"] == OTHER_SHA, r
    r = run_shim(shim, hubjs, url, "download", HUB_REPO, FILE, rules=rules)
    out = outcome(r)
    assert r.returncode == 2 and out["status"] == 403 and "blocked by rule hub-down" in out["message"], r
    assert r.elapsed < FAST, r
    assert f"blocked GET {url}/{HUB_REPO}/resolve/main/{FILE} (rule hub-down" in r.log, r
    assert hub.connection_count() == 0


def test_offline_hub_403(shim, hubjs, fakehub):
    """(d) Offline, with HF_ENDPOINT naming the fake Hub (a Hub host even on
    loopback): the download fails at once with the shim's 403 and nothing
    reaches the server."""
    r = run_shim(shim, hubjs, fakehub.url, "download", HUB_REPO, FILE, offline=True)
    out = outcome(r)
    assert r.returncode == 2 and not out["ok"] and out["status"] == 403, r
    assert "Hugging Face Hub host, offline mode" in out["message"], r
    assert r.elapsed < FAST, r
    assert f"blocked GET {fakehub.url}/{HUB_REPO}/resolve/main/{FILE} (rule offline" in r.log, r
    time.sleep(0.1)
    assert fakehub.connection_count() == 0 and fakehub.requests == []
