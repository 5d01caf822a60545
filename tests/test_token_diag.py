"""Hub error diagnostics (docs/tokens.md, hfshim-rules(5) TOKENS KEYS) as real clients meet
them: python3 requests over http and https against the fake Hub's gated,
private and missing repos, unknown revisions and files, and its
Inference-router route; one log line each, with the documented text, the
token masked and never in clear."""
import pytest

from fakehub import GATED_REPO, PRIVATE_REPO, TOKEN_REPOS

PY = "/usr/bin/python3"
GOOD = "hf_" + "DiagValidToken0123456789abcdefghijk"
APP = ("import sys, requests\nh = {'Authorization': 'Bearer ' + sys.argv[1]} if sys.argv[1] else {}\n"
       "r = requests.request(sys.argv[3], sys.argv[4], headers=h, verify=sys.argv[2] or True, json={} if sys.argv[3] == 'POST' else None)\n"
       "print(r.status_code)\n")
MASK = GOOD[:5] + "\u2026" + GOOD[-2:]


@pytest.fixture(params=["http", "https"])
def hub(request, fakehub_factory, tls_ca):
    import tlsca

    h = fakehub_factory("ok", repos=TOKEN_REPOS,
                        tls_context=tlsca.server_context(tls_ca) if request.param == "https" else None)
    h.valid_tokens = {GOOD}
    h.inference_tokens = set()  # no token has the Inference Providers permission
    h.ca = str(tls_ca.ca_cert) if request.param == "https" else ""
    return h


def diag(shim, hub, token, path, method="GET"):
    rules = shim.write_rules({"version": 1, "tokens": {},
                              "rules": [{"name": "token-hygiene", "match": {}, "action": "strip-auth"}]})
    env = shim.preload_env({"HFSHIM_RULES": str(rules), "HF_ENDPOINT": hub.url})
    r = shim.run([PY, "-c", APP, token, hub.ca, method, hub.url + path], env=env)
    assert r.returncode == 0, r
    assert GOOD not in r.log and GOOD not in r.stderr
    return r


def one_line(r, phrase):
    lines = [l for l in r.log.splitlines() if phrase in l]
    assert len(lines) == 1, r.log
    return lines[0]


def test_gated_anonymous(shim, hub):
    r = diag(shim, hub, "", f"/{GATED_REPO}/resolve/main/config.json")
    assert r.stdout.strip() == "401"
    line = one_line(r, f"gated repo {GATED_REPO}")
    assert "the request had no token; log in with a token of an account that was granted access" in line
    assert f"https://huggingface.co/{GATED_REPO}" in line


def test_gated_token_without_grant(shim, hub):
    r = diag(shim, hub, GOOD, f"/{GATED_REPO}/resolve/main/config.json")
    assert r.stdout.strip() == "403"
    line = one_line(r, f"gated repo {GATED_REPO}")
    assert f"the token {MASK} belongs to an account without access; accept the conditions at" in line


def test_repo_not_found(shim, hub):
    r = diag(shim, hub, "", f"/api/models/{PRIVATE_REPO}")
    assert r.stdout.strip() == "401"
    line = one_line(r, f"repo {PRIVATE_REPO} not found")
    assert "it is private or gated and the request had no token" in line


def test_entry_and_revision_not_found(shim, hub):
    r = diag(shim, hub, "", "/acme/tiny-model/resolve/main/no-such-file.json")
    assert r.stdout.strip() == "404"
    one_line(r, "file not found in acme/tiny-model")
    r = diag(shim, hub, "", "/api/models/acme/tiny-model/revision/no-such-rev")
    assert r.stdout.strip() == "404"
    one_line(r, "revision not found in acme/tiny-model")


def test_router_401(shim, hub):
    r = diag(shim, hub, GOOD, "/v1/chat/completions", method="POST")
    assert r.stdout.strip() == "401"
    line = one_line(r, "Inference router answered 401")
    assert MASK in line and "Make calls to Inference Providers" in line


# -- more diagnostics: invalid credentials, token sources, curl, JSON and
# stderr logs, one line per answer, the real router name (netns) ----------

import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import tlsca  # noqa: E402

