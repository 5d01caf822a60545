"""test_nonregular_files.py: a FIFO where hfshim expects a file.

Every file whose path comes from outside (the Hub cache's refs, the rules
file, an `include`, a `body_file`) is opened O_NONBLOCK and fstat()ed
(shim/core/readfile.c): a FIFO is refused at once with the path and "is a
FIFO", never waited on. Before, a FIFO at refs/main hung every metadata
call for the repo (inside the hooked write, so the client's own timeout
never fired) and `hfshim cache`; a FIFO as the rules file, an include or
a body_file hung `hfshim check`, `hfshim run` and the constructor of every
process that loads the library. Every run has a timeout, so a regression
fails instead of hanging; the programs' output is compared with a run
without the shim where one exists.
"""

import json
import os

import pytest

from cachebuild import CachedRepo
from conftest import PY
from fakehub import HUB_REPO, HUB_SHA

FAST = 5.0  # seconds: far below the 20 s every run is given (a hang is a timeout)

INFO = r"""
import json, sys, time
import requests
t0 = time.monotonic()
r = requests.get(sys.argv[1] + "/api/models/%s", timeout=10)
print(json.dumps({"status": r.status_code, "id": r.json().get("id"), "sha": r.json().get("sha"),
                  "secs": time.monotonic() - t0}))
""" % HUB_REPO


@pytest.fixture
def fifo_cache(tmp_path):
    """A cache of the fake Hub's repo whose refs/main is a FIFO nobody writes."""
    root = tmp_path / "hub-cache"
    repo = CachedRepo(root, HUB_REPO, HUB_SHA, files={"config.json": b'{"model_type": "bert"}\n'})
    ref = repo.dir / "refs" / "main"
    ref.unlink()
    os.mkfifo(ref)
    return repo


def test_cache_ref_fifo_is_a_miss(shim, fakehub, fifo_cache):
    """cache-first: the FIFO ref is a miss, so the call goes to the Hub and
    gets what it gets without the shim, at once, with one log line."""
    env = shim.base_env({"HF_HUB_CACHE": str(fifo_cache.root), "HF_ENDPOINT": fakehub.url})
    plain = shim.run([PY, "-c", INFO, fakehub.url], env=env)
    assert plain.returncode == 0, plain
    r = shim.hfshim("run", "--rules", shim.rules_dir / "cache-first.json", "--", PY, "-c", INFO, fakehub.url,
                    env=env)
    assert not r.timed_out and r.returncode == 0, r
    got, want = json.loads(r.stdout), json.loads(plain.stdout)
    assert (got["status"], got["id"], got["sha"]) == (want["status"], want["id"], want["sha"]) == \
        (200, HUB_REPO, HUB_SHA), (r, plain)
    assert r.elapsed < FAST, r
    lines = [line for line in r.log.splitlines() if "Hub cache:" in line]
    assert len(lines) == 1 and "its refs file is a FIFO, not a regular file" in lines[0], r
    assert fakehub.request_count() == 2  # the plain run's and the miss's


def test_cache_ref_fifo_offline_answers_at_once(shim, fifo_cache):
    """Offline, with the Hub down: requests gets the offline 403 at once."""
    url = "http://127.0.0.1:9"
    env = shim.base_env({"HF_HUB_CACHE": str(fifo_cache.root), "HF_ENDPOINT": url})
    code = ("import sys, requests\nr = requests.get(sys.argv[1] + '/api/models/%s', timeout=10)\n"
            "print(r.status_code, r.headers.get('X-Error-Message'))\n" % HUB_REPO)
    r = shim.hfshim("run", "--offline", "--", PY, "-c", code, url, env=env)
    assert not r.timed_out and r.returncode == 0, r
    assert r.stdout.startswith("403 hfshim: blocked by rule offline"), r
    assert r.elapsed < FAST, r
    assert sum("its refs file is a FIFO" in line for line in r.log.splitlines()) == 1, r


