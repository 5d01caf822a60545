"""test_man_install: `make install` puts the man pages where man(1) finds
them: after `make install PREFIX=P`, `man hfshim` and `man 5 hfshim-rules`
with MANPATH=P/share/man show the pages built from docs/man/*.scd, and
`make uninstall` takes them out again."""
import os
import shutil
import subprocess

import pytest

from buildlock import run_make
from conftest import ROOT


def man(prefix, *args):
    env = dict(os.environ, MANPATH=str(prefix / "share/man"), MANWIDTH="100", MANPAGER="cat", PAGER="cat")
    env.pop("MANOPT", None)
    return subprocess.run(["man", *args], capture_output=True, text=True, env=env, timeout=60)


def test_man_pages_after_make_install(tmp_path):
    if not shutil.which("man"):
        pytest.fail("man is missing: make deps installs man-db")
    prefix = tmp_path / "x"
    build = os.environ.get("HFSHIM_BUILD", "build")
    r = run_make(["-s", "install", f"PREFIX={prefix}", f"BUILD={build}"], cwd=ROOT, capture_output=True, text=True,
                 timeout=300)
    assert r.returncode == 0, r.stderr
    assert (prefix / "share/man/man1/hfshim.1").is_file() and (prefix / "share/man/man5/hfshim-rules.5").is_file()
    r = man(prefix, "hfshim")
    assert r.returncode == 0, r.stderr
    assert "hfshim - run a program with Hugging Face offline mode" in r.stdout and "--audit FILE" in r.stdout, r.stdout
    r = man(prefix, "5", "hfshim-rules")
    assert r.returncode == 0, r.stderr
    for word in ("INDEX", "TOKENS KEYS", "invalid-credentials", "offline_variables"):
        assert word in r.stdout, word
    # the roff is scdoc's: no warnings from the formatter
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(prefix / "share/man/man5/hfshim-rules.5")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    run_make(["-s", "uninstall", f"PREFIX={prefix}", f"BUILD={build}"], cwd=ROOT, check=True)
    assert not (prefix / "share/man/man1/hfshim.1").exists() and not (prefix / "share/man/man5/hfshim-rules.5").exists()
