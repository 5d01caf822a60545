"""test_app.py: a test suite showing how app.py behaves on a stale token
(401), a gated repo, a rate limit (429), offline and a firewall that drops
packets, without changing app.py and without any network, with hfshim's
pytest plugin (`pip install hfshim`): the `hfshim` fixture runs app.py
under `hfshim run`, @pytest.mark.hfshim gives a test its faults, and each
run's audit records (Result.audit, or the `hfshim_audit` fixture for the
whole test) are there to assert on.

Every run is inside its own network namespace (`unshare -n`, so nothing
can leave the machine); app.py talks to the real Hub name
(https://huggingface.co), and hfshim answers for the Hub (hub-stub.json,
the default rules of every test here) with the faults each test adds.

Run it with: python3 -m pytest examples/faults/test_app.py
(as root, or where unprivileged user namespaces are allowed; HFSHIM=/path/to/hfshim
to use another launcher than the package's).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STUB = HERE / "hub-stub.json"
APP = HERE / "app.py"
STALE = "hf_" + "x" * 34  # token-shaped

pytestmark = pytest.mark.hfshim(rules=STUB)  # every test: hfshim answers for the Hub


def netns_prefix():
    """`unshare -n` with loopback up (hfshim's hang faults use 127.0.0.1)."""
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not allowed here")
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh"]


def run_app(hfshim, env=None, **opts):
    """app.py under the shim (hfshim.run), in a network namespace: (Result, seconds)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSHIM_")) and k != "LD_PRELOAD"}
    e.update(env or {})
    t = time.monotonic()
    r = hfshim.run([*netns_prefix(), sys.executable, str(APP)], env=e, timeout=60, **opts)
    return r, time.monotonic() - t


def test_works_when_the_hub_answers(hfshim):
    r, _ = run_app(hfshim)
    assert r.returncode == 0 and r.stdout.startswith("ok acme/tiny-model@0123456789"), r


@pytest.mark.hfshim(fault="invalid-credentials:/api/")
def test_stale_token_401(hfshim):
    """A token the Hub rejects: the app says so and exits 3 (it does not crash or hang)."""
    r, secs = run_app(hfshim, env={"HF_TOKEN": STALE})
    assert r.returncode == 3, r
    assert "the Hub rejected the token in HF_TOKEN (Invalid credentials in Authorization header)" in r.stderr
    assert STALE not in r.stderr  # hfshim's log shows tokens masked only
    assert secs < 10


@pytest.mark.hfshim(fault="gated-repo:/resolve/")
def test_gated_repo(hfshim):
    r, _ = run_app(hfshim)
    assert r.returncode == 4 and "GatedRepo: Access to model acme/tiny-model is restricted." in r.stderr, r


@pytest.mark.hfshim(fault="rate-limited:/api/@first=2")
def test_rate_limited_then_ok(hfshim):
    """Two 429s with Retry-After: 1, then the real answer: the app waits and succeeds."""
    r, secs = run_app(hfshim)
    assert r.returncode == 0 and r.stderr.count("rate-limited, retrying in 1 s") == 2, r
    assert 2 <= secs < 15
    api = [a for a in r.audit if a.get("url", "").endswith("/api/models/acme/tiny-model")]
    assert [a["status"] for a in api] == [429, 429, 200], api
    assert [a["action"] for a in api] == ["rate-limited", "rate-limited", "respond"]


@pytest.mark.hfshim(fault="rate-limited:/api/")
def test_rate_limited_for_good(hfshim):
    r, _ = run_app(hfshim)
    assert r.returncode == 5 and "still rate-limited" in r.stderr, r


def test_offline_fails_fast(hfshim):
    """Offline (no rules answer the Hub): the app gets hfshim's 403 at once, not a hang."""
    r, secs = run_app(hfshim, offline=True, rules=None)
    assert r.returncode == 6 and "the Hub is not reachable here (hfshim: blocked by rule offline" in r.stderr, r
    assert secs < 10


@pytest.mark.hfshim(fault="firewall-hang")
def test_firewall_hang_hits_the_apps_timeout(hfshim):
    """A firewall that drops packets: the app's own 2 s timeout ends it, in about 2 s."""
    r, secs = run_app(hfshim, env={"APP_TIMEOUT": "2"})
    assert r.returncode == 6 and "ConnectTimeout" in r.stderr, r
    assert 1.9 <= secs < 8


def test_audit_of_the_whole_test(hfshim, hfshim_audit):
    """hfshim_audit(): every record of the test's runs, in order: here a
    healthy run, then one where the Hub is out (503)."""
    ok, _ = run_app(hfshim)
    out, _ = run_app(hfshim, fault="hub-outage")
    assert ok.returncode == 0 and out.returncode == 7, (ok, out)
    http = [(a["action"], a["status"]) for a in hfshim_audit() if a["decision"] == "respond"]
    assert http == [("respond", 200), ("respond", 200), ("hub-outage", 503)], hfshim_audit()
