"""test_reach.py: the Hub cannot be reached, under the default rules.

Each way the Hub can be out of reach is made inside a network namespace of
the test's own, with the real Hub host names (nothing can leave it: its
only interfaces are lo and, for dropped packets, a veth pair whose two ends
are both inside):
  nonet    `unshare -n`: no network, no DNS (the lookup fails at once)
  dnshang  a resolver that never answers (/etc/resolv.conf names a local
           UDP port that swallows queries: glibc waits 5 s x 2 tries)
  drop     a veth pair whose peer owns no address plus a static neighbour
           entry: SYNs to 10.99.0.2 vanish; a private /etc/hosts maps the
           Hub names to it (connect() neither succeeds nor fails)
  refused  the Hub names map to 127.0.0.1, where nothing listens on 443
  stall    a TLS server that accepts and never finishes the handshake
  silent   HF_ENDPOINT=http://huggingface.co, a server that accepts, reads
           and never answers (the first-byte deadline)
  offline  the user's own HF_HUB_OFFLINE=1 (no network either)
A warm cache (tests/cachebuild.py) holds acme/tiny. Real clients run with
and without the shim (`hfshim run --`, no flag, no variable): without it
cached flows fail or hang; with it every cached flow answers and every
uncached request fails, each within FAST seconds; curl answers at its own
layer. The verdict is shared by the run's processes (a second process pays
no deadline and sends no packet) and the log says it once.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cachebuild import CachedRepo
from conftest import PY, ROOT
from netrows import ns_argv

SHA = "0123456789abcdef0123456789abcdef01234567"
FAST = 3.0  # seconds from the start, for every flow in every row (the bound)
SAN_SLACK = 2.0  # the ASan runtime makes python start ~1 s slower
VENV = ROOT / "tests/.venv/bin/python"  # huggingface_hub 1.x (tests/requirements-hub.txt, make deps)
VENV_LEGACY = ROOT / "tests/.venv-legacy/bin/python"  # huggingface_hub 0.2x

HUB_FLOW = r"""
import json, sys, time
from huggingface_hub import model_info, snapshot_download, hf_hub_download
t0 = time.monotonic()  # the flow's start (the import is python's, not the network's)
def step(name, f):
    s = time.monotonic()
    try:
        r = f()
        out = {"ok": True, "value": str(r)}
    except Exception as e:
        out = {"ok": False, "error": type(e).__name__ + ": " + str(e)[:200]}
    out.update(step=name, seconds=round(time.monotonic() - s, 3), since_start=round(time.monotonic() - t0, 3))
    print(json.dumps(out), flush=True)
steps = sys.argv[1].split(",")
if "model_info" in steps:
    step("model_info", lambda: model_info("acme/tiny").sha)
if "fastembed" in steps:  # FastEmbed's flow: the sha, then the snapshot at it
    step("fastembed", lambda: snapshot_download("acme/tiny", revision=model_info("acme/tiny").sha))
if "cached" in steps:
    step("cached", lambda: hf_hub_download("acme/tiny", "config.json"))
if "uncached" in steps:
    step("uncached", lambda: hf_hub_download("acme/other", "config.json"))
"""

PY_GET = r"""
import json, sys, time
import requests, httpx, urllib.request, urllib.error
which, url = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
try:
    if which == "requests":
        r = requests.get(url); code, body = r.status_code, r.text
    elif which == "httpx":
        r = httpx.get(url, timeout=None); code, body = r.status_code, r.text
    else:
        try:
            r = urllib.request.urlopen(url); code, body = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            code, body = e.code, ""
    out = {"code": code, "sha": json.loads(body).get("sha") if code == 200 else None}
except Exception as e:
    out = {"error": type(e).__name__ + ": " + str(e)[:200]}
