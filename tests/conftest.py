"""conftest.py: fixtures shared by the integration tests.

`shim` runs real programs under the library, once per build: the normal
build and (when present) the ASan+UBSan build, whose runs get the sanitizer
runtime preloaded first and fail the test if a sanitizer wrote a report.
`fakehub` / `fakehub_factory` start fake Hubs on 127.0.0.1 that record every
connection and request. Everything talks to 127.0.0.1/::1 only; tests that
name real hosts run inside `unshare -n` (see `netns`).
"""

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fakehub import FakeHub  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PY = "/usr/bin/python3"  # Debian's, with requests/httpx/pycurl from apt


def hook_exports():
    """The names the library exports: every HFS_HOOK of shim/lib/hooks.def
    and each HFS_SSL marked HOOK (what the Makefile's awk lists)."""
    names = set()
    for line in (ROOT / "shim/lib/hooks.def").read_text().splitlines():
        if line.startswith("HFS_HOOK(") or (line.startswith("HFS_SSL(") and line.split(",")[1].strip() == "HOOK"):
            names.add(line[line.index("(") + 1:line.index(",")].strip())
    return names


def _build_dirs():
    builds = [("plain", ROOT / os.environ.get("HFSHIM_BUILD", "build"))]
    san = os.environ.get("HFSHIM_SAN_BUILD")
    if san and (ROOT / san / "lib/libhfshim.so").exists():
        builds.append(("san", ROOT / san))
    return builds


def _asan_runtime():
    out = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    real = os.path.realpath(out) if out else ""
    return real if real and os.path.exists(real) else None


class Result:
    def __init__(self, proc, elapsed, log, timed_out):
        self.returncode = proc.returncode if proc else None
        self.stdout = proc.stdout if proc else ""
        self.stderr = proc.stderr if proc else ""
        self.elapsed, self.log, self.timed_out = elapsed, log, timed_out

    def __repr__(self):
        return (f"<Result rc={self.returncode} {self.elapsed:.2f}s timed_out={self.timed_out}\n"
                f"stdout={self.stdout[-2000:]!r}\nstderr={self.stderr[-2000:]!r}\nlog={self.log[-2000:]!r}>")


class Shim:
    """How a test runs programs with and without the shim."""

    def __init__(self, kind, build, tmp):
        self.kind, self.build, self.tmp = kind, build, Path(tmp)
        self.lib = build / "lib/libhfshim.so"
        self.launcher = build / "bin/hfshim"
        self.progs = ROOT / os.environ.get("HFSHIM_BUILD", "build") / "progs"
        self.rules_dir = build / "share/hfshim/rules"
        self.asan = _asan_runtime() if kind == "san" else None
        self._n = 0

    def base_env(self, extra=None):
        """A clean environment: no proxies, no HF variables, no preload."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HF_", "HFSHIM_", "HUGGING", "TRANSFORMERS_")) and "proxy" not in k.lower()
               and k not in ("LD_PRELOAD", "PYTHONPATH")}
        env["HOME"] = str(self.tmp / "home")
        os.makedirs(env["HOME"], exist_ok=True)
        env["NO_PROXY"] = "*"
        if self.asan:
            # sanitizer runtime first, as it must be; reports go to files
            env["LD_PRELOAD"] = self.asan
            env["ASAN_OPTIONS"] = f"detect_leaks=0:verify_asan_link_order=0:log_path={self.tmp}/asan"
            env["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={self.tmp}/ubsan"
        env.update(extra or {})
        return env

    def preload_env(self, extra=None):
        """Environment for running a program with LD_PRELOAD set by hand."""
        env = self.base_env()
        env["LD_PRELOAD"] = (self.asan + ":" if self.asan else "") + str(self.lib)
        env.update(extra or {})
        return env

    def run(self, cmd, env=None, timeout=20, input=None, cwd=None):
        """Runs cmd with exactly env; returns Result with the shim's log."""
        self._n += 1
        log = self.tmp / f"hfshim-{self._n}.log"
        env = dict(env if env is not None else self.base_env())
        env.setdefault("HFSHIM_LOG", str(log))
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, input=input, cwd=cwd)
            timed_out = False
        except subprocess.TimeoutExpired as e:
            proc = subprocess.CompletedProcess(cmd, None, _text(e.stdout), _text(e.stderr))
            timed_out = True
        elapsed = time.monotonic() - start
        text = log.read_text() if log.exists() else ""
        self.check_sanitizers()
        return Result(proc, elapsed, text, timed_out)

    def hfshim(self, *args, env=None, timeout=20, **kw):
        """Runs the launcher: `hfshim ARGS…`."""
        return self.run([str(self.launcher), *map(str, args)], env=env, timeout=timeout, **kw)

    _curl_deadlocks = None

    def skip_if_asan_deadlocks(self, tool):
        """curl and git-remote-http deadlock in setlocale() whenever an ASan
        runtime is preloaded into them, with or without hfshim (checked
        once per session, not assumed): the plain build covers them."""
        if self.kind != "san" or tool not in ("curl", "git"):
            return
        if Shim._curl_deadlocks is None:
            try:
                subprocess.run(["curl", "-sS", "-o", "/dev/null", "file:///dev/null"], env=self.base_env(),
                               timeout=3, capture_output=True)
                Shim._curl_deadlocks = False
            except subprocess.TimeoutExpired:
                Shim._curl_deadlocks = True
        if Shim._curl_deadlocks:
            pytest.skip(f"{tool} deadlocks in setlocale under any preloaded ASan runtime (not hfshim)")

    def check_sanitizers(self):
        reports = glob.glob(f"{self.tmp}/asan*") + glob.glob(f"{self.tmp}/ubsan*")
        if reports:
            text = "\n".join(Path(r).read_text(errors="replace")[:4000] for r in reports)
            for r in reports:
                os.rename(r, r + ".seen")
            pytest.fail(f"sanitizer report(s):\n{text}")

    def write_rules(self, obj_or_text, name="rules.json"):
        import json

        path = self.tmp / name
        path.write_text(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text, indent=2))
        return path


