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

PY = "/usr/bin/python3"
TOKENS = sorted({m.__dict__[k] for m in (test_curl_tokens, test_doctor, test_token_diag, test_token_layers)
                 for k in ("GOOD", "STALE", "VALID", "OTHER") if k in m.__dict__})
# the files the tests write themselves to give the programs their tokens
# (a token file, a netrc) hold tokens on purpose: not hfshim's writing
ON_PURPOSE = {"token", ".netrc", ".git-credentials", "stored_tokens", "credentials"}


def scan(root):
    hits = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            if f in ON_PURPOSE or p.is_symlink():
                continue
            try:
                data = p.read_bytes()
            except OSError:
                continue
            for t in TOKENS:
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
