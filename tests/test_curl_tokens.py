"""test_curl_tokens.py: token hygiene in the libcurl layer (hfshim-rules(5)
TOKENS KEYS) on real programs: the curl CLI, git, pycurl (Debian's, on
libcurl-gnutls) and C programs on the easy, multi and socket_action
interfaces (tests/progs/curl_tokens.c, curl_multi.c), against the fake Hub.
Every assertion about tokens is on what the fake Hub received.

The fake Hub's `valid_tokens` makes it answer 401 "Invalid credentials in
Authorization header" to any other Bearer token on its Hub routes, as the
Hub does even for public repos; HF_ENDPOINT makes it a Hub host.
"""

import base64
import json
import subprocess

import pytest

from conftest import PY
from fakehub import FakeHub, expected_bytes

STALE = "hf_" + "S" * 34   # revoked: the Hub says 401 Invalid credentials
VALID = "hf_" + "V" * 34   # accepted by the fake Hub
OTHER = "hf_" + "O" * 34   # an HF token that must not leave for another host
MODEL = "/api/models/acme/tiny-model"
MODEL_BODY_ID = "acme/tiny-model"


def token_rules(shim, tokens=None, match=None, name="rules.json"):
    return shim.write_rules({"version": 1, "tokens": {"learn": True, "retry": True, **(tokens or {})},
                             "rules": [{"name": "token-hygiene", "match": match or {}, "action": "strip-auth"}]},
                            name=name)


def hub_env(shim, hub, extra=None):
    return shim.base_env({"HF_ENDPOINT": hub.url, **(extra or {})})


def auths(hub, path_prefix=""):
    """The Authorization value of each request the hub received (None: none)."""
    return [q.header("Authorization") for q in hub.requests if q.path.startswith(path_prefix)]


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def no_secret_in(log, *secrets):
    return all(s not in log for s in secrets)


@pytest.fixture
def hub(fakehub_factory):
    h = fakehub_factory()
    h.valid_tokens = {VALID}
    return h


# -- (a) the curl CLI: a stale token, learned and retried -----------------

@pytest.mark.parametrize("how", ["header", "userpwd", "oauth2-bearer"])
def test_curl_stale_token_retried_once(shim, hub, how):
    """The app reads the public repo's 200; the Hub saw the stale token once,
    then the same request without Authorization; a second URL in the same
    process goes out without it at once."""
    shim.skip_if_asan_deadlocks("curl")
    rules = token_rules(shim)
    cred = {"header": ["-H", f"Authorization: Bearer {STALE}"], "userpwd": ["-u", f"user:{STALE}"],
            "oauth2-bearer": ["--oauth2-bearer", STALE]}[how]
    sent = basic("user", STALE) if how == "userpwd" else f"Bearer {STALE}"
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", *cred, "-w", "\n%{http_code}\n",
                    "-o", "-", hub.url + MODEL, "-o", "/dev/null", hub.url + MODEL + "?second=1",
                    env=hub_env(shim, hub))
    assert r.returncode == 0, r
    body, *codes = [line for line in r.stdout.split("\n") if line]
    assert json.loads(body)["id"] == MODEL_BODY_ID and codes == ["200", "200"], r
    assert auths(hub) == [sent, None, None]
    assert [q.target for q in hub.requests] == [MODEL, MODEL, MODEL + "?second=1"]
    assert "learned: the Hub answered 401" in r.log and "hf_SS…SS" in r.log, r
    assert f"retrying GET {hub.url}{MODEL} once without Authorization" in r.log
    assert (f"stripped Authorization (hf_SS…SS) from GET {hub.url}{MODEL}?second=1 (rule token-hygiene: "
            in r.log), r
    assert no_secret_in(r.log + r.stderr, STALE, sent.split()[1])


