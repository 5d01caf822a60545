"""test_faults.py: fault rules, presets, windows and the audit log seen by
real clients (python3 requests/httpx/urllib, curl, node, git) under
`hfshim run`, against the recording fake Hub on 127.0.0.1.

A preset must look to a client exactly like the failure it reproduces: each
preset's answer is compared with what the fake Hub answers for the real
failure (a stale token, a gated repo, a missing repo, file or revision, the
Inference router's 401; the fake Hub's texts follow research/hf-protocol.md
section 4), on status, X-Error-Code, X-Error-Message and the JSON body.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from fakehub import GATED_REPO, HUB_REPO, TOKEN_REPOS

PY = "/usr/bin/python3"
STALE = "hf_stale" + "S" * 29
GOOD = "hf_good" + "G" * 30


@pytest.fixture
def hub(fakehub_factory):
    h = fakehub_factory("ok", repos=TOKEN_REPOS)
    h.valid_tokens = {GOOD}
    h.inference_tokens = {GOOD}
    return h


def base_rules(shim, extra=None):
    return shim.write_rules({"version": 1, "offline": False, "rules": extra or []}, name="base.json")


def run(shim, hub, cmd, *faults, rules=None, audit=None, timeout=30, env=None):
    """cmd under `hfshim run --fault F...` with HF_ENDPOINT at the fake Hub."""
    opts = ["--rules", rules or base_rules(shim)]
    for f in faults:
        opts += ["--fault", f]
    if audit:
        opts += ["--audit", audit]
    e = shim.base_env({"HF_ENDPOINT": hub.url, **(env or {})})
    return shim.hfshim("run", *opts, "--", *cmd, env=e, timeout=timeout)


# A python client printing the answer as JSON: status, the X-Error-* headers, the body.
PY_SHOW = r"""
import json, sys, requests
method, url = sys.argv[1], sys.argv[2]
headers = {"Authorization": "Bearer " + sys.argv[3]} if len(sys.argv) > 3 and sys.argv[3] else {}
r = requests.request(method, url, headers=headers, timeout=10)
try:
    body = r.json()
except ValueError:
    body = r.text
print(json.dumps({"status": r.status_code, "code": r.headers.get("X-Error-Code"),
                  "message": r.headers.get("X-Error-Message"), "body": body,
                  "retry_after": r.headers.get("Retry-After"), "ratelimit": r.headers.get("RateLimit"),
                  "policy": r.headers.get("RateLimit-Policy")}))
