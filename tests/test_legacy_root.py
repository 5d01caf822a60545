"""test_legacy_root.py: the portable build where legacy containers live: a
minimal Debian 11 root (glibc 2.31, tests/legacyroot.py) with its own
python3, requests and curl, and nothing of hfshim's dependencies. The
staged tree is copied in as `make install` lays it out; then, chrooted
there: programs start under LD_PRELOAD, the launcher's commands run, the
offline block and the cache answers hold, a token is stripped before it
reaches the fake Hub, and `hfshim install --system` with a locked policy
puts every program under the shim through /etc/ld.so.preload. Before the
portable build, every program there failed to start ("version
`GLIBC_2.34' not found", exit 127) and the launcher needed libcjson.

The sanitizer build is for this machine's glibc only: the plain build,
the one that ships, is what runs here. `make legacy-check` runs this file
(it builds the root once, about a minute, then it is cached)."""

import json

import pytest

from cachebuild import CachedRepo
from fakehub import HUB_REPO, HUB_SHA
from legacyroot import OldRoot, legacy_lower  # noqa: F401 (fixture)
from sysroot import SysRoot

LIB = "/usr/local/lib/libhfshim.so"
GOOD = "hf_GoodGoodGoodGoodGoodGoodGood1234"
STALE = "hf_StaleStaleStaleStaleStaleStale12"
FETCH = r"""
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers={k: v for k, v in (h.split(": ", 1) for h in sys.argv[2:])})
try:
    r = urllib.request.urlopen(req, timeout=10)
    print(r.status, r.read().decode()[:400])
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("X-Error-Message"))
except Exception as e:
    print(type(e).__name__)
"""


@pytest.fixture
def old(shim, legacy_lower, tmp_path):
    if shim.kind == "san":
        pytest.skip("the sanitizer build needs this machine's glibc and runtime; the plain build is what ships")
    why = SysRoot.check()
    if why:
        pytest.fail(why)
    root = OldRoot(legacy_lower, tmp_path)
    root.install_tree(shim.build)
    root.put("/tmp/fetch.py", FETCH)
    return root


def run(shim, root, argv, env=None, net=True, hide=(), timeout=30):
    return shim.run(root.cmd(argv, net), env=root.env(env, hide), timeout=timeout)


def put_cache(root, at="/models/hub"):
    CachedRepo(root.upper / at.lstrip("/"), HUB_REPO, HUB_SHA,
               files={"config.json": b'{"model_type": "bert"}\n', "README.md": b"# tiny\n"}, refs={"main": HUB_SHA})


def test_programs_start_under_the_preload(shim, old):
    r = run(shim, old, ["ldd", "--version"])
    assert r.returncode == 0 and "GLIBC 2.31" in r.stdout, r  # an old glibc, or the test means nothing
    for argv in (["/bin/true"], ["python3", "-c", "print('started')"], ["curl", "--version"]):
        r = run(shim, old, argv, {"LD_PRELOAD": LIB})
        assert r.returncode == 0, (argv, r)
        assert "error while loading" not in r.stderr and "not found" not in r.stderr, (argv, r)
    # the library's own rules and hooks are in effect there (a rules file read)
    rules = old.put("/tmp/env.json", json.dumps({"version": 1, "env": {"set": {"MARKER": "from-rules"}}}))
    env = {"LD_PRELOAD": LIB, "HFSHIM_RULES": "/" + str(rules.relative_to(old.upper))}
    r = run(shim, old, ["python3", "-c", "import os; print(os.environ.get('MARKER'))"], env)
    assert r.returncode == 0 and r.stdout.strip() == "from-rules", r
    # dash links no libpthread: glibc 2.31 has no pthread_once in libc there
    r = run(shim, old, ["sh", "-c", 'echo "$MARKER"'], env)
    assert r.returncode == 0 and r.stdout.strip() == "from-rules", r