def test_curl_head_include_and_dump_header(shim, hub, tmp_path):
    """HEAD (-I), the head in the body stream (-i) and -D: only the second
    answer's head is shown, once, and getinfo (-w) reports it."""
    shim.skip_if_asan_deadlocks("curl")
    rules = token_rules(shim)
    env = hub_env(shim, hub)
    h = ["-H", f"Authorization: Bearer {STALE}"]
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-I", *h, hub.url + MODEL, env=env)
    assert r.returncode == 0 and r.stdout.startswith("HTTP/1.1 200 OK"), r
    assert r.stdout.count("HTTP/1.1") == 1 and "HTTP/1.1 401" not in r.stdout
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-i", "-D", tmp_path / "h.txt",
                    "-w", "%{http_code} %{size_download}", *h, hub.url + MODEL, env=env)
    assert r.returncode == 0, r
    assert r.stdout.count("HTTP/1.1 200 OK") == 1 and "Invalid credentials" not in r.stdout, r
    assert r.stdout.endswith("}200 196"), r
    heads = (tmp_path / "h.txt").read_text()
    assert heads.count("HTTP/1.1") == 1 and heads.startswith("HTTP/1.1 200 OK")
    assert [q.method for q in hub.requests] == ["HEAD", "HEAD", "GET", "GET"]
    assert auths(hub) == [f"Bearer {STALE}", None, f"Bearer {STALE}", None]  # separate processes, no state file


def test_curl_separate_processes_and_state_file(shim, hub, tmp_path):
    """Without a state file every new process sends the stale token once;
    with one, a later process never sends it."""
    shim.skip_if_asan_deadlocks("curl")
    cmd = ["curl", "-sS", "-f", "-o", "/dev/null", "-H", f"Authorization: Bearer {STALE}", hub.url + MODEL]
    plain = token_rules(shim)
    for _ in range(2):
        r = shim.hfshim("run", "--rules", plain, "--", *cmd, env=hub_env(shim, hub))
        assert r.returncode == 0, r
    assert auths(hub) == [f"Bearer {STALE}", None] * 2
    hub.requests.clear()
    state = tmp_path / "state" / "tokens"
    shared = token_rules(shim, {"state_file": str(state)}, name="shared.json")
    for i in range(3):
        r = shim.hfshim("run", "--rules", shared, "--", *cmd, env=hub_env(shim, hub))
        assert r.returncode == 0, r
        if i == 0:
            assert "learned" in r.log, r
        else:
            assert "stripped Authorization (hf_SS…SS)" in r.log and "learned" not in r.log, r
    assert auths(hub) == [f"Bearer {STALE}", None, None, None]
    assert state.exists() and STALE.encode() not in state.read_bytes()


# -- (b) malformed tokens never reach the Hub ------------------------------

MALFORMED = ["Bearer None", "Bearer $HF_TOKEN", "Bearer ", "Bearer hf_abc def", "Bearer ${HF_TOKEN}",
             "Bearer undefined", 'Bearer "hf_' + "q" * 34 + '"']


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_never_sent_c_program(shim, hub, value):
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", shim.progs / "curl_tokens", "-H",
                    f"Authorization: {value}", "easy", hub.url + MODEL, env=hub_env(shim, hub))
    assert r.returncode == 0 and "rc=0 code=200" in r.stdout, r
    assert auths(hub) == [None]
    assert "stripped Authorization (" in r.log and "(rule token-hygiene: " in r.log, r


def test_malformed_never_sent_curl(shim, hub):
    shim.skip_if_asan_deadlocks("curl")
    rules = token_rules(shim)
    for value in MALFORMED:
        r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", "-o", "/dev/null", "-H",
                        f"Authorization: {value}", hub.url + MODEL, env=hub_env(shim, hub))
        assert r.returncode == 0, (value, r)
    assert auths(hub) == [None] * len(MALFORMED)
    # a malformed password given with -u (libcurl makes the Basic header) is not sent either
    r = shim.hfshim("run", "--rules", rules, "--", "curl", "-sS", "-f", "-o", "/dev/null", "-u", "user:None",
                    hub.url + MODEL, env=hub_env(shim, hub))
    assert r.returncode == 0 and auths(hub)[-1] is None, r


