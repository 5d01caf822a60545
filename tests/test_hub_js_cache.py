"""test_hub_js_cache.py: a cache warmed by the official @huggingface/hub JS
client (snapshotDownload, against the fake Hub), then answered by hfshim.

The JS client writes the Hub cache layout itself (refs/, snapshots/ links
into blobs/ named by the Hub's etags). Then the fake Hub is stopped, or
answers 401 to a stale token, or accepts and never answers, and under
rules/cache-first.json: the JS client's modelInfo returns the cached sha
and its snapshotDownload succeeds again; `curl -I`/`curl` of resolve URLs
give the headers and bytes the fake Hub gave; python3 requests' model info
equals what the fake Hub served; the fake Hub sees no request at all.
"""

import hashlib
import json
import os
import subprocess
import urllib.request

import pytest

import tlsca
from fakehub import Repo
from test_hub_js import hubjs, outcome  # noqa: F401  (the fixture)

SHA = "c0ffee0123456789abcdef0123456789abcdef01"
FILES = {"config.json": b'{"model_type": "bert", "hidden_size": 32}\n', "tokenizer.json": b'{"version": "1.0"}\n',
         "onnx/model.onnx": bytes(range(256)) * 300}
STALE = "hf_staleStaleStaleStaleStaleStaleStale12"
FAST = 3.0


def js_repo():
    return Repo("acme/js-model", SHA, FILES, lfs={"onnx/model.onnx"})


def served(hub, method, path):
    """What the fake Hub answers (status, headers, body), without the shim."""
    req = urllib.request.Request(hub.url + path, method=method)
    with urllib.request.urlopen(req) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


