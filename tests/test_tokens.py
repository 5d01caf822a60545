"""test_tokens.py: token hygiene (hfshim-rules(5) TOKENS KEYS) on real clients at
the byte layers: python3 requests, httpx and urllib over http and https
(the TLS fake Hub with the session's throwaway CA: the OpenSSL plaintext
layer), node fetch over http (over https node's bundled OpenSSL is seen
at the connection level only), and the official @huggingface/hub JS client.
The libcurl clients (curl, git, pycurl) are in test_curl_tokens.py.

Every assertion about a token is on what the fake Hub received (its
request records and the raw bytes of each connection), never on what the
shim says it did; the log is only checked for a token in clear.

The fake Hub serves a public, a private and a gated repo (TOKEN_REPOS);
`valid_tokens` makes it answer 401 "Invalid credentials in Authorization
header" to any other Bearer token on its Hub routes, public repos
included, as the real Hub does. HF_ENDPOINT makes it a Hub host.
"""

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import tlsca
from conftest import PY, ROOT
from fakehub import HUB_REPO, HUB_SHA, PRIVATE_REPO, PRIVATE_SHA, TOKEN_REPOS

GOOD = "hf_" + "TokensGoodValue0123456789abcdefghij"      # the fake Hub accepts it
STALE = "hf_" + "TokensStaleValue0123456789abcdefghi"     # revoked: 401 Invalid credentials
OTHER = "hf_" + "TokensOtherValue0123456789abcdefghi"     # valid, but sent by the app to a non-Hub host
DENIED = "hf_" + "TokensDeniedValue0123456789abcdefgh"    # valid at the Hub, on the rules' deny list
SCOPED = "hf_" + "TokensScopedValue0123456789abcdefgh"    # given to set-auth through the environment
ALL_TOKENS = [GOOD, STALE, OTHER, DENIED, SCOPED]

JS_DIR = ROOT / "tests/js"
JS_CLIENT = JS_DIR / "hub_client.mjs"
MODEL = f"/api/models/{HUB_REPO}"
RESOLVE = f"/{HUB_REPO}/resolve/main/config.json"
CONFIG = b'{"model_type": "bert"}\n'
PY_CLIENTS = ["requests", "httpx", "urllib"]
NODE_HTTPS = "node's OpenSSL is linked into the binary: its TLS is seen at the connection level only"

# One script per language drives a whole sequence on one session (one
# connection pool): argv[2] is a JSON list of [method, url, authorization
# value or null]; one output line per request: status, body length, the
# first 200 bytes of the body.
PY_APP = r"""
import json, sys
which, seq = sys.argv[1], json.loads(sys.argv[2])
def show(status, body):
    print(status, len(body), body[:200].decode("latin-1").replace("\n", " "), flush=True)
def hdrs(a):
    return {} if a is None else {"Authorization": a}
if which == "requests":
    import requests
    s = requests.Session()
    for m, u, a in seq:
        r = s.request(m, u, headers=hdrs(a), timeout=20); show(r.status_code, r.content)
elif which == "httpx":
    import httpx
    with httpx.Client(timeout=20) as c:
        for m, u, a in seq:
            r = c.request(m, u, headers=hdrs(a)); show(r.status_code, r.content)
elif which == "urllib":
    import urllib.request, urllib.error
    for m, u, a in seq:
        try:
            r = urllib.request.urlopen(urllib.request.Request(u, headers=hdrs(a), method=m), timeout=20)
            show(r.status, r.read())
        except urllib.error.HTTPError as e:
            show(e.code, e.read())
"""
NODE_APP = r"""
const seq = JSON.parse(process.argv[1]);
(async () => {
  for (const [m, u, a] of seq) {
    const r = await fetch(u, {method: m, headers: a === null ? {} : {Authorization: a}});
    const b = Buffer.from(await r.arrayBuffer());
    console.log(r.status, b.length, b.toString("latin1").slice(0, 200).replace(/\n/g, " "));
  }
})().catch(e => { console.error("fetch failed:", e.cause ? e.cause.code : e); process.exit(1); });
"""


# -- helpers ---------------------------------------------------------------

def token_rules(shim, tokens=None, extra=(), when=None, name="tokens.json"):
    rule = {"name": "token-hygiene", "match": {}, "action": "strip-auth"}
    if when is not None:
        rule["when"] = when
    return shim.write_rules({"version": 1, "tokens": {"learn": True, "retry": True, **(tokens or {})},
                             "rules": [rule, *extra]}, name=name)