STALE = "hf_" + "DiagStaleToken0123456789abcdefghijkl"  # the fake Hub says 401 Invalid credentials
STALE_MASK = STALE[:5] + "\u2026" + STALE[-2:]
TESTS = Path(__file__).resolve().parent

# (name, method, path, token, status the app reads, phrase of the one line, more phrases in it)
CASES = [
    ("gated-anonymous", "GET", f"/{GATED_REPO}/resolve/main/config.json", "", "401", f"gated repo {GATED_REPO}",
     ["the request had no token", f"https://huggingface.co/{GATED_REPO}"]),
    ("gated-403", "GET", f"/{GATED_REPO}/resolve/main/config.json", GOOD, "403", f"gated repo {GATED_REPO}",
     [f"the token {MASK} belongs to an account without access"]),
    ("repo-not-found", "GET", f"/api/models/{PRIVATE_REPO}", "", "401", f"repo {PRIVATE_REPO} not found",
     ["HTTP 401", "it is private or gated and the request had no token"]),
    ("entry-not-found", "GET", "/acme/tiny-model/resolve/main/nope.json", "", "404",
     "file not found in acme/tiny-model", ["HTTP 404"]),
    ("revision-not-found", "GET", "/api/models/acme/tiny-model/revision/v9", "", "404",
     "revision not found in acme/tiny-model", ["HTTP 404"]),
    ("invalid-credentials", "GET", "/api/models/acme/tiny-model", STALE, "401", f"the Hub rejected the token {STALE_MASK}",
     ["(401 Invalid credentials)", "invalid, expired or revoked"]),
    ("router-401", "POST", "/v1/chat/completions", GOOD, "401", "Inference router answered 401",
     [MASK, "Make calls to Inference Providers"]),
]
PHRASES = {c[0]: c[5] for c in CASES}


def no_retry_rules(shim, name="diag-noretry.json"):
    # retry off: the app reads the 401 "Invalid credentials" itself (with the
    # retry it reads the anonymous answer and the line is the learning one)
    return shim.write_rules({"version": 1, "tokens": {"retry": False},
                             "rules": [{"name": "token-hygiene", "match": {}, "action": "strip-auth"}]}, name=name)


def assert_never_clear(r, *tokens):
    for text in (r.stdout, r.stderr, r.log):
        for t in tokens or (GOOD, STALE):
            assert t not in (text or ""), f"token {t[:5]}… in clear: {r!r}"


def lines_with(text, phrase):
    return [line for line in (text or "").splitlines() if phrase in line]


@pytest.fixture
def dhub(hub):
    hub.valid_tokens = {GOOD}
    return hub


def _py_env(shim, hub, extra=None):
    env = shim.base_env({"HF_ENDPOINT": hub.url, **(extra or {})})
    if hub.ca:
        env.update({"REQUESTS_CA_BUNDLE": hub.ca, "SSL_CERT_FILE": hub.ca, "CURL_CA_BUNDLE": hub.ca})
    return env


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_answer_requests_via_launcher(shim, dhub, case):
    """python3 requests under `hfshim run`: the app reads the Hub's answer
    itself, and the log has exactly one line for it, with the documented
    phrases, the token masked, never in clear (log, stdout, stderr)."""
    _, method, path, token, status, phrase, more = case
    r = shim.hfshim("run", "--rules", no_retry_rules(shim), "--", PY, "-c", APP, token, dhub.ca, method,
                    dhub.url + path, env=_py_env(shim, dhub))
    assert r.returncode == 0 and r.stdout.strip() == status, r
    found = lines_with(r.log, phrase)
    assert len(found) == 1, r.log
    for m in more:
        assert m in found[0], found[0]
    assert_never_clear(r)
    # what crossed the wire: the app's token, as the app sent it (a bad
    # answer is diagnosed, never "fixed" by stripping a good token)
    assert [q.header("Authorization") for q in dhub.requests] == [f"Bearer {token}" if token else None]