def test_hfshim_cache_with_fifo_ref(shim, fifo_cache):
    env = shim.base_env({"HF_HUB_CACHE": str(fifo_cache.root)})
    r = shim.hfshim("cache", env=env)
    assert not r.timed_out and r.returncode == 0, r
    assert r.elapsed < FAST, r
    ref = fifo_cache.dir / "refs" / "main"
    assert f"hfshim cache: model {HUB_REPO}: not cached ({ref} is a FIFO, not a regular file)" in r.stderr, r
    # the snapshot is still listed by its commit; nothing under "main"
    rows = [line.split() for line in r.stdout.splitlines()]
    assert ["model", HUB_REPO, "(commit)", HUB_SHA, "1", str(fifo_cache.dir)] in rows, r
    assert not any(row[:3] == ["model", HUB_REPO, "main"] for row in rows), r


def _rules_with_fifo(shim, tmp_path, where):
    """(rules file to name, the FIFO) for a FIFO as the file, an include or a body_file."""
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    if where == "rules":
        return fifo, fifo
    if where == "include":
        return shim.write_rules({"version": 1, "include": ["fifo.json"]}), fifo
    return shim.write_rules({"version": 1, "rules": [{"name": "r", "match": {"host": "x.example"},
                                                      "action": "respond", "body_file": "fifo.json"}]}), fifo


@pytest.mark.parametrize("where", ["rules", "include", "body_file"])
def test_check_and_run_refuse_a_fifo(shim, tmp_path, where):
    rules, fifo = _rules_with_fifo(shim, tmp_path, where)
    r = shim.hfshim("check", rules)
    assert not r.timed_out and r.returncode == 2, r
    assert r.elapsed < FAST, r
    said = f"{fifo}: is a FIFO, not a regular file" if where == "rules" else \
        f"cannot read {fifo}: is a FIFO, not a regular file"
    assert said in r.stderr, r
    marker = tmp_path / "ran"
    r = shim.hfshim("run", "--rules", rules, "--", "touch", marker)
    assert not r.timed_out and r.returncode == 2, r
    assert r.elapsed < FAST, r
    assert said in r.stderr and "refusing to run touch" in r.stderr, r
    assert not marker.exists()


@pytest.mark.parametrize("where", ["rules", "include", "body_file"])
def test_preloaded_library_with_fifo_rules_starts_safe(shim, tmp_path, where):
    """LD_PRELOAD + HFSHIM_RULES naming a FIFO (or a file including one):
    the program starts at once under the safe default, one log line, and
    prints what it prints without the shim."""
    rules, fifo = _rules_with_fifo(shim, tmp_path, where)
    code = "import sys\nprint('hello', sys.argv[1])\n"
    plain = shim.run([PY, "-c", code, "x"], env=shim.base_env())
    r = shim.run([PY, "-c", code, "x"], env=shim.preload_env({"HFSHIM_RULES": str(rules)}))
    assert not r.timed_out and r.returncode == plain.returncode == 0, r
    assert r.stdout == plain.stdout == "hello x\n", (r, plain)
    assert r.elapsed < FAST, r
    errors = [line for line in r.log.splitlines() if "cannot use the rules" in line]
    assert len(errors) == 1, r
    assert "is a FIFO, not a regular file" in errors[0] and str(fifo) in errors[0], r
    assert "enforcing the safe default" in errors[0], r


def test_set_header_from_file_fifo_leaves_the_request_alone(shim, fakehub, tmp_path):
    """set-header from_file naming a FIFO (read for each request): the
    request goes out unchanged, at once, as it does without the shim, and
    the log says why the header was left out."""
    fifo = tmp_path / "value"
    os.mkfifo(fifo)
    rules = shim.write_rules({"version": 1, "rules": [{"name": "tag", "match": {}, "action": "set-header",
                                                       "header": "X-Tag", "from_file": str(fifo)}]})
    code = ("import sys, requests\nr = requests.get(sys.argv[1] + '/headers', timeout=10)\n"
            "print(r.status_code, sorted(n.lower() for n, v in r.json()))\n")
    plain = shim.run([PY, "-c", code, fakehub.url], env=shim.base_env())
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, fakehub.url, env=shim.base_env())
    assert not r.timed_out and r.returncode == plain.returncode == 0, r
    assert r.stdout == plain.stdout and "x-tag" not in r.stdout, (r, plain)
    assert r.elapsed < FAST, r
    assert "set-header X-Tag for GET" in r.log and "left out: the file cannot be read" in r.log, r
