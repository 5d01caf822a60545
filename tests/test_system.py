"""test_system.py: hfshim for a whole machine or container: the library
preloaded through /etc/ld.so.preload (no variable set), a locked system
policy in /etc/hfshim/rules.json that the program cannot weaken, failing
closed when that policy is broken, secure-execution mode (setuid), and
`hfshim install/uninstall --system`. Every test runs inside a private
mount namespace whose /etc is an overlay (tests/sysroot.py): nothing
outside the test changes. The fake Hub on 127.0.0.1 records what really
reached it."""

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PY
from fakehub import HUB_REPO
from sysroot import SysRoot

FETCH = r"""
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(type(e).__name__)
"""

DEFAULT_HUB = ["huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co"]


@pytest.fixture
def sysroot(tmp_path):
    why = SysRoot.check()
    if why:
        pytest.fail(why)
    return SysRoot(tmp_path)


def policy(hub, log, **kw):
    p = {"version": 1, "locked": True, "offline": True, "hub_hosts": DEFAULT_HUB + [f"127.0.0.1:{hub.port}"],
         "log": {"destination": str(log)}}
    p.update(kw)
    return json.dumps(p, indent=2)


def clean_env(shim, extra=None):
    """No shim variable at all: only what a container has (and, for the
    sanitizer build, its runtime, which must come first)."""
    env = shim.base_env({"HFSHIM_LOG": ""})
    env.update(extra or {})
    return env


def permissive(shim):
    return shim.write_rules({"version": 1, "offline": False, "rules": [{"name": "allow-all", "action": "allow"}]},
                            "permissive.json")


def run_in(shim, root, argv, env, timeout=30):
    return shim.run(root.cmd(argv), env=root.env(env), timeout=timeout)


@pytest.mark.parametrize("prog", ["python3", "curl"])
def test_every_program_under_the_shim_without_variables(shim, sysroot, fakehub, prog):
    """/etc/ld.so.preload and a locked offline policy: python3 and curl,
    started with no hfshim variable and no LD_PRELOAD of ours, are both
    under the shim: the Hub call is answered at once by the shim, the
    fake Hub sees nothing. The same commands without the system files
    reach the Hub (the test can fail)."""
    if prog == "curl":
        shim.skip_if_asan_deadlocks("curl")
    log = shim.tmp / "policy.log"
    url = fakehub.url + "/api/models/" + HUB_REPO
    argv = [PY, "-c", FETCH, url] if prog == "python3" else ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}\n",
                                                            url]
    r = run_in(shim, sysroot, argv, clean_env(shim))
    assert r.stdout.strip() == "200" and fakehub.request_count() == 1, r  # control: no system files yet
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log))
    r = run_in(shim, sysroot, argv, clean_env(shim))
    assert r.returncode == 0 and r.stdout.strip() == "403", r
    assert fakehub.request_count() == 1, "the second run reached the Hub"
    text = log.read_text()
    assert f"GET {url}" in text and "offline" in text, text
    assert "ignored" not in text, text  # nothing tried to weaken the policy


APP = r"""
import ctypes, os, subprocess, sys
url, perm, fetch = sys.argv[1], sys.argv[2], sys.argv[3]
# everything an app (or a careless entrypoint script) might do
os.environ["HFSHIM_RULES"] = perm
os.environ["HFSHIM_OFFLINE"] = "0"
os.environ["HFSHIM_LOG"] = "off"
del os.environ["HF_HUB_OFFLINE"]
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "0"
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
print("getenv", libc.getenv(b"HF_HUB_OFFLINE").decode(), libc.getenv(b"HF_HUB_DISABLE_TELEMETRY").decode())
child = [sys.executable, "-c", fetch, url]
print("env", subprocess.run(child, env=dict(os.environ), capture_output=True, text=True).stdout.strip())
print("no-preload", subprocess.run(child, env=dict(os.environ, LD_PRELOAD=""), capture_output=True,
                                   text=True).stdout.strip())
print("empty", subprocess.run(child, env={}, capture_output=True, text=True).stdout.strip())
print("child-var", subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('HF_HUB_OFFLINE'))"],
                                  env={}, capture_output=True, text=True).stdout.strip())
"""


