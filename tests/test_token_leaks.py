"""No token in clear anywhere hfshim writes: after the token tests of this
session (test_curl_tokens, test_doctor, test_token_diag, test_token_layers
run before this file), every file under the session's temporary root (the
shim's logs, the token state files, the rules, ASan reports, the homes the
programs ran with) is searched for every token those tests used. Also runs
one multi-client scenario of its own (stale and valid tokens, JSON logs,
a state file, doctor and explain) and searches its output and files."""
import os
import sys
from pathlib import Path

import test_curl_tokens
import test_doctor
import test_token_diag
import test_token_layers
import test_tokens

PY = "/usr/bin/python3"
TOKENS = sorted({m.__dict__[k] for m in (test_curl_tokens, test_doctor, test_token_diag, test_token_layers)
                 for k in ("GOOD", "STALE", "VALID", "OTHER") if k in m.__dict__}
                | set(test_tokens.ALL_TOKENS) | {"hf_" + "Leak" + w + "0123456789abcdefghijklmnop"
                                                 for w in ("Stale", "Good", "Deny", "Route", "File")})
# the files the tests write themselves to give the programs their tokens
# (a token file, a netrc) hold tokens on purpose: not hfshim's writing
ON_PURPOSE = {"token", ".netrc", ".git-credentials", "stored_tokens", "credentials"}


def scan(root, tokens=None):
    """(path, token prefix) of every file under root holding a token in
    clear (tokens: TOKENS when None)."""
    tokens = TOKENS if tokens is None else sorted(tokens)
    hits = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            # regular files only: other tests leave FIFOs and sockets
            # behind, and opening a FIFO would wait for a writer forever
            if f in ON_PURPOSE or p.is_symlink() or not p.is_file():
                continue
            try:
                data = p.read_bytes()
            except OSError:
                continue
            for t in tokens:
                if t.encode() in data:
                    hits.append((str(p), t[:5]))
    return hits


def test_scenario_writes_no_token(shim, fakehub, tmp_path):
    stale, good = test_token_layers.STALE, test_token_layers.GOOD
    fakehub.valid_tokens = {good}
    rules = shim.write_rules({"version": 1, "tokens": {"state_file": str(tmp_path / "state")},
                              "rules": [{"name": "token-hygiene", "match": {}, "action": "strip-auth"}]})
    env = shim.base_env({"HF_ENDPOINT": fakehub.url, "HF_TOKEN": stale, "HFSHIM_LOG_FORMAT": "json"})
    app = ("import os, requests\nfor t in (os.environ['HF_TOKEN'], 'None', '" + good + "'):\n"
           "    print(requests.get(os.environ['HF_ENDPOINT'] + '/api/models/acme/tiny-model', "
           "headers={'Authorization': 'Bearer ' + t}).status_code)\n")
    outs = []
    for cmd in ([PY, "-c", app], ["curl", "-sS", "-H", f"Authorization: Bearer {stale}",
                                  fakehub.url + "/api/models/acme/nope"]):
        if cmd[0] == "curl" and shim.kind == "san":
            continue
        r = shim.hfshim("run", "--rules", rules, "--", *cmd, env=env)
        outs += [r.stdout, r.stderr, r.log]
    r = shim.hfshim("doctor", "--rules", rules, env=env)
    outs += [r.stdout, r.stderr]
    r = shim.hfshim("explain", "--rules", rules, "GET", f"{fakehub.url}/api/models/acme/tiny-model", env=env)
    outs += [r.stdout, r.stderr]
    assert '"event":"strip-auth"' in "".join(outs)  # the scenario did strip, and logged it
    for text in outs:
        for t in TOKENS:
            assert t not in text
    assert scan(tmp_path) == []


def test_session_tmp_has_no_token(tmp_path_factory):
    root = tmp_path_factory.getbasetemp()
    hits = scan(root)
    assert hits == [], f"tokens in clear in files under {root}: {hits[:10]}"


# -- a multi-client scenario: every artefact searched ---------------------

import base64  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import urllib.parse  # noqa: E402

