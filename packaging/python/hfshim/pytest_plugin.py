"""pytest_plugin: hfshim in pytest (entry point pytest11 "hfshim"; off with
`-p no:hfshim`).

Two ways in (the package README explains both):

* The whole session under the shim: --hfshim-offline, --hfshim-fault
  SPEC (repeatable), --hfshim-rules FILE (and --hfshim-audit FILE,
  --hfshim-log DEST) make pytest re-execute itself once, before anything
  is collected or configured, as `hfshim run OPTIONS -- python -m pytest
  ARGS` (a preload cannot enter a running process). The re-executed
  session finds the HFSHIM_PYTEST marker in its environment holding the
  same options and goes on; so do xdist workers (they inherit the
  environment, LD_PRELOAD included, and never re-execute), and a nested
  pytest with the same options. A marker whose libhfshim.so is not
  loaded is an error, not a silent run without the shim.

* Per test, for the programs a test starts: the `hfshim` fixture
  (.run(argv, fault=..., offline=..., rules=...), .env(...), .audit()),
  the `hfshim_audit` fixture (the test's audit records) and the marker
  @pytest.mark.hfshim(fault=..., offline=..., rules=...) giving that
  test's defaults.
"""

import json
import os
import subprocess
import sys
import tempfile

import pytest

import hfshim as _api

MARKER = "HFSHIM_PYTEST"  # the options the session was re-executed with (JSON)
TMP_AUDIT = "HFSHIM_PYTEST_TMP_AUDIT"  # the session audit file the plugin made (removed at the end)
# options that answer without running tests: no re-execution for them
NO_REEXEC = ("help", "version", "showfixtures", "show_fixtures_per_test", "markers")


def pytest_addoption(parser):
    g = parser.getgroup("hfshim", "hfshim: the whole session under `hfshim run` (pytest re-executes itself once)")
    g.addoption("--hfshim-offline", action="store_true", default=False,
                help="run the session in hfshim's offline mode (hfshim run --offline)")
    g.addoption("--hfshim-fault", action="append", default=[], metavar="PRESET[@WINDOW]",
                help="a fault for the session, e.g. gated-repo, 'rate-limited:/api/@first=2' (repeatable)")
    g.addoption("--hfshim-rules", metavar="FILE", help="the session's rules file (hfshim run --rules)")
    g.addoption("--hfshim-audit", metavar="FILE",
                help="the session's audit log (default: a temporary file, read by the hfshim_audit fixture)")
    g.addoption("--hfshim-log", metavar="FILE|-|off", help="where the library logs (default: stderr)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "hfshim(fault=None, offline=False, rules=None): the defaults of the hfshim fixture's run() "
        "and env() in this test (programs the test starts; the test's own process is not changed)")


def _wanted(config):
    o = config.option
    return bool(o.hfshim_offline or o.hfshim_fault or o.hfshim_rules or o.hfshim_audit or o.hfshim_log)


def _session_options(config):
    o, here = config.option, str(config.invocation_params.dir)
    rules = os.path.join(here, o.hfshim_rules) if o.hfshim_rules else None
    log = o.hfshim_log
    if log and log not in ("-", "off", "stderr"):
        log = os.path.join(here, log)
    return _api.options(fault=o.hfshim_fault or None, offline=o.hfshim_offline, rules=rules, log=log)


def _shim_loaded():
    with open("/proc/self/maps") as f:
        return any(line.rstrip().endswith("/libhfshim.so") for line in f)


def _under_shim_check():
    if not _shim_loaded():
        raise pytest.UsageError(
            f"{MARKER} says this session runs under hfshim, but libhfshim.so is not loaded in it (was LD_PRELOAD "
            f"removed, or {MARKER} set by hand?): unset {MARKER} and run pytest again")


def _is_worker(config):
    return bool(os.environ.get("PYTEST_XDIST_WORKER")) or hasattr(config, "workerinput")