out["seconds"] = round(time.monotonic() - t0, 3)
print(json.dumps(out))
"""


@pytest.fixture
def warm(tmp_path):
    home = tmp_path / "home"
    CachedRepo(home / ".cache/huggingface/hub", "acme/tiny", SHA, files={"config.json": b'{"model_type": "bert"}\n'},
               lfs={"model.onnx": bytes(range(256)) * 8})
    return home


def bound(shim):
    return FAST + (SAN_SLACK if shim.kind == "san" else 0)


def in_ns(shim, row, cmd, env, timeout=30):
    """Runs cmd inside a fresh namespace set up as row; returns (Result,
    interfaces, packets sent through the veth or None)."""
    tdir = Path(shim.tmp) / f"ns-{row}-{time.monotonic_ns()}"
    tdir.mkdir()
    env = dict(env, T=str(tdir))
    r = shim.run(ns_argv(row, tdir, cmd), env=env, timeout=timeout)
    ifaces = tx = None
    for line in (r.stdout or "").splitlines():
        if line.startswith("@@ifaces "):
            ifaces = line.split()[1:]
        if line.startswith("@@tx "):
            tx = int(line.split()[1])
    assert ifaces is not None, r
    # nothing could leave: the namespace has loopback (and its own veth pair) only
    assert set(ifaces) <= {"lo", "v0", "v1"}, ifaces
    return r, ifaces, tx


def hub_env(shim, home, extra=None):
    env = shim.base_env({"HOME": str(home), "HF_HUB_DISABLE_XET": "1", "HF_HUB_ETAG_TIMEOUT": "10"})
    env.update(extra or {})
    return env


def steps_of(r):
    return {j["step"]: j for j in (json.loads(x) for x in r.stdout.splitlines() if x.startswith("{"))}


def shimmed(shim, cmd):
    return [shim.launcher, "run", "--", *cmd]


needs_venv = pytest.mark.skipif(not VENV.exists(), reason="tests/.venv (huggingface_hub 1.x) missing: make deps")

ROWS = ["nonet", "dnshang", "drop", "refused", "stall", "silent", "offline"]


@needs_venv
@pytest.mark.parametrize("row", ROWS)
def test_hub_flows_under_default_rules(shim, warm, row):
    """model_info, the FastEmbed flow and a cached hf_hub_download of a
    cached model answer, and an uncached download fails, all within FAST
    seconds of the start, under `hfshim run` with no flag or variable."""
    extra = {"HF_HUB_OFFLINE": "1"} if row == "offline" else {"HF_ENDPOINT": "http://huggingface.co"} if row == "silent" else {}
    env = hub_env(shim, warm, extra)
    cmd = [VENV, "-c", HUB_FLOW, "model_info,fastembed,cached,uncached"]
    start = time.monotonic()
    r, _, tx = in_ns(shim, row, shimmed(shim, cmd), env)
    s = steps_of(r)
    assert set(s) == {"model_info", "fastembed", "cached", "uncached"}, r
    assert s["model_info"]["ok"] and s["model_info"]["value"] == SHA, r
    assert s["fastembed"]["ok"] and s["fastembed"]["value"].endswith(SHA), r
    assert s["cached"]["ok"], r
    assert not s["uncached"]["ok"] and "LocalEntryNotFoundError" in s["uncached"]["error"], r
    assert s["uncached"]["since_start"] <= bound(shim), r
    assert time.monotonic() - start <= bound(shim) + 3.0, r  # + the namespace's set-up and python's start
    if row == "offline":
        assert "HF_HUB_OFFLINE=1 in the environment: the Hub is taken as unreachable" in r.log, r
    else:
        # said once, whatever the number of requests
        assert r.log.count("Hub host huggingface.co is unreachable") == 1, r
    if row == "drop":
        assert tx is not None and tx <= 8, (tx, r)  # one connect attempt's SYNs, not one per request


@needs_venv
@pytest.mark.parametrize("row", ["nonet", "offline"])
def test_hub_flows_fail_without_shim(shim, warm, row):
    """The baseline of the rows that fail fast on their own: model_info of
    a cached model raises (no DNS; HF_HUB_OFFLINE=1 refuses before any
    I/O), although the snapshot is there."""
    if shim.kind == "san":
        pytest.skip("the baseline runs without any preload")
    extra = {"HF_HUB_OFFLINE": "1"} if row == "offline" else {}
    env = hub_env(shim, warm, extra)
    r, _, _ = in_ns(shim, row, [VENV, "-c", HUB_FLOW, "model_info,cached"], env)
    s = steps_of(r)
    assert not s["model_info"]["ok"], r
    assert ("OfflineModeIsEnabled" if row == "offline" else "ConnectError") in s["model_info"]["error"], r
    assert s["cached"]["ok"], r


@needs_venv
def test_drop_hangs_without_shim(shim, warm):
    """The baseline of dropped packets: model_info is still waiting after
    twice the bound."""
    if shim.kind == "san":
        pytest.skip("the baseline runs without any preload")
    env = hub_env(shim, warm)
    r, _, tx = in_ns(shim, "drop", ["timeout", str(2 * FAST), VENV, "-c", HUB_FLOW, "model_info"], env)
    assert r.returncode == 124 and steps_of(r) == {}, r
    assert tx and tx >= 1, r  # it did try: the SYNs went into the void


@needs_venv
def test_legacy_hub_flows_drop(shim, warm):
    """huggingface_hub 0.2x (requests underneath) under dropped packets."""
    if not VENV_LEGACY.exists():
        pytest.skip("tests/.venv-legacy missing: make deps")
    env = hub_env(shim, warm)
    r, _, _ = in_ns(shim, "drop", shimmed(shim, [VENV_LEGACY, "-c", HUB_FLOW, "model_info,fastembed,cached,uncached"]),
                    env)
    s = steps_of(r)
    assert s["model_info"]["ok"] and s["model_info"]["value"] == SHA, r
    assert s["fastembed"]["ok"] and s["cached"]["ok"], r
    assert not s["uncached"]["ok"] and s["uncached"]["since_start"] <= bound(shim), r


@needs_venv
def test_verdict_shared_by_the_run(shim, warm):
    """A flow of one model_info and N HEADs pays the connect deadline
    once; a second process of the run pays nothing and sends no packet;
    `hfshim doctor` shows the verdict."""
    env = hub_env(shim, warm)
    flow = [VENV, "-c", HUB_FLOW, "model_info,cached"]
    script = ("set -e; \"$@\"; tx1=$(cat /sys/class/net/v0/statistics/tx_packets); \"$@\"; "
              f"echo \"@@tx1 $tx1\"; '{shim.launcher}' doctor | grep -A2 'Hub reachability' || true")
    r, _, tx = in_ns(shim, "drop", ["sh", "-c", script, "sh", *shimmed(shim, flow)], env)
    runs = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(runs) == 4 and all(x["ok"] for x in runs), r
    first, second = runs[0], runs[2]
    assert first["step"] == second["step"] == "model_info"
    assert second["seconds"] < 0.5 <= first["seconds"], r  # the deadline was paid once
    tx1 = int(next(x for x in r.stdout.splitlines() if x.startswith("@@tx1")).split()[1])
    assert tx == tx1, r  # the second process sent nothing
    assert r.log.count("is unreachable") == 1, r
    assert "huggingface.co" in r.stdout.split("@@tx1")[1] and "unreachable" in r.stdout.split("@@tx1")[1], r


@pytest.mark.parametrize("client", ["requests", "httpx", "urllib"])
@pytest.mark.parametrize("row", ["nonet", "drop", "stall", "silent"])
def test_python_clients(shim, warm, client, row):
    """Debian's requests/httpx/urllib: the cached repo info is answered,
    an uncached call gets the HTTP 403 Hub clients treat as 'no Hub'."""
    env = hub_env(shim, warm, {"HF_ENDPOINT": "http://huggingface.co"} if row == "silent" else {})
    base = ("http" if row == "silent" else "https") + "://huggingface.co/api/models/acme/"
    script = f"{PY} -c '{PY_GET}' {client} {base}tiny && {PY} -c '{PY_GET}' {client} {base}nothere"
    start = time.monotonic()
    r, _, _ = in_ns(shim, row, [shim.launcher, "run", "--", "sh", "-c", script], env)
    out = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(out) == 2, r
    assert out[0].get("code") == 200 and out[0]["sha"] == SHA, r
    # at once once learned; in the stall row the cached call needed no
    # handshake, so the miss is the one that pays the handshake deadline
    assert out[1].get("code") == 403 and out[1]["seconds"] < (2.5 if row in ("stall", "silent") else 1.0), r
    assert time.monotonic() - start <= bound(shim) + 2.0, r


@pytest.mark.parametrize("row", ["nonet", "drop", "refused", "stall", "silent"])
def test_curl(shim, warm, row):
    """curl (libcurl + OpenSSL): the cached repo info answered at the
    libcurl layer; an uncached call fails within the bound."""
    if shim.kind == "san":
        pytest.skip("curl deadlocks in setlocale under any preloaded ASan runtime (test_offline.py checks it)")
    env = hub_env(shim, warm, {"HF_ENDPOINT": "http://huggingface.co"} if row == "silent" else {})
    base = ("http" if row == "silent" else "https") + "://huggingface.co/api/models/acme/"
    script = (f"curl -sS -o /dev/null -w '%{{http_code}}\\n' {base}tiny; "
              f"curl -sS -o /dev/null -w '%{{http_code}}\\n' {base}nothere; true")
    start = time.monotonic()
    r, _, _ = in_ns(shim, row, [shim.launcher, "run", "--", "sh", "-c", script], env)
    codes = [x for x in r.stdout.splitlines() if not x.startswith("@@")]
    assert codes[0] == "200", r
    assert codes[1] != "200", r
    assert time.monotonic() - start <= bound(shim) + 1.0, r


@pytest.mark.parametrize("row", ["nonet", "drop", "stall", "silent"])
def test_git_fails_at_once(shim, warm, row):
    """git (libcurl-gnutls, multi interface): no hang, it fails at once."""
    if shim.kind == "san":
        pytest.skip("git-remote-http deadlocks in setlocale under any preloaded ASan runtime")
    env = hub_env(shim, warm, {"GIT_TERMINAL_PROMPT": "0"})
    scheme = "http" if row == "silent" else "https"
    start = time.monotonic()
    r, _, _ = in_ns(shim, row, [shim.launcher, "run", "--", "git", "ls-remote", f"{scheme}://huggingface.co/acme/tiny"],
                    env)
    assert r.returncode != 0, r
    assert time.monotonic() - start <= bound(shim) + 1.0, r


@pytest.mark.parametrize("row", ["nonet", "drop", "stall"])
def test_node_fetch_fails_at_once(shim, warm, row):
    """node's fetch (TLS hfshim cannot read): a clean failure, never a hang."""
    if not shutil.which("node"):
        pytest.skip("no node")
    env = hub_env(shim, warm)
    code = ("fetch(process.argv[1]).then(r => console.log(r.status))"
            ".catch(e => { console.log('failed', e.cause ? e.cause.code : e.message); })")
    start = time.monotonic()
    r, _, _ = in_ns(shim, row, [shim.launcher, "run", "--", "node", "-e", code,
                                "https://huggingface.co/api/models/acme/tiny"], env)
    assert "failed" in r.stdout, r
    assert time.monotonic() - start <= bound(shim) + 1.0, r