@pytest.mark.parametrize("activation", ["ld.so.preload", "LD_PRELOAD"])
def test_app_cannot_weaken_the_locked_policy(shim, sysroot, fakehub, activation):
    """A program that points HFSHIM_RULES at a permissive file, sets
    HFSHIM_OFFLINE=0 and HFSHIM_LOG=off, removes an enforced variable and
    starts children with its environment, with LD_PRELOAD emptied and
    with no environment at all: every process stays under the locked
    policy (nothing reaches the Hub), the enforced variables keep their
    values, and the log names each attempt."""
    log = shim.tmp / "policy.log"
    sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log, offline="variables"))
    env = clean_env(shim)
    if activation == "ld.so.preload":
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    else:  # ENV LD_PRELOAD=… in an image
        env = shim.preload_env({"HFSHIM_LOG": ""})
    r = run_in(shim, sysroot, [PY, "-c", APP, fakehub.url + "/api/models/" + HUB_REPO, permissive(shim), FETCH], env)
    assert r.returncode == 0, r
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert out["getenv"] == "1 1", r
    assert out["env"] == out["no-preload"] == out["empty"] == "403", r
    assert out["child-var"] == "1", r
    assert fakehub.request_count() == 0
    text = log.read_text()
    assert "the locked policy /etc/hfshim/rules.json applies: ignored HFSHIM_RULES=" in text, text
    assert "HFSHIM_OFFLINE=0" in text and "HFSHIM_LOG=off" in text, text
    assert "keeps HF_HUB_OFFLINE=1: unsetenv(HF_HUB_OFFLINE) ignored" in text, text
    # os.environ[...] = v calls setenv (CPython >= 3.9), del calls unsetenv
    assert "keeps HF_HUB_DISABLE_TELEMETRY=1: setenv(HF_HUB_DISABLE_TELEMETRY) ignored" in text, text


def test_locked_policy_takes_added_restrictions(shim, sysroot, fakehub):
    """Locked but online: HFSHIM_OFFLINE=1 (a restriction) is honoured,
    HFSHIM_RULES is not; without either the Hub is reached."""
    log = shim.tmp / "policy.log"
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log, offline=False))
    url = fakehub.url + "/api/models/" + HUB_REPO
    r = run_in(shim, sysroot, [PY, "-c", FETCH, url], clean_env(shim))
    assert r.stdout.strip() == "200" and fakehub.request_count() == 1, r
    r = run_in(shim, sysroot, [PY, "-c", FETCH, url], clean_env(shim, {"HFSHIM_OFFLINE": "1"}))
    assert r.stdout.strip() == "403" and fakehub.request_count() == 1, r
    strict = shim.write_rules({"version": 1, "rules": [{"name": "no", "match": {"host": "@hub"}, "action": "block"}]},
                              "strict.json")
    r = run_in(shim, sysroot, [PY, "-c", FETCH, url], clean_env(shim, {"HFSHIM_RULES": str(strict)}))
    assert r.stdout.strip() == "200" and fakehub.request_count() == 2, r  # the policy's, not the file's
    assert "ignored HFSHIM_RULES=" in log.read_text()