"""


def show(shim, hub, method, path, token="", faults=(), shimmed=True):
    cmd = [PY, "-c", PY_SHOW, method, hub.url + path, token]
    if not shimmed:
        p = subprocess.run(cmd, env=shim.base_env(), capture_output=True, text=True, timeout=20)
        assert p.returncode == 0, p
        return json.loads(p.stdout.strip().splitlines()[-1])
    r = run(shim, hub, cmd, *faults)
    assert r.returncode == 0, r
    return json.loads(r.stdout.strip().splitlines()[-1])


# (preset, method, path of a healthy request, token) and the real failure
# it stands for: (method, path, token) the fake Hub answers that way itself
PRESETS = [
    ("invalid-credentials", "GET", f"/api/models/{HUB_REPO}", GOOD, ("GET", f"/api/models/{HUB_REPO}", STALE)),
    ("gated-repo", "GET", f"/{GATED_REPO}/resolve/main/config.json", "",
     ("GET", f"/{GATED_REPO}/resolve/main/config.json", "")),
    ("gated-repo", "GET", f"/{GATED_REPO}/resolve/main/config.json", GOOD,
     ("GET", f"/{GATED_REPO}/resolve/main/config.json", GOOD)),
    ("repo-not-found", "GET", f"/api/models/{HUB_REPO}", "", ("GET", "/api/models/acme/no-such-model", "")),
    ("entry-not-found", "GET", f"/{HUB_REPO}/resolve/main/config.json", "",
     ("GET", f"/{HUB_REPO}/resolve/main/no-such-file.json", "")),
    ("revision-not-found", "GET", f"/api/models/{HUB_REPO}/revision/v9", "",
     ("GET", f"/api/models/{HUB_REPO}/revision/v9", "")),
    ("router-401", "POST", "/v1/chat/completions", GOOD, ("POST", "/v1/chat/completions", STALE)),
]


@pytest.mark.parametrize("preset,method,path,token,real", PRESETS,
                         ids=[f"{p[0]}-{'token' if p[3] else 'anon'}" for p in PRESETS])
def test_preset_matches_the_real_failure(shim, hub, preset, method, path, token, real):
    if preset == "gated-repo":
        hub.grants = {GATED_REPO: set()}  # GOOD is valid but not granted: the real 403
    want = show(shim, hub, *real[:2], token=real[2], shimmed=False)
    assert want["status"] in (401, 403, 404), want
    # the same client, a healthy request, the preset: the same answer
    match = "/v1/" if preset == "router-401" else "/"
    got = show(shim, hub, method, path, token=token, faults=[f"{preset}:{match}"])
    for k in ("status", "code", "message"):
        assert got[k] == want[k], (k, got, want)
    assert got["body"] == want["body"], (got, want)


def test_presets_never_reach_the_hub(shim, hub):
    show(shim, hub, "GET", f"/api/models/{HUB_REPO}", token=GOOD, faults=["invalid-credentials"])
    assert hub.requests == [], [q.path for q in hub.requests]


def test_rate_limited_headers_as_the_hub_sends_them(shim, hub):
    got = show(shim, hub, "GET", f"/{HUB_REPO}/resolve/main/config.json", faults=["rate-limited"])
    assert got["status"] == 429 and got["retry_after"] == "1", got
    # huggingface_hub's own parsing (utils/_http.py _RATELIMIT_REGEX / _POLICY_REGEX)
    m = re.search(r"\"(?P<resource_type>\w+)\"\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+)", got["ratelimit"])
    assert m and m["resource_type"] == "resolvers" and m["r"] == "0" and m["t"] == "1", got
    p = re.search(r"q\s*=\s*(?P<q>\d+).*?w\s*=\s*(?P<w>\d+)", got["policy"])
    assert p and p["w"] == "300", got
    got = show(shim, hub, "GET", f"/api/models/{HUB_REPO}", faults=["rate-limited"])
    assert got["ratelimit"].startswith('"api";'), got


def test_outage_and_plain_status(shim, hub):
    got = show(shim, hub, "GET", f"/api/models/{HUB_REPO}", faults=["hub-outage"])
    assert got["status"] == 503 and got["body"] == {"error": "Service Unavailable"}, got
    got = show(shim, hub, "GET", f"/api/models/{HUB_REPO}", faults=["502:/api/"])
    assert got["status"] == 502, got


# -- curl, node fetch and git see the same answers -------------------------

def test_curl_sees_the_preset(shim, hub):
    shim.skip_if_asan_deadlocks("curl")
    r = run(shim, hub, ["curl", "-sS", "-D", "-", "-o", "/dev/null", f"{hub.url}/{GATED_REPO}/resolve/main/config.json"],
            "gated-repo")
    assert r.returncode == 0, r
    head = r.stdout.replace("\r", "")
    assert head.startswith("HTTP/1.1 401"), r
    assert "X-Error-Code: GatedRepo\n" in head and f"Access to model {GATED_REPO} is restricted." in head, r
    assert hub.requests == []


def test_node_fetch_sees_the_preset(shim, hub):
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    js = ("fetch(process.argv[1]).then(async r => console.log(r.status, r.headers.get('x-error-message'), "
          "await r.text()))")
    r = run(shim, hub, ["node", "-e", js, f"{hub.url}/api/models/{HUB_REPO}"], "invalid-credentials")
    assert r.returncode == 0, r
    assert r.stdout.strip() == ('401 Invalid credentials in Authorization header '
                                '{"error":"Invalid credentials in Authorization header"}'), r


def test_git_sees_the_preset(shim, hub, fakehub_factory, git_repo):
    shim.skip_if_asan_deadlocks("git")
    ghub = fakehub_factory("ok", git_root=git_repo.parent)
    url = f"{ghub.url}/git/{git_repo.name}"
    e = shim.base_env({"HF_ENDPOINT": ghub.url, "GIT_TERMINAL_PROMPT": "0"})
    r = shim.hfshim("run", "--rules", base_rules(shim), "--fault", "repo-not-found:/git/", "--", "git", "ls-remote",
                    url, env=e, timeout=30)
    assert r.returncode != 0, r
    assert "401" in r.stderr or "Authentication failed" in r.stderr or "could not read Username" in r.stderr, r
    assert ghub.requests == []


# -- @huggingface/hub raises what it raises for the real failure ------------

JS_DIR = os.path.join(os.path.dirname(__file__), "js")
JS_CLIENT = os.path.join(JS_DIR, "hub_client.mjs")


@pytest.fixture
def hubjs():
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    if not os.path.exists(os.path.join(JS_DIR, "node_modules/@huggingface/hub/package.json")):
        pytest.skip("tests/js/node_modules is missing: run `npm ci --prefix tests/js --no-audit --no-fund`")
    return [node, JS_CLIENT]


def js_outcome(r):
    lines = (r.stdout or "").strip().splitlines()
    assert lines, r
    return json.loads(lines[-1])


JS_CASES = [
    # (preset, args for the healthy call, args and token for the real failure, token for the healthy call)
    ("invalid-credentials", ["model-info", HUB_REPO], (["model-info", HUB_REPO], STALE), GOOD),
    ("repo-not-found", ["model-info", HUB_REPO], (["model-info", "acme/no-such-model"], None), None),
    ("gated-repo", ["download", GATED_REPO, "config.json"], (["download", GATED_REPO, "config.json"], None), None),
    ("entry-not-found", ["download", HUB_REPO, "config.json"], (["download", HUB_REPO, "no-such.json"], None), None),
]


@pytest.mark.parametrize("preset,args,real,token", JS_CASES, ids=[c[0] for c in JS_CASES])
def test_hub_js_raises_the_same_error(shim, hub, hubjs, tmp_path, preset, args, real, token):
    def plain(a, tok):
        env = shim.base_env({"HF_ENDPOINT": hub.url, **({"HF_TOKEN": tok} if tok else {})})
        p = subprocess.run([*hubjs, *a], env=env, capture_output=True, text=True, timeout=30)
        return js_outcome(p)

    want = plain(*real)
    env = {"HF_TOKEN": token} if token else {}
    r = run(shim, hub, [*hubjs, *args], preset, env=env)
    got = js_outcome(r)
    for k in ("ok", "name", "status"):
        assert got.get(k) == want.get(k), (k, got, want)
    if preset != "repo-not-found":  # the message names the URL asked, which differs
        assert got["message"].replace(args[-1], real[0][-1]) == want["message"], (got, want)


def test_hub_js_outage(shim, hub, hubjs):
    got = js_outcome(run(shim, hub, [*hubjs, "model-info", HUB_REPO], "hub-outage"))
    assert got["ok"] is False and got["status"] == 503 and got["name"] == "HubApiError", got


# -- transport faults --------------------------------------------------------

PY_TIMED = r"""
import sys, time, requests
t = time.monotonic()
try:
    r = requests.get(sys.argv[1], timeout=float(sys.argv[2]))
    print("status", r.status_code, round(time.monotonic() - t, 2))
