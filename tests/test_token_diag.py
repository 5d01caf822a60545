"""Hub error diagnostics (rules/README.md §3.7.5) as real clients meet
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