CORRUPT = {
    "syntax": ('{"version": 1, "locked": tru}', "/etc/hfshim/rules.json:1:"),
    "invalid": ('{"version": 1, "locked": true, "offline": "maybe"}', "/etc/hfshim/rules.json:1:"),
    "unreadable": (None, "/etc/hfshim/rules.json: cannot read"),
    # a NUL escape would have cut the host to "evil.com" (issue 17)
    "nul": ('{"version": 1, "locked": true, "hub_hosts": ["evil.com\\u0000.huggingface.co"]}',
            "/etc/hfshim/rules.json:1:55: \\u0000 inside a string"),
}


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_broken_locked_policy_fails_closed(shim, sysroot, fakehub, kind):
    """A system policy that cannot be read or parsed: every process
    enforces offline (the Hub blocked), HFSHIM_RULES and HFSHIM_OFFLINE=0
    cannot reopen it, each process says so once on stderr, and `hfshim
    run` refuses to start with the file:line:col."""
    text, where = CORRUPT[kind]
    if text is None:
        (sysroot.upper("/etc/hfshim/rules.json")).mkdir(parents=True)  # a folder: EISDIR
    else:
        sysroot.write("/etc/hfshim/rules.json", text)
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    env = clean_env(shim, {"HF_ENDPOINT": fakehub.url, "HFSHIM_RULES": str(permissive(shim)), "HFSHIM_OFFLINE": "0"})
    code = FETCH.replace("print(urllib", "import subprocess; subprocess.run([sys.executable, '-c', 'pass'])\n    "
                                        "print(urllib")
    r = run_in(shim, sysroot, [PY, "-c", code, fakehub.url + "/api/models/" + HUB_REPO], env)
    assert r.stdout.strip() == "403", r
    assert fakehub.request_count() == 0
    lines = [ln for ln in r.stderr.splitlines() if "cannot use the system policy" in ln]
    assert len(lines) == 2, r.stderr  # the program and its child, once each
    assert where in lines[0] and "enforcing the safe default (offline: Hub blocked, loopback only)" in lines[0], lines
    r = run_in(shim, sysroot, [shim.launcher, "run", "--", PY, "-c", "print('ran')"], env)
    assert r.returncode == 2 and "ran" not in r.stdout, r
    assert where in r.stderr and "run offline (Hub blocked, loopback only) until it is fixed" in r.stderr, r


def test_unlocked_system_policy_is_the_default(shim, sysroot, fakehub):
    """Without "locked" the system policy only replaces the installed
    default: HFSHIM_RULES still chooses another file."""
    log = shim.tmp / "policy.log"
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log, locked=False))
    url = fakehub.url + "/api/models/" + HUB_REPO
    r = run_in(shim, sysroot, [PY, "-c", FETCH, url], clean_env(shim))
    assert r.stdout.strip() == "403" and fakehub.request_count() == 0, r
    r = run_in(shim, sysroot, [PY, "-c", FETCH, url], clean_env(shim, {"HFSHIM_RULES": str(permissive(shim))}))
    assert r.stdout.strip() == "200" and fakehub.request_count() == 1, r


def test_clearenv_keeps_the_enforced_variables(shim, sysroot, fakehub):
    log = shim.tmp / "policy.log"
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log, offline="variables"))
    code = ("import ctypes; libc = ctypes.CDLL(None); libc.clearenv(); libc.getenv.restype = ctypes.c_char_p;"
            "env = ctypes.POINTER(ctypes.c_char_p).in_dll(libc, 'environ');"
            "names = [];\ni = 0\nwhile env[i]: names.append(env[i].split(b'=')[0].decode()); i += 1\n"
            "print(sorted(names))")
    r = run_in(shim, sysroot, [PY, "-c", code], clean_env(shim))
    assert r.returncode == 0, r
    names = eval(r.stdout.strip())
    assert "HF_HUB_OFFLINE" in names and "HF_HUB_DISABLE_TELEMETRY" in names and "PATH" not in names, r
    assert "set again after clearenv()" in log.read_text()


# -- hfshim install / uninstall --system ---------------------------------

@pytest.fixture
def installed(shim):
    """The build's bin/, lib/ and share/ copied to a fresh root-owned 0755
    folder: install --system preloads only a library no other user can
    change, whatever the permissions of the folders the checkout is in."""
    d = Path(tempfile.mkdtemp(prefix="hfshim-inst-", dir="/tmp"))
    os.chmod(d, 0o755)
    for sub in ("bin", "lib", "share"):
        shutil.copytree(shim.build / sub, d / sub)
    for p in [d, *d.rglob("*")]:
        if p.is_dir():
            os.chmod(p, 0o755)
    yield d
    shutil.rmtree(d)


def libm():
    for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"):
        if os.path.exists(p):
            return p
    pytest.fail("no libm.so.6 to stand for another preloaded library")


MAPPED = r"""
import os, sys, urllib.request, urllib.error
maps = open("/proc/self/maps").read()
print("mapped" if "/etc/hfshim/policy-" in maps else "parsed")
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(type(e).__name__)
print("dev", os.stat("/etc/hfshim/rules.json").st_dev)  # the overlay's: see test_compiled_system_policy
"""


