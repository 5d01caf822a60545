"""test_transparency.py: "do no harm" (issue 15). Each case of
tests/transp_cases.py (unusual but legal socket, TLS, asyncio, thread, fork
and signal I/O, on 127.0.0.1 only) runs once without the shim and once under
rules/default.json, whose HTTP engine watches every TCP connection but has
nothing to act on here. The two JSON transcripts (what each side received,
each call's return value, exception, errno; the exit status) must be
identical, each run must end within RUN_BOUND seconds, and the run under the
shim must not burn CPU the plain run does not (CPU time of the child and its
children, from wait4: at most 3x + 0.5 s), which catches spinning where the
plain program waits.

Cases that fail today are marked xfail(strict=True) with the issue 15 item
they show: a fix that makes one pass turns the suite red until its marker
goes. TRANSP_REPEAT=N runs the plain side N times and asserts its
transcripts equal (the cases' own determinism check).
"""

import difflib
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import PY

CASES_PY = Path(__file__).parent / "transp_cases.py"
CASES = subprocess.run([sys.executable, str(CASES_PY), "--list"], capture_output=True, text=True,
                       check=True).stdout.split()
RUN_BOUND = 8.0  # s, wall clock of one run

# cases that fail under the shim today: case -> the issue 15 item
XFAIL = {}


class Run:
    def __init__(self, rc, out, err, wall, cpu, timed_out, log):
        self.rc, self.out, self.err, self.wall, self.cpu, self.timed_out, self.log = \
            rc, out, err, wall, cpu, timed_out, log

    def transcript(self):
        try:
            return json.loads(self.out)
        except ValueError:
            return None

    def __repr__(self):
        return (f"<rc={self.rc} wall={self.wall:.2f}s cpu={self.cpu:.2f}s timed_out={self.timed_out}\n"
                f"stdout={self.out[-1500:]!r}\nstderr={self.err[-3000:]!r}\nlog={self.log[-2000:]!r}>")


def run_case(shim, case, env, tag):
    """Runs one case; wall time, and CPU time of the process and the
    children it waited for (wait4), with a kill at RUN_BOUND."""
    log = shim.tmp / f"hfshim-{case}-{tag}.log"
    env = dict(env, HFSHIM_LOG=str(log))
    start = time.monotonic()
    p = subprocess.Popen([PY, str(CASES_PY), case], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err, killed = [], [], []

    def kill():
        killed.append(True)
        p.kill()

    readers = [threading.Thread(target=lambda f=f, b=b: b.append(f.read())) for f, b in ((p.stdout, out), (p.stderr, err))]
    for t in readers:
        t.start()
    timer = threading.Timer(RUN_BOUND, kill)
    timer.start()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join(5)
    shim.check_sanitizers()
    text = log.read_text(errors="replace") if log.exists() else ""
    return Run(p.returncode, b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace"),
               wall, usage.ru_utime + usage.ru_stime, bool(killed), text)


def envs(shim, tls_ca):
    certs = {"TRANSP_CERT": str(tls_ca.cert), "TRANSP_KEY": str(tls_ca.key), "TRANSP_CA": str(tls_ca.ca_cert),
             "PYTHONHASHSEED": "0"}
    plain = shim.base_env(certs)
    under = shim.preload_env(dict(certs, HFSHIM_RULES=str(shim.rules_dir / "default.json")))
    return plain, under


def diff(a, b):
    def fmt(t):
        if not isinstance(t, dict):
            return [repr(t)]
        return [f"{side} {json.dumps(x, sort_keys=True)[:300]}" for side in sorted(t) for x in t[side]]

    return "\n".join(difflib.unified_diff(fmt(a), fmt(b), "without shim", "under shim", lineterm="", n=2))


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=XFAIL[c]))
                                  if c in XFAIL else c for c in CASES])
def test_transparent(shim, tls_ca, case):
    plain_env, shim_env = envs(shim, tls_ca)
    # both sides at once (the cases use their own ports): half the wall time
    with ThreadPoolExecutor(2) as pool:
        ref_f = pool.submit(run_case, shim, case, plain_env, "plain")
        got_f = pool.submit(run_case, shim, case, shim_env, "shim")
        ref, got = ref_f.result(), got_f.result()
    assert ref.rc == 0 and not ref.timed_out and ref.transcript() is not None, f"the case fails without the shim: {ref!r}"
    for i in range(int(os.environ.get("TRANSP_REPEAT", "1")) - 1):
        again = run_case(shim, case, plain_env, f"plain{i}")
        assert again.transcript() == ref.transcript(), f"unstable without the shim:\n{diff(ref.transcript(), again.transcript())}"
    assert not got.timed_out, f"under the shim, still running after {RUN_BOUND} s (plain: {ref.wall:.2f} s): {got!r}"
    assert got.rc == ref.rc, f"exit status {got.rc} under the shim, {ref.rc} without: {got!r}"
    if got.transcript() != ref.transcript():
        pytest.fail(f"transcripts differ:\n{diff(ref.transcript(), got.transcript())}\n"
                    f"stderr={got.err[-2000:]!r}\nlog={got.log[-1500:]!r}", pytrace=False)
    assert got.cpu <= 3 * ref.cpu + 0.5, \
        f"CPU {got.cpu:.2f} s under the shim vs {ref.cpu:.2f} s without (wall {got.wall:.2f} / {ref.wall:.2f} s)"