GAI = r"""
import json, socket, sys, time
for name in sys.argv[1:]:
    t = time.monotonic()
    try:
        r = socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as e:
        r = "gaierror %d" % e.errno
    print(json.dumps({"name": name, "result": r, "seconds": round(time.monotonic() - t, 3)}))
"""


def test_hanging_resolver_bounded(shim):
    """A resolver that never answers: the lookup of a Hub host waits
    reach.resolve_ms (1 s, one try) instead of glibc's 5 s x 2, the host is
    learned and its next lookup answered at once (a virtual address); a
    lookup of another name keeps glibc's own timeouts (not waited for
    here: only the Hub's names are bounded)."""
    slack = 1.0 if shim.kind == "san" else 0.0
    env = shim.base_env()
    r, _, _ = in_ns(shim, "dnshang", shimmed(shim, [PY, "-c", GAI, "huggingface.co", "huggingface.co"]), env)
    out = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(out) == 2, r
    assert 0.9 <= out[0]["seconds"] <= 2.0 + slack, r  # bounded: one 1 s try
    assert out[0]["result"].startswith("127.77."), r  # learned at once: answered as offline
    assert out[1]["result"].startswith("127.77.") and out[1]["seconds"] < 0.1, r
    assert r.log.count("Hub host huggingface.co is unreachable: the name lookup failed (EAI_AGAIN)") == 1, r
    if shim.kind != "san":  # the baseline, without any preload: glibc's own 5 s per try
        r, _, _ = in_ns(shim, "dnshang", ["timeout", "4", PY, "-c", GAI, "huggingface.co"], env)
        assert r.returncode == 124, r


