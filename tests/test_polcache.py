"""test_polcache.py: the compiled policy (rules/README.md §9.3) on real
programs. A process that loaded the rules writes their top level; the next
ones map it instead of parsing the JSON at start, set the same variables,
and decide with the rules once a hook first needs them; an edited rules
file is seen by the very next process; rules broken after a process
started make its first deciding hook report them once and enforce the safe
default, as at start."""

import json
import os
import time
from pathlib import Path

from conftest import PY

PROBE = r"""
import os, sys, urllib.request, urllib.error
maps = open("/proc/self/maps").read()
print("mapped" if "/.cache/hfshim/policy-" in maps else "parsed")
print(os.environ.get("HFS_POLCACHE_VAR"))
sys.stdout.flush()
if len(sys.argv) > 2:  # the rules change under the running process
    open(sys.argv[2], "w").write(sys.argv[3])
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(type(e).__name__)
"""


def rules_text(hub, value):
    return json.dumps({"version": 1, "env": {"set": {"HFS_POLCACHE_VAR": value}},
                       "rules": [{"name": "no-fake-hub", "match": {"host": f"127.0.0.1:{hub.port}"},
                                  "action": "block", "form": "http", "status": 418}]})


def run_probe(shim, rules, hub, *extra):
    env = shim.preload_env({"HFSHIM_RULES": str(rules)})
    r = shim.run([PY, "-c", PROBE, hub.url + "/api/models/x/y", *map(str, extra)], env=env)
    assert r.returncode == 0, r
    return r, r.stdout.split()


def cache_files(shim):
    d = Path(shim.base_env()["HOME"]) / ".cache/hfshim"
    return sorted(d.glob("policy-*")) if d.exists() else []


def settle():
    time.sleep(2.2)  # older than the compiled policy's 2 s freshness window


def test_written_then_mapped_and_decides(shim, fakehub):
    rules = shim.tmp / "rules.json"
    rules.write_text(rules_text(fakehub, "one"))
    settle()
    r, out = run_probe(shim, rules, fakehub)
    assert out == ["parsed", "one", "418"], r
    files = cache_files(shim)
    assert len(files) == 1, files
    assert files[0].stat().st_mode & 0o777 == 0o600
    # the next process maps it, sets the same variable, and its first
    # request is decided by the rules, loaded then
    r, out = run_probe(shim, rules, fakehub)
    assert out == ["mapped", "one", "418"], r
    assert "blocked GET http://127.0.0.1" in r.log and "no-fake-hub" in r.log, r
    assert "cannot use the rules" not in r.log, r
    # an edit is seen by the very next process (parsed: too fresh to keep)
    rules.write_text(rules_text(fakehub, "two"))
    r, out = run_probe(shim, rules, fakehub)
    assert out == ["parsed", "two", "418"], r


def test_damaged_cache_is_not_used(shim, fakehub):
    rules = shim.tmp / "rules.json"
    rules.write_text(rules_text(fakehub, "one"))
    settle()
    run_probe(shim, rules, fakehub)
    (f,) = cache_files(shim)
    data = bytearray(f.read_bytes())
    data[-2] ^= 0x01  # a byte of the last value: the checksum no longer matches
    f.write_bytes(bytes(data))
    os.chmod(f, 0o600)
    r, out = run_probe(shim, rules, fakehub)
    assert out == ["parsed", "one", "418"], r


def test_rules_broken_after_start_fail_safe_at_first_decision(shim, fakehub):
    rules = shim.tmp / "rules.json"
    rules.write_text(rules_text(fakehub, "one"))
    settle()
    run_probe(shim, rules, fakehub)
    # started with the compiled policy; the rules file breaks before the
    # first request: one log line, the safe default (offline, loopback only:
    # the fake Hub on 127.0.0.1 is reachable, the block rule is gone)
    r, out = run_probe(shim, rules, fakehub, rules, '{"version": 1, "rules": [')
    assert out[:2] == ["mapped", "one"], r
    assert out[2] != "418", r  # the block rule is gone
    assert r.log.count("cannot use the rules") == 1, r
    assert "enforcing the safe default" in r.log, r