def _text(b):
    if b is None:
        return ""
    return b.decode(errors="replace") if isinstance(b, bytes) else b


@pytest.fixture(params=[b[0] for b in _build_dirs()])
def shim(request, tmp_path):
    build = dict(_build_dirs())[request.param]
    if not (build / "lib/libhfshim.so").exists():
        pytest.fail(f"{build}/lib/libhfshim.so is missing: run make")
    s = Shim(request.param, build, tmp_path)
    yield s
    s.check_sanitizers()


@pytest.fixture
def fakehub_factory():
    hubs = []

    def make(mode="ok", **kw):
        hub = FakeHub(mode, **kw).start()
        hubs.append(hub)
        return hub

    yield make
    for h in hubs:
        h.stop()


@pytest.fixture
def fakehub(fakehub_factory):
    return fakehub_factory("ok")


@pytest.fixture
def hanging_hub(fakehub_factory):
    """A Hub endpoint that accepts connections and never answers."""
    return fakehub_factory("hang")


def have(tool):
    return shutil.which(tool) is not None


@pytest.fixture(scope="session")
def netns():
    """Checks that `unshare -n` works here (root or user namespaces)."""
    r = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if r.returncode != 0:
        pytest.fail(f"unshare -n does not work on this machine: {r.stderr!r}")
    return ["unshare", "-n"]


# -- TLS and git (tests/tlsca.py, fakehub.make_git_repo) ------------------

@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory):
    """A throwaway CA and server certificate, made once per session:
    tlsca.CAPaths(dir, ca_key, ca_cert, key, cert). Clients trust it with
    tlsca.client_env(tls_ca); servers use tlsca.server_context(tls_ca)."""
    import tlsca

    return tlsca.make_ca(tmp_path_factory.mktemp("tlsca"))


@pytest.fixture
def tls_hub(fakehub_factory, tls_ca):
    """A FakeHub in "ok" mode over TLS (https://127.0.0.1:PORT, ALPN
    http/1.1 only) with the session's throwaway CA."""
    import tlsca

    return fakehub_factory("ok", tls_context=tlsca.server_context(tls_ca))


@pytest.fixture(scope="session")
def git_repo(tmp_path_factory):
    """A bare repo for dumb-HTTP cloning (fakehub.make_git_repo), made once
    per session; serve it with fakehub_factory(git_root=git_repo.parent)
    and clone hub.url + "/git/" + git_repo.name."""
    from fakehub import make_git_repo

    return make_git_repo(tmp_path_factory.mktemp("gitroot"))


@pytest.fixture
def nghttpd(tls_ca, tmp_path):
    """A real HTTP/2 server over TLS (nghttpd, -v: it prints every header it
    receives into nghttpd.log) serving tmp_path/docs with the session's CA.
    Returns an object with port, docs and log; stopped at teardown."""
    import socket
    import types

    if not shutil.which("nghttpd"):
        pytest.fail("nghttpd is missing: make deps installs nghttp2-server")
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = tmp_path / "nghttpd.log"
    with open(log, "w") as out:
        srv = subprocess.Popen(["nghttpd", "-v", f"--htdocs={docs}", "-a", "127.0.0.1", str(port),
                                str(tls_ca.key), str(tls_ca.cert)], stdout=out, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield types.SimpleNamespace(port=port, docs=docs, log=log)
    srv.terminate()
    srv.wait(timeout=5)