def test_all_answers_one_process_one_line_each(shim, dhub):
    """Every error answer of one process on one keep-alive connection gets
    its own single line: 7 answers, 7 lines, none twice."""
    code = ("import sys, requests\ns = requests.Session()\n"
            "for m, p, t in [a.split('|') for a in sys.argv[3:]]:\n"
            "    h = {'Authorization': 'Bearer ' + t} if t else {}\n"
            "    r = s.request(m, sys.argv[1] + p, headers=h, verify=sys.argv[2] or True, json={} if m == 'POST' else None)\n"
            "    print(r.status_code)\n")
    args = [f"{m}|{p}|{t}" for _, m, p, t, _, _, _ in CASES]
    r = shim.hfshim("run", "--rules", no_retry_rules(shim), "--", PY, "-c", code, dhub.url, dhub.ca, *args,
                    env=_py_env(shim, dhub))
    assert r.returncode == 0 and r.stdout.split() == [c[4] for c in CASES], r
    assert dhub.connection_count() == 1
    for name, phrase in PHRASES.items():
        assert len(lines_with(r.log, phrase)) == (2 if name.startswith("gated") else 1), (name, r.log)
    diag_lines = [line for line in r.log.splitlines() if any(p in line for p in PHRASES.values())]
    assert len(diag_lines) == len(CASES), r.log
    assert_never_clear(r)


def test_token_source_named(shim, dhub, tmp_path):
    """A token the app took from HF_TOKEN (or the token file) is named by
    its source in the line, masked."""
    code = ("import os, sys, requests\nr = requests.get(sys.argv[1], headers={'Authorization': 'Bearer ' + "
            "(os.environ.get('HF_TOKEN') or open(os.environ['HF_TOKEN_PATH']).read().strip())}, "
            "verify=sys.argv[2] or True)\nprint(r.status_code)\n")
    url = f"{dhub.url}/{GATED_REPO}/resolve/main/config.json"
    r = shim.hfshim("run", "--rules", no_retry_rules(shim), "--", PY, "-c", code, url, dhub.ca,
                    env=_py_env(shim, dhub, {"HF_TOKEN": GOOD}))
    assert r.stdout.strip() == "403", r
    [line] = lines_with(r.log, f"gated repo {GATED_REPO}")
    assert f"{MASK} (from HF_TOKEN)" in line, line
    tokfile = tmp_path / "hfhome" / "token"
    tokfile.parent.mkdir()
    tokfile.write_text(STALE + "\n")
    r = shim.hfshim("run", "--rules", no_retry_rules(shim), "--", PY, "-c", code, f"{dhub.url}/api/models/acme/tiny-model",
                    dhub.ca, env=_py_env(shim, dhub, {"HF_TOKEN_PATH": str(tokfile)}))
    assert r.stdout.strip() == "401", r
    [line] = lines_with(r.log, "the Hub rejected the token")
    assert STALE_MASK in line and str(tokfile) in line, line
    assert_never_clear(r)


def test_learned_line_with_retry(shim, dhub):
    """With the retry (the default) the app reads the anonymous 200; the
    line says the token was learned, masked, once."""
    rules = shim.write_rules({"version": 1, "tokens": {},
                              "rules": [{"name": "token-hygiene", "match": {}, "action": "strip-auth"}]})
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", APP, STALE, dhub.ca, "GET",
                    dhub.url + "/api/models/acme/tiny-model", env=_py_env(shim, dhub))
    assert r.stdout.strip() == "200", r
    found = lines_with(r.log, "learned: the Hub answered 401")
    assert len(found) == 1 and STALE_MASK in found[0], r.log
    assert [q.header("Authorization") for q in dhub.requests] == [f"Bearer {STALE}", None]
    assert_never_clear(r)