# -- (c) a good token still arrives ----------------------------------------

@pytest.mark.parametrize("how", ["header", "bearer", "userpwd"])
def test_valid_token_arrives(shim, hub, how):
    cred = {"header": ["-H", f"Authorization: Bearer {VALID}"], "bearer": ["--bearer", VALID],
            "userpwd": ["--userpwd", f"me:{VALID}"]}[how]
    # whoami-v2 needs the token; the fake Hub takes it as Bearer only, so
    # the Basic form goes to /headers (on the Hub host too)
    path = "/headers" if how == "userpwd" else "/api/whoami-v2"
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", shim.progs / "curl_tokens", *cred, "easy",
                    hub.url + path, env=hub_env(shim, hub))
    assert "rc=0 code=200" in r.stdout and ('"type": "user"' in r.stdout or how == "userpwd"), r
    assert auths(hub) == [basic("me", VALID) if how == "userpwd" else f"Bearer {VALID}"]
    assert "stripped" not in r.log and "retrying" not in r.log, r


def test_valid_token_curl(shim, hub):
    shim.skip_if_asan_deadlocks("curl")
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", "curl", "-sS", "-f", "-H",
                    f"Authorization: Bearer {VALID}", hub.url + "/api/whoami-v2", env=hub_env(shim, hub))
    assert r.returncode == 0 and json.loads(r.stdout)["name"] == "tester", r
    assert auths(hub) == [f"Bearer {VALID}"]


# -- (d) an HF token to a host that is not the Hub -------------------------

def test_foreign_host_gets_no_hf_token(shim, hub, fakehub_factory):
    """A second server, not in HF_ENDPOINT: an HF token given any way never
    reaches it; another credential (not an HF token) does."""
    elsewhere = fakehub_factory()
    rules = token_rules(shim)
    env = hub_env(shim, hub)
    prog = shim.progs / "curl_tokens"
    for cred in (["-H", f"Authorization: Bearer {OTHER}"], ["--bearer", OTHER], ["--userpwd", f"u:{OTHER}"],
                 ["--user", "u", "--password", OTHER]):
        r = shim.hfshim("run", "--rules", rules, "--", prog, *cred, "easy", elsewhere.url + "/headers", env=env)
        assert "rc=0 code=200" in r.stdout, (cred, r)
        assert "stripped Authorization (hf_OO…OO)" in r.log and "outside the Hub hosts" in r.log, r
        assert no_secret_in(r.log, OTHER)
    assert auths(elsewhere) == [None] * 4
    r = shim.hfshim("run", "--rules", rules, "--", prog, "--userpwd", "u:not-a-hub-token", "easy",
                    elsewhere.url + "/headers", env=env)
    assert auths(elsewhere)[-1] == basic("u", "not-a-hub-token"), r


def test_foreign_host_curl(shim, hub, fakehub_factory):
    shim.skip_if_asan_deadlocks("curl")
    elsewhere = fakehub_factory()
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", "curl", "-sS", "-f", "-o", "/dev/null", "-H",
                    f"Authorization: Bearer {OTHER}", elsewhere.url + "/headers", env=hub_env(shim, hub))
    assert r.returncode == 0, r
    assert auths(elsewhere) == [None] and no_secret_in(r.log, OTHER)


def test_option_credentials_restored_after_strip(shim, hub, fakehub_factory):
    """The credential option unset for a stripped transfer is the app's again
    for the next one on the same handle: a rule scoped to the Hub strips the
    learned token there, and the other host (no rule) still gets it."""
    elsewhere = fakehub_factory()
    rules = token_rules(shim, match={"host": "@hub"})
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_tokens", "--userpwd", f"u:{STALE}", "easy",
                    hub.url + MODEL, hub.url + MODEL + "?again=1", elsewhere.url + "/headers",
                    env=hub_env(shim, hub))
    assert r.returncode == 0 and r.stdout.count("rc=0 code=200") == 3, r
    assert auths(hub) == [basic("u", STALE), None, None]
    assert auths(elsewhere) == [basic("u", STALE)]