def test_compiled_system_policy(shim, sysroot, fakehub):
    """A root process under the shim writes the locked policy's compiled
    form beside it (root's, 0644; rules/README.md 9.3); the next processes
    map it instead of parsing the JSON and stay under the locked policy
    (the Hub call answered 403, HFSHIM_RULES and HFSHIM_OFFLINE=0 refused).
    Once a folder on the way is writable by others the compiled form is not
    used: the policy is loaded as before and fails closed."""
    log = shim.tmp / "policy.log"
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log))
    time.sleep(2.2)  # older than the compiled policy's freshness window
    url = fakehub.url + "/api/models/" + HUB_REPO
    r = run_in(shim, sysroot, [PY, "-c", MAPPED, url], clean_env(shim))
    assert r.stdout.split()[:2] == ["parsed", "403"], r
    folder = sysroot.upper("/etc/hfshim")
    compiled = [p for p in folder.iterdir() if p.name.startswith("policy-")]
    assert len(compiled) == 1, list(folder.iterdir())
    st = compiled[0].stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o644), st
    weaken = clean_env(shim, {"HFSHIM_RULES": str(permissive(shim)), "HFSHIM_OFFLINE": "0"})
    # Each run mounts its own overlay on /etc, whose device number is the
    # lowest free one: another test mounting at the same moment moves it,
    # the compiled policy's key (which has the device) no longer matches,
    # and the process parses and writes the compiled form anew (correct,
    # not what is tested here). So: until a run sees the device the run
    # before it saw (5 tries), then that run must have mapped it.
    dev = r.stdout.split()[3]
    for _ in range(5):
        r = run_in(shim, sysroot, [PY, "-c", MAPPED, url], weaken)
        if r.stdout.split()[3:] == [dev]:
            break
        dev = r.stdout.split()[3]
    assert r.stdout.split()[:2] == ["mapped", "403"], r
    assert fakehub.request_count() == 0
    text = log.read_text()
    assert "the locked policy /etc/hfshim/rules.json applies: ignored HFSHIM_RULES=" in text, text
    assert "HFSHIM_OFFLINE=0" in text, text
    os.chmod(folder, 0o777)
    r = run_in(shim, sysroot, [PY, "-c", MAPPED, url], clean_env(shim, {"HF_ENDPOINT": fakehub.url}))
    assert r.stdout.split()[:2] == ["parsed", "403"], r
    assert "cannot use the system policy" in r.stderr and "writable by group or others" in r.stderr, r
    assert fakehub.request_count() == 0


def test_install_and_uninstall_system(shim, sysroot, fakehub, installed):
    """install --system writes exactly /etc/ld.so.preload (keeping its
    other entries) and /etc/hfshim/rules.json, root:root 0644, checks the
    rules first, and is idempotent; afterwards a program started with no
    variable is under the locked policy. uninstall --system restores the
    preload file as it was and removes the policy; again, it is a no-op."""
    launcher, lib = installed / "bin/hfshim", installed / "lib/libhfshim.so"
    other = libm()
    sysroot.write("/etc/ld.so.preload", f"{other}\n")
    log = shim.tmp / "policy.log"
    src = shim.write_rules(policy(fakehub, log), "locked.json")
    bad = shim.write_rules('{"version": 1,\n "locked": "yes"}', "bad.json")
    env = clean_env(shim)
    fetch = [PY, "-c", FETCH, fakehub.url + "/api/models/" + HUB_REPO]
    steps = [
        ["install", "--system", "--rules", bad],
        ["install", "--system", "--rules", src],
        ["install", "--system", "--rules", src],
    ]
    script = " ; ".join(f"{launcher} " + " ".join(map(str, s)) + " ; echo rc=$?" for s in steps)
    script += " ; " + " ".join(map(str, fetch)).replace(FETCH, "\"$FETCH\"")
    r = run_in(shim, sysroot, ["sh", "-c", script], dict(env, FETCH=FETCH))
    out = r.stdout
    assert out.count("rc=2") == 1 and out.count("rc=0") == 2, r
    assert "bad.json:2:12: locked: expected true or false" in r.stderr, r
    assert "/etc/hfshim/rules.json: installed from" in out and "(locked:" in out, r
    assert "/etc/hfshim/rules.json: unchanged (locked)" in out and "already preloads the library" in out, r
    assert out.strip().splitlines()[-1] == "403" and fakehub.request_count() == 0, r
    pre = sysroot.upper("/etc/ld.so.preload")
    rules = sysroot.upper("/etc/hfshim/rules.json")
    assert pre.read_text() == f"{other}\n{lib}\n"
    assert rules.read_text() == src.read_text()
    for p in (pre, rules):
        st = p.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644), p
    # no temporary file left (a compiled form, which root processes under
    # the shim may have written since, is root's and read-only to others)
    names = sorted(os.listdir(rules.parent))
    assert [n for n in names if not n.startswith("policy-")] == ["rules.json"], names
    for n in names:
        st = (rules.parent / n).stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o644), n
    assert sorted(os.listdir(pre.parent)) == ["hfshim", "ld.so.preload"]

    script = f"{launcher} uninstall --system; echo rc=$?; {launcher} uninstall --system; echo rc=$?"
    r = run_in(shim, sysroot, ["sh", "-c", script], env)
    assert r.stdout.count("rc=0") == 2, r
    assert "hfshim entries removed" in r.stdout and "/etc/hfshim/rules.json: removed" in r.stdout, r
    assert "does not preload hfshim" in r.stdout and "not there" in r.stdout, r
    assert pre.read_text() == f"{other}\n"
    assert not rules.exists() and not rules.parent.exists()