def test_json_log_and_stderr(shim, dhub):
    """HFSHIM_LOG_FORMAT=json: the line is one JSON object holding the
    text; HFSHIM_LOG=stderr: the line goes to stderr, once."""
    url = f"{dhub.url}/{GATED_REPO}/resolve/main/config.json"
    r = shim.hfshim("run", "--rules", no_retry_rules(shim), "--", PY, "-c", APP, GOOD, dhub.ca, "GET", url,
                    env=_py_env(shim, dhub, {"HFSHIM_LOG_FORMAT": "json"}))
    assert r.stdout.strip() == "403", r
    objs = [json.loads(line) for line in r.log.splitlines() if line.strip()]
    hits = [o for o in objs if f"gated repo {GATED_REPO}" in json.dumps(o, ensure_ascii=False)]
    assert len(hits) == 1, r.log
    assert MASK in json.dumps(hits[0], ensure_ascii=False) and hits[0].get("pid") and hits[0].get("program")
    assert_never_clear(r)
    r = shim.hfshim("run", "--rules", no_retry_rules(shim, "n2.json"), "--", PY, "-c", APP, GOOD, dhub.ca, "GET", url,
                    env=_py_env(shim, dhub, {"HFSHIM_LOG": "stderr"}))
    assert r.stdout.strip() == "403", r
    assert len(lines_with(r.stderr, f"gated repo {GATED_REPO}")) == 1, r
    assert_never_clear(r)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_answer_curl(shim, dhub, case):
    """The same answers seen from curl (the libcurl layer): one line each."""
    shim.skip_if_asan_deadlocks("curl")
    _, method, path, token, status, phrase, more = case
    cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", method]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if method == "POST":
        cmd += ["-H", "Content-Type: application/json", "-d", "{}"]
    r = shim.hfshim("run", "--rules", no_retry_rules(shim), "--", *cmd, dhub.url + path, env=_py_env(shim, dhub))
    assert r.returncode == 0 and r.stdout.strip() == status, r
    found = lines_with(r.log, phrase)
    assert len(found) == 1, r.log
    for m in more:
        assert m in found[0], found[0]
    assert_never_clear(r)
    assert [q.header("Authorization") for q in dhub.requests] == [f"Bearer {token}" if token else None]


# -- the real router name, inside a network namespace ----------------------

# Runs inside `unshare -n -m`: starts a fake Hub on 127.0.0.1:PORT (TLS with
# a certificate for the real names), runs the command (the client under
# `hfshim run`) and writes what the server received to a JSON file.
HARNESS = r"""
import json, os, ssl, subprocess, sys
cfg = json.loads(sys.argv[1])
sys.path.insert(0, cfg["tests"])
from fakehub import FakeHub, TOKEN_REPOS
ctx = None
if cfg["cert"]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cfg["cert"], cfg["key"])
    ctx.set_alpn_protocols(["http/1.1"])
hub = FakeHub("ok", "127.0.0.1", cfg["port"], tls_context=ctx, repos=TOKEN_REPOS).start()
hub.valid_tokens = set(cfg["valid"])
hub.inference_tokens = set(cfg["inference"])
p = subprocess.run(cfg["cmd"], env=cfg["env"], capture_output=True, text=True, timeout=40)
hub.stop()
reqs = [{"method": q.method, "target": q.target, "host": q.header("Host"), "auth": q.header("Authorization"),
         "tls": q.tls} for q in hub.requests]
json.dump({"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr, "requests": reqs}, open(cfg["out"], "w"))
"""
NETNS_SH = 'mount --bind "$1" /etc/hosts && ip link set lo up && exec "$2" -c "$3" "$4"'
REAL_NAMES = ["router.huggingface.co", "huggingface.co"]


@pytest.fixture(scope="session")
def real_name_cert(tls_ca):
    """A server certificate for the real Hub names, from the session's CA."""
    d = tls_ca.dir / "realnames"
    d.mkdir(exist_ok=True)
    key, crt = d / "hub.key", d / "hub.crt"
    if not crt.exists():
        san = ",".join(f"DNS:{n}" for n in REAL_NAMES) + ",IP:127.0.0.1"
        (d / "ext").write_text(tlsca._EXT.replace(tlsca.SAN, san))
        tlsca._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", str(key), "-out", "hub.csr", "-subj", "/CN=router.huggingface.co", cwd=d)
        tlsca._openssl("x509", "-req", "-in", "hub.csr", "-CA", str(tls_ca.ca_cert), "-CAkey", str(tls_ca.ca_key),
                       "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", tlsca.DAYS, "-sha256",
                       "-extfile", "ext", "-out", str(crt), cwd=d)
    return key, crt