def test_launcher_commands(shim, old, fakehub):
    fakehub.valid_tokens = {GOOD}
    put_cache(old)
    r = run(shim, old, ["hfshim", "--version"])
    assert r.returncode == 0 and r.stdout.startswith("hfshim "), r
    r = run(shim, old, ["hfshim", "check", "/usr/local/share/hfshim/rules/default.json"])
    assert r.returncode == 0 and "OK" in r.stdout, r
    r = run(shim, old, ["hfshim", "explain", "--rules", "/usr/local/share/hfshim/rules/offline.json", "GET",
                        "https://huggingface.co/api/models/x"])
    assert r.returncode == 0 and "HTTP request:          block by rule (hub-cache)" in r.stdout, r
    r = run(shim, old, ["hfshim", "cache"], {"HF_HUB_CACHE": "/models/hub"})
    assert r.returncode == 0 and HUB_REPO in r.stdout, r
    # the Hub check through the root's own libcurl (7.74), opened on use
    r = run(shim, old, ["hfshim", "doctor", "--online"], {"HF_TOKEN": GOOD, "HF_ENDPOINT": fakehub.url})
    assert "whoami-v2: valid, account tester" in r.stdout, r
    assert [q.path for q in fakehub.requests] == ["/api/whoami-v2"]
    # without libcurl the launcher still starts and says what is missing
    r = run(shim, old, ["hfshim", "doctor", "--online"], {"HF_TOKEN": GOOD, "HF_ENDPOINT": fakehub.url},
            hide=["/usr/lib/x86_64-linux-gnu/libcurl.so.4"])
    assert "error while loading" not in r.stderr, r
    assert "whoami-v2: unknown: no libcurl.so.4 here: the Hub check needs libcurl" in r.stdout, r
    assert fakehub.request_count() == 1
    # hfshim run --offline, the real Hub by name, no network at all: refused at once
    r = run(shim, old, ["hfshim", "run", "--offline", "--", "python3", "/tmp/fetch.py",
                        f"https://huggingface.co/api/models/{HUB_REPO}-other"], net=False)
    assert r.returncode == 0 and r.stdout.startswith("403 "), r
    assert r.elapsed < 10, r


def test_offline_block_and_cache_answers(shim, old, hanging_hub):
    """LD_PRELOAD, the default rules: a Hub that never answers, the model in
    the cache: curl and python3 get the cache's answers at once; offline, an
    uncached model is refused without a connection."""
    put_cache(old)
    env = {"LD_PRELOAD": LIB, "HF_HUB_CACHE": "/models/hub", "HF_ENDPOINT": hanging_hub.url}
    url = f"{hanging_hub.url}/api/models/{HUB_REPO}"
    r = run(shim, old, ["curl", "-sS", "-m", "20", url], env)
    assert r.returncode == 0 and json.loads(r.stdout)["sha"] == HUB_SHA, r
    assert r.elapsed < 10, r
    r = run(shim, old, ["python3", "/tmp/fetch.py", url], env)
    assert r.returncode == 0 and r.stdout.startswith("200 ") and HUB_SHA in r.stdout, r
    r = run(shim, old, ["curl", "-sS", "-I", "-m", "20", f"{hanging_hub.url}/{HUB_REPO}/resolve/main/config.json"], env)
    assert r.returncode == 0 and f"x-repo-commit: {HUB_SHA}" in r.stdout.lower(), r
    assert hanging_hub.request_count() == 0  # connected (watched), nothing sent
    before = hanging_hub.connection_count()
    r = run(shim, old, ["python3", "/tmp/fetch.py", f"{hanging_hub.url}/api/models/acme/not-cached"],
            dict(env, HFSHIM_OFFLINE="1"))
    assert r.returncode == 0 and r.stdout.startswith("403 "), r
    assert r.elapsed < 10, r
    assert hanging_hub.connection_count() == before and hanging_hub.request_count() == 0