def test_install_replaces_an_old_copy_and_uninstall_removes_an_only_entry(shim, sysroot, installed):
    launcher, lib = installed / "bin/hfshim", installed / "lib/libhfshim.so"
    sysroot.write("/etc/ld.so.preload", "/opt/old/lib/libhfshim.so\n")
    r = run_in(shim, sysroot, [launcher, "install", "--system"], clean_env(shim))
    assert r.returncode == 0, r
    assert "/etc/hfshim/rules.json: none (the installed default" in r.stdout, r
    pre = sysroot.upper("/etc/ld.so.preload")
    assert pre.read_text() == f"{lib}\n"
    assert not sysroot.upper("/etc/hfshim").exists()
    r = run_in(shim, sysroot, [launcher, "uninstall", "--system", "--keep-rules"], clean_env(shim))
    assert r.returncode == 0 and "removed (hfshim was its only entry)" in r.stdout, r
    assert not pre.exists()


def test_install_refuses_without_root_and_untrusted_library(shim, sysroot, tmp_path):
    r = shim.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", shim.launcher, "install",
                  "--system"], env=clean_env(shim))
    assert r.returncode == 1 and "this needs root" in r.stderr and "sudo hfshim install --system" in r.stderr, r
    r = shim.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", shim.launcher, "uninstall",
                  "--system"], env=clean_env(shim))
    assert r.returncode == 1 and "this needs root" in r.stderr, r
    # a copy of the installation whose library anyone may rewrite
    copy = Path(tempfile.mkdtemp(dir=tmp_path))
    shutil.copytree(shim.build / "bin", copy / "bin")
    shutil.copytree(shim.build / "lib", copy / "lib")
    os.chmod(copy / "lib/libhfshim.so", 0o666)
    r = run_in(shim, sysroot, [copy / "bin/hfshim", "install", "--system"], clean_env(shim))
    assert r.returncode == 1 and "is writable by group or others" in r.stderr, r
    assert not sysroot.upper("/etc/ld.so.preload").exists()


def test_install_refuses_a_musl_root(shim, tmp_path):
    """A musl system (Alpine; gcompat lets the launcher run there): its
    loader ignores /etc/ld.so.preload and cannot load a glibc library, so
    install --system refuses, says why, and writes nothing."""
    why = SysRoot.check()
    if why:
        pytest.fail(why)
    root = SysRoot(tmp_path, dirs=("/etc", "/usr/lib"))  # /lib is /usr/lib here (merged /usr)
    root.write("/usr/lib/ld-musl-x86_64.so.1", b"\x7fELF musl's loader stands here\n", 0o755)
    r = run_in(shim, root, [shim.launcher, "install", "--system"], clean_env(shim))
    assert r.returncode == 1, r
    assert "this system's C library is musl (/lib/ld-musl-x86_64.so.1)" in r.stderr, r
    assert "not installing (hfshim supports glibc >= 2.17 only)" in r.stderr, r
    assert not root.upper("/etc/ld.so.preload").exists()
    # the same overlays without musl's loader: installed (the test can fail)
    root.remove("/usr/lib/ld-musl-x86_64.so.1")
    r = run_in(shim, root, [shim.launcher, "install", "--system"], clean_env(shim))
    assert r.returncode == 0 and root.upper("/etc/ld.so.preload").exists(), r


