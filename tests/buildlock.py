"""buildlock.py: one `make` at a time among the parallel test workers.

`make test` runs the test files in parallel processes (pytest-xdist).
A few tests run make targets that write into the shared build tree: the
wheel and the .deb are rebuilt from scratch in build/wheel and build/deb,
and the first `make install` makes the man pages. Two at once would
clobber each other's files, or a test would read a package another
worker is rewriting. So those tests run make through `run_make` (which
holds the lock while make runs), and the ones that use what make made
take `build_lock()` around the make run and the copy of the package to
their own folder.
"""

import contextlib
import fcntl
import hashlib
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = Path(tempfile.gettempdir()) / f"hfshim-tests-make-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]}.lock"


@contextlib.contextmanager
def build_lock():
    """Held by one worker at a time (flock; released when the file closes,
    also if the worker dies)."""
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def run_make(args, **kw):
    """subprocess.run(["make", *args], **kw) under build_lock()."""
    with build_lock():
        return subprocess.run(["make", *args], **kw)