@pytest.fixture
def warmed(hubjs, fakehub_factory, tmp_path):  # noqa: F811
    """(cache folder, what the fake Hub served): snapshotDownload by the JS
    client into a fresh cache, then the Hub stopped."""
    hub = fakehub_factory("ok", repos=[js_repo()])
    cache = tmp_path / "hub-cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSHIM_"))
           and "proxy" not in k.lower() and k != "LD_PRELOAD"}
    env.update({"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache), "NO_PROXY": "*", "HOME": str(tmp_path)})
    r = subprocess.run([*hubjs, "snapshot-download", "acme/js-model"], env=env, capture_output=True, text=True,
                       timeout=60)
    out = outcome(r)
    assert out["ok"] and out["folder"] == str(cache / "models--acme--js-model" / "snapshots" / SHA), (out, r.stderr)
    info = json.loads(served(hub, "GET", "/api/models/acme/js-model")[2])
    heads = {f: served(hub, "HEAD", "/acme/js-model/resolve/main/" + f)[1] for f in FILES}
    hub.stop()
    return cache, info, heads


def test_js_warmed_cache_layout(shim, warmed):
    """What the JS client wrote is the Hub cache layout hfshim reads: the
    ref, links into blobs named by the Hub's etags; `hfshim cache` lists it."""
    cache, info, heads = warmed
    repo = cache / "models--acme--js-model"
    assert (repo / "refs" / "main").read_text() == SHA
    onnx = repo / "snapshots" / SHA / "onnx" / "model.onnx"
    assert onnx.is_symlink() and onnx.resolve().name == hashlib.sha256(FILES["onnx/model.onnx"]).hexdigest()
    cfg = repo / "snapshots" / SHA / "config.json"
    assert cfg.resolve().name == heads["config.json"]["etag"].strip('"')
    r = shim.hfshim("cache", env=shim.base_env({"HF_HUB_CACHE": str(cache)}))
    assert ["model", "acme/js-model", "main", SHA, "3", str(repo)] in [l.split() for l in r.stdout.splitlines()], r


def hub_variant(fakehub_factory, how, tls_ca=None):
    """A fake Hub serving the same repo that is down, answers 401 to the
    stale token, or accepts and never answers; returns (hub, url)."""
    ctx = tlsca.server_context(tls_ca) if tls_ca else None
    if how == "hang":
        hub = fakehub_factory("hang", repos=[js_repo()], tls_context=ctx)
    else:
        hub = fakehub_factory("ok", repos=[js_repo()], tls_context=ctx)
        if how == "401":
            hub.valid_tokens = {"hf_the_only_good_one"}
    url = hub.url
    if how == "down":
        hub.stop()
    return hub, url


@pytest.mark.parametrize("how", ["down", "401", "hang"])
def test_js_client_answered_from_its_cache(shim, hubjs, warmed, fakehub_factory, how):  # noqa: F811
    """The JS client (node over http) with its own cache, the Hub down /
    401 on the stale token / hanging: modelInfo gives the cached sha and
    snapshotDownload succeeds, at once, and the Hub sees no request."""
    cache, info, heads = warmed
    hub, url = hub_variant(fakehub_factory, how)
    env = shim.base_env({"HF_ENDPOINT": url, "HF_HUB_CACHE": str(cache), "HF_TOKEN": STALE})
    rules = shim.rules_dir / "cache-first.json"
    r = shim.hfshim("run", "--rules", rules, "--", *hubjs, "model-info", "acme/js-model", env=env, timeout=30)
    out = outcome(r)
    assert out["ok"] and out["sha"] == SHA and out["id"] == "acme/js-model", r
    assert r.elapsed < FAST, r
    r = shim.hfshim("run", "--rules", rules, "--", *hubjs, "snapshot-download", "acme/js-model", env=env, timeout=30)
    out = outcome(r)
    assert out["ok"] and out["folder"].endswith(SHA) and set(out["statuses"]) == {200}, r
    assert "answered GET %s/api/models/acme/js-model/tree/%s?recursive=true" % (url, SHA) in r.log, r
    assert hub.request_count() == 0
    # without the shim the same call fails (or hangs until the client gives up)
    if how != "hang":
        plain = subprocess.run([*hubjs, "model-info", "acme/js-model"], env={**env, "LD_PRELOAD": ""},
                               capture_output=True, text=True, timeout=30)
        assert not outcome(plain)["ok"], plain.stdout


@pytest.mark.parametrize("how", ["down", "401"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_curl_and_python_on_the_js_cache(shim, warmed, fakehub_factory, tls_ca, how, scheme):
    """curl -I / curl of resolve URLs give the fake Hub's headers and
    bytes, python3 requests' model info the fake Hub's sha and siblings,
    over http and https (virtual TLS or a deferred handshake: the
    handshake never needs the server), with the Hub seeing nothing."""
    cache, info, heads = warmed
    hub, url = hub_variant(fakehub_factory, how, tls_ca if scheme == "https" else None)
    env = shim.base_env({"HF_ENDPOINT": url, "HF_HUB_CACHE": str(cache), **tlsca.client_env(tls_ca)})
    rules = shim.rules_dir / "cache-first.json"
    code = ("import json, requests, sys; r = requests.get(sys.argv[1] + '/api/models/acme/js-model',"
            " headers={'Authorization': 'Bearer ' + sys.argv[2]}); print(json.dumps(r.json()))")
    r = shim.hfshim("run", "--rules", rules, "--", "/usr/bin/python3", "-c", code, url, STALE, env=env)
    got = json.loads(r.stdout)
    assert got["sha"] == info["sha"] == SHA and got["id"] == info["id"], r
    assert sorted(s["rfilename"] for s in got["siblings"]) == sorted(s["rfilename"] for s in info["siblings"]), r
    shim.skip_if_asan_deadlocks("curl")
    for f in FILES:
        r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-I", "-H", "Authorization: Bearer " + STALE,
                        f"{url}/acme/js-model/resolve/main/{f}", env=env)
        h = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in r.stdout.splitlines() if ":" in l}
        for k in ("x-repo-commit", "etag", "x-linked-etag", "x-linked-size", "content-length"):
            assert h.get(k) == heads[f].get(k), (f, k, h, heads[f])
        out = shim.tmp / "body"
        r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-o", out, f"{url}/acme/js-model/resolve/main/{f}",
                        env=env)
        assert out.read_bytes() == FILES[f], r
    assert hub.request_count() == 0