# -- secure-execution mode --------------------------------------------------

@pytest.fixture
def setuid_curl(shim):
    """A setuid-root copy of curl in a folder other users can reach, run
    as nobody: the dynamic loader runs it in secure-execution mode."""
    if shim.kind == "san":
        pytest.skip("a setuid program ignores LD_PRELOAD, so the sanitizer runtime the san build needs is not loaded")
    d = Path(tempfile.mkdtemp(prefix="hfshim-suid-", dir="/tmp"))
    os.chmod(d, 0o755)
    dst = d / "curl"
    shutil.copy(shutil.which("curl"), dst)
    os.chown(dst, 0, 0)
    os.chmod(dst, 0o4755)
    yield dst
    shutil.rmtree(d)


def test_secure_execution_reads_nothing_the_user_controls(shim, sysroot, fakehub, setuid_curl, tmp_path):
    """A setuid program under /etc/ld.so.preload: HFSHIM_RULES, HFSHIM_LOG
    (a file the user names: never written), HFSHIM_AUDIT and HF_ENDPOINT
    are not read; the root-owned locked policy applies, and with a policy
    file others may write the safe default applies instead."""
    evil = Path(tempfile.mkdtemp(prefix="hfshim-user-", dir="/tmp"))
    os.chmod(evil, 0o777)
    try:
        log = evil / "policy.log"
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log))
        env = clean_env(shim, {"HFSHIM_RULES": str(permissive(shim)), "HFSHIM_LOG": str(evil / "user.log"),
                               "HFSHIM_AUDIT": str(evil / "audit.jsonl"), "HFSHIM_OFFLINE": "0"})
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", setuid_curl, "-s", "-o", "/dev/null",
                "-w", "%{http_code}\n", fakehub.url + "/api/models/" + HUB_REPO]
        r = run_in(shim, sysroot, argv, env)
        assert r.stdout.strip() == "403" and fakehub.request_count() == 0, r
        assert not (evil / "user.log").exists() and not (evil / "audit.jsonl").exists()
        text = log.read_text()  # the policy's own destination
        # the setuid program does not even look at the user's variables
        # (setpriv, which starts it, is an ordinary program and says it ignored them)
        assert [ln for ln in text.splitlines() if " curl: " in ln and "ignored" in ln] == [], text
        assert " curl: blocked GET" in text, text
        # a policy file anyone may change is not used by a setuid program:
        # the safe default applies (loopback reachable), not the file's answer
        loose = {"version": 1, "locked": True, "offline": False,
                 "rules": [{"name": "fake", "match": {"host": "127.0.0.1"}, "action": "respond", "status": 418}]}
        sysroot.write("/etc/hfshim/rules.json", json.dumps(loose), mode=0o666)
        r = run_in(shim, sysroot, argv, env)
        assert r.stdout.strip() == "200" and fakehub.request_count() == 1, r
        assert "not used in secure-execution mode" in r.stderr and "writable by group or others" in r.stderr, r
    finally:
        shutil.rmtree(evil)


def test_launcher_under_the_locked_policy(shim, sysroot, fakehub):
    """hfshim run/explain/doctor under a locked policy: they say what they
    ignore, run the program under the policy, and pass on nothing the
    library would have to ignore."""
    log = shim.tmp / "policy.log"
    sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log))
    url = fakehub.url + "/api/models/" + HUB_REPO
    code = FETCH + "import os; print(os.environ.get('HFSHIM_RULES'), os.environ.get('HFSHIM_LOG'))\n"
    r = run_in(shim, sysroot, [shim.launcher, "run", "--rules", permissive(shim), "--log", shim.tmp / "mine.log",
                               "--", PY, "-c", code, url], clean_env(shim))
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == ["403", "None None"], r
    assert "the locked system policy /etc/hfshim/rules.json applies: --rules" in r.stderr, r
    assert "--log " in r.stderr and "ignored (the policy says where the log goes)" in r.stderr, r
    assert fakehub.request_count() == 0 and not (shim.tmp / "mine.log").exists()
    assert "ignored" not in log.read_text()  # the library was not asked to ignore anything
    r = run_in(shim, sysroot, [shim.launcher, "explain", "GET", url], clean_env(shim))
    assert "offline" in r.stdout and "/etc/hfshim/rules.json" in r.stdout + r.stderr, r
    r = run_in(shim, sysroot, [shim.launcher, "doctor"], clean_env(shim))
    assert "hfshim doctor (rules: /etc/hfshim/rules.json;" in r.stdout, r
    assert "/etc/hfshim/rules.json: locked" in r.stdout, r