except Exception as e:
    print(type(e).__name__, round(time.monotonic() - t, 2))
"""


def timed(shim, hub, path, *faults, timeout="2"):
    r = run(shim, hub, [PY, "-c", PY_TIMED, hub.url + path, timeout], *faults)
    assert r.returncode == 0, r
    name, secs = r.stdout.split()[0], float(r.stdout.split()[-1])
    return name, secs, r


def test_hang_lets_the_client_timeout_fire(shim, hub):
    name, secs, r = timed(shim, hub, f"/api/models/{HUB_REPO}", "hang:/api/")
    assert name == "ReadTimeout" and 1.9 <= secs < 4.0, r
    assert "hang GET" in r.log, r.log
    assert hub.requests == []  # taken by hfshim, never sent


def test_firewall_hang_is_a_connect_timeout(shim, hub):
    name, secs, r = timed(shim, hub, f"/api/models/{HUB_REPO}", "firewall-hang")
    assert name == "ConnectTimeout" and 1.9 <= secs < 4.0, r
    assert hub.connections == []


def test_curl_hang_and_firewall_hang(shim, hub):
    shim.skip_if_asan_deadlocks("curl")
    r = run(shim, hub, ["curl", "-sS", "-m", "2", f"{hub.url}/api/models/{HUB_REPO}"], "hang")
    assert r.returncode == 28 and "Operation timed out" in r.stderr and 1.9 <= r.elapsed < 5, r
    r = run(shim, hub, ["curl", "-sS", "--connect-timeout", "2", f"{hub.url}/api/models/{HUB_REPO}"],
            "firewall-hang")
    assert r.returncode == 28 and 1.9 <= r.elapsed < 5, r
    assert hub.requests == []


def test_node_hang(shim, hub):
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    js = ("const t = Date.now(); fetch(process.argv[1], {signal: AbortSignal.timeout(2000)})"
          ".then(r => console.log('status', r.status)).catch(e => console.log(e.name, (Date.now() - t) / 1000))")
    r = run(shim, hub, ["node", "-e", js, f"{hub.url}/api/models/{HUB_REPO}"], "hang")
    assert r.returncode == 0 and r.stdout.split()[0] == "TimeoutError", r
    assert 1.9 <= float(r.stdout.split()[1]) < 4, r


def test_hang_over_tls(shim, tls_hub, tls_ca):
    import tlsca

    env = tlsca.client_env(tls_ca)
    r = run(shim, tls_hub, [PY, "-c", PY_TIMED, f"{tls_hub.url}/api/models/{HUB_REPO}", "2"], "hang", env=env)
    assert r.returncode == 0 and r.stdout.split()[0] == "ReadTimeout", r
    assert 1.9 <= float(r.stdout.split()[-1]) < 4, r
    assert tls_hub.requests == []


def test_refuse_and_dns_fail(shim, hub):
    name, secs, r = timed(shim, hub, f"/api/models/{HUB_REPO}", "refuse")
    assert name == "ConnectionError" and secs < 1.5, r
    assert "ECONNREFUSED" in r.log and hub.connections == []
    # dns-fail: the lookup of the Hub's name fails (localhost: the name is looked up)
    local = hub.url.replace("127.0.0.1", "localhost")
    rr = run(shim, hub, [PY, "-c", PY_TIMED, local + "/api/models/x", "2"], "dns-fail:localhost")
    assert "ConnectionError" in rr.stdout and "EAI_NONAME" in rr.log, rr
    if shutil.which("curl") and shim.kind == "plain":
        c = run(shim, hub, ["curl", "-sS", local + "/x"], "dns-fail:localhost")
        assert c.returncode == 6 and "Could not resolve host: localhost" in c.stderr, c
        c = run(shim, hub, ["curl", "-sS", hub.url + "/x"], "refuse")
        assert c.returncode == 7, c
    assert hub.connections == []


def test_reset_after_bytes(shim, hub):
    code = ("import sys, requests\n"
            "got = bytearray()\n"
            "try:\n"
            "    with requests.get(sys.argv[1], stream=True, timeout=10) as r:\n"
            "        for c in r.iter_content(1000): got += c\n"
            "    print('whole', len(got))\n"
            "except Exception as e:\n"
            "    print(type(e).__name__, len(got))\n")
    r = run(shim, hub, [PY, "-c", code, f"{hub.url}/bytes/50000"], "reset=1000:/bytes/")
    assert r.returncode == 0 and r.stdout.split()[0] in ("ChunkedEncodingError", "ConnectionError"), r
    assert int(r.stdout.split()[1]) < 50000, r
    assert [q.path for q in hub.requests] == ["/bytes/50000"]  # the request went; its answer was cut
    # an answer shorter than the cut is whole
    r = run(shim, hub, [PY, "-c", code, f"{hub.url}/bytes/500"], "reset=1000:/bytes/")
    assert r.stdout.split() == ["whole", "500"], r


def test_curl_reset_of_an_answer(shim, hub):
    shim.skip_if_asan_deadlocks("curl")
    # a modifier acts when it comes before the rule that answers
    rules = base_rules(shim, [{"name": "cut", "match": {"path": "^/big$"}, "action": "reset", "after_bytes": 100},
                              {"name": "big", "match": {"path": "^/big$"}, "action": "respond", "status": 200,
                               "body": "x" * 5000}])
    r = run(shim, hub, ["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download}", f"{hub.url}/big"], rules=rules)
    assert r.returncode == 56 and "Connection reset by peer" in r.stderr, r


def test_throttle(shim, hub):
    code = ("import sys, time, requests\nt = time.monotonic()\nr = requests.get(sys.argv[1], timeout=30)\n"
            "print(len(r.content), round(time.monotonic() - t, 2))\n")
    r = run(shim, hub, [PY, "-c", code, f"{hub.url}/bytes/20000"], "throttle=10000:/bytes/")
    assert r.returncode == 0, r
    n, secs = r.stdout.split()
    assert n == "20000" and float(secs) >= 1.5, r  # 20 kB at 10 kB/s: about 2 s


# -- windows: counted over the whole run, reproducible -----------------------

def statuses(shim, hub, n, *faults, parallel=False):
    """n separate python processes (one request each) in one run."""
    # one write per line: parallel processes share stdout
    one = (f'{PY} -c "import os, requests; '
           f'os.write(1, b\'%d\\n\' % requests.get(\'{hub.url}/api/models/{HUB_REPO}\', timeout=10).status_code)"')
    script = (" & ".join([one] * n) + " & wait") if parallel else "; ".join([one] * n)
    r = run(shim, hub, ["sh", "-c", script], *faults)
    assert r.returncode == 0, r
    return [int(x) for x in r.stdout.split()]


def test_window_first_counts_across_processes(shim, hub):
    assert statuses(shim, hub, 4, "rate-limited:/api/@first=2") == [429, 429, 200, 200]
    assert statuses(shim, hub, 4, "hub-outage:/api/@after=1,every=2") == [200, 503, 200, 503]


def test_window_first_under_concurrency(shim, hub):
    got = statuses(shim, hub, 6, "rate-limited:/api/@first=2", parallel=True)
    assert sorted(got) == [200, 200, 200, 200, 429, 429], got


def test_window_probability_is_reproducible(shim, hub):
    a = statuses(shim, hub, 8, "503:/api/@p=0.5,seed=7")
    b = statuses(shim, hub, 8, "503:/api/@p=0.5,seed=7")
    c = statuses(shim, hub, 8, "503:/api/@p=0.5,seed=8")
    assert a == b, (a, b)
    assert 503 in a and 200 in a, a  # this seed mixes both (checked once, fixed)
    assert a != c, (a, c)


def test_window_per_program(shim, hub):
    shim.skip_if_asan_deadlocks("curl")
    script = (f"curl -s -o /dev/null -w '%{{http_code}}\\n' {hub.url}/api/models/{HUB_REPO}; "
              f"{PY} -c \"import requests; print(requests.get('{hub.url}/api/models/{HUB_REPO}').status_code)\"")
    r = run(shim, hub, ["sh", "-c", script], "503:/api/@program=python3")
    assert r.returncode == 0 and r.stdout.split() == ["200", "503"], r


def test_counters_file_removed_after_the_run(shim, hub, tmp_path):
    env = {"XDG_RUNTIME_DIR": str(tmp_path)}
    r = run(shim, hub, ["sh", "-c", f"ls {tmp_path}/hfshim-counters-*"], "503@first=1", env=env)
    assert r.returncode == 0 and "hfshim-counters-" in r.stdout, r
    assert list(tmp_path.glob("hfshim-counters-*")) == []


# -- --fault errors ------------------------------------------------------------

@pytest.mark.parametrize("spec,msg", [
    ("bogus", 'col 1: unknown fault "bogus"'),
    ("reset=abc", "col 7: reset=N"),
    ("refuse:/api/", "col 8: refuse acts on the connection"),
    ("503@first=0", "first must be a whole number from 1"),
    ("503@colour=red", 'unknown window key "colour"'),
    ("503:/(x", "match.path: invalid regex"),
    ("rate-limited@first=2,after=3", "this window never fires"),
])
def test_fault_errors(shim, hub, spec, msg):
    r = run(shim, hub, ["true"], spec)
    assert r.returncode == 2 and f"--fault {spec}: " in r.stderr and msg in r.stderr, r
    assert "refusing to run true" in r.stderr


# -- the audit log -------------------------------------------------------------

def test_audit_log_multi_process(shim, hub, tmp_path):
    audit = tmp_path / "audit.jsonl"
    one = (f"{PY} -c \"import requests\n"
           f"s = requests.Session()\n"
           f"for i in range(20): s.get('{hub.url}/api/models/{HUB_REPO}', headers={{'Authorization': 'Bearer {GOOD}'}})\"")
    fifth = f"curl -s -o /dev/null {hub.url}/{HUB_REPO}/resolve/main/config.json"
    if shim.kind == "san":  # curl deadlocks under a preloaded ASan runtime (conftest): a python client instead
        fifth = f"{PY} -c \"import urllib.request as u; u.urlopen('{hub.url}/{HUB_REPO}/resolve/main/config.json')\""
    script = " & ".join([one] * 4) + f" & {fifth} & wait"
    r = run(shim, hub, ["sh", "-c", script], "rate-limited:/api/@every=3", audit=str(audit))
    assert r.returncode == 0, r
    text = audit.read_text()
    assert GOOD not in text  # tokens only masked
    recs = [json.loads(line) for line in text.splitlines()]  # every line whole
    http = [x for x in recs if x["layer"] in ("http", "curl")]
    assert len(http) == 81, len(http)
    assert len({x["pid"] for x in http}) == 5
    limited = [x for x in http if x["decision"] == "respond"]
    assert len(limited) == 26 and all(x["status"] == 429 and x["action"] == "rate-limited" for x in limited)
    api = [x for x in http if "/api/models/" in x["url"]]  # the four token-carrying clients
    assert len(api) == 80 and all(x["token"]["present"] and x["token"]["mask"].startswith("hf_") for x in api)
    for x in recs:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", x["time"]) and x["v"] == 1
    # what the Hub saw: every request not answered by the fault
    assert len(hub.requests) == 81 - 26


def test_audit_records_connection_faults(shim, hub, tmp_path):
    audit = tmp_path / "a.jsonl"
    r = run(shim, hub, [PY, "-c", PY_TIMED, hub.url + "/api/x", "2"], "refuse", audit=str(audit))
    assert r.returncode == 0, r
    recs = [json.loads(line) for line in audit.read_text().splitlines()]
    conn = [x for x in recs if x["layer"] == "connect"]
    assert conn and conn[0]["decision"] == "block" and conn[0]["action"] == "refuse" and \
        conn[0]["error"] == "ECONNREFUSED", recs


def test_explain_shows_presets_and_windows(shim, hub):
    rules = base_rules(shim, [{"name": "limit", "match": {"host": "@hub"}, "preset": "rate-limited",
                               "window": {"first": 2}}])
    r = shim.hfshim("explain", "--rules", rules, "GET", f"{hub.url}/api/models/{HUB_REPO}",
                    env=shim.base_env({"HF_ENDPOINT": hub.url}))
    assert r.returncode == 0, r
    assert "preset rate-limited" in r.stdout and "rule limit fires only on some of its matches: the first 2" in r.stdout, r


def test_curl_reset_and_throttle_of_a_server_response(shim, hub, tmp_path):
    shim.skip_if_asan_deadlocks("curl")
    out = tmp_path / "out.bin"
    r = run(shim, hub, ["curl", "-sS", "-o", str(out), f"{hub.url}/bytes/50000"], "reset=1000:/bytes/")
    assert r.returncode == 56 and "Recv failure: Connection reset by peer" in r.stderr, r
    assert 0 < out.stat().st_size < 1000, out.stat().st_size  # the head counts too
    assert [q.path for q in hub.requests] == ["/bytes/50000"]
    r = run(shim, hub, ["curl", "-sS", "-o", str(out), "-w", "%{time_total}", f"{hub.url}/bytes/20000"],
            "throttle=10000:/bytes/")
    assert r.returncode == 0 and out.stat().st_size == 20000 and float(r.stdout) >= 1.5, r


def test_pycurl_reset(shim, hub):
    pytest.importorskip("pycurl")
    code = ("import sys, io, pycurl\nb = io.BytesIO()\nc = pycurl.Curl()\nc.setopt(c.URL, sys.argv[1])\n"
            "c.setopt(c.WRITEDATA, b)\n"
            "try:\n    c.perform()\n    print('whole', len(b.getvalue()))\n"
            "except pycurl.error as e:\n    print(e.args[0], len(b.getvalue()))\n")
    r = run(shim, hub, [PY, "-c", code, f"{hub.url}/bytes/50000"], "reset=2000:/bytes/")
    assert r.returncode == 0 and r.stdout.split()[0] == "56" and int(r.stdout.split()[1]) < 2000, r


PY_HTTPX = r"""
import sys, time, httpx
t = time.monotonic()
try:
    r = httpx.get(sys.argv[1], timeout=2.0)
    print(r.status_code, r.headers.get("x-error-code"), round(time.monotonic() - t, 2))