def test_other_hosts_untouched_by_offline_switch(shim, tmp_path):
    """HF_HUB_OFFLINE=1 taken over: the program sees 0, only the Hub hosts
    lose the network; a non-Hub name is looked up as usual (and fails here
    for want of DNS, as it would without the shim)."""
    code = ("import os, socket\nprint(os.environ.get('HF_HUB_OFFLINE'))\n"
            "print(socket.getaddrinfo('huggingface.co', 443)[0][4][0])\n"
            "try:\n    socket.getaddrinfo('example.org', 443)\nexcept socket.gaierror as e:\n    print('gaierror')\n")
    env = shim.base_env({"HF_HUB_OFFLINE": "1"})
    r, _, _ = in_ns(shim, "offline", [shim.launcher, "run", "--", PY, "-c", code], env)
    out = [x for x in r.stdout.splitlines() if not x.startswith("@@")]
    assert out[0] == "0", r
    assert out[1].startswith("127.77."), r  # a virtual address: never looked up
    assert out[2] == "gaierror", r
    # the rules key gives the libraries' own offline behaviour back
    d = json.loads((shim.rules_dir / "default.json").read_text())
    d["include"] = [str(shim.rules_dir / x) for x in d["include"]]
    d["reach"] = {"offline_variables": "library"}
    rules = shim.write_rules(d)
    r, _, _ = in_ns(shim, "offline", [shim.launcher, "run", "--rules", rules, "--", PY, "-c", code], env)
    assert r.stdout.splitlines()[0] == "1", r


