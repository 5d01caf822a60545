"""test_examples_faults.py: the fault examples (examples/faults) run as
documented, each case in its own network namespace: their pytest suite
(test_app.py) with the hfshim pytest plugin as `pip install` gives it
(this build's wheel in a fresh venv, tests/wheelvenv.py), and their CI
script with this build's launcher. test_hub_client.py, the plugin's
session options with huggingface_hub, runs in tests/test_wheel.py."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples/faults"
PY = "/usr/bin/python3"


@pytest.fixture
def env(shim, netns):
    if shim.kind != "plain":
        pytest.skip("the examples run with the normal build (the sanitizer build runs tests/test_faults.py)")
    e = shim.base_env({"HFSHIM": str(shim.launcher), "PYTHON": PY})
    e.pop("HFSHIM_LOG", None)
    return e


def test_example_pytest_suite(env, wheel_venv, tmp_path):
    e = wheel_venv.env({"HOME": env["HOME"]})  # the package's launcher, not $HFSHIM
    p = subprocess.run([str(wheel_venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EX / "test_app.py")],
                       env=e, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0 and " passed" in p.stdout and "failed" not in p.stdout, p.stdout + p.stderr
    assert "8 passed" in p.stdout, p.stdout


def test_example_ci_script(env):
    p = subprocess.run(["bash", str(EX / "ci.sh")], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().splitlines()[-1] == "9 passed, 0 failed", p.stdout