def test_locked_online_policy_does_not_take_hf_endpoint(shim, sysroot, fakehub):
    """Online, "@hub" rules apply to the Hub hosts: HF_ENDPOINT must not
    let the program add a host of its choice to them (offline, where a Hub
    host gets no network, it still may: test_broken_locked_policy_...)."""
    log = shim.tmp / "policy.log"
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    sysroot.write("/etc/hfshim/rules.json", json.dumps({
        "version": 1, "locked": True, "log": {"destination": str(log)},
        "rules": [{"name": "hub", "match": {"host": "@hub"}, "action": "allow"},
                  {"name": "nothing-else", "action": "block"}]}))
    url = fakehub.url + "/api/models/" + HUB_REPO
    r = run_in(shim, sysroot, [PY, "-c", FETCH, url], clean_env(shim, {"HF_ENDPOINT": fakehub.url,
                                                                       "HFSHIM_HUB_ENDPOINT": fakehub.url}))
    assert r.stdout.strip() != "200" and fakehub.request_count() == 0, r
    text = log.read_text()
    assert "ignored HF_ENDPOINT=(a Hub host only offline), HFSHIM_HUB_ENDPOINT=(a Hub host only offline)" in text
    assert "rule nothing-else" in text, text


def test_locked_policy_others_can_change_fails_closed(shim, sysroot, fakehub, tmp_path):
    """A locked policy whose included file another user may rewrite locks
    nothing: offline, with the reason, once per process."""
    inc = Path(tempfile.mkdtemp(dir="/tmp", prefix="hfshim-inc-")) / "more.json"
    try:
        os.chmod(inc.parent, 0o755)
        inc.write_text(json.dumps({"version": 1, "rules": [{"name": "open", "action": "allow"}]}))
        os.chmod(inc, 0o666)
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", json.dumps({"version": 1, "locked": True, "include": [str(inc)]}))
        env = clean_env(shim, {"HF_ENDPOINT": fakehub.url})
        r = run_in(shim, sysroot, [PY, "-c", FETCH, fakehub.url + "/api/models/" + HUB_REPO], env)
        assert r.stdout.strip() == "403" and fakehub.request_count() == 0, r
        assert "a locked policy cannot be trusted: " + str(inc) + " is writable by group or others" in r.stderr, r
        os.chmod(inc, 0o644)  # root's alone: the policy (allow everything) applies
        r = run_in(shim, sysroot, [PY, "-c", FETCH, fakehub.url + "/api/models/" + HUB_REPO], env)
        assert r.stdout.strip() == "200" and "cannot" not in r.stderr, r
    finally:
        shutil.rmtree(inc.parent)