@pytest.fixture
def silent_tls(tls_ca):
    """A TLS server on 127.0.0.1 that finishes the handshake, reads the
    request and never answers (a broken proxy or CDN edge)."""
    import socket
    import ssl

    import tlsca
    from acceptloop import AcceptLoop
    ctx = tlsca.server_context(tls_ca)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    held = []

    def serve(c, _peer):
        try:
            c.settimeout(5)
            held.append(ctx.wrap_socket(c, server_side=True))
        except (ssl.SSLError, OSError):
            c.close()

    loop = AcceptLoop(ls, serve).start()
    yield ls.getsockname()[1]
    loop.stop()  # the loop's thread closes the listener (acceptloop.py says why)
    for t in held:
        t.close()


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_tls_silent_after_handshake(shim, warm, tls_ca, silent_tls, client):
    """A Hub endpoint over https that finishes the TLS handshake and never
    answers: the cached repo info is answered at once (no handshake needed);
    an uncached call waits reach.first_byte_ms, then gets the HTTP 403 (the
    client's own timeout is 30 s here), and the log says why, once."""
    import tlsca
    base = f"https://127.0.0.1:{silent_tls}"
    env = hub_env(shim, warm, dict(tlsca.client_env(tls_ca), HF_ENDPOINT=base,
                                   HF_HUB_CACHE=str(warm / ".cache/huggingface/hub")))
    code = PY_GET.replace("requests.get(url)", "requests.get(url, timeout=30)").replace(
        "httpx.get(url, timeout=None)", "httpx.get(url, timeout=30, verify=os.environ['SSL_CERT_FILE'])")
    code = "import os\n" + code
    script = (f"{PY} -c \"$C\" {client} {base}/api/models/acme/tiny && "
              f"{PY} -c \"$C\" {client} {base}/api/models/acme/nothere")
    r = shim.run([shim.launcher, "run", "--", "sh", "-c", script], env=dict(env, C=code), timeout=40)
    out = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(out) == 2, r
    assert out[0].get("code") == 200 and out[0]["sha"] == SHA and out[0]["seconds"] < 1.0, r
    assert out[1].get("code") == 403 and 1.5 <= out[1]["seconds"] < 4.0, r
    assert r.log.count("Hub host 127.0.0.1 is unreachable: no response started in time") == 1, r


