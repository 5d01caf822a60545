"""test_offline.py: offline mode on real programs.

Every client is aimed at a fake Hub that accepts connections and never
answers (what a firewall that swallows packets looks like). Without the
shim each one hangs; under `hfshim run --offline` each fails at once with
the shim's log line, and the server saw no connection at all.
"""

import subprocess
import time

import pytest

from clients import CLIENTS, client_cmd
from conftest import PY

HANG_BOUND = 3.0  # seconds we let an unshimmed client hang before calling it hung
FAST = 1.0  # "fails in well under a second"
SAN_FAST = 3.0  # the ASan runtime alone makes node/python start ~1 s slower


def fast(shim):
    return SAN_FAST if shim.kind == "san" else FAST


_deadlock = {}


def asan_deadlocks(shim, tool):
    """curl and git-remote-http deadlock in setlocale() whenever any ASan
    runtime is preloaded into them, with or without hfshim (checked here
    once, not assumed): those clients are covered by the plain build only."""
    if shim.kind != "san" or tool not in ("curl", "git"):
        return False
    if "curl" not in _deadlock:
        try:
            subprocess.run(["curl", "-sS", "-o", "/dev/null", "file:///dev/null"], env=shim.base_env(), timeout=3,
                           capture_output=True)
            _deadlock["curl"] = False
        except subprocess.TimeoutExpired:
            _deadlock["curl"] = True
    return _deadlock["curl"]


@pytest.mark.parametrize("client", CLIENTS)
def test_client_hangs_without_shim(client, hanging_hub, tmp_path):
    """The baseline: no shim, a hanging Hub endpoint → the client hangs."""
    cmd = client_cmd(client, hanging_hub.url)
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(cmd, capture_output=True, timeout=HANG_BOUND, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                                          "HF_ENDPOINT": hanging_hub.url})
    assert time.monotonic() - start >= HANG_BOUND
    assert hanging_hub.wait_for_connections(1), "the client never reached the hanging server"


@pytest.mark.parametrize("client", CLIENTS)
def test_client_fails_fast_offline(client, shim, hanging_hub):
    if asan_deadlocks(shim, client):
        pytest.skip(f"{client} deadlocks in setlocale under any preloaded ASan runtime (not hfshim)")
    env = shim.base_env({"HF_ENDPOINT": hanging_hub.url})
    r = shim.hfshim("run", "--offline", "--", *client_cmd(client, hanging_hub.url), env=env, timeout=10)
    assert not r.timed_out, r
    assert r.elapsed < fast(shim), r
    port = hanging_hub.port
    # every client gets the HTTP-level block for Hub hosts: a 403 with an
    # X-Error-Message and no X-Error-Code (libcurl programs through the
    # handle, the others on a virtual connection), and no connection at all
    assert f"blocked GET http://127.0.0.1:{port}" in r.log and "(rule offline: Hugging Face Hub host" in r.log, r
    assert "-> HTTP 403" in r.log, r
    if client in ("git", "urllib"):
        assert r.returncode != 0 and "403" in r.stderr, r
    else:
        assert r.returncode == 0 and r.stdout.strip() == "403", r
    assert "summary: blocked 1 " in r.log, r
    time.sleep(0.1)
    assert hanging_hub.connection_count() == 0
    assert hanging_hub.requests == []


def test_preload_without_launcher(shim, hanging_hub):
    """LD_PRELOAD + HFSHIM_OFFLINE=1, no launcher: same result."""
    env = shim.preload_env({"HF_ENDPOINT": hanging_hub.url, "HFSHIM_OFFLINE": "1"})
    r = shim.run(client_cmd("requests", hanging_hub.url), env=env, timeout=10)
    assert r.returncode == 0 and r.stdout.strip() == "403" and r.elapsed < fast(shim), r
    assert f"python3: blocked GET http://127.0.0.1:{hanging_hub.port}/ (rule offline: Hugging Face Hub host" in r.log, r
    assert hanging_hub.connection_count() == 0


def test_offline_rules_file(shim, hanging_hub):
    """The shipped rules/offline.json does what --offline does."""
    if asan_deadlocks(shim, "curl"):
        pytest.skip("curl deadlocks under a preloaded ASan runtime (not hfshim)")
    env = shim.base_env({"HF_ENDPOINT": hanging_hub.url})
    r = shim.hfshim("run", "--rules", shim.rules_dir / "offline.json", "--", "curl", "-sS", hanging_hub.url,
                    env=env, timeout=10)
    assert r.returncode == 0 and r.elapsed < fast(shim), r
    # a Hub call the cache cannot answer: the shipped cache rule blocks it
    assert "hfshim: blocked by rule hub-cache" in r.stdout, r
    assert f"curl: blocked GET http://127.0.0.1:{hanging_hub.port}" in r.log and "(rule hub-cache" in r.log, r
    assert hanging_hub.connection_count() == 0