def test_install_repairs_owner_and_reads_comments(shim, sysroot, installed):
    """install makes an existing policy and its folder root's (0755/0644)
    even when the content is unchanged; a commented-out entry in
    /etc/ld.so.preload is not taken for the library; uninstall keeps the
    policy when the preload file cannot be rewritten."""
    launcher, lib = installed / "bin/hfshim", installed / "lib/libhfshim.so"
    src = shim.write_rules({"version": 1, "locked": True, "offline": True}, "p.json")
    sysroot.write("/etc/hfshim/rules.json", src.read_text(), mode=0o666)
    folder = sysroot.upper("/etc/hfshim")
    os.chown(folder, 65534, 65534)
    os.chmod(folder, 0o777)
    os.chown(folder / "rules.json", 65534, 65534)
    sysroot.write("/etc/ld.so.preload", f"# {lib}\n")
    r = run_in(shim, sysroot, [launcher, "install", "--system", "--rules", src], clean_env(shim))
    assert r.returncode == 0 and "unchanged (locked)" in r.stdout and "preloads the library" in r.stdout, r
    for p, mode in ((folder, 0o755), (folder / "rules.json", 0o644)):
        st = p.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, mode), p
    assert sysroot.upper("/etc/ld.so.preload").read_text() == f"# {lib}\n{lib}\n"
    # a preload file that cannot be rewritten: the policy stays
    sysroot.remove("/etc/ld.so.preload")
    sysroot.upper("/etc/ld.so.preload").mkdir()
    r = run_in(shim, sysroot, [launcher, "uninstall", "--system"], clean_env(shim))
    assert r.returncode == 1 and "kept, as the library is still preloaded" in r.stderr, r
    assert (folder / "rules.json").exists()


def test_setuid_program_does_not_pass_the_callers_settings_on(shim, sysroot, fakehub):
    """A setuid program's children (su, sudo) inherit its environment: in
    secure-execution mode the library removes the caller's HFSHIM_* from
    it, as glibc removes LD_PRELOAD. A setuid copy of env(1) run as nobody
    prints what it would pass on."""
    if shim.kind == "san":
        pytest.skip("a setuid program ignores LD_PRELOAD, so the sanitizer runtime the san build needs is not loaded")
    d = Path(tempfile.mkdtemp(prefix="hfshim-suid-", dir="/tmp"))
    try:
        os.chmod(d, 0o755)
        suid_env = d / "env"
        shutil.copy(shutil.which("env"), suid_env)
        os.chown(suid_env, 0, 0)
        os.chmod(suid_env, 0o4755)
        sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
        sysroot.write("/etc/hfshim/rules.json", policy(fakehub, shim.tmp / "policy.log"))
        env = clean_env(shim, {"HFSHIM_RULES": "/tmp/evil.json", "HFSHIM_LOG": "/tmp/evil.log", "KEEP_ME": "1"})
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", suid_env]
        r = run_in(shim, sysroot, argv, env)
        names = [line.split("=", 1)[0] for line in r.stdout.splitlines()]
        assert "KEEP_ME" in names and not [n for n in names if n.startswith("HFSHIM_")], r
        # the same env(1) without the setuid bit passes them on (the test can fail)
        os.chmod(suid_env, 0o755)
        r = run_in(shim, sysroot, argv, env)
        assert "HFSHIM_RULES=/tmp/evil.json" in r.stdout, r
    finally:
        shutil.rmtree(d)


def test_refused_change_of_an_enforced_token_is_logged_masked(shim, sysroot, fakehub):
    token = "hf_PolicyTokenPolicyTokenPolicy1234"
    log = shim.tmp / "policy.log"
    sysroot.write("/etc/ld.so.preload", f"{shim.lib}\n")
    sysroot.write("/etc/hfshim/rules.json", policy(fakehub, log, env={"set": {"HF_TOKEN": token}}))
    r = run_in(shim, sysroot, [PY, "-c", "import os; del os.environ['HF_TOKEN']; os.environ['HF_TOKEN'] = 'x'"],
               clean_env(shim))
    assert r.returncode == 0, r
    text = log.read_text()
    assert "the locked policy keeps HF_TOKEN=hf_Po…34: unsetenv(HF_TOKEN) ignored" in text, text
    assert token not in text and token not in r.stderr


def test_install_refuses_a_locked_policy_with_warnings(shim, sysroot, installed):
    """A mistyped key is only a warning; in a locked policy it would leave
    the policy weaker than it reads: install refuses it."""
    launcher = installed / "bin/hfshim"
    src = shim.write_rules('{"version": 1, "locked": true, "ofline": true}', "typo.json")
    r = run_in(shim, sysroot, [launcher, "install", "--system", "--rules", src], clean_env(shim))
    assert r.returncode == 2 and "ofline: unknown key" in r.stderr, r
    assert "a locked policy must load without warnings" in r.stderr, r
    assert not sysroot.upper("/etc/hfshim").exists() and not sysroot.upper("/etc/ld.so.preload").exists()