@pytest.mark.parametrize("row", ["silent", "drop", "nonet"])
def test_huggingface_js_client(shim, warm, row):
    """The official @huggingface/hub JS client (node): over http:// (the
    silent row) hfshim reads its requests, so a cached model's info is
    answered and an uncached file fails at once; over https (node's own
    TLS) it fails at once instead of waiting for its own timeout."""
    client = ROOT / "tests/js/hub_client.mjs"
    if not shutil.which("node") or not (ROOT / "tests/js/node_modules/@huggingface/hub").exists():
        pytest.skip("node or tests/js/node_modules missing: make deps")
    endpoint = "http://huggingface.co" if row == "silent" else "https://huggingface.co"
    env = hub_env(shim, warm, {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": str(warm / ".cache/huggingface/hub")})
    script = (f"node {client} model-info acme/tiny; node {client} file-download-info acme/other config.json; true")
    start = time.monotonic()
    r, _, _ = in_ns(shim, row, [shim.launcher, "run", "--", "sh", "-c", script], env)
    out = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(out) == 2, r
    if row == "silent":
        assert out[0]["ok"] and out[0]["sha"] == SHA, r
    else:
        assert not out[0]["ok"] and out[0]["name"] != "timeout", r
    assert not out[1]["ok"] or not out[1].get("found"), r
    assert out[1].get("name") != "timeout", r
    assert time.monotonic() - start <= bound(shim) + 3.0, r


def test_reachable_again(shim, warm):
    """The verdict expires (reach.remember_s) and a network that comes back
    is used again, said once: refused, then after remember_s a server
    answers on the Hub name."""
    d = json.loads((shim.rules_dir / "default.json").read_text())
    d["include"] = [str(shim.rules_dir / x) for x in d["include"]]
    d["reach"] = {"remember_s": 3}  # the second request comes within it, even on a loaded machine
    rules = shim.write_rules(d)
    env = hub_env(shim, warm, {"HF_ENDPOINT": "http://huggingface.co"})
    get = f"{PY} -c '{PY_GET}' requests http://huggingface.co/api/models/acme/nothere"
    serve = (f"{PY} -c 'import http.server as h\nclass H(h.BaseHTTPRequestHandler):\n def do_GET(s):\n"
             f"  s.send_response(404); s.send_header(\"Content-Length\", \"0\"); s.end_headers()\n"
             f"h.HTTPServer((\"127.0.0.1\", 80), H).serve_forever()' &")
    # the server listens (a loaded machine may take long to start it); read
    # from the kernel's table: a probe connect would itself be learned
    up = "until grep -q ':0050 00000000:0000 0A' /proc/net/tcp; do sleep 0.05; done"
    script = f"{get}; {get}; sleep 3.3; {serve} {up}; {get}; {get}"
    r, _, _ = in_ns(shim, "refused", [shim.launcher, "run", "--rules", rules, "--", "sh", "-c", script], env)
    out = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert [o.get("code") for o in out] == [403, 403, 404, 404], r  # offline answers, then the real server's
    assert r.log.count("Hub host huggingface.co is unreachable: the connection failed (ECONNREFUSED)") == 1, r
    assert r.log.count("Hub host huggingface.co is reachable again") == 1, r


def test_reset_before_response(shim, warm):
    """A Hub endpoint that resets the connection before any response: the
    request that met it is answered as offline (the HTTP 403, not a
    ConnectionError that huggingface_hub would not catch), the host is
    learned as unreachable, and the next request is answered at once; a
    cached one never needed the server."""
    env = hub_env(shim, warm, {"HF_ENDPOINT": "http://huggingface.co"})
    base = "http://huggingface.co/api/models/acme/"
    get = f"{PY} -c '{PY_GET}' requests"
    script = f"{get} {base}nothere; {get} {base}nothere; {get} {base}tiny"
    r, _, _ = in_ns(shim, "reset", [shim.launcher, "run", "--", "sh", "-c", script], env)
    out = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(out) == 3, r
    assert out[0].get("code") == 403, r
    assert out[1].get("code") == 403 and out[1]["seconds"] < 1.0, r
    assert out[2].get("code") == 200 and out[2]["sha"] == SHA, r
    assert r.log.count("Hub host huggingface.co is unreachable: the connection was reset before any response") == 1, r