def run_in_netns(shim, netns, cmd, scheme, cert, tmp_path, token_env=None):
    """(Result, what the namespace's server received) for cmd run as a
    client of a fake Hub listening on the real names' port 80/443."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost " + " ".join(REAL_NAMES) + "\n")
    out = tmp_path / f"netns-{len(list(tmp_path.glob('netns-*')))}.json"
    ca = str(cert[1].parent.parent / "ca.crt")
    child_env = shim.base_env({"REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca, "CURL_CA_BUNDLE": ca,
                               **(token_env or {})})
    child_env["HFSHIM_LOG"] = str(tmp_path / f"{out.stem}.log")
    cfg = {"tests": str(TESTS), "cert": str(cert[1]) if scheme == "https" else "", "key": str(cert[0]),
           "port": 443 if scheme == "https" else 80, "valid": [GOOD], "inference": [], "cmd": [str(c) for c in cmd],
           "env": child_env, "out": str(out)}
    outer = {k: v for k, v in shim.base_env().items() if not k.startswith(("ASAN_", "UBSAN_")) and k != "LD_PRELOAD"}
    p = subprocess.run([*netns, "-m", "sh", "-c", NETNS_SH, "sh", str(hosts), PY, HARNESS, json.dumps(cfg)],
                       env=outer, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and out.exists(), (p.stdout, p.stderr)
    res = json.loads(out.read_text())
    out.unlink()  # it records the tokens the server received: not hfshim's writing
    log = Path(child_env["HFSHIM_LOG"])
    res["log"] = log.read_text() if log.exists() else ""
    shim.check_sanitizers()
    return res


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("with_token", [True, False])
def test_router_real_name_requests(shim, netns, real_name_cert, tmp_path, scheme, with_token):
    """python3 requests POSTs to the real router.huggingface.co (inside a
    network namespace, /etc/hosts naming 127.0.0.1): the router's 401 gets
    the router line (with the masked token, or "it needs a token"); the
    router is a Hub host, so the valid HF token arrives, and a router 401
    teaches nothing (the second POST still carries it)."""
    code = ("import os, sys, requests\ns = requests.Session()\n"
            "h = {'Authorization': 'Bearer ' + os.environ['TOK']} if os.environ.get('TOK') else {}\n"
            "for _ in range(2):\n"
            "    print(s.post(sys.argv[1], json={'model': 'acme/llm', 'messages': []}, headers=h).status_code)\n")
    rules = shim.write_rules({"version": 1, "tokens": {},
                              "rules": [{"name": "token-hygiene", "match": {}, "action": "strip-auth"}]})
    url = f"{scheme}://router.huggingface.co/v1/chat/completions"
    res = run_in_netns(shim, netns, [shim.launcher, "run", "--rules", rules, "--", PY, "-c", code, url], scheme,
                       real_name_cert, tmp_path, {"TOK": GOOD} if with_token else {})
    assert res["rc"] == 0 and res["stdout"].split() == ["401", "401"], res
    assert [q["auth"] for q in res["requests"]] == [f"Bearer {GOOD}" if with_token else None] * 2, res["requests"]
    assert all(q["host"] == "router.huggingface.co" for q in res["requests"])
    found = lines_with(res["log"], f"Inference router answered 401 to {url}")
    assert len(found) == 2, res["log"]  # one per answer
    if with_token:
        assert f"with the token {MASK}" in found[0] and "lacks the \"Make calls to Inference Providers\"" in found[0]
    else:
        assert "it needs a token" in found[0]
    for text in (res["log"], res["stdout"], res["stderr"]):
        assert GOOD not in text


def test_router_real_name_curl(shim, netns, real_name_cert, tmp_path):
    shim.skip_if_asan_deadlocks("curl")
    rules = shim.write_rules({"version": 1, "tokens": {},
                              "rules": [{"name": "token-hygiene", "match": {}, "action": "strip-auth"}]})
    url = "https://router.huggingface.co/v1/chat/completions"
    res = run_in_netns(shim, netns, [shim.launcher, "run", "--rules", rules, "--", "curl", "-sS", "-o", "/dev/null",
                                     "-w", "%{http_code}", "-H", f"Authorization: Bearer {GOOD}", "-H",
                                     "Content-Type: application/json", "-d", "{}", url], "https",
                       real_name_cert, tmp_path)
    assert res["rc"] == 0 and res["stdout"].strip() == "401", res
    assert [q["auth"] for q in res["requests"]] == [f"Bearer {GOOD}"]
    found = lines_with(res["log"], f"Inference router answered 401 to {url}")
    assert len(found) == 1 and MASK in found[0], res["log"]
    for text in (res["log"], res["stdout"], res["stderr"]):
        assert GOOD not in text
