"""test_hub_client.py: huggingface_hub itself meeting the Hub's failures,
with hfshim's pytest plugin (`pip install hfshim`), both ways:

* The whole session under the shim: the session tests below run in
  pytest's own process, calling huggingface_hub directly; each needs the
  session option it is about and is skipped without it:
      pytest --hfshim-fault gated-repo:/resolve/ test_hub_client.py
      HF_TOKEN=hf_... pytest --hfshim-fault invalid-credentials test_hub_client.py
      pytest --hfshim-offline test_hub_client.py
* Per test, for the programs a test starts: the `hfshim` fixture and the
  @pytest.mark.hfshim marker, with each run's audit records to assert
  on. They expect a session without --hfshim-* options (and are skipped
  in one): under a session's options every program inherits them, and a
  test's own faults come after the session's.

The Hub: HF_ENDPOINT when set (hfshim's own tests point it at a fake Hub
on 127.0.0.1), else https://huggingface.co — then run it inside
`unshare -n` (nothing leaves the machine): every case here is answered by
hfshim before a connection is made.
"""

import os
import sys
import time

import pytest

hf = pytest.importorskip("huggingface_hub")
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError  # noqa: E402

REPO = "acme/tiny-model"

# what a program of yours does, as a child process: one line, the outcome
CHILD = r"""
import sys
from huggingface_hub import hf_hub_download, model_info
try:
    if sys.argv[1] == "download":
        hf_hub_download("acme/tiny-model", "config.json", cache_dir=sys.argv[2])
    else:
        model_info("acme/tiny-model")
    print("ok")
except Exception as e:
    status = getattr(getattr(e, "response", None), "status_code", None)
    print(type(e).__name__, status, " | ".join(str(e).splitlines())[:300])
"""


def answered(audit, preset):
    """The audit records of requests hfshim answered with preset (the
    lookup and connect layers have records of their own)."""
    return [r for r in audit if r.get("action") == preset and r["decision"] == "respond"]


def session_faults(config):
    return config.getoption("hfshim_fault", default=None) or []


@pytest.fixture
def session_fault(request):
    """Skips a session test unless the session runs with its fault."""
    def need(preset):
        if not any(f.split(":")[0].split("@")[0] == preset for f in session_faults(request.config)):
            pytest.skip(f"a session test: run pytest with --hfshim-fault {preset}")
    return need


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    """A cache of the test's own; the endpoint and token as the session has them."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return tmp_path


# -- the whole session under the shim ---------------------------------------

def test_session_gated_repo(session_fault, hub_env, hfshim_audit):
    session_fault("gated-repo")
    with pytest.raises(GatedRepoError) as e:
        hf.hf_hub_download(REPO, "config.json", cache_dir=str(hub_env / "cache"))
    assert e.value.response.status_code in (401, 403)
    assert "Access to model acme/tiny-model is restricted" in str(e.value)
    recs = answered(hfshim_audit(), "gated-repo")
    assert recs and recs[0]["status"] in (401, 403) and recs[0]["pid"] == os.getpid(), hfshim_audit()


def test_session_invalid_credentials(session_fault, hub_env, hfshim_audit):
    session_fault("invalid-credentials")
    token = os.environ.get("HF_TOKEN")
    if not token:
        pytest.skip("run with HF_TOKEN set: the Hub answers a bad token with 401")
    with pytest.raises(HfHubHTTPError) as e:
        hf.model_info(REPO)
    assert e.value.response.status_code == 401
    assert "Invalid credentials in Authorization header" in str(e.value)
    recs = answered(hfshim_audit(), "invalid-credentials")
    assert recs and recs[0]["status"] == 401 and recs[0].get("token", {}).get("present"), hfshim_audit()
    assert token not in str(hfshim_audit())  # the audit log shows tokens masked only


def test_session_offline(request, hub_env, hfshim_audit):
    if not request.config.getoption("hfshim_offline", default=False):
        pytest.skip("a session test: run pytest with --hfshim-offline")
    t = time.monotonic()
    with pytest.raises(Exception) as e:
        hf.hf_hub_download(REPO, "config.json", cache_dir=str(hub_env / "cache"))
    assert time.monotonic() - t < 5, "offline must fail at once, not after timeouts"
    # what huggingface_hub raises when the Hub cannot be reached and the file is not cached
    assert type(e.value).__name__ == "LocalEntryNotFoundError", repr(e.value)
    assert any(r.get("rule") == "offline" and r["decision"] == "block" for r in hfshim_audit()), hfshim_audit()


def test_session_is_executed_once(request):
    """The re-executed session (and each xdist worker) carries the faults once:
    a second re-execution would have added them again."""
    faults = session_faults(request.config)
    if not faults:
        pytest.skip("a session test: run pytest with --hfshim-fault")
    assert "/libhfshim.so" in open("/proc/self/maps").read()
    assert os.environ["HFSHIM_FAULT"].splitlines() == faults


# -- per test: the programs a test starts -----------------------------------

@pytest.fixture
def plain_session(request):
    o = request.config.option
    if getattr(o, "hfshim_fault", None) or getattr(o, "hfshim_offline", False) or getattr(o, "hfshim_rules", None):
        pytest.skip("expects a session without --hfshim-* options (its programs would inherit them)")


def child(hfshim, what, tmp_path, **kw):
    return hfshim.run([sys.executable, "-c", CHILD, what, str(tmp_path / "cache")], **kw)


@pytest.mark.hfshim(fault="gated-repo:/resolve/")
def test_child_gated_repo(plain_session, hfshim, hub_env):
    r = child(hfshim, "download", hub_env, env={**os.environ, "HF_TOKEN": ""})
    assert r.returncode == 0 and r.stdout.startswith("GatedRepoError 401 "), r
    assert [a["status"] for a in answered(r.audit, "gated-repo")] == [401], r.audit


@pytest.mark.hfshim(fault="invalid-credentials")
def test_child_invalid_credentials(plain_session, hfshim, hub_env):
    stale = "hf_" + "Stale" * 6 + "1234"
    r = child(hfshim, "info", hub_env, env={**os.environ, "HF_TOKEN": stale})
    assert r.stdout.startswith("HfHubHTTPError 401 "), r
    assert "Invalid credentials in Authorization header" in r.stdout
    recs = answered(r.audit, "invalid-credentials")
    assert recs and recs[0].get("token", {}).get("present") and stale not in str(r.audit), r.audit


def test_child_offline_env(plain_session, hfshim, hfshim_audit, hub_env):
    """hfshim.env(): an environment whose programs run under the shim."""
    import subprocess

    env = hfshim.env(offline=True)
    t = time.monotonic()
    p = subprocess.run([sys.executable, "-c", CHILD, "download", str(hub_env / "cache")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert time.monotonic() - t < 10
    assert p.returncode == 0 and not p.stdout.startswith("ok"), p
    assert any(r.get("rule") == "offline" for r in hfshim_audit()), hfshim_audit()
