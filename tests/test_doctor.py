"""hfshim doctor and token validation (hfshim(1) doctor, docs/tokens.md):
every token source is found and judged, conflicts are named, nothing is
sent without --online, --online asks whoami-v2 once per distinct token and
records the verdicts in the state file (digests only), and `hfshim run`
with tokens.validate checks the token once before the program, so the
library strips an invalid token from the program's very first request and
a second run within the TTL asks nothing. The fake Hub records what
crossed the wire; no token may appear in clear in any output or file."""
import json
import os
import sys

GOOD = "hf_" + "GoodDoctorToken0123456789abcdefghij"
STALE = "hf_" + "StaleDoctorToken0123456789abcdefghi"
OTHER = "hf_" + "OtherFileToken0123456789abcdefghijk"


def _home(shim):
    home = shim.tmp / "home"
    (home / ".cache/huggingface").mkdir(parents=True, exist_ok=True)
    return home


def _no_clear_tokens(*texts):
    for t in texts:
        for tok in (GOOD, STALE, OTHER):
            assert tok not in t, "a token in clear"


def test_doctor_offline_finds_sources_and_conflicts(shim, fakehub):
    home = _home(shim)
    (home / ".cache/huggingface/token").write_text(OTHER)
    (home / ".netrc").write_text(f"machine huggingface.co login hf_user password {STALE}\n")
    env = shim.base_env({"HF_TOKEN": GOOD, "HUGGING_FACE_HUB_TOKEN": "None", "HF_ENDPOINT": fakehub.url})
    r = shim.hfshim("doctor", env=env)
    assert r.returncode == 1, r
    out = r.stdout
    assert "HF_TOKEN" in out and "[sent by huggingface_hub]" in out
    assert "HUGGING_FACE_HUB_TOKEN: the token is a placeholder word" in out
    assert "token holds a different token than HF_TOKEN" in out
    assert ".netrc (machine huggingface.co) holds a different token than HF_TOKEN" in out
    assert GOOD[:5] + "\u2026" + GOOD[-2:] in out  # masked
    assert "these rules set HF_HUB_DISABLE_XET=1" in out
    assert fakehub.requests == [] and fakehub.connections == []  # no --online: nothing sent
    _no_clear_tokens(r.stdout, r.stderr)


def test_doctor_clean_setup_exits_0(shim, fakehub):
    _home(shim)
    r = shim.hfshim("doctor", env=shim.base_env({"HF_TOKEN": GOOD, "HF_ENDPOINT": fakehub.url}))
    assert r.returncode == 0, r
    assert "no problem found" in r.stdout


def _state_rules(shim, validate=False):
    return shim.write_rules({"version": 1, "tokens": {"state_file": "~/.cache/hfshim/tokens", "validate": validate},
                             "rules": [{"name": "token-hygiene", "match": {}, "action": "strip-auth"}]})


def test_doctor_online_validates_and_records(shim, fakehub):
    fakehub.valid_tokens = {GOOD}
    home = _home(shim)
    (home / ".cache/huggingface/token").write_text(STALE)
    rules = _state_rules(shim)
    env = shim.base_env({"HF_TOKEN": GOOD, "HF_ENDPOINT": fakehub.url})
    r = shim.hfshim("doctor", "--rules", rules, "--online", env=env)
    assert "whoami-v2: valid, account tester" in r.stdout, r
    assert "whoami-v2: INVALID (401)" in r.stdout
    assert r.returncode == 1
    who = [q for q in fakehub.requests if q.path == "/api/whoami-v2"]
    assert sorted(q.header("Authorization") for q in who) == sorted([f"Bearer {GOOD}", f"Bearer {STALE}"])
    assert len(fakehub.requests) == 2  # whoami-v2 only, once per token
    state = (home / ".cache/hfshim/tokens").read_text()
    assert state.count(" valid ") == 1 and state.count(" invalid ") == 1
    assert oct(os.stat(home / ".cache/hfshim/tokens").st_mode & 0o777) == "0o600"
    _no_clear_tokens(r.stdout, r.stderr, state)
    # the verdicts show up on the next (offline) doctor run
    r2 = shim.hfshim("doctor", "--rules", rules, env=env)
    assert "invalid (whoami-v2)" in r2.stdout and "valid (whoami-v2)" in r2.stdout
    assert len(fakehub.requests) == 2


def test_run_validate_strips_an_invalid_token_from_the_first_request(shim, fakehub):
    fakehub.valid_tokens = {GOOD}
    home = _home(shim)
    rules = _state_rules(shim, validate=True)
    app = ("import os, requests; r = requests.get(os.environ['HF_ENDPOINT'] + '/api/models/acme/tiny-model', "
           "headers={'Authorization': 'Bearer ' + os.environ['HF_TOKEN']}); print(r.status_code)")
    env = shim.base_env({"HF_TOKEN": STALE, "HF_ENDPOINT": fakehub.url})
    r = shim.hfshim("run", "--rules", rules, "--", sys.executable, "-c", app, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "200", r
    assert "INVALID (whoami-v2 answered 401)" in r.stderr
    reqs = [(q.path, q.header("Authorization")) for q in fakehub.requests]
    # whoami-v2 saw the token once; the model call never did
    assert reqs == [("/api/whoami-v2", f"Bearer {STALE}"), ("/api/models/acme/tiny-model", None)], reqs
    # within the TTL a second run asks nothing and still strips it
    r = shim.hfshim("run", "--rules", rules, "--", sys.executable, "-c", app, env=env)
    assert r.stdout.strip() == "200", r
    assert [q.path for q in fakehub.requests].count("/api/whoami-v2") == 1
    assert fakehub.requests[-1].header("Authorization") is None
    _no_clear_tokens(r.stdout, r.stderr, r.log, (home / ".cache/hfshim/tokens").read_text())


def test_run_validate_keeps_a_valid_token(shim, fakehub):
    fakehub.valid_tokens = {GOOD}
    _home(shim)
    rules = _state_rules(shim, validate=True)
    app = ("import os, requests; r = requests.get(os.environ['HF_ENDPOINT'] + '/api/whoami-v2', "
           "headers={'Authorization': 'Bearer ' + os.environ['HF_TOKEN']}); print(r.status_code)")
    env = shim.base_env({"HF_TOKEN": GOOD, "HF_ENDPOINT": fakehub.url})
    r = shim.hfshim("run", "--rules", rules, "--", sys.executable, "-c", app, env=env)
    assert r.stdout.strip() == "200", r
    assert "valid (account tester)" in r.stderr
    assert [q.header("Authorization") for q in fakehub.requests] == [f"Bearer {GOOD}"] * 2


def test_check_warns_validate_without_state_file(shim):
    rules = shim.write_rules({"version": 1, "tokens": {"validate": True}})
    r = shim.hfshim("check", rules)
    assert r.returncode == 0
    assert "validate needs a state_file" in r.stderr