def app_cmd(which, seq):
    if which == "node":
        return ["node", "-e", NODE_APP, json.dumps(seq)]
    return [PY, "-c", PY_APP, which, json.dumps(seq)]


def run_app(shim, which, seq, rules, hub, tls_ca=None, env=None, timeout=30):
    """Runs one client under `hfshim run --rules RULES` (rules None: the
    default rules) with HF_ENDPOINT=hub.url."""
    e = shim.base_env({"HF_ENDPOINT": hub.url, **(tlsca.client_env(tls_ca) if tls_ca else {}), **(env or {})})
    opts = ["--rules", rules] if rules is not None else []
    return shim.hfshim("run", *opts, "--", *app_cmd(which, seq), env=e, timeout=timeout)


def statuses(r):
    return [line.split(" ", 2)[0] for line in r.stdout.splitlines()]


def bodies(r):
    return [line.split(" ", 2)[2] if line.count(" ") >= 2 else "" for line in r.stdout.splitlines()]


def auths(hub, since=0):
    """The Authorization value of each request the hub received (None: none)."""
    return [q.header("Authorization") for q in hub.requests[since:]]


def wire_has(hub, secret):
    """Whether the raw bytes of any connection to hub hold secret."""
    return any(secret.encode() in c.received for c in hub.connections)


def no_auth_on_wire(hub):
    return all(q.header("Authorization") is None for q in hub.requests) and \
        all(b"authorization:" not in c.received.lower() for c in hub.connections)


def assert_no_clear_token(r, *extra):
    for text in (r.stdout, r.stderr, r.log, *extra):
        for t in ALL_TOKENS:
            assert t not in (text or ""), f"token {t[:5]}… in clear: {r!r}"


def skip_client(which, scheme):
    if which == "node":
        if scheme == "https":
            pytest.skip(NODE_HTTPS)
        if not shutil.which("node"):
            pytest.skip("node is not installed")


@pytest.fixture(params=["http", "https"])
def scheme(request):
    return request.param


@pytest.fixture
def hub(fakehub_factory, tls_ca, scheme):
    """The fake Hub (with the private and gated repos) over `scheme`."""
    h = fakehub_factory(repos=TOKEN_REPOS, tls_context=tlsca.server_context(tls_ca) if scheme == "https" else None)
    h.valid_tokens = {GOOD, OTHER, DENIED, SCOPED}
    return h


@pytest.fixture
def http_hub(fakehub_factory):
    h = fakehub_factory(repos=TOKEN_REPOS)
    h.valid_tokens = {GOOD, OTHER, DENIED, SCOPED}
    return h


@pytest.fixture
def hubjs():
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules/@huggingface/hub/package.json").exists():
        pytest.skip("tests/js/node_modules is missing: run `npm ci --prefix tests/js --no-audit --no-fund`")
    return ["node", str(JS_CLIENT)]


def js_run(shim, hubjs, hub, *args, rules, token=None, env=None):
    e = shim.base_env({"HF_ENDPOINT": hub.url, **({"HF_TOKEN": token} if token else {}), **(env or {})})
    opts = ["--rules", rules] if rules is not None else []
    r = shim.hfshim("run", *opts, "--", *hubjs, *args, env=e, timeout=40)
    lines = r.stdout.strip().splitlines()
    assert lines, r
    return r, json.loads(lines[-1])


# -- a stale token: learned, retried anonymously, sent once per process ------