except Exception as e:
    print(type(e).__name__, "-", round(time.monotonic() - t, 2))
"""


def test_httpx_sees_presets_and_hang(shim, hub):
    pytest.importorskip("httpx")
    r = run(shim, hub, [PY, "-c", PY_HTTPX, f"{hub.url}/{HUB_REPO}/resolve/main/config.json"], "gated-repo")
    assert r.returncode == 0 and r.stdout.split()[:2] == ["401", "GatedRepo"], r
    r = run(shim, hub, [PY, "-c", PY_HTTPX, f"{hub.url}/api/models/{HUB_REPO}"], "hang")
    name, _, secs = r.stdout.split()
    assert name == "ReadTimeout" and 1.9 <= float(secs) < 4, r
    r = run(shim, hub, [PY, "-c", PY_HTTPX, f"{hub.url}/api/models/{HUB_REPO}"], "firewall-hang")
    name, _, secs = r.stdout.split()
    assert name == "ConnectTimeout" and 1.9 <= float(secs) < 4, r
    assert hub.requests == [] and hub.connections == []


def test_run_with_windows_passes_status_and_signals(shim, hub):
    r = run(shim, hub, ["sh", "-c", "exit 7"], "503@first=1")
    assert r.returncode == 7, r
    r = run(shim, hub, ["sh", "-c", "kill -TERM $$"], "503@first=1")
    assert r.returncode == -15, r  # dies of the same signal
    # SIGTERM sent to hfshim reaches the command
    e = shim.base_env({"HF_ENDPOINT": hub.url})
    p = subprocess.Popen([str(shim.launcher), "run", "--rules", str(base_rules(shim)), "--fault", "503@first=1", "--",
                          PY, "-c", "import os, signal, sys, time\n"
                          # os.write, not print: the TERM can arrive while
                          # print('ready') still holds stdout's buffer (its flush
                          # checks for signals), and a print in the handler then
                          # fails as a reentrant call
                          "signal.signal(signal.SIGTERM, lambda *a: (os.write(1, b'got TERM\\n'), sys.exit(3)))\n"
                          # short sleeps: a signal caught just before a long
                          # time.sleep() would wait for its end (CPython only
                          # looks at caught signals when the sleep is interrupted)
                          "print('ready', flush=True)\nfor _ in range(300): time.sleep(0.1)"],
                         env=e, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    p.terminate()
    out, _ = p.communicate(timeout=10)
    assert "got TERM" in out and p.returncode == 3, (out, p.returncode)
