"""Token hygiene at the byte layers (plain sockets and OpenSSL plaintext;
hfshim-rules(5) TOKENS KEYS) with real clients: python3 requests, httpx and
urllib over http and https, node fetch over http, and the official
@huggingface/hub JS client. The fake Hub answers 401 "Invalid credentials
in Authorization header" to any token but the valid one, even for public
repos, keeps the connection open like the real Hub, and records every
request: the assertions are on what crossed the wire.

- a stale token: the app's first request already succeeds (the 401 is
  learned and the request retried anonymously on the same connection),
  the Hub sees the stale token exactly once, later requests go without it;
- with a state file, a second process never sends it;
- malformed and denylisted tokens never leave; a valid token to a private
  endpoint arrives; an HF token to a non-Hub host arrives without it;
- set-auth puts a token only where its rule matches;
- the default rules (no --rules) do all of this;
- no log line carries a token in clear."""
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PY = "/usr/bin/python3"
GOOD = "hf_" + "ValidTokenForLayers0123456789abcdefg"
STALE = "hf_" + "RevokedTokenForLayers0123456789abcde"
REPO = "acme/tiny-model"

# one python client call: prints the status of each of N GETs of URL on one
# session/connection, with the header given
PYCLIENTS = {
    "requests": ("import sys, requests\ns = requests.Session()\n"
                 "for u in sys.argv[3:]:\n"
                 "    r = s.get(u, headers={'Authorization': sys.argv[1]} if sys.argv[1] else {}, verify=sys.argv[2] or True)\n"
                 "    print(r.status_code, r.text[:60].replace(chr(10), ' '))\n"),
    "httpx": ("import sys, httpx\nc = httpx.Client(verify=sys.argv[2] or True)\n"
              "for u in sys.argv[3:]:\n"
              "    r = c.get(u, headers={'Authorization': sys.argv[1]} if sys.argv[1] else {})\n"
              "    print(r.status_code, r.text[:60].replace(chr(10), ' '))\n"),
    "urllib": ("import sys, ssl, urllib.request, urllib.error\n"
               "ctx = ssl.create_default_context(cafile=sys.argv[2]) if sys.argv[2] else None\n"
               "for u in sys.argv[3:]:\n"
               "    q = urllib.request.Request(u, headers={'Authorization': sys.argv[1]} if sys.argv[1] else {})\n"
               "    try:\n"
               "        r = urllib.request.urlopen(q, context=ctx); print(r.status, r.read()[:60].decode())\n"
               "    except urllib.error.HTTPError as e:\n"
               "        print(e.code, e.read()[:60].decode())\n"),
}
NODE = ("(async () => { for (const u of process.argv.slice(1)) { const h = process.env.AUTH ? "
        "{ Authorization: process.env.AUTH } : {}; const r = await fetch(u, { headers: h }); "
        "console.log(r.status, (await r.text()).slice(0, 60)); } })()")


def rules(shim, state=None, extra_rules=(), tokens=None):
    t = dict(tokens or {})
    if state:
        t["state_file"] = str(state)
    return shim.write_rules({"version": 1, "tokens": t,
                             "rules": [{"name": "token-hygiene", "match": {}, "action": "strip-auth"},
                                       *extra_rules]}, name=f"tok-{len(t)}-{len(extra_rules)}.json")


@pytest.fixture(params=["http", "https"])
def hub(request, fakehub_factory, tls_ca):
    import tlsca

    h = fakehub_factory("ok", tls_context=tlsca.server_context(tls_ca) if request.param == "https" else None)
    h.valid_tokens = {GOOD}
    h.ca = str(tls_ca.ca_cert) if request.param == "https" else ""
    return h


def run_py(shim, client, hub, auth, urls, rules_file, extra_env=None):
    env = shim.preload_env({"HFSHIM_RULES": str(rules_file), "HF_ENDPOINT": hub.url, **(extra_env or {})})
    return shim.run([PY, "-c", PYCLIENTS[client], auth, hub.ca, *urls], env=env)


def auths(hub, since=0):
    return [q.header("Authorization") for q in hub.requests[since:]]


def no_clear_tokens(*texts):
    for t in texts:
        for tok in (GOOD, STALE):
            assert tok not in (t or ""), "a token in clear"