@pytest.mark.parametrize("which", PY_CLIENTS + ["node"])
def test_stale_token_public_repo(shim, hub, tls_ca, scheme, which):
    """The app sends a revoked token with every request of a public-repo
    sequence (repo info, HEAD and GET of a file, repo info again): every
    answer is the Hub's success, the Hub saw the stale token exactly once
    (the first request), then only anonymous requests, the retry on the
    same connection as the 401."""
    skip_client(which, scheme)
    a = f"Bearer {STALE}"
    seq = [["GET", hub.url + MODEL, a], ["HEAD", hub.url + RESOLVE, a], ["GET", hub.url + RESOLVE, a],
           ["GET", hub.url + MODEL + "/revision/main", a]]
    r = run_app(shim, which, seq, token_rules(shim), hub, tls_ca)
    assert r.returncode == 0, r
    assert statuses(r) == ["200"] * 4, r
    assert HUB_SHA in bodies(r)[0] and bodies(r)[2].startswith(CONFIG.decode().strip()), r
    assert auths(hub) == [a] + [None] * 4, (auths(hub), r)
    assert [(q.method, q.path) for q in hub.requests] == [("GET", MODEL), ("GET", MODEL), ("HEAD", RESOLVE),
                                                           ("GET", RESOLVE), ("GET", MODEL + "/revision/main")]
    assert hub.requests[0].conn_id == hub.requests[1].conn_id, "the anonymous retry left the 401's connection"
    assert sum(c.received.count(STALE.encode()) for c in hub.connections) == 1  # once on the wire, in all
    assert_no_clear_token(r)


@pytest.mark.parametrize("which", PY_CLIENTS + ["node"])
def test_stale_token_each_process_once_then_state_file_never(shim, hub, tls_ca, scheme, which, tmp_path):
    """Without a state file each new process sends the stale token once;
    with one, only the first process ever does: the next process (another
    client too) never sends it."""
    skip_client(which, scheme)
    a = f"Bearer {STALE}"
    seq = [["GET", hub.url + MODEL, a], ["GET", hub.url + RESOLVE, a]]
    plain = token_rules(shim)
    for _ in range(2):
        r = run_app(shim, which, seq, plain, hub, tls_ca)
        assert statuses(r) == ["200", "200"], r
    assert auths(hub) == [a, None, None] * 2
    n = len(hub.requests)
    state = tmp_path / "state" / "tokens"
    shared = token_rules(shim, {"state_file": str(state)}, name="shared.json")
    r = run_app(shim, which, seq, shared, hub, tls_ca)
    assert statuses(r) == ["200", "200"], r
    assert auths(hub, n) == [a, None, None]
    n = len(hub.requests)
    for other in ("requests", which):  # a later process, of another client and of the same one
        r = run_app(shim, other, seq, shared, hub, tls_ca)
        assert statuses(r) == ["200", "200"], r
        assert_no_clear_token(r)
    assert auths(hub, n) == [None] * 4, "a later process sharing the state file sent the learned token"
    data = state.read_bytes()
    assert STALE.encode() not in data and hashlib.sha256(STALE.encode()).hexdigest().encode() in data
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


BULK_APP = r"""
import json, sys
import requests
base, first, count, again = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
tok = lambda i: "hf_Bulk%08dStaleValue0123456789ab" % i
s = requests.Session()
out = [s.get(base, headers={"Authorization": "Bearer " + tok(i)}, timeout=20).status_code
       for i in list(range(first, first + count)) + again]
print(json.dumps(out))
"""


def bulk_token(i):
    return "hf_Bulk%08dStaleValue0123456789ab" % i


def test_many_stale_tokens_learning_never_stops(shim, http_hub, tmp_path):
    """600 distinct stale tokens, each answered 401 once (learned, retried
    anonymously): past the 512 digests the table used to hold, learning
    went on silently failing, so every later token reached the Hub on
    every request and the state file got a line per request. Now the
    600th and the 1st are never sent again, in this process or in the
    next one sharing the state file, and the file has one line per digest."""
    state = tmp_path / "tokens"
    rules = token_rules(shim, {"state_file": str(state)}, name="bulk.json")
    url = http_hub.url + MODEL
    env = shim.base_env({"HF_ENDPOINT": http_hub.url})
    again = [599, 0, 599, 0, 598]
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", BULK_APP, url, "0", "600", json.dumps(again),
                    env=env, timeout=180)
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == [200] * 605, r
    sent = auths(http_hub)
    # each token once (the 401), then its anonymous retry; the repeats go anonymously
    assert sent[:1200] == [x for i in range(600) for x in (f"Bearer {bulk_token(i)}", None)], sent[1190:1210]
    assert sent[1200:] == [None] * 5, sent[1200:]
    lines = state.read_text().splitlines()
    assert lines[0].startswith("# hfshim token state v1")
    digests = [line.split()[0] for line in lines[1:]]
    assert len(digests) == 600 and len(set(digests)) == 600, len(digests)
    assert all(line.split()[1] == "learned" for line in lines[1:])
    assert set(digests) == {hashlib.sha256(bulk_token(i).encode()).hexdigest() for i in range(600)}
    # a later process sharing the file never sends any of them, and adds nothing
    n = len(http_hub.requests)
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", BULK_APP, url, "590", "10", json.dumps([0, 1, 599]),
                    env=env, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout) == [200] * 13, r
    assert auths(http_hub, n) == [None] * 13
    assert state.read_text().splitlines() == lines