def _python_entry():
    """How this pytest was started: `python -m pytest` or a script."""
    try:
        flags = subprocess._args_from_interpreter_flags()  # -X, -W, -O... as multiprocessing passes them
    except Exception:
        flags = []
    main = sys.argv[0] if sys.argv else ""
    if not main or main.endswith("__main__.py") or not os.path.isfile(main):
        return [sys.executable, *flags, "-m", "pytest"]
    return [sys.executable, *flags, main]


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if not _wanted(config):
        return None
    key = json.dumps(_session_options(config))
    if _is_worker(config) or os.environ.get(MARKER) == key:
        _under_shim_check()
        return None
    if any(getattr(config.option, n, False) for n in NO_REEXEC):
        return None
    args = list(config.invocation_params.args)
    if args != sys.argv[1:]:
        raise pytest.UsageError("--hfshim-* options re-execute pytest under hfshim: they work on the command line "
                                "(or PYTEST_ADDOPTS), not in pytest.main() called from a running program")
    env = dict(os.environ)
    env[MARKER] = key
    if config.option.hfshim_audit:
        audit = os.path.join(str(config.invocation_params.dir), config.option.hfshim_audit)
    else:
        audit = os.path.join(tempfile.mkdtemp(prefix="hfshim-pytest-"), "audit.jsonl")
        env[TMP_AUDIT] = audit
    argv = [_api.launcher(), "run", *json.loads(key), "--audit", audit, "--", *_python_entry(), *args]
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.stop_global_capturing()  # the real stdout/stderr for the new session
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(str(config.invocation_params.dir))
    try:
        os.execve(argv[0], argv, env)
    except OSError as e:
        raise pytest.UsageError(f"cannot execute {argv[0]}: {e}")


def pytest_report_header(config):
    if not os.environ.get(MARKER) or not _wanted(config):
        return None
    opts = " ".join(json.loads(os.environ[MARKER]))
    return (f"hfshim {_api.__version__}: session under `hfshim run {opts}` ({_api.library()}); "
            f"audit {os.environ.get('HFSHIM_AUDIT', 'off')}")


def pytest_unconfigure(config):
    tmp = os.environ.get(TMP_AUDIT)
    if tmp and not _is_worker(config) and os.environ.get(MARKER):
        for remove, path in ((os.unlink, tmp), (os.rmdir, os.path.dirname(tmp))):
            try:
                remove(path)  # the file is there only when something was recorded
            except OSError:
                pass


class Shim:
    """The `hfshim` fixture: programs a test starts, under the shim, with
    the test's defaults (@pytest.mark.hfshim(...)); every run records into
    the test's own audit file."""

    def __init__(self, tmp_path, defaults):
        self.defaults = defaults
        self.audit_file = tmp_path / "hfshim-audit.jsonl"
        self.session = bool(os.environ.get(MARKER)) and _shim_loaded()
        self._session_file = os.environ.get("HFSHIM_AUDIT") if self.session else None
        self._session_start = (os.path.getsize(self._session_file)
                               if self._session_file and os.path.exists(self._session_file) else 0)
        self.launcher, self.library = _api.launcher(), _api.library()

    def _opts(self, kw):
        o = dict(self.defaults)
        o.update(kw)
        o.setdefault("audit", self.audit_file)
        return o

    def run(self, argv, **kw):
        """hfshim.run with the test's defaults; Result.audit: this run's records."""
        names = ("fault", "offline", "rules", "audit", "log")
        opts = self._opts({k: kw.pop(k) for k in names if k in kw})
        return _api.run(argv, **opts, **kw)

    def env(self, **kw):
        """hfshim.env with the test's defaults: programs started with it run
        under the shim and record into the test's audit file."""
        return _api.env(**self._opts(kw))

    def audit(self):
        """The test's audit records: its programs' (run, env), then, when the
        session runs under the shim, the session's since the test began
        (only this process's own under xdist: the workers share the file)."""
        recs = _api.read_audit(self.audit_file)
        if self._session_file:
            own = os.getpid() if os.environ.get("PYTEST_XDIST_WORKER") else None
            recs += [r for r in _api.read_audit(self._session_file, self._session_start)
                     if own is None or r.get("pid") == own]
        return recs


@pytest.fixture
def hfshim(request, tmp_path):
    """Programs the test starts, under the shim: .run(argv, ...), .env(...),
    .audit(); defaults from @pytest.mark.hfshim (the closest marker's
    value of each keyword wins: a test's over its class's and module's)."""
    defaults = {}
    for m in request.node.iter_markers("hfshim"):
        if m.args or set(m.kwargs) - {"fault", "offline", "rules", "log"}:
            raise pytest.UsageError(f"@pytest.mark.hfshim takes fault=, offline=, rules=, log= only: {m}")
        for k, v in m.kwargs.items():
            defaults.setdefault(k, v)
    return Shim(tmp_path, defaults)


@pytest.fixture
def hfshim_audit(hfshim):
    """A function returning the test's audit records (hfshim.audit())."""
    return hfshim.audit