@pytest.mark.parametrize("client", ["requests", "httpx", "urllib"])
def test_stale_token_first_request_succeeds(shim, hub, client):
    url = f"{hub.url}/api/models/{REPO}"
    r = run_py(shim, client, hub, f"Bearer {STALE}", [url, url, url], rules(shim))
    assert r.returncode == 0, r
    assert [l.split()[0] for l in r.stdout.splitlines()] == ["200"] * 3, r
    # the Hub saw the stale token exactly once, then anonymous requests only
    assert auths(hub) == [f"Bearer {STALE}", None, None, None], r
    assert hub.requests[0].conn_id == hub.requests[1].conn_id  # the retry went on the same connection
    assert len(hub.connections) == (3 if client == "urllib" else 1)  # urllib: one connection per urlopen
    assert "learned: the Hub answered 401" in r.log and "retrying GET" in r.log
    no_clear_tokens(r.stdout, r.stderr, r.log)


def test_state_file_second_process_never_sends_it(shim, hub, tmp_path):
    url = f"{hub.url}/api/models/{REPO}"
    rf = rules(shim, state=tmp_path / "state/tokens")
    r1 = run_py(shim, "requests", hub, f"Bearer {STALE}", [url], rf)
    n = len(hub.requests)
    r2 = run_py(shim, "httpx", hub, f"Bearer {STALE}", [url], rf)
    assert r1.stdout.split()[0] == "200" and r2.stdout.split()[0] == "200", (r1, r2)
    assert auths(hub, n) == [None]  # never sent by the second process
    state = (tmp_path / "state/tokens").read_text()
    assert hashlib.sha256(STALE.encode()).hexdigest() + " learned" in state
    no_clear_tokens(state, r1.log, r2.log)
    # without the state file, a new process sends it once again
    r3 = run_py(shim, "requests", hub, f"Bearer {STALE}", [url], rules(shim))
    assert r3.stdout.split()[0] == "200"
    assert auths(hub, n + 1) == [f"Bearer {STALE}", None]


@pytest.mark.parametrize("bad", ["Bearer None", "Bearer $HF_TOKEN", "Bearer ${HF_TOKEN}", "Bearer ",
                                 "Bearer hf_abc def", "Bearer null", "Bearer undefined", "Bearer 'hf_quoted'"])
def test_malformed_tokens_never_leave(shim, hub, bad):
    url = f"{hub.url}/api/models/{REPO}"
    r = run_py(shim, "requests", hub, bad, [url], rules(shim))
    assert r.stdout.split()[0] == "200", r
    assert auths(hub) == [None]
    assert "stripped Authorization" in r.log


def test_denylisted_token_stripped(shim, hub):
    digest = hashlib.sha256(GOOD.encode()).hexdigest()
    rf = rules(shim, tokens={"deny": [digest[:12]]})
    r = run_py(shim, "requests", hub, f"Bearer {GOOD}", [f"{hub.url}/api/models/{REPO}"], rf)
    assert r.stdout.split()[0] == "200"
    assert auths(hub) == [None]
    assert "on the rules' deny list" in r.log


def test_valid_token_reaches_private_endpoint(shim, hub):
    r = run_py(shim, "requests", hub, f"Bearer {GOOD}", [f"{hub.url}/api/whoami-v2"] * 2, rules(shim))
    assert [l.split()[0] for l in r.stdout.splitlines()] == ["200", "200"], r
    assert auths(hub) == [f"Bearer {GOOD}"] * 2
    assert "stripped" not in r.log


def test_hf_token_not_sent_to_other_hosts(shim, hub, fakehub_factory):
    other = fakehub_factory("ok")  # not a Hub host: HF_ENDPOINT names `hub` only
    other.ca = ""
    env = shim.preload_env({"HFSHIM_RULES": str(rules(shim)), "HF_ENDPOINT": hub.url})
    r = shim.run([PY, "-c", PYCLIENTS["requests"], f"Bearer {GOOD}", "", f"{other.url}/headers",
                  f"{other.url}/headers"], env=env)
    assert r.returncode == 0, r
    assert auths(other) == [None, None]
    assert "a Hugging Face token sent to a host outside the Hub hosts" in r.log
    # another service's own credential to it is left alone
    r = shim.run([PY, "-c", PYCLIENTS["requests"], "Bearer ghp_notAHuggingFaceToken", "", f"{other.url}/headers"],
                 env=env)
    assert auths(other)[-1] == "Bearer ghp_notAHuggingFaceToken"