def test_stale_token_post_teaches_but_is_not_replayed(shim, hub, tls_ca):
    """A request with a body is never replayed: the app reads the POST's
    401, but the token is learned, so the next GET goes out anonymously."""
    a = f"Bearer {STALE}"
    code = ("import sys, requests\ns = requests.Session()\n"
            "r = s.post(sys.argv[1] + '/api/models/acme/tiny-model/paths-info/main', json={'paths': ['config.json']},"
            " headers={'Authorization': sys.argv[2]}, timeout=20); print(r.status_code)\n"
            "r = s.get(sys.argv[1] + '/api/models/acme/tiny-model', headers={'Authorization': sys.argv[2]}, timeout=20);"
            " print(r.status_code)\n")
    env = shim.base_env({"HF_ENDPOINT": hub.url, **tlsca.client_env(tls_ca)})
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", PY, "-c", code, hub.url, a, env=env)
    assert r.stdout.split() == ["401", "200"], r
    assert [(q.method, q.header("Authorization")) for q in hub.requests] == [("POST", a), ("GET", None)]
    assert hub.requests[0].body == b'{"paths": ["config.json"]}'
    assert_no_clear_token(r)


def test_urllib_connection_close_retry(shim, http_hub):
    """urllib sends `Connection: close`: the retry still happens (the first
    attempt goes without that line, the retry with it) and the app gets the
    200 on a connection that then closes."""
    a = f"Bearer {STALE}"
    r = run_app(shim, "urllib", [["GET", http_hub.url + MODEL, a]], token_rules(shim), http_hub)
    assert statuses(r) == ["200"], r
    assert auths(http_hub) == [a, None]
    first, retry = http_hub.requests
    assert first.conn_id == retry.conn_id
    assert (retry.header("Connection") or "").lower() == "close"


# -- valid tokens are left alone --------------------------------------------

@pytest.mark.parametrize("which", PY_CLIENTS + ["node"])
def test_private_repo_valid_token(shim, hub, tls_ca, scheme, which):
    """A valid token to a private repo arrives, byte for byte, on every
    request (anonymous, the same repo is "not found": the token matters)."""
    skip_client(which, scheme)
    a = f"Bearer {GOOD}"
    seq = [["GET", f"{hub.url}/api/models/{PRIVATE_REPO}", a],
           ["GET", f"{hub.url}/{PRIVATE_REPO}/resolve/main/config.json", a],
           ["GET", f"{hub.url}/api/whoami-v2", a], ["GET", f"{hub.url}/api/models/{PRIVATE_REPO}", None]]
    r = run_app(shim, which, seq, token_rules(shim), hub, tls_ca)
    assert r.returncode == 0, r
    assert statuses(r) == ["200", "200", "200", "401"], r
    assert PRIVATE_SHA in bodies(r)[0] and '"private"' in bodies(r)[1] and '"tester"' in bodies(r)[2], r
    assert auths(hub) == [a, a, a, None]
    assert "stripped" not in r.log and "learned" not in r.log, r
    assert_no_clear_token(r)


def test_private_repo_hub_js_client(shim, hubjs, http_hub):
    """The JS client with accessToken: modelInfo and downloadFile of a
    private repo carry the valid token on every request."""
    rules = token_rules(shim)
    r, out = js_run(shim, hubjs, http_hub, "model-info", PRIVATE_REPO, rules=rules, token=GOOD)
    assert out["ok"] and out["sha"] == PRIVATE_SHA, r
    r, out = js_run(shim, hubjs, http_hub, "download", PRIVATE_REPO, "config.json", rules=rules, token=GOOD)
    assert out["ok"] and out["sha256"] == hashlib.sha256(b'{"model_type": "private"}\n').hexdigest(), r
    assert len(http_hub.requests) == 3 and auths(http_hub) == [f"Bearer {GOOD}"] * 3
    assert_no_clear_token(r)