import tlsca  # noqa: E402
from fakehub import GATED_REPO, PRIVATE_REPO, TOKEN_REPOS  # noqa: E402

L_STALE, L_GOOD, L_DENY, L_ROUTE, L_FILE = ("hf_" + "Leak" + w + "0123456789abcdefghijklmnop"
                                            for w in ("Stale", "Good", "Deny", "Route", "File"))
L_ALL = [L_STALE, L_GOOD, L_DENY, L_ROUTE, L_FILE]


def _forms(tok):
    """The ways a token could be written out: in clear, URL-encoded, inside
    a Basic credential (git, curl -u, requests auth=), without its prefix."""
    out = {tok, urllib.parse.quote(tok), tok[3:]}
    for user in ("user", "hf_user", "x"):
        out.add(base64.b64encode(f"{user}:{tok}".encode()).decode())
    return out


def test_multi_client_scenario_no_token_in_any_artefact(shim, fakehub_factory, tls_ca, tmp_path):
    """python3 requests (Bearer and Basic), httpx and urllib over https,
    node fetch and the @huggingface/hub client over http, curl (plain build),
    hfshim doctor (with a token file and HF_TOKEN) and explain, text logs to
    a file and to stderr, JSON logs, a state file, a deny list, set-auth from
    a file: the scenario really stripped, learned, retried and diagnosed
    (checked on the wire), and no output and no file under the test's
    directories holds a token in clear, URL-encoded, Basic-encoded or
    without its hf_ prefix."""
    plain = fakehub_factory(repos=TOKEN_REPOS)
    tls = fakehub_factory(repos=TOKEN_REPOS, tls_context=tlsca.server_context(tls_ca))
    for h in (plain, tls):
        h.valid_tokens = {L_GOOD, L_DENY, L_ROUTE, L_FILE}
        h.inference_tokens = {L_ROUTE}
    home = tmp_path / "home"
    (home / ".cache/huggingface").mkdir(parents=True, exist_ok=True)
    (home / ".cache/huggingface/token").write_text(L_FILE + "\n")  # a source doctor reads (written on purpose)
    routefile = tmp_path / "route" / "token"
    routefile.parent.mkdir()
    routefile.write_text(L_ROUTE + "\n")
    state = tmp_path / "state" / "tokens"
    deny = hashlib.sha256(L_DENY.encode()).hexdigest()[:16]
    rules = shim.write_rules({"version": 1, "tokens": {"state_file": str(state), "deny": [deny]}, "rules": [
        {"name": "token-hygiene", "match": {}, "action": "strip-auth"},
        {"name": "router-token", "match": {"path": "^/v1/chat/completions$"}, "action": "set-auth",
         "from_file": str(routefile)}]}, name="leak-rules.json")
    outs = []

    def run(cmd, hub, extra=None, log_env=None):
        env = shim.base_env({"HF_ENDPOINT": hub.url, "HOME": str(home), "HF_TOKEN": L_STALE, **tlsca.client_env(tls_ca),
                             **(extra or {})})
        env.update(log_env or {})
        r = shim.hfshim("run", "--rules", rules, "--", *cmd, env=env, timeout=40)
        outs.extend([r.stdout, r.stderr, r.log])
        return r

    py = ("import os, sys, requests, httpx, urllib.request, urllib.error\n"
          "base, tok = sys.argv[1], os.environ['HF_TOKEN']\n"
          "H = lambda t: {'Authorization': 'Bearer ' + t}\n"
          "s = requests.Session()\n"
          "print(s.get(base + '/api/models/acme/tiny-model', headers=H(tok)).status_code)\n"
          "print(s.get(base + '/api/models/acme/tiny-model', auth=('user', tok)).status_code)\n"
          "print(s.get(base + '/api/whoami-v2', headers=H(sys.argv[2])).status_code)\n"
          "print(s.get(base + '/" + GATED_REPO + "/resolve/main/config.json', headers=H(sys.argv[2])).status_code)\n"
          "print(s.post(base + '/v1/chat/completions', json={'model': 'm'}).status_code)\n"
          "print(httpx.get(base + '/" + PRIVATE_REPO + "/resolve/main/config.json', headers=H(sys.argv[3])).status_code)\n"
          "try:\n    print(urllib.request.urlopen(urllib.request.Request(base + '/api/whoami-v2', headers=H(sys.argv[4]))).status)\n"
          "except urllib.error.HTTPError as e:\n    print(e.code)\n"
          "print(s.get(base + '/api/models/acme/tiny-model', headers={'Authorization': 'Bearer None'}).status_code)\n")
    r = run([PY, "-c", py, tls.url, L_GOOD, L_GOOD, L_DENY], tls, log_env={"HFSHIM_LOG_FORMAT": "json"})
    assert r.stdout.split() == ["200", "200", "200", "403", "200", "200", "401", "200"], r
    r = run([PY, "-c", py, plain.url, L_GOOD, L_GOOD, L_DENY], plain, log_env={"HFSHIM_LOG": "stderr"})
    assert r.stdout.split() == ["200", "200", "200", "403", "200", "200", "401", "200"], r
    if shutil.which("node"):
        node = ("(async () => { for (const a of [process.env.HF_TOKEN, 'undefined']) { const r = await fetch("
                "process.argv[1] + '/api/models/acme/tiny-model', {headers: {Authorization: 'Bearer ' + a}}); "
                "console.log(r.status); } })()")
        r = run(["node", "-e", node, plain.url], plain)
        assert r.stdout.split() == ["200", "200"], r
        js = ROOT_JS / "hub_client.mjs"
        if (ROOT_JS / "node_modules/@huggingface/hub/package.json").exists():
            r = run(["node", str(js), "download", "acme/tiny-model", "config.json"], plain)
            assert json.loads(r.stdout.strip().splitlines()[-1])["ok"], r
    if shim.kind == "plain" and shutil.which("curl"):
        r = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u", f"user:{L_STALE}",
                 plain.url + "/api/models/acme/tiny-model"], plain)
        assert r.stdout == "200", r
    env = shim.base_env({"HF_ENDPOINT": plain.url, "HOME": str(home), "HF_TOKEN": L_STALE})
    for args in (("doctor", "--rules", rules), ("doctor", "--rules", rules, "--online"),
                 ("explain", "--rules", rules, "GET", plain.url + "/api/models/acme/tiny-model"),
                 ("check", rules)):
        r = shim.hfshim(*args, env=env)
        outs.extend([r.stdout, r.stderr, r.log])
    # the scenario did what it claims, on the wire: the stale token reached
    # each hub once at most per process (no state-file miss), the denied one never
    for h in (plain, tls):
        sent = [q.header("Authorization") for q in h.requests]
        assert f"Bearer {L_DENY}" not in sent and "Bearer None" not in sent and "Bearer undefined" not in sent
        assert sum(1 for a in sent if a and L_STALE in (a + base64.b64decode(a[6:] + "==").decode("latin-1")
                                                       if a.startswith("Basic ") else a)) <= 1, sent
        assert any(q.path == "/v1/chat/completions" and q.header("Authorization") == f"Bearer {L_ROUTE}"
                   for q in h.requests)
    assert state.exists() and hashlib.sha256(L_STALE.encode()).hexdigest().encode() in state.read_bytes()
    text = "\n".join(o or "" for o in outs)
    assert "gated repo" in text and ("learned" in text or "stripped Authorization" in text)
    forms = {f: t[:5] for t in L_ALL for f in _forms(t)}
    leaks = [(forms[f], f[:12]) for f in forms if f in text]
    assert leaks == [], f"token forms in outputs: {leaks}"
    hits = []
    for dirpath, _, files in os.walk(tmp_path):
        for f in files:
            p = Path(dirpath) / f
            if f in ON_PURPOSE or p.is_symlink():
                continue
            data = p.read_bytes()
            hits += [(str(p), forms[x]) for x in forms if x.encode() in data]
    assert hits == [], hits


ROOT_JS = Path(__file__).resolve().parent / "js"