def test_set_auth_only_where_scoped(shim, hub):
    rf = rules(shim, extra_rules=[{"name": "whoami-token", "match": {"path": "^/api/whoami-v2$"},
                                   "action": "set-auth", "from_env": "MY_HUB_TOKEN"}])
    urls = [f"{hub.url}/api/whoami-v2", f"{hub.url}/api/models/{REPO}"]
    r = run_py(shim, "requests", hub, "", urls, rf, {"MY_HUB_TOKEN": GOOD})
    assert [l.split()[0] for l in r.stdout.splitlines()] == ["200", "200"], r
    assert auths(hub) == [f"Bearer {GOOD}", None]
    no_clear_tokens(r.log)


def test_node_fetch_http(shim, fakehub_factory):
    hub = fakehub_factory("ok")
    hub.valid_tokens = {GOOD}
    url = f"{hub.url}/api/models/{REPO}"
    env = shim.preload_env({"HFSHIM_RULES": str(rules(shim)), "HF_ENDPOINT": hub.url, "AUTH": f"Bearer {STALE}"})
    r = shim.run(["node", "-e", NODE, url, url], env=env)
    assert [l.split()[0] for l in r.stdout.splitlines()] == ["200", "200"], r
    assert auths(hub) == [f"Bearer {STALE}", None, None]


def test_default_rules_strip_a_stale_token(shim, hub):
    url = f"{hub.url}/api/models/{REPO}"
    env = shim.base_env({"HF_ENDPOINT": hub.url})
    r = shim.hfshim("run", "--", PY, "-c", PYCLIENTS["requests"], f"Bearer {STALE}", hub.ca, url, env=env)
    assert r.stdout.split()[0] == "200", r
    assert auths(hub) == [f"Bearer {STALE}", None]
    r = shim.hfshim("run", "--", PY, "-c", PYCLIENTS["requests"], f"Bearer {STALE}", hub.ca, url, env=env)
    assert auths(hub)[-1] is None  # learned in ~/.cache/hfshim/tokens by the first run
    assert os.path.exists(Path(env["HOME"]) / ".cache/hfshim/tokens")


def test_hub_js_client_stale_token(shim, fakehub_factory):
    js = ROOT / "tests/js/hub_client.mjs"
    if not (ROOT / "tests/js/node_modules/@huggingface/hub/package.json").exists():
        pytest.skip("tests/js/node_modules is missing (npm ci --prefix tests/js)")
    hub = fakehub_factory("ok")
    hub.valid_tokens = {GOOD}
    env = shim.preload_env({"HFSHIM_RULES": str(rules(shim)), "HF_ENDPOINT": hub.url, "HF_TOKEN": STALE})
    r = shim.run(["node", str(js), "model-info", REPO], env=env, timeout=30)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["id"] == REPO, r
    assert auths(hub) == [f"Bearer {STALE}", None]
    r = shim.run(["node", str(js), "download", REPO, "config.json"], env=env, timeout=30)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ok"], r
    # a new process (no state file here): the stale token once more, retried at once
    assert auths(hub, 2)[0] == f"Bearer {STALE}" and all(a is None for a in auths(hub, 3)), auths(hub)
    no_clear_tokens(r.stdout, r.stderr, r.log)


def test_h2_passes_where_only_token_hygiene_applies(shim, nghttpd, tls_ca):
    """Token hygiene applies to every host (the default rules), but HTTP/2
    is opaque to it: an h2 session to a host nothing else touches passes
    (said once in the log) instead of being refused; with a strip-header
    rule on that host it is still refused (never a rule silently skipped)."""
    code = ("import socket, ssl, sys\n"
            "ctx = ssl.create_default_context(cafile=sys.argv[2]); ctx.set_alpn_protocols(['h2'])\n"
            "try:\n"
            "    t = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')\n"
            "    print('negotiated', t.selected_alpn_protocol())\n"
            "except ssl.SSLError as e:\n    print('refused', type(e).__name__)\n")
    r = shim.hfshim("run", "--rules", rules(shim), "--", PY, "-c", code, str(nghttpd.port), str(tls_ca.ca_cert))
    assert r.stdout.strip() == "negotiated h2", r
    assert "token hygiene cannot read it and lets it pass" in r.log, r
    strict = rules(shim, extra_rules=[{"name": "s", "match": {"port": nghttpd.port}, "action": "strip-header",
                                       "header": "X-Secret"}])
    r = shim.hfshim("run", "--rules", strict, "--", PY, "-c", code, str(nghttpd.port), str(tls_ca.ca_cert))
    assert r.stdout.strip() == "refused SSLError", r