def test_non_loopback_blocked_offline(shim):
    """Any non-loopback address is refused at once (nothing leaves: the
    connect never happens; the probe runs inside a network namespace too)."""
    cmds = [["connect", "10.0.0.1", "80"], ["connect", "::ffff:10.0.0.1", "443"], ["udp", "8.8.8.8", "53"],
            ["sendmsg", "1.1.1.1", "53"], ["sendmmsg", "9.9.9.9", "53"], ["connect", "2001:db8::1", "443"]]
    for args in cmds:
        r = shim.hfshim("run", "--offline", "--", "unshare", "-n", shim.progs / "net_probe", *args)
        want = "ECONNREFUSED" if args[0] == "connect" else "ENETUNREACH"
        assert f"rc=-1 errno={want}" in r.stdout, (args, r)
        assert "blocked" in r.log and "(rule offline: offline mode: only loopback destinations are reachable)" in r.log, (args, r)


@pytest.mark.parametrize("op", ["gai", "gai-nohints", "ghbn", "ghbn2", "ghbn_r"])
def test_every_resolver_entry_blocked(shim, netns, op):
    """Offline, a Hub name is never looked up: it gets a virtual address
    (127.77.x.y) whose connections hfshim answers at the HTTP level; a name
    no rule can answer is refused (test_unknown_name_refused_offline)."""
    r = shim.hfshim("run", "--offline", "--", *netns, "strace", "-f", "-e", "trace=network",
                    shim.progs / "net_probe", op, "huggingface.co")
    if op.startswith("gai"):
        assert "getaddrinfo: ok" in r.stdout, r
    else:
        assert "ok 127.77." in r.stdout or ("result=set" in r.stdout and "h_errno=0" in r.stdout), r
    # no DNS traffic: nothing was sent to a resolver
    assert "sin_port=htons(53)" not in r.stderr, r


def test_local_service_still_reachable(shim, hanging_hub, fakehub):
    """Offline blocks the Hub endpoint but not another loopback service."""
    code = ("import sys, requests\n"
            "print(requests.get(sys.argv[1] + '/health', timeout=5).status_code)\n"
            "print(requests.get(sys.argv[2] + '/api/models/x/y').status_code)\n")
    env = shim.base_env({"HF_ENDPOINT": hanging_hub.url})
    r = shim.hfshim("run", "--offline", "--", PY, "-c", code, fakehub.url, hanging_hub.url, env=env, timeout=10)
    assert r.returncode == 0, r
    assert r.stdout.split() == ["200", "403"], r  # the Hub endpoint: answered by hfshim, never reached
    assert [q.path for q in fakehub.requests] == ["/health"]
    assert hanging_hub.connection_count() == 0


def test_ipv6_loopback_service_reachable(shim, fakehub_factory):
    if asan_deadlocks(shim, "curl"):
        pytest.skip("curl deadlocks under a preloaded ASan runtime (not hfshim)")
    hub6 = fakehub_factory("ok", host="::1")
    r = shim.hfshim("run", "--offline", "--", "curl", "-sS", "-g", hub6.url + "/health", timeout=10)
    assert r.returncode == 0 and r.stdout == "fake hub\n", r
    assert len(hub6.requests) == 1


def test_real_hub_hostname_refused_by_shim(shim, netns):
    """In a network namespace with no network the real Hub name is refused
    by the shim itself (the log line proves it was not the namespace)."""
    code = ("import requests\nr = requests.get('https://huggingface.co/api/models/bert-base-uncased')\n"
            "print(r.status_code, 'X-Error-Code' in r.headers, r.headers['X-Error-Message'])\n")
    r = shim.hfshim("run", "--offline", "--", *netns, PY, "-c", code, timeout=10)
    # answered over a virtual TLS session: requests checked the in-process
    # certificate against the name, and got the HTTP-level block
    assert r.returncode == 0, r
    assert r.stdout.strip() == "403 False hfshim: blocked by rule offline (Hugging Face Hub host, offline mode)", r
    assert r.elapsed < fast(shim) * 2, r
    assert ("python3: blocked GET https://huggingface.co/api/models/bert-base-uncased (rule offline: Hugging Face "
            "Hub host, offline mode) -> HTTP 403") in r.log, r
    # the default hub_hosts cover the CDN names too
    r = shim.hfshim("run", "--offline", "--", *netns, shim.progs / "net_probe", "gai", "cdn-lfs.hf.co", "443")
    assert "getaddrinfo: ok" in r.stdout and "blocked" not in r.log, r


def test_unknown_name_refused_offline(shim, netns):
    r = shim.hfshim("run", "--offline", "--", *netns, shim.progs / "net_probe", "gai", "example.org", "80")
    assert "getaddrinfo: EAI_NONAME" in r.stdout, r
    assert "blocked lookup example.org:80 (rule offline" in r.log, r
    # localhost still resolves
    r = shim.hfshim("run", "--offline", "--", shim.progs / "net_probe", "gai", "localhost", "80")
    assert "getaddrinfo: ok" in r.stdout and "blocked" not in r.log, r