def test_token_strip(shim, old, fakehub):
    rules = {"version": 1, "rules": [{"name": "no-stale-token", "match": {"host": "127.0.0.1"},
                                      "action": "strip-header", "header": "Authorization"}]}
    old.put("/tmp/strip.json", json.dumps(rules))
    env = {"LD_PRELOAD": LIB, "HFSHIM_RULES": "/tmp/strip.json"}
    r = run(shim, old, ["curl", "-sS", "-H", f"Authorization: Bearer {STALE}", f"{fakehub.url}/headers"], env)
    assert r.returncode == 0, r
    r = run(shim, old, ["python3", "/tmp/fetch.py", f"{fakehub.url}/headers", f"Authorization: Bearer {STALE}"],
            env)
    assert r.returncode == 0 and r.stdout.startswith("200 "), r
    assert fakehub.request_count() == 2
    assert [q.header("authorization") for q in fakehub.requests] == [None, None]
    assert STALE not in r.stderr


def test_system_install_locked_policy(shim, old, fakehub):
    """`hfshim install --system` in the old root: every program under the
    shim through /etc/ld.so.preload, no variable set, a locked offline
    policy the environment cannot weaken; uninstall gives the root back."""
    put_cache(old, "/root/.cache/huggingface/hub")
    policy = {"version": 1, "locked": True, "offline": True,
              "hub_hosts": ["huggingface.co", "*.huggingface.co", f"127.0.0.1:{fakehub.port}"],
              "log": {"destination": "stderr"}}
    old.put("/tmp/policy.json", json.dumps(policy))
    old.put("/tmp/open.json", json.dumps({"version": 1, "offline": False}))
    r = run(shim, old, ["hfshim", "install", "--system", "--rules", "/tmp/policy.json"])
    assert r.returncode == 0, r
    assert "/etc/hfshim/rules.json: installed from /tmp/policy.json (locked" in r.stdout, r
    assert (old.upper / "etc/ld.so.preload").read_text() == f"{LIB}\n"
    env = {"HF_ENDPOINT": fakehub.url}
    r = run(shim, old, ["python3", "/tmp/fetch.py", f"{fakehub.url}/api/models/{HUB_REPO}"], env)
    assert r.returncode == 0 and r.stdout.startswith("200 ") and HUB_SHA in r.stdout, r  # from the cache
    r = run(shim, old, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n",
                        f"{fakehub.url}/api/models/acme/not-cached"], env)
    assert r.stdout.strip() == "403" and "blocked GET" in r.stderr, r
    r = run(shim, old, ["python3", "/tmp/fetch.py", f"{fakehub.url}/api/models/acme/not-cached"],
            dict(env, HFSHIM_RULES="/tmp/open.json", HFSHIM_OFFLINE="0"))
    assert r.stdout.startswith("403 ") and "ignored HFSHIM_RULES=/tmp/open.json, HFSHIM_OFFLINE=0" in r.stderr, r
    assert fakehub.request_count() == 0
    r = run(shim, old, ["hfshim", "uninstall", "--system"])
    assert r.returncode == 0, r
    r = run(shim, old, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n", f"{fakehub.url}/headers"], env)
    assert r.stdout.strip() == "200" and fakehub.request_count() == 1, r


def test_virtual_tls_with_openssl_1_1(shim, old):
    """Offline, the real Hub by name, no network: the shim answers inside a
    virtual TLS session. Debian 11 has OpenSSL 1.1 and urllib3 1.26.5,
    which checks the certificate's names itself (getpeercert): the session
    must present a certificate there too, or requests fails with an
    AttributeError instead of reading the 403."""
    code = ("import requests; r = requests.get('https://huggingface.co/api/models/acme/other', timeout=10); "
            "print(r.status_code, r.headers.get('X-Error-Message'))")
    r = run(shim, old, ["python3", "-c", code], {"LD_PRELOAD": LIB, "HFSHIM_OFFLINE": "1"}, net=False)
    assert r.returncode == 0 and r.stdout.startswith("403 "), r
    assert r.elapsed < 10, r
