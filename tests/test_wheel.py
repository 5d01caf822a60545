"""test_wheel.py: the Python package as a user gets it: `make wheel`, then
`pip install` of the file into a fresh venv (tests/wheelvenv.py), then
the console script, the package's tree, and the pytest plugin both ways
with the real huggingface_hub client against the fake Hub:
examples/faults/test_hub_client.py, run without options (the fixtures,
the marker, the audit records), with --hfshim-fault gated-repo, with
--hfshim-fault invalid-credentials and a stale HF_TOKEN, with
--hfshim-offline, and under xdist; the faults are answered by hfshim, so
the fake Hub must not see those requests. Then what keeps the re-execution
robust: -p no:hfshim, a marker without the library, a nested pytest, a
wrong fault, --help. Also: one version string (VERSION) in `hfshim
--version`, the wheel, the package and the .deb."""

import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from buildlock import build_lock, run_make
from conftest import ROOT

EXAMPLE = ROOT / "examples/faults/test_hub_client.py"
STALE = "hf_StaleStaleStaleStaleStaleStale1234"


@pytest.fixture
def wv(shim, wheel_venv):
    if shim.kind != "plain":
        pytest.skip("the wheel carries the normal build")
    return wheel_venv


def counts(out):
    """{"passed": n, "skipped": n, ...} from pytest's last summary line."""
    line = out.strip().splitlines()[-1] if out.strip() else ""
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed)", line)}