# -- what the application sees through its callbacks ----------------------

def run_plain(shim, prog_args):
    """The same program without the shim and without a token: the output a
    retried transfer must reproduce exactly."""
    p = subprocess.run([str(shim.progs / "curl_tokens"), *map(str, prog_args)], env=shim.base_env(),
                       capture_output=True, text=True, timeout=20)
    return p.stdout


@pytest.mark.parametrize("mode", ["easy", "multi", "events"])
@pytest.mark.parametrize("extra", [[], ["--fail"], ["--include"], ["--no-header-cb"], ["--pause-body"],
                                   ["--abort-at", "3"], ["--dup"]], ids=lambda e: " ".join(e) or "plain")
def test_callbacks_see_only_the_second_answer(shim, hub, mode, extra):
    """Header and write callbacks, CURLOPT_HEADER, FAILONERROR, a pause from
    the write callback, a short return from the header callback, duphandle
    from a callback: with the stale token retried, the app's output is byte
    for byte what it is with no token and no shim; one completion per
    transfer in the multi modes."""
    urls = [hub.url + MODEL, hub.url + MODEL + "?x=2"]
    want = run_plain(shim, [*extra, mode, *urls])
    hub.requests.clear()
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", shim.progs / "curl_tokens", *extra, "-H",
                    f"Authorization: Bearer {STALE}", mode, *urls, env=hub_env(shim, hub))
    assert r.stdout == want, r
    assert "HTTP/1.1 401" not in r.stdout and "Invalid credentials" not in r.stdout
    if mode != "easy":
        assert r.stdout.endswith("completions=2\n")
    assert auths(hub) == [f"Bearer {STALE}", None, None]


@pytest.mark.parametrize("mode", ["easy", "multi", "events"])
def test_pause_in_header_callback(shim, hub, mode):
    """The header callback pauses on a held line while the head is handed
    over: libcurl delivers the line again on unpause and the hand-over goes
    on from there, each line once, in order. (libcurl 7.88 itself misroutes
    the lines after a header pause, so there is no plain run to compare.)"""
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", shim.progs / "curl_tokens", "--pause", "-H",
                    f"Authorization: Bearer {STALE}", mode, hub.url + MODEL, env=hub_env(shim, hub))
    lines = r.stdout.splitlines()
    assert lines[:5] == ["H HTTP/1.1 200 OK", "H Content-Type: application/json; charset=utf-8",
                         "H Content-Length: 196", "H Connection: keep-alive", "H "], r
    assert lines[5].endswith("rc=0 code=200 bytes=196 body={\"id\": \"acme/tiny-model\", \"modelId\": \"acme/tiny-model\", \"sha"), r
    assert auths(hub) == [f"Bearer {STALE}", None]


@pytest.mark.parametrize("mode", ["easy", "multi", "events"])
@pytest.mark.parametrize("how", ["bearer", "userpwd", "user+password"])
def test_option_credential_retried(shim, hub, mode, how):
    cred = {"bearer": ["--bearer", STALE], "userpwd": ["--userpwd", f"u:{STALE}"],
            "user+password": ["--user", "u", "--password", STALE]}[how]
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", shim.progs / "curl_tokens", *cred, mode,
                    hub.url + MODEL, hub.url + MODEL + "?x=2", env=hub_env(shim, hub))
    assert r.returncode == 0 and r.stdout.count("rc=0 code=200 bytes=196") == 2, r
    assert auths(hub) == [f"Bearer {STALE}" if how == "bearer" else basic("u", STALE), None, None]
    assert no_secret_in(r.log, STALE)


