"""wheelvenv.py: the wheel (`make wheel`) installed into a fresh venv, once
per session, for tests/test_wheel.py and tests/test_examples_faults.py.

`python3 -m venv --system-site-packages` (Debian's pytest and
pytest-xdist), the wheel installed into it with pip from the file (no
index). huggingface_hub 1.x is tests/.venv's (tests/requirements-
hub.txt, pinned, installed by `make deps`): a .pth file puts its
site-packages after the venv's own, so the real client runs without
fetching anything here."""

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from buildlock import build_lock

ROOT = Path(__file__).resolve().parent.parent
HUB_VENV = ROOT / "tests/.venv"


class WheelVenv:
    def __init__(self, wheel, venv, seconds):
        self.wheel, self.venv, self.seconds = Path(wheel), Path(venv), seconds
        self.python = self.venv / "bin/python"
        self.hfshim = self.venv / "bin/hfshim"

    def env(self, extra=None):
        """A clean environment: no HF_/HFSHIM_ variables, no preload, no proxy."""
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("HF_", "HFSHIM", "HUGGING", "PYTEST_", "MAKE")) and "proxy" not in k.lower()
             and k not in ("LD_PRELOAD", "PYTHONPATH", "MFLAGS")}
        e["NO_PROXY"] = "*"
        e["PATH"] = f"{self.venv}/bin:{e.get('PATH', '/usr/bin:/bin')}"
        e.update(extra or {})
        return e


def make_wheel_venv(tmp):
    build = ROOT / os.environ.get("HFSHIM_BUILD", "build")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    start = time.monotonic()
    with build_lock():  # another worker may rebuild build/wheel: ours is copied out first
        p = subprocess.run(["make", "-s", "wheel", f"BUILD={build}"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
        if p.returncode != 0:
            pytest.fail(f"make wheel failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        wheels = glob.glob(str(build / "wheel/*.whl"))
        assert len(wheels) == 1, wheels
        wheels = [shutil.copy(wheels[0], Path(tmp))]
    venv = Path(tmp) / "venv"
    # without a pip of its own (ensurepip takes most of the time): Debian's
    # pip installs into it (pip --python), as the venv's own would
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    p = subprocess.run(["/usr/bin/python3", "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q",
                        "--no-index", "--no-deps", "--disable-pip-version-check", wheels[0]], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"pip install of the wheel failed:\n{p.stderr[-3000:]}")
    hub_sp = glob.glob(str(HUB_VENV / "lib/python3*/site-packages"))
    if hub_sp:
        (Path(glob.glob(str(venv / "lib/python3*/site-packages"))[0]) / "zz-hfshim-tests-hub.pth").write_text(
            hub_sp[0] + "\n")
    return WheelVenv(wheels[0], venv, time.monotonic() - start)


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory):
    return make_wheel_venv(tmp_path_factory.mktemp("wheel"))
