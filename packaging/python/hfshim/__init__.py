"""hfshim for Python test suites: the launcher and library of this wheel,
and programs run under them.

    import hfshim
    r = hfshim.run(["python3", "app.py"], fault="gated-repo")
    r.returncode, r.stderr, r.audit      # audit: the run's JSON records
    env = hfshim.env(offline=True)        # children started with it run under the shim

Everything goes through the launcher (`hfshim run`), which validates the
rules and faults and composes LD_PRELOAD; nothing here re-implements it.
The pytest plugin (hfshim.pytest_plugin) builds on these two functions.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["__version__", "launcher", "library", "options", "run", "env", "read_audit", "Result"]

_HERE = Path(__file__).resolve().parent
__version__ = (_HERE / "VERSION").read_text().strip() if (_HERE / "VERSION").exists() else "0+unknown"


def launcher():
    """The hfshim launcher: $HFSHIM when set (a build tree's bin/hfshim),
    else the one in this package."""
    path = os.environ.get("HFSHIM") or str(_HERE / "_native/bin/hfshim")
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"hfshim launcher not found or not executable: {path}")
    return path


def library():
    """libhfshim.so next to the launcher (the launcher finds it at ../lib)."""
    return str(Path(os.path.realpath(launcher())).parent.parent / "lib/libhfshim.so")


def _faults(fault):
    if fault is None:
        return []
    return [fault] if isinstance(fault, str) else list(fault)


def options(fault=None, offline=False, rules=None, audit=None, log=None):
    """`hfshim run` options: fault a spec or a list of them (PRESET[:MATCH]
    [@WINDOW], rules/README.md §12), offline True or "variables", rules a
    rules file, audit a file for the JSON audit records, log FILE|-|off."""
    opts = []
    if rules is not None:
        opts += ["--rules", os.fspath(rules)]
    if offline:
        opts.append("--offline=variables" if offline == "variables" else "--offline")
    for f in _faults(fault):
        opts += ["--fault", f]
    if audit is not None:
        opts += ["--audit", os.path.abspath(os.fspath(audit))]
    if log is not None:
        opts += ["--log", os.fspath(log)]
    return opts


def read_audit(path, offset=0):
    """The audit records (dicts) in path from byte offset on ([] if none)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


class Result(subprocess.CompletedProcess):
    """subprocess.CompletedProcess plus audit: the run's audit records."""

    def __init__(self, proc, audit):
        super().__init__(proc.args, proc.returncode, proc.stdout, proc.stderr)
        self.audit = audit


def run(argv, *, fault=None, offline=False, rules=None, audit=None, log=None, env=None, **kwargs):
    """Runs argv under `hfshim run` with these options (see options()) and
    returns a Result. Output is captured as text unless kwargs say
    otherwise (capture_output, text, stdout, ...: as subprocess.run). With
    audit=None the records go to a temporary file and are returned in
    Result.audit all the same."""
    tmp = None
    if audit is None:
        fd, tmp = tempfile.mkstemp(prefix="hfshim-audit-", suffix=".jsonl")
        os.close(fd)
        audit_path = tmp
    else:
        audit_path = os.fspath(audit)
    start = os.path.getsize(audit_path) if os.path.exists(audit_path) else 0
    cmd = [launcher(), "run", *options(fault, offline, rules, audit_path, log), "--", *map(os.fspath, argv)]
    if not any(k in kwargs for k in ("stdout", "stderr", "capture_output")):
        kwargs["capture_output"] = True
    if not any(k in kwargs for k in ("text", "universal_newlines", "encoding", "errors")):
        kwargs["text"] = True
    try:
        proc = subprocess.run(cmd, env=env, **kwargs)
        return Result(proc, read_audit(audit_path, start))
    finally:
        if tmp:
            os.unlink(tmp)


_DUMP = "import json, os, sys; sys.stdout.write(json.dumps(dict(os.environ)))"


def env(*, fault=None, offline=False, rules=None, audit=None, log=None, base=None):
    """The environment a program gets from `hfshim run` with these options
    (LD_PRELOAD, HFSHIM_RULES, HFSHIM_FAULT, HFSHIM_AUDIT, the enforced
    variables), starting from base (default os.environ): processes started
    with it, and their children, run under the shim. It is what the
    launcher itself exports (asked of it once), so it is validated the
    same way; ValueError with the launcher's message when it refuses.
    A fault window (@first=N, ...) counts per process started with it
    (and its children), not across them: for one count over several
    programs, run them under one hfshim.run."""
    base = dict(os.environ if base is None else base)
    cmd = [launcher(), "run", *options(fault, offline, rules, audit, log), "--", sys.executable, "-c", _DUMP]
    p = subprocess.run(cmd, env=base, capture_output=True, text=True)
    if p.returncode != 0:
        raise ValueError(f"hfshim run {' '.join(options(fault, offline, rules, audit, log))}: "
                         f"{p.stderr.strip() or 'exit status %d' % p.returncode}")
    out = json.loads(p.stdout)
    # the counters file of that one run is gone with it: the first process
    # that needs one makes its own (rules/README.md §12.3)
    out.pop("HFSHIM_COUNTERS", None)
    return out
