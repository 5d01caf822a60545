"""test_epoll_swap.py: epoll users of a virtual connection.

An event-loop program registers its socket in epoll *before* connect()
(nginx does so for every upstream). A virtual connection must keep that
registration, with its mode (level, EPOLLET, EPOLLONESHOT), and must not
leave a registration of a replaced socket firing under the same fd number.
Each case runs the program without the shim against a live fake Hub, and
under the shim with the repo in the cache: offline against a closed port
(virtual at connect), with rules/cache-first.json and the Hub down
(virtual once SO_ERROR is read) or up (the real socket is replaced by a
virtual one holding the answer); it compares what the program saw: its
events, the answer and the time taken. The offline runs inside
`unshare -n` (no loopback: the other end of the virtual connection cannot
be on it) cover the socketpair fallback; "dup" keeps a second copy of the
socket open, so a registration of a replaced socket would stay and fire.
Then nginx from Debian as a reverse proxy to a cached Hub endpoint.
"""

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from cachebuild import CachedRepo
from conftest import PY
from fakehub import HUB_REPO, HUB_SHA

FILES = {"config.json": b'{"model_type": "bert"}\n', "README.md": b"# tiny\n"}  # the fake Hub's default repo
FAST = 1.0  # seconds: the answer is local; a lost event costs the program's whole timeout


@pytest.fixture
def cache(tmp_path):
    return CachedRepo(tmp_path / "hub-cache", HUB_REPO, HUB_SHA, files=FILES)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more
    return port


# An event loop in miniature: register before connect, then drive the
# request and the answer by epoll events only. Prints what it saw as JSON.
CLIENT = r"""
import json, os, select, socket, sys, time
mode, port, dup = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "dup"
E = select
flag = {"level": 0, "edge": E.EPOLLET, "oneshot": E.EPOLLONESHOT}[mode]
ep = E.epoll()
s = socket.socket()
s.setblocking(False)
other = os.dup(s.fileno()) if dup else None  # another copy of the socket, as a forked child holds one
ep.register(s.fileno(), E.EPOLLIN | E.EPOLLOUT | E.EPOLLRDHUP | flag)
out = {"connect": s.connect_ex(("127.0.0.1", port)), "events": [], "dups": 0}
req = b"GET /api/models/acme/tiny-model HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
data, sent, done, t0 = b"", False, False, time.monotonic()
names = [("in", E.EPOLLIN), ("out", E.EPOLLOUT), ("rdhup", E.EPOLLRDHUP), ("hup", E.EPOLLHUP), ("err", E.EPOLLERR)]
while not done and time.monotonic() - t0 < 4:
    evs = ep.poll(2)
    if not evs:
        out["events"].append("timeout")
        continue
    out["dups"] = max(out["dups"], len([fd for fd, _ in evs if fd == s.fileno()]) - 1)
    for fd, ev in evs:
        out["events"].append("+".join(n for n, b in names if ev & b))
        if not sent:  # the connect's outcome, as nginx, libuv and asyncio read it
            out["so_error"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if out["so_error"]:
                done = True
                break
        elif ev & E.EPOLLERR or (ev & E.EPOLLHUP and not ev & E.EPOLLIN):
            done = True
            break
        if ev & E.EPOLLOUT and not sent:
            s.send(req)
            sent = True
            if mode == "level":  # stop asking for writability, as event loops do
                ep.modify(s.fileno(), E.EPOLLIN | E.EPOLLRDHUP)
            continue  # the answer is read when an event says it came
        while ev & E.EPOLLIN:
            try:
                k = s.recv(65536)
            except BlockingIOError:
                break
            if not k:
                done = True
                break
            data += k
            head, sep, body = data.partition(b"\r\n\r\n")
            lens = [int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")]
            if sep and lens and len(body) >= lens[0]:
                done = True  # the whole answer (a virtual connection may stay open, as keep-alive)
                break
            if mode == "level":
                break  # level-triggered: the next poll says there is more
    if mode == "oneshot" and not done:
        ep.modify(s.fileno(), E.EPOLLIN | E.EPOLLRDHUP | (0 if sent else E.EPOLLOUT) | E.EPOLLONESHOT)
out["secs"] = time.monotonic() - t0
head, _, body = data.partition(b"\r\n\r\n")
out["status"] = head.split(b"\r\n")[0].decode(errors="replace")
out["complete"] = done
try:
    info = json.loads(body)
    out["info"] = [info.get("id"), info.get("sha"), sorted(x["rfilename"] for x in info.get("siblings", []))]
except ValueError:
    out["info"] = body[:200].decode(errors="replace")
print(json.dumps(out))
"""


def outcome(r):
    assert r.returncode == 0 and not r.timed_out, r
    return json.loads(r.stdout.strip().splitlines()[-1])


