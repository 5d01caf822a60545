"""test_tsan.py: the threaded workloads under ThreadSanitizer.

`make tsan` builds the library with -fsanitize=thread into build/tsan;
these tests preload libtsan and that library into real multi-threaded
programs (python3 threads with one requests.Session each, over http and
https, mixing answered and forwarded requests; a C program running libcurl
transfers on 8 threads through pycurl) and fail on any ThreadSanitizer report.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

import tlsca
from conftest import PY, ROOT

TSAN_LIB = ROOT / os.environ.get("HFSHIM_TSAN_BUILD", "build/tsan") / "lib/libhfshim.so"
SUPP = ROOT / "tests/tsan.supp"

THREADS = r"""
import hashlib, sys, threading, requests
bad = []
def work(i):
    s = requests.Session()
    for k in range(20):
        p = '/api/models/a/t%d' % i if k % 2 else '/bytes/%d' % (1000 + i)
        r = s.get(sys.argv[1] + p, headers={'Authorization': 'Bearer hf_' + 'x' * 34})
        if r.status_code != 200 or (k % 2 and b'c0ffee' not in r.content):
            bad.append((p, r.status_code))
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print('bad', bad)
"""


def libtsan():
    r = subprocess.run(["gcc", "-print-file-name=libtsan.so"], capture_output=True, text=True)
    p = Path(r.stdout.strip()) if r.returncode == 0 else None
    return p if p and p.is_absolute() and p.exists() else None


@pytest.fixture
def tsan_env(tmp_path):
    rt = libtsan()
    if not rt or not TSAN_LIB.exists():
        pytest.skip("no ThreadSanitizer build: run `make tsan` (libtsan from gcc)")

    def make(rules, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSHIM_")) and "proxy" not in k.lower()}
        env.update({"LD_PRELOAD": f"{rt.resolve()}:{TSAN_LIB}", "HFSHIM_RULES": str(rules),
                    "HFSHIM_LOG": str(tmp_path / "shim.log"), "NO_PROXY": "*",
                    "TSAN_OPTIONS": f"log_path={tmp_path}/tsan report_signal_unsafe=0 suppressions={SUPP}"})
        env.update(extra or {})
        return env
    return make


def reports(tmp_path):
    return "".join(p.read_text() for p in tmp_path.glob("tsan*"))


def write_rules(tmp_path, port):
    f = tmp_path / "rules.json"
    f.write_text(json.dumps({"version": 1, "rules": [
        {"name": "answer", "match": {"port": port, "path": "^/api/models/"}, "action": "respond", "status": 200,
         "body": '{"sha":"c0ffee"}'},
        {"name": "strip-auth", "match": {"port": port}, "action": "strip-header", "header": "Authorization"}]}))
    return f


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_python_threads_under_tsan(tsan_env, fakehub_factory, tls_ca, tmp_path, scheme):
    hub = fakehub_factory(tls_context=tlsca.server_context(tls_ca) if scheme == "https" else None)
    env = tsan_env(write_rules(tmp_path, hub.port), tlsca.client_env(tls_ca))
    r = subprocess.run([PY, "-c", THREADS, hub.url], env=env, capture_output=True, text=True, timeout=180)
    assert reports(tmp_path) == "", reports(tmp_path)[:4000]
    assert r.returncode == 0 and r.stdout.strip() == "bad []", (r.stdout, r.stderr[-2000:])
    assert len(hub.requests) == 80
    assert all(q.header("Authorization") is None for q in hub.requests)


PYCURL_THREADS = r"""
import io, sys, threading, pycurl
bad = []
def work(i):
    for k in range(10):
        c = pycurl.Curl(); b = io.BytesIO()
        c.setopt(c.URL, sys.argv[1] + ('/api/models/a/b' if k % 2 else '/bytes/1000'))
        c.setopt(c.WRITEDATA, b)
        c.setopt(c.HTTPHEADER, ['Authorization: Bearer x'])
        c.perform()
        if c.getinfo(c.RESPONSE_CODE) != 200 or (k % 2 and b'c0ffee' not in b.getvalue()):
            bad.append(k)
        c.close()
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print('bad', bad)
"""


def test_libcurl_threads_under_tsan(tsan_env, fakehub, tmp_path):
    """The libcurl layer on 8 threads (pycurl: the curl CLI and C programs
    on libcurl hang at exit under a preloaded TSan runtime, shim or not)."""
    pytest.importorskip("pycurl")
    env = tsan_env(write_rules(tmp_path, fakehub.port))
    r = subprocess.run([PY, "-c", PYCURL_THREADS, fakehub.url], env=env, capture_output=True, text=True, timeout=180)
    assert reports(tmp_path) == "", reports(tmp_path)[:4000]
    assert r.returncode == 0 and r.stdout.strip() == "bad []", (r.stdout, r.stderr[-2000:])
    assert len(fakehub.requests) == 40
    assert all(q.header("Authorization") is None for q in fakehub.requests)


CACHE_THREADS = r"""
import sys, threading, requests
bad = []
def work(i):
    s = requests.Session()
    for k in range(20):
        p = '/api/models/acme/tiny' if k % 2 else '/bytes/%d' % (1000 + i)
        r = s.get(sys.argv[1] + p)
        if r.status_code != 200 or (k % 2 and r.json()['sha'] != sys.argv[2]):
            bad.append((p, r.status_code))
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print('bad', bad)
"""


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_cache_answers_threads_under_tsan(tsan_env, fakehub_factory, tls_ca, tmp_path, scheme):
    """8 threads mixing cache answers (cache-first, deferred TLS handshakes
    on https) with requests the Hub answers."""
    from cachebuild import CachedRepo

    sha = "0123456789abcdef0123456789abcdef01234567"
    CachedRepo(tmp_path / "cache", "acme/tiny", sha, files={"config.json": b"{}\n"})
    hub = fakehub_factory(tls_context=tlsca.server_context(tls_ca) if scheme == "https" else None)
    env = tsan_env(ROOT / "rules/cache-first.json", {**tlsca.client_env(tls_ca), "HF_ENDPOINT": hub.url,
                                                    "HF_HUB_CACHE": str(tmp_path / "cache")})
    r = subprocess.run([PY, "-c", CACHE_THREADS, hub.url, sha], env=env, capture_output=True, text=True, timeout=180)
    assert reports(tmp_path) == "", reports(tmp_path)[:4000]
    assert r.returncode == 0 and r.stdout.strip() == "bad []", (r.stdout, r.stderr[-2000:])
    assert sorted(q.path for q in hub.requests) == sorted("/bytes/%d" % (1000 + i) for i in range(8) for _ in range(10))