def test_no_retry_for_a_post(shim, hub):
    """A POST carrying the stale token is not retried (the app reads the
    401), but the token is learned: the next request goes without it."""
    body = shim.tmp / "body.json"
    body.write_text(json.dumps({"paths": ["config.json"]}))
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", shim.progs / "curl_multi", "-H",
                    f"Authorization: Bearer {STALE}", "--data", body, "multi",
                    hub.url + "/api/models/acme/tiny-model/paths-info/main", env=hub_env(shim, hub))
    assert "status=401" in r.stdout, r
    assert auths(hub) == [f"Bearer {STALE}"]
    assert "learned" in r.log and "retrying" not in r.log


# -- (e) pycurl (libcurl-gnutls) --------------------------------------------

PYCURL_APP = r"""
import io, pycurl, sys
url, token = sys.argv[1], sys.argv[2]
def get(u, how):
    c = pycurl.Curl(); body = io.BytesIO(); heads = []
    c.setopt(pycurl.URL, u)
    c.setopt(pycurl.WRITEFUNCTION, body.write)
    c.setopt(pycurl.HEADERFUNCTION, lambda line: heads.append(line.decode().rstrip()))
    if how == "header":
        c.setopt(pycurl.HTTPHEADER, ["Authorization: Bearer " + token, "X-Keep: 1"])
    elif how == "bearer":
        c.setopt(pycurl.XOAUTH2_BEARER, token); c.setopt(pycurl.HTTPAUTH, 64)  # CURLAUTH_BEARER
    else:
        c.setopt(pycurl.USERPWD, "u:" + token)
    c.perform()
    code = c.getinfo(pycurl.RESPONSE_CODE); size = c.getinfo(pycurl.SIZE_DOWNLOAD); c.close()
    return code, int(size), heads, body.getvalue()
for how in sys.argv[3:]:
    code, size, heads, body = get(url, how)
    print(how, code, size, heads[0], sum(1 for h in heads if h.startswith("HTTP/")), body[:22].decode())
"""


def test_pycurl_stale_token(shim, hub):
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", PY, "-c", PYCURL_APP, hub.url + MODEL, STALE,
                    "header", "bearer", "userpwd", env=hub_env(shim, hub))
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines == [f'{how} 200 196 HTTP/1.1 200 OK 1 {{"id": "acme/tiny-mode'
                     for how in ("header", "bearer", "userpwd")], r
    # learned on the first request: the two other ways never send it
    assert auths(hub) == [f"Bearer {STALE}", None, None, None]
    assert hub.requests[1].header("X-Keep") == "1"
    assert no_secret_in(r.log, STALE)


def test_pycurl_valid_token_and_foreign(shim, hub, fakehub_factory):
    elsewhere = fakehub_factory()
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", PY, "-c", PYCURL_APP, hub.url + "/api/whoami-v2",
                    VALID, "header", "bearer", env=hub_env(shim, hub))
    assert r.returncode == 0 and r.stdout.splitlines() == [
        f'{how} 200 264 HTTP/1.1 200 OK 1 {{"type": "user", "id":' for how in ("header", "bearer")], r
    assert auths(hub) == [f"Bearer {VALID}"] * 2
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", PY, "-c", PYCURL_APP, elsewhere.url + "/headers",
                    VALID, "header", "userpwd", env=hub_env(shim, hub))
    assert r.returncode == 0, r
    assert auths(elsewhere) == [None, None]


# -- (f) the multi interface: many transfers at once ------------------------

@pytest.mark.parametrize("fail", [False, True])
def test_multi_concurrent_retries(shim, hub, fail):
    """Four transfers with the stale token start together on one multi
    handle: each is answered 401 and retried; the app sees four completions,
    all 200 with the right body, and nothing else."""
    paths = [MODEL, MODEL + "?b=1", "/acme/tiny-model/resolve/main/config.json", MODEL + "?d=1"]
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", shim.progs / "curl_multi",
                    *(["--fail"] if fail else []), "-H", f"Authorization: Bearer {STALE}", "-H", "X-Keep: 1",
                    "multi", *[hub.url + p for p in paths], env=hub_env(shim, hub))
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and all("result=0" in line and "status=200" in line for line in lines), r
    stale = [q for q in hub.requests if q.header("Authorization")]
    assert all(q.header("Authorization") == f"Bearer {STALE}" for q in stale)
    assert 1 <= len(stale) <= 4  # the ones that started before the first 401 was learned
    anon = [q.target for q in hub.requests if q.header("Authorization") is None]
    assert sorted(anon) == sorted(paths) and all(q.header("X-Keep") == "1" for q in hub.requests)