def kinds(events):
    """What matters of the event sequence: writable first, then readable
    (however the bytes were cut into segments)."""
    seen = []
    for e in events:
        k = "in" if "in" in e.split("+") else e
        if not seen or seen[-1] != k:
            seen.append(k)
    return seen


def check_same(base, got, server_down=False):
    if server_down:  # the refused connect was seen (in+err+hup) before SO_ERROR said 0
        assert "out" in got["events"][0].split("+") and got["so_error"] == 0, got
        got = dict(got, events=["out"] + got["events"][1:])
    assert got["info"] == base["info"] == [HUB_REPO, HUB_SHA, sorted(FILES)], (base, got)
    assert got["status"] == base["status"] == "HTTP/1.1 200 OK", (base, got)
    assert got["complete"] and base["complete"], (base, got)
    assert got["dups"] == base["dups"] == 0, (base, got)  # no second registration firing under the fd number
    assert "timeout" not in got["events"] and not any(e in ("err", "hup") for e in got["events"]), got
    assert kinds(got["events"]) == kinds(base["events"]), (base, got)
    assert got["connect"] in (0, 115) and base["connect"] == 115, (base, got)  # 0 or EINPROGRESS
    assert got["secs"] < FAST and base["secs"] < FAST, (base, got)


@pytest.mark.parametrize("dup", ["", "dup"])
@pytest.mark.parametrize("mode", ["level", "edge", "oneshot"])
def test_registered_before_connect(shim, fakehub, cache, tmp_path, mode, dup):
    """Registered before connect: the program gets its events under the
    shim (a virtual connection answered from the cache) as without it (a
    live Hub): writable, then readable, with nothing lost or repeated."""
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    base = outcome(shim.run([PY, str(script), mode, str(fakehub.port), dup or "-"], env=shim.base_env()))
    port = closed_port()
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root), "HF_ENDPOINT": f"http://127.0.0.1:{port}"})
    r = shim.hfshim("run", "--offline", "--", PY, str(script), mode, str(port), dup or "-", env=env)
    check_same(base, outcome(r))


@pytest.mark.parametrize("mode", ["level", "edge", "oneshot"])
def test_registered_before_connect_server_down(shim, fakehub, cache, tmp_path, mode):
    """rules/cache-first.json and the Hub down: the non-blocking connect
    is refused, and reading SO_ERROR (as nginx does) makes the socket
    virtual; the registration made before connect still delivers the
    answer's events."""
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    base = outcome(shim.run([PY, str(script), mode, str(fakehub.port), "-"], env=shim.base_env()))
    port = closed_port()
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root), "HF_ENDPOINT": f"http://127.0.0.1:{port}"})
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, str(script), mode, str(port),
                    "-", env=env)
    check_same(base, outcome(r), server_down=True)


@pytest.mark.parametrize("dup", ["", "dup"])
@pytest.mark.parametrize("mode", ["level", "edge", "oneshot"])
def test_registered_before_connect_without_loopback(shim, fakehub, cache, tmp_path, netns, mode, dup):
    """The same inside `unshare -n`, where the loopback is down: the socket
    is replaced by a socketpair end, and its registrations move with it
    (the old socket's, which a copy keeps open with "dup", is removed)."""
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    base = outcome(shim.run([PY, str(script), mode, str(fakehub.port), dup or "-"], env=shim.base_env()))
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root), "HF_ENDPOINT": "http://127.0.0.1:9"})
    r = shim.hfshim("run", "--offline", "--", *netns, PY, str(script), mode, "9", dup or "-", env=env)
    check_same(base, outcome(r))


@pytest.mark.parametrize("dup", ["", "dup"])
@pytest.mark.parametrize("mode", ["level", "edge", "oneshot"])
def test_registered_before_connect_answered_on_live_connection(shim, fakehub_factory, cache, tmp_path, mode, dup):
    """A real connection (the Hub is up) whose request a rule answers from
    the cache (rules/cache-first.json): the socket is replaced by a virtual
    one holding the answer, and the registration made before connect moves
    with it. The Hub sees the connection but no request."""
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    base_hub = fakehub_factory("ok")
    base = outcome(shim.run([PY, str(script), mode, str(base_hub.port), dup or "-"], env=shim.base_env()))
    hub = fakehub_factory("ok")
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root), "HF_ENDPOINT": hub.url})
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, str(script), mode,
                    str(hub.port), dup or "-", env=env)
    got = outcome(r)
    assert got["connect"] == 115, got  # a real non-blocking connect
    check_same(base, got)
    assert hub.request_count() == 0, hub.requests


