"""test_unit_binaries.py: runs the cmocka unit tests of the core (built by
`make test` into <build>/tests/) under the normal and the ASan+UBSan build,
so their results count in the one closing line of the test run."""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, _build_dirs

CASES = [(kind, p) for kind, build in _build_dirs() for p in sorted((build / "tests").glob("test_*"))
         if os.access(p, os.X_OK)]


def test_unit_tests_were_built():
    names = {p.name for _, p in CASES}
    sources = {p.stem for p in (ROOT / "tests/unit").glob("test_*.c")}
    assert sources and sources <= names, f"unit tests not built: {sorted(sources - names)} (run make test)"


@pytest.mark.parametrize("kind,binary", CASES, ids=[f"{k}-{p.name}" for k, p in CASES])
def test_unit(kind, binary, tmp_path):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
               TMPDIR=str(tmp_path))
    r = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert r.returncode == 0, f"{binary.name} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    assert "PASSED" in r.stdout + r.stderr