def test_curl_parallel_retries(shim, hub):
    """curl --parallel (multi interface, PIPEWAIT, -f closing each 401's
    connection): every transfer is retried at once, none waits for a
    wake-up that already came."""
    shim.skip_if_asan_deadlocks("curl")
    urls = [f"{hub.url}{MODEL}?n={i}" for i in range(6)]
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", "curl", "-sS", "-f", "--parallel", "-H",
                    f"Authorization: Bearer {STALE}", "-w", "%{http_code} %{size_download}\n",
                    *sum((["-o", "/dev/null"] for _ in urls), []), *urls, env=hub_env(shim, hub))
    assert r.returncode == 0 and r.stdout.splitlines() == ["200 196"] * 6, r
    assert r.elapsed < 0.8, r
    assert sorted(q.target for q in hub.requests if q.header("Authorization") is None) == sorted(
        u[len(hub.url):] for u in urls)
    assert set(auths(hub)) == {None, f"Bearer {STALE}"}


# -- (g) git --------------------------------------------------------------

class GitAuthHub(FakeHub):
    """The fake Hub, with its /git/ routes answering as the Hub answers git:
    a stale credential (Bearer, or Basic whose password is the token) gets
    401 "Invalid credentials in Authorization header"; with private=True, a
    request without a credential gets a Basic challenge."""

    private = False

    def _answer(self, req):
        if req.path.startswith("/git/"):
            auth = req.header("Authorization")
            tok = None
            if auth and auth.startswith("Bearer "):
                tok = auth[7:]
            elif auth and auth.startswith("Basic "):
                tok = base64.b64decode(auth[6:]).decode(errors="replace").partition(":")[2]
            if auth is not None and tok not in self.valid_tokens:
                return 401, {"Content-Type": "application/json",
                             "X-Error-Message": "Invalid credentials in Authorization header"}, \
                    b'{"error": "Invalid credentials in Authorization header"}'
            if auth is None and self.private:
                return 401, {"WWW-Authenticate": 'Basic realm="Authentication required"',
                             "Content-Type": "text/plain"}, b"Authentication required\n"
        return super()._answer(req)


@pytest.fixture
def git_hub(git_repo):
    h = GitAuthHub(git_root=git_repo.parent).start()
    h.valid_tokens = {VALID}
    yield h
    h.stop()