MANY = r"""
import socket, sys
ok = 0
for _ in range(int(sys.argv[2])):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /api/models/acme/tiny-model HTTP/1.1\r\nHost: hub\r\n\r\n")
    ok += s.recv(65536).startswith(b"HTTP/1.1 200 ")
    s.close()
print(ok)
"""


@pytest.mark.skipif(shutil.which("ip") is None or shutil.which("ss") is None, reason="needs ip and ss (iproute2)")
def test_many_virtual_connections_leave_no_time_wait(shim, cache, tmp_path, netns):
    """The loopback connection behind each virtual one ends without a
    TIME_WAIT socket (each would hold a local port for a minute: a program
    making hundreds of connections a second would run out of ports, its
    real connections too). Counted in a network namespace of its own, lo
    up, where nothing else runs."""
    script = tmp_path / "many.py"
    script.write_text(MANY)
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root), "HF_ENDPOINT": "http://127.0.0.1:9"})
    inner = (f"ip link set lo up && {shim.launcher} run --offline -- {PY} {script} 9 200 && "
             "ss -tanH state time-wait | wc -l")
    r = shim.run([*netns, "sh", "-c", inner], env=env, timeout=60)
    assert r.returncode == 0 and not r.timed_out, r
    assert r.stdout.split() == ["200", "0"], r


# -- nginx ------------------------------------------------------------------

NGINX_CONF = """
daemon off;
worker_processes 1;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log info;
env HF_HUB_CACHE;
env HF_ENDPOINT;
env HFSHIM_LOG;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
    server {{
        listen 127.0.0.1:{listen};
        location / {{ proxy_pass http://127.0.0.1:{upstream}; proxy_read_timeout 5s; proxy_connect_timeout 5s; }}
    }}
}}
"""


def start_nginx(shim, tmp_path, name, upstream, cmd_prefix, env):
    d = tmp_path / name
    (d / "tmp").mkdir(parents=True)
    listen = closed_port()
    user = "user root root;" if os.geteuid() == 0 else ""  # workers read the test's cache under tmp_path
    (d / "nginx.conf").write_text(NGINX_CONF.format(d=d, listen=listen, upstream=upstream, user=user))
    env = dict(env)
    env.setdefault("HFSHIM_LOG", str(d / "hfshim.log"))
    proc = subprocess.Popen([*cmd_prefix, shutil.which("nginx"), "-p", str(d), "-c", str(d / "nginx.conf"),
                             "-e", str(d / "error.log")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", listen), timeout=1).close()
            return proc, listen
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.05)
    proc.kill()
    pytest.fail("nginx did not start: " + proc.stdout.read().decode(errors="replace"))


def stop_nginx(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def curl_through(port):
    t0 = time.monotonic()
    r = subprocess.run(["curl", "-sS", "--max-time", "8", "-w", "\n%{http_code}",
                        f"http://127.0.0.1:{port}/api/models/{HUB_REPO}"], capture_output=True, text=True, timeout=15,
                       env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*"})
    secs = time.monotonic() - t0
    body, _, code = r.stdout.rpartition("\n")
    try:
        info = json.loads(body)
        info = [info.get("id"), info.get("sha"), sorted(x["rfilename"] for x in info.get("siblings", []))]
    except ValueError:
        info = body[:300]
    return code, info, secs


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (Debian package nginx)")
@pytest.mark.parametrize("how", ["offline", "server-down"])
def test_nginx_proxy_to_cached_hub(shim, fakehub, cache, tmp_path, how):
    """nginx registers its upstream socket in epoll (EPOLLET) before
    connect(): under the shim, offline (a virtual connection at connect) or
    with rules/cache-first.json and the Hub down (virtual once nginx reads
    SO_ERROR), the cached answer reaches curl through nginx at once, as a
    live Hub's does without the shim (it used to be nginx's 504 after its
    read timeout)."""
    proc, port = start_nginx(shim, tmp_path, "plain", fakehub.port, [], shim.base_env())
    try:
        base = curl_through(port)
    finally:
        stop_nginx(proc)
    assert base[0] == "200" and base[1] == [HUB_REPO, HUB_SHA, sorted(FILES)] and base[2] < FAST, base

    upstream = closed_port()
    env = shim.base_env({"HF_HUB_CACHE": str(cache.root), "HF_ENDPOINT": f"http://127.0.0.1:{upstream}"})
    rules = ["--offline"] if how == "offline" else ["--rules", str(shim.rules_dir / "cache-first.json")]
    proc, port = start_nginx(shim, tmp_path, "shim", upstream, [str(shim.launcher), "run", *rules, "--"], env)
    try:
        got = [curl_through(port) for _ in range(3)]  # a new upstream connection each time
    finally:
        stop_nginx(proc)
    shim.check_sanitizers()
    for g in got:
        assert g[:2] == base[:2] and g[2] < FAST, (base, got)
