"""test_app.py: a test suite showing how app.py behaves on a stale token
(401), a rate limit (429) and offline, without changing app.py and without
any network: every run is inside its own network namespace (`unshare -n`,
so nothing can leave the machine), app.py talks to the real Hub name
(https://huggingface.co), and hfshim answers for the Hub (hub-stub.json)
with the faults each test adds by `hfshim run --fault`.

Run it with: HFSHIM=/path/to/hfshim python3 -m pytest examples/faults/test_app.py
(as root, or where unprivileged user namespaces are allowed).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
HFSHIM = os.environ.get("HFSHIM") or shutil.which("hfshim") or "hfshim"
STUB = HERE / "hub-stub.json"
APP = HERE / "app.py"
STALE = "hf_" + "x" * 34  # token-shaped


def netns_prefix():
    """`unshare -n` with loopback up (hfshim's hang faults use 127.0.0.1)."""
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not allowed here")
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh"]


def run_app(*hfshim_opts, rules=STUB, env=None, audit=None, timeout=60):
    """app.py under `hfshim run`, in a network namespace: (process, seconds)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSHIM_")) and k != "LD_PRELOAD"}
    e.update(env or {})
    opts = list(hfshim_opts) + (["--rules", str(rules)] if rules else []) + (["--audit", str(audit)] if audit else [])
    cmd = [*netns_prefix(), HFSHIM, "run", *opts, "--", sys.executable, str(APP)]
    t = time.monotonic()
    p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - t


def test_works_when_the_hub_answers():
    p, _ = run_app()
    assert p.returncode == 0 and p.stdout.startswith("ok acme/tiny-model@0123456789"), p


def test_stale_token_401():
    """A token the Hub rejects: the app says so and exits 3 (it does not crash or hang)."""
    p, secs = run_app("--fault", "invalid-credentials:/api/", env={"HF_TOKEN": STALE})
    assert p.returncode == 3, p
    assert "the Hub rejected the token in HF_TOKEN (Invalid credentials in Authorization header)" in p.stderr
    assert STALE not in p.stderr  # hfshim's log shows tokens masked only
    assert secs < 10


def test_gated_repo():
    p, _ = run_app("--fault", "gated-repo:/resolve/")
    assert p.returncode == 4 and "GatedRepo: Access to model acme/tiny-model is restricted." in p.stderr, p


def test_rate_limited_then_ok(tmp_path):
    """Two 429s with Retry-After: 1, then the real answer: the app waits and succeeds."""
    audit = tmp_path / "audit.jsonl"
    p, secs = run_app("--fault", "rate-limited:/api/@first=2", audit=audit)
    assert p.returncode == 0 and p.stderr.count("rate-limited, retrying in 1 s") == 2, p
    assert 2 <= secs < 15
    recs = [json.loads(line) for line in audit.read_text().splitlines()]
    api = [r for r in recs if r.get("url", "").endswith("/api/models/acme/tiny-model")]
    assert [r["status"] for r in api] == [429, 429, 200], api
    assert [r["action"] for r in api] == ["rate-limited", "rate-limited", "respond"]


def test_rate_limited_for_good():
    p, _ = run_app("--fault", "rate-limited:/api/")
    assert p.returncode == 5 and "still rate-limited" in p.stderr, p


def test_offline_fails_fast():
    """Offline (no rules answer the Hub): the app gets hfshim's 403 at once, not a hang."""
    p, secs = run_app("--offline", rules=None)
    assert p.returncode == 6 and "the Hub is not reachable here (hfshim: blocked by rule offline" in p.stderr, p
    assert secs < 10


def test_firewall_hang_hits_the_apps_timeout():
    """A firewall that drops packets: the app's own 2 s timeout ends it, in about 2 s."""
    p, secs = run_app("--fault", "firewall-hang", env={"APP_TIMEOUT": "2"})
    assert p.returncode == 6 and "ConnectTimeout" in p.stderr, p
    assert 1.9 <= secs < 8