def test_stale_token_hub_js_client(shim, hubjs, http_hub, tmp_path):
    """The JS client with a revoked accessToken: modelInfo and downloadFile
    succeed; each process sends the token once (the first request), and
    with a state file a later process never sends it."""
    rules = token_rules(shim)
    r, out = js_run(shim, hubjs, http_hub, "model-info", HUB_REPO, rules=rules, token=STALE)
    assert out["ok"] and out["sha"] == HUB_SHA, r
    r, out = js_run(shim, hubjs, http_hub, "download", HUB_REPO, "config.json", rules=rules, token=STALE)
    assert out["ok"] and out["sha256"] == hashlib.sha256(CONFIG).hexdigest(), r
    assert 401 not in out["statuses"], out  # the app never saw the 401
    a = f"Bearer {STALE}"
    assert auths(http_hub) == [a, None, a, None, None], auths(http_hub)
    n = len(http_hub.requests)
    shared = token_rules(shim, {"state_file": str(tmp_path / "tokens")}, name="shared.json")
    for args in (("model-info", HUB_REPO), ("download", HUB_REPO, "config.json"), ("model-info", HUB_REPO)):
        r, out = js_run(shim, hubjs, http_hub, *args, rules=shared, token=STALE)
        assert out["ok"], r
        assert_no_clear_token(r)
    assert auths(http_hub, n) == [a, None, None, None, None], auths(http_hub, n)


# -- HF tokens to other hosts ("foreign") -------------------------------------

@pytest.mark.parametrize("which", PY_CLIENTS + ["node"])
def test_hf_token_to_non_hub_host(shim, hub, fakehub_factory, tls_ca, scheme, which):
    """A valid HF token the app sends to a server that is not a Hub host
    (not HF_ENDPOINT) arrives there without Authorization; the same token
    to the Hub in the same process arrives; another service's own
    credential to the other server is left alone."""
    skip_client(which, scheme)
    other = fakehub_factory(tls_context=tlsca.server_context(tls_ca) if scheme == "https" else None)
    seq = [["GET", other.url + "/headers", f"Bearer {OTHER}"], ["GET", hub.url + "/api/whoami-v2", f"Bearer {OTHER}"],
           ["GET", other.url + "/headers", f"token {GOOD}"], ["GET", other.url + "/headers", "Bearer ghp_notHF123"]]
    r = run_app(shim, which, seq, token_rules(shim), hub, tls_ca)
    assert r.returncode == 0 and statuses(r) == ["200"] * 4, r
    assert auths(other) == [None, None, "Bearer ghp_notHF123"], auths(other)
    assert not wire_has(other, OTHER) and not wire_has(other, GOOD)
    assert auths(hub) == [f"Bearer {OTHER}"]
    assert_no_clear_token(r)


def test_hf_token_to_tokens_hosts_and_when(shim, http_hub, fakehub_factory):
    """tokens.hosts lets a named extra host receive HF tokens; a strip-auth
    whose "when" leaves out "foreign" does not strip them either."""
    other = fakehub_factory()
    seq = [["GET", other.url + "/headers", f"Bearer {OTHER}"]]
    r = run_app(shim, "requests", seq, token_rules(shim, {"hosts": [f"127.0.0.1:{other.port}"]}), http_hub)
    assert statuses(r) == ["200"], r
    r = run_app(shim, "requests", seq, token_rules(shim, when=["malformed", "denied", "learned"], name="w.json"),
                http_hub)
    assert statuses(r) == ["200"], r
    r = run_app(shim, "requests", seq, token_rules(shim, name="all.json"), http_hub)
    assert statuses(r) == ["200"], r
    assert auths(other) == [f"Bearer {OTHER}", f"Bearer {OTHER}", None]


# -- denylisted and malformed tokens never leave ------------------------------

@pytest.mark.parametrize("form", ["prefix8", "full", "sha256:", "upper"])
def test_denylisted_token(shim, hub, tls_ca, form):
    """A token on the deny list (by its SHA-256 prefix) is stripped, though
    the Hub would accept it; another valid token in the same process is not."""
    digest = hashlib.sha256(DENIED.encode()).hexdigest()
    entry = {"prefix8": digest[:8], "full": digest, "sha256:": "sha256:" + digest[:16], "upper": digest[:20].upper()}[form]
    rules = token_rules(shim, {"deny": [entry]})
    check = shim.hfshim("check", rules)
    assert check.returncode == 0, check
    seq = [["GET", hub.url + "/api/whoami-v2", f"Bearer {DENIED}"], ["GET", hub.url + "/api/whoami-v2", f"Bearer {GOOD}"],
           ["GET", hub.url + MODEL, f"Bearer {DENIED}"]]
    r = run_app(shim, "requests", seq, rules, hub, tls_ca)
    assert statuses(r) == ["401", "200", "200"], r  # whoami without a token is 401
    assert auths(hub) == [None, f"Bearer {GOOD}", None]
    assert not wire_has(hub, DENIED)
    assert_no_clear_token(r)