def pytest_in(wv, args, cwd, env=None, timeout=120):
    return subprocess.run([str(wv.python), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *map(str, args)],
                          env=wv.env(env), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_one_version_everywhere(shim, wv):
    version = (ROOT / "VERSION").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    assert shim.hfshim("--version").stdout.strip() == f"hfshim {version}"
    assert subprocess.run([str(wv.hfshim), "--version"], capture_output=True, text=True).stdout == f"hfshim {version}\n"
    p = subprocess.run([str(wv.python), "-c", "import hfshim; print(hfshim.__version__)"], capture_output=True, text=True)
    assert p.stdout.strip() == version, p
    assert wv.wheel.name == f"hfshim-{version}-py3-none-manylinux2014_x86_64.whl"
    meta = zipfile.ZipFile(wv.wheel).read(f"hfshim-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in meta
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    with build_lock():  # another worker may be rebuilding the .deb
        p = subprocess.run(["make", "-s", "deb", f"BUILD={shim.build}"], cwd=ROOT, env=env, capture_output=True,
                           text=True)
        assert p.returncode == 0, p
        deb = Path(p.stdout.strip().splitlines()[-1])
        assert deb.name.startswith(f"hfshim_{version}_")
        got = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True).stdout.strip()
    assert got == version


def test_the_package_holds_make_install_tree(shim, wv, tmp_path):
    """hfshim/_native is exactly what `make install` installs (man pages
    too, when it installs them), executable where it should be, and
    portable as the manylinux2014 tag says (glibc 2.17, only libc NEEDED)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    run_make(["-s", "install", f"BUILD={shim.build}", "PREFIX=", f"DESTDIR={tmp_path}/inst"], cwd=ROOT, env=env,
             check=True, capture_output=True)
    want = sorted(str(p.relative_to(tmp_path / "inst")) for p in (tmp_path / "inst").rglob("*") if p.is_file())
    native = Path(subprocess.run([str(wv.python), "-c", "import hfshim; print(hfshim.launcher())"],
                                 capture_output=True, text=True, env=wv.env()).stdout.strip()).parent.parent
    got = sorted(str(p.relative_to(native)) for p in native.rglob("*") if p.is_file())
    assert got == want and "lib/libhfshim.so" in got and "share/hfshim/rules/default.json" in got, (got, want)
    for rel in want:
        assert (native / rel).read_bytes() == (tmp_path / "inst" / rel).read_bytes(), rel
    assert os.access(native / "bin/hfshim", os.X_OK)
    r = subprocess.run(["bash", str(ROOT / "tests/portable_check.sh"), str(native / "bin/hfshim"),
                        str(native / "lib/libhfshim.so")], capture_output=True, text=True)
    assert r.returncode == 0, r
    ep = zipfile.ZipFile(wv.wheel).read(f"{wv.wheel.name.split('-py3')[0]}.dist-info/entry_points.txt").decode()
    assert "[console_scripts]\nhfshim = hfshim._cli:main" in ep and "[pytest11]\nhfshim = hfshim.pytest_plugin" in ep


def test_console_script_offline(wv, fakehub):
    p = subprocess.run([str(wv.hfshim), "run", "--offline", "--", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                        f"{fakehub.url}/api/models/acme/tiny-model"], env=wv.env({"HF_ENDPOINT": fakehub.url}),
                       capture_output=True, text=True, timeout=30)
    assert p.stdout != "200" and "blocked" in p.stderr, p
    assert fakehub.requests == []
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", f"{fakehub.url}/api/models/acme/tiny-model"],
                       env=wv.env(), capture_output=True, text=True, timeout=30)
    assert p.stdout == "200", p  # without hfshim the fake Hub answers: the check above can fail


def test_example_fixtures_and_marker(wv, fakehub, tmp_path):
    """Without session options: the per-test fixture, the marker and the
    audit records, each case in a child process under the shim."""
    p = pytest_in(wv, [EXAMPLE], tmp_path, {"HF_ENDPOINT": fakehub.url})
    assert counts(p.stdout) == {"passed": 3, "skipped": 4}, p.stdout + p.stderr
    assert "libhfshim" not in p.stdout  # not re-executed: no session options
    assert not [r for r in fakehub.requests if "/resolve/" in r.target or "/api/models/" in r.target], fakehub.requests


SESSIONS = [
    # (options, extra environment, tests that must pass)
    (["--hfshim-fault", "gated-repo:/resolve/"], {}, 2),
    (["--hfshim-fault", "invalid-credentials"], {"HF_TOKEN": STALE}, 2),
    (["--hfshim-offline"], {}, 1),
    (["--hfshim-fault", "gated-repo:/resolve/", "-n", "2"], {}, 2),
]


@pytest.mark.parametrize("opts,extra,passed", SESSIONS, ids=["gated-repo", "invalid-credentials", "offline", "xdist"])
def test_example_session(wv, fakehub, tmp_path, opts, extra, passed):
    """The session under the shim: huggingface_hub in pytest's own process."""
    p = pytest_in(wv, [*opts, EXAMPLE], tmp_path, {"HF_ENDPOINT": fakehub.url, "HFSHIM_LOG": "off", **extra})
    c = counts(p.stdout)
    assert c.get("passed") == passed and "failed" not in c and "errors" not in c, p.stdout + p.stderr
    if "--hfshim-offline" in opts or "invalid-credentials" in opts:
        assert fakehub.requests == [], fakehub.requests
    else:
        assert not [r for r in fakehub.requests if "/resolve/" in r.target], fakehub.requests


INNER = r'''
import os, subprocess, sys

def test_nested(tmp_path):
    (tmp_path / "test_in.py").write_text(
        "import os\ndef test_in():\n    print('FAULTS', repr(os.environ['HFSHIM_FAULT']))\n")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                        "--hfshim-fault", "gated-repo", str(tmp_path / "test_in.py")],
                       capture_output=True, text=True)
    print(p.stdout, p.stderr)
    assert p.returncode == 0
    assert "FAULTS 'gated-repo'" in p.stdout
'''


def test_plugin_robustness(wv, tmp_path):
    (tmp_path / "test_x.py").write_text(INNER)
    # a nested pytest with the same options runs in the session as it is (the fault once, not twice)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    p = pytest_in(wv, ["--hfshim-fault", "gated-repo", "-s", "test_x.py"], tmp_path,
                  {"HFSHIM_LOG": "off", "TMPDIR": str(tmpdir)})
    assert counts(p.stdout) == {"passed": 1}, p.stdout + p.stderr
    assert not list(tmpdir.glob("hfshim-pytest-*"))  # the session's own audit file, removed at its end
    # -p no:hfshim: the plugin is off, its options unknown
    p = pytest_in(wv, ["-p", "no:hfshim", "--hfshim-offline", "test_x.py"], tmp_path)
    assert p.returncode == 4 and "unrecognized arguments: --hfshim-offline" in p.stderr, p
    # a marker in the environment without the library loaded: an error, not a run without the shim
    p = pytest_in(wv, ["--hfshim-offline", "test_x.py"], tmp_path, {"HFSHIM_PYTEST": json.dumps(["--offline"])})
    assert p.returncode == 4 and "libhfshim.so is not loaded" in p.stderr, p
    # a wrong fault: the launcher refuses before anything runs
    p = pytest_in(wv, ["--hfshim-fault", "reset=abc", "test_x.py"], tmp_path)
    assert p.returncode == 2 and "refusing to run" in p.stderr and "passed" not in p.stdout, p
    # --help answers without re-executing
    p = pytest_in(wv, ["--hfshim-offline", "--help"], tmp_path)
    assert p.returncode == 0 and "--hfshim-fault=PRESET[@WINDOW]" in p.stdout, p