def git_env(shim, hub, extra=None):
    return hub_env(shim, hub, {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", **(extra or {})})


def test_git_extraheader_stale_token_retried(shim, git_hub, git_repo, tmp_path):
    """git-remote-http (libcurl-gnutls, multi interface) with a stale token in
    http.extraHeader: the first request is retried without it, the clone
    works, the Hub saw the token exactly once."""
    shim.skip_if_asan_deadlocks("git")
    dest = tmp_path / "clone"
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", "git", "-c",
                    f"http.extraHeader=Authorization: Bearer {STALE}", "clone", "-q",
                    f"{git_hub.url}/git/{git_repo.name}", dest, env=git_env(shim, git_hub), timeout=60)
    assert r.returncode == 0, r
    assert (dest / "weights.bin").read_bytes() == expected_bytes(204800)
    seen = auths(git_hub, "/git/")
    assert seen.count(f"Bearer {STALE}") == 1 and seen[0] == f"Bearer {STALE}" and len(seen) >= 3, seen
    assert "git-remote-http" in r.log and "retrying GET" in r.log, r
    assert no_secret_in(r.log + r.stderr, STALE)


def test_git_malformed_extraheader(shim, git_hub, git_repo, tmp_path):
    shim.skip_if_asan_deadlocks("git")
    r = shim.hfshim("run", "--rules", token_rules(shim), "--", "git", "-c",
                    "http.extraHeader=Authorization: Bearer $HF_TOKEN", "clone", "-q",
                    f"{git_hub.url}/git/{git_repo.name}", tmp_path / "clone", env=git_env(shim, git_hub),
                    timeout=60)
    assert r.returncode == 0, r
    assert set(auths(git_hub, "/git/")) == {None}


def credential_helper(password):
    return f"!f() {{ echo username=hf_user; echo password={password}; }}; f"


def test_git_credential_helper_basic(shim, git_hub, git_repo, tmp_path):
    """A private repo: git sends its credential helper's token as Basic only
    after the 401 challenge. The stale one is judged by its password: learned
    from the Hub's answer (sent once; the clone fails, as it must), and with
    a state file a later git never sends it. A valid one clones."""
    shim.skip_if_asan_deadlocks("git")
    git_hub.private = True
    url = f"{git_hub.url}/git/{git_repo.name}"
    state = tmp_path / "tokens.state"
    rules = token_rules(shim, {"state_file": str(state)})
    stale_basic = basic("hf_user", STALE)
    for i in range(2):
        r = shim.hfshim("run", "--rules", rules, "--", "git", "-c", f"credential.helper={credential_helper(STALE)}",
                        "clone", "-q", url, tmp_path / f"stale{i}", env=git_env(shim, git_hub), timeout=60)
        assert r.returncode != 0, r
        assert no_secret_in(r.log + r.stderr, STALE, stale_basic[6:])
        assert ("learned: the Hub answered 401" in r.log) == (i == 0), r
        assert i == 0 or "stripped Authorization (hf_SS…SS)" in r.log, r
    assert auths(git_hub, "/git/").count(stale_basic) == 1, auths(git_hub, "/git/")
    git_hub.requests.clear()
    r = shim.hfshim("run", "--rules", rules, "--", "git", "-c", f"credential.helper={credential_helper(VALID)}",
                    "clone", "-q", url, tmp_path / "good", env=git_env(shim, git_hub), timeout=60)
    assert r.returncode == 0, r
    assert (tmp_path / "good" / "weights.bin").read_bytes() == expected_bytes(204800)
    assert basic("hf_user", VALID) in auths(git_hub, "/git/")


# -- logs ------------------------------------------------------------------

def test_json_log_masks_token(shim, hub):
    r = shim.hfshim("run", "--rules", token_rules(shim), "--log-format", "json", "--", shim.progs / "curl_tokens",
                    "-H", f"Authorization: Bearer {STALE}", "easy", hub.url + MODEL, hub.url + MODEL + "?x=2",
                    env=hub_env(shim, hub))
    assert r.returncode == 0, r
    events = [json.loads(line) for line in r.log.splitlines()]
    strip = [e for e in events if e.get("event") == "strip-auth"]
    assert len(strip) == 1 and strip[0]["token"] == "hf_SS…SS" and strip[0]["rule"] == "token-hygiene", events
    assert strip[0]["layer"] == "curl" and strip[0]["url"].endswith("?x=2")
    assert no_secret_in(r.log, STALE)


def test_no_tokens_section_changes_nothing(shim, hub):
    """Without a tokens section nothing is watched or retried: the app reads
    the Hub's 401 as before."""
    rules = shim.write_rules({"version": 1, "rules": [{"name": "x", "match": {"path": "^/nothing"},
                                                        "action": "block"}]})
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "curl_tokens", "-H",
                    f"Authorization: Bearer {STALE}", "multi", hub.url + MODEL, env=hub_env(shim, hub))
    assert "rc=0 code=401" in r.stdout and "completions=1" in r.stdout, r
    assert auths(hub) == [f"Bearer {STALE}"]