MALFORMED = {
    "empty": "Bearer ",
    "scheme-only": "Bearer",
    "None": "Bearer None",
    "null": "Bearer null",
    "undefined": "Bearer undefined",
    "dollar-var": "Bearer $HF_TOKEN",
    "braced-var": "Bearer ${HF_TOKEN}",
    "double-quoted": 'Bearer "hf_' + "q" * 34 + '"',
    "single-quoted": "Bearer 'hf_" + "q" * 34 + "'",
    "space-inside": "Bearer hf_" + "a" * 17 + " " + "b" * 17,
    "tab-inside": "Bearer hf_" + "a" * 17 + "\t" + "b" * 17,
    "too-short": "Bearer hf_short1234",
    "not-hf": "Bearer sk-" + "x" * 40,
    "bare-None": "None",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_token_stripped(shim, hub, tls_ca, name):
    """Each malformed form is removed before the request leaves: the Hub
    receives no Authorization at all, and the public repo answers 200."""
    value = MALFORMED[name]
    r = run_app(shim, "requests", [["GET", hub.url + MODEL, value], ["GET", hub.url + RESOLVE, value]],
                token_rules(shim), hub, tls_ca)
    assert statuses(r) == ["200", "200"], r
    assert len(hub.requests) == 2 and no_auth_on_wire(hub), [q.header_lines for q in hub.requests]
    assert "stripped Authorization" in r.log, r


@pytest.mark.parametrize("which", ["httpx", "urllib", "node"])
def test_malformed_tokens_other_clients(shim, http_hub, tls_ca, which):
    """Every malformed form from one process of another client (node:
    fetch trims the empty token's trailing space itself; httpx (h11)
    refuses to send a value with a trailing space at all)."""
    skip_client(which, "http")
    values = [v for v in MALFORMED.values() if which != "httpx" or v == v.strip()]
    seq = [["GET", http_hub.url + MODEL, v] for v in values]
    r = run_app(shim, which, seq, token_rules(shim), http_hub)
    assert statuses(r) == ["200"] * len(values), r
    assert len(http_hub.requests) == len(values) and no_auth_on_wire(http_hub)


def test_custom_format(shim, http_hub):
    """tokens.format replaces the default: a token the default takes but the
    format refuses is stripped; one it takes arrives."""
    rules = token_rules(shim, {"format": "^hf_Tokens(Good|Other)Value[0-9a-j]{20}$"})
    seq = [["GET", http_hub.url + "/api/whoami-v2", f"Bearer {GOOD}"],
           ["GET", http_hub.url + "/api/whoami-v2", f"Bearer {DENIED}"]]
    r = run_app(shim, "requests", seq, rules, http_hub)
    assert statuses(r) == ["200", "401"], r
    assert auths(http_hub) == [f"Bearer {GOOD}", None]


# -- set-auth: a token only where the rule's match holds ----------------------

def test_set_auth_scoped_to_host_and_path(shim, hub, fakehub_factory, tls_ca, scheme, tmp_path):
    """set-auth scoped to one host and one path adds the token there only:
    not on the other paths of that host, not on another server; from_env
    and from_file (a trailing newline in the file is not sent), and a
    prefix of its own."""
    other = fakehub_factory(tls_context=tlsca.server_context(tls_ca) if scheme == "https" else None)
    other.valid_tokens = {SCOPED}
    tokfile = tmp_path / "scoped" / "token"  # "token": a file written on purpose (test_token_leaks.ON_PURPOSE)
    tokfile.parent.mkdir()
    tokfile.write_text(SCOPED + "\n")
    extra = [{"name": "whoami-token", "match": {"port": hub.port, "path": "^/api/whoami-v2$"}, "action": "set-auth",
              "from_env": "SCOPED_HUB_TOKEN"},
             {"name": "other-token", "match": {"port": other.port, "path": "^/headers$"}, "action": "set-auth",
              "from_file": str(tokfile), "prefix": "token "}]
    rules = token_rules(shim, {"hosts": [f"127.0.0.1:{other.port}"]}, extra=extra)
    check = shim.hfshim("check", rules)
    assert check.returncode == 0, check
    seq = [["GET", hub.url + "/api/whoami-v2", None], ["GET", hub.url + MODEL, None],
           ["GET", other.url + "/headers", None], ["GET", other.url + "/health", None]]
    r = run_app(shim, "requests", seq, rules, hub, tls_ca, env={"SCOPED_HUB_TOKEN": SCOPED})
    assert statuses(r) == ["200"] * 4, r
    assert auths(hub) == [f"Bearer {SCOPED}", None]
    assert auths(other) == [f"token {SCOPED}", None]
    assert_no_clear_token(r)


def test_set_auth_node_http(shim, http_hub, fakehub_factory):
    other = fakehub_factory()
    rules = token_rules(shim, extra=[{"name": "hub-token", "match": {"port": http_hub.port}, "action": "set-auth",
                                      "from_env": "SCOPED_HUB_TOKEN"}])
    skip_client("node", "http")
    seq = [["GET", http_hub.url + f"/api/models/{PRIVATE_REPO}", None], ["GET", other.url + "/headers", None]]
    r = run_app(shim, "node", seq, rules, http_hub, env={"SCOPED_HUB_TOKEN": SCOPED})
    assert statuses(r) == ["200", "200"], r
    assert auths(http_hub) == [f"Bearer {SCOPED}"] and auths(other) == [None]
    assert_no_clear_token(r)


# -- the default rules (no --rules) -------------------------------------------

@pytest.mark.parametrize("which", PY_CLIENTS + ["node"])
def test_default_rules_strip_stale_token(shim, hub, tls_ca, scheme, which):
    """`hfshim run` with no --rules (rules/default.json, which includes
    token-hygiene.json): a stale token is learned and retried, kept in
    ~/.cache/hfshim/tokens, and a later process never sends it; a
    malformed one never leaves; a valid one arrives."""
    skip_client(which, scheme)
    a = f"Bearer {STALE}"
    r = run_app(shim, which, [["GET", hub.url + MODEL, a], ["GET", hub.url + MODEL, "Bearer None"],
                              ["GET", hub.url + "/api/whoami-v2", f"Bearer {GOOD}"]], None, hub, tls_ca)
    assert statuses(r) == ["200", "200", "200"], r
    assert auths(hub) == [a, None, None, f"Bearer {GOOD}"]
    r = run_app(shim, which, [["GET", hub.url + RESOLVE, a]], None, hub, tls_ca)
    assert statuses(r) == ["200"], r
    assert auths(hub)[-1] is None, "the default state file did not keep the learned token"
    state = Path(shim.tmp / "home/.cache/hfshim/tokens")
    assert state.exists() and STALE.encode() not in state.read_bytes()
    assert_no_clear_token(r)


def test_default_rules_hub_js_client(shim, hubjs, http_hub):
    r, out = js_run(shim, hubjs, http_hub, "download", HUB_REPO, "config.json", rules=None, token=STALE)
    assert out["ok"] and out["sha256"] == hashlib.sha256(CONFIG).hexdigest(), r
    r, out = js_run(shim, hubjs, http_hub, "model-info", HUB_REPO, rules=None, token=STALE)
    assert out["ok"] and out["sha"] == HUB_SHA, r
    assert auths(http_hub) == [f"Bearer {STALE}", None, None, None], auths(http_hub)
    assert_no_clear_token(r)


def test_node_https_is_connection_level_only():
    pytest.skip(NODE_HTTPS)


# -- last: nothing this session wrote holds a token in clear ------------------

def test_zz_session_tmp_has_no_clear_token(tmp_path_factory):
    """Runs after every token test (this file sorts after test_token_*.py):
    no file under the session's temporary root holds any token the token
    tests used (test_token_leaks.py covers the ones before it)."""
    import test_token_leaks

    tokens = set(ALL_TOKENS) | set(test_token_leaks.TOKENS)
    hits = test_token_leaks.scan(tmp_path_factory.getbasetemp(), tokens)
    assert hits == [], hits[:10]
