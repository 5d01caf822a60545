"""test_portable.py: a missing library never stops hfshim from starting
(docs/portable-build.md). The library and the launcher carry cJSON and
PCRE2 inside; the launcher opens libcurl only for the Hub token check and
says so when it is not there. Each test hides the system's copy of a
library (a private mount namespace binds /dev/null over it: it cannot be
loaded) and runs the real programs. Before the portable build, the
launcher did not start without libcurl or libcjson ("error while loading
shared libraries", exit 127) and the library read no rules without
libcjson. The same in an old root: tests/test_legacy_root.py."""

import glob
import subprocess

import pytest

from conftest import PY, ROOT

HIDE = r"""
set -e
mount --make-rprivate /
for f in $HFS_HIDE; do mount --bind /dev/null "$f"; done
unset HFS_HIDE
exec "$@"
"""
GOOD = "hf_GoodGoodGoodGoodGoodGoodGood1234"


def system_lib(name):
    found = sorted(glob.glob(f"/usr/lib/*-linux-gnu/{name}")) + sorted(glob.glob(f"/lib/*-linux-gnu/{name}"))
    if not found:
        pytest.fail(f"{name} is not on this machine (it is a dependency of the -dev packages make deps installs)")
    return found[0]


def hidden(shim, tmp_path, libs, argv, env):
    script = tmp_path / "hide.sh"
    script.write_text(HIDE)
    env = dict(env, HFS_HIDE=" ".join(system_lib(n) for n in libs))
    return shim.run(["unshare", "-m", "sh", str(script), *map(str, argv)], env=env)


def test_launcher_starts_without_libcurl_or_libcjson(shim, tmp_path, fakehub):
    fakehub.valid_tokens = {GOOD}
    libs = ["libcurl.so.4", "libcjson.so.1", "libpcre2-8.so.0"]
    r = hidden(shim, tmp_path, libs, [shim.launcher, "--version"], shim.base_env())
    assert r.returncode == 0 and r.stdout.startswith("hfshim "), r
    r = hidden(shim, tmp_path, libs, [shim.launcher, "check", shim.rules_dir / "default.json"], shim.base_env())
    assert r.returncode == 0 and "OK" in r.stdout, r
    # the one command that needs libcurl says what is missing, and sends nothing
    r = hidden(shim, tmp_path, libs, [shim.launcher, "doctor", "--online"],
               shim.base_env({"HF_TOKEN": GOOD, "HF_ENDPOINT": fakehub.url}))
    assert "error while loading" not in r.stderr, r
    assert "whoami-v2: unknown: no libcurl.so.4 here: the Hub check needs libcurl" in r.stdout, r
    assert fakehub.request_count() == 0
    # with libcurl there, the same check reaches the Hub (the test can fail)
    r = shim.hfshim("doctor", "--online", env=shim.base_env({"HF_TOKEN": GOOD, "HF_ENDPOINT": fakehub.url}))
    assert "whoami-v2: valid, account tester" in r.stdout, r


def test_library_reads_rules_without_libcjson(shim, tmp_path):
    """The rules (a regex and an env.set) are in effect in a program under
    LD_PRELOAD on a machine without libcjson and libpcre2."""
    rules = shim.write_rules({"version": 1, "env": {"set": {"MARKER": "from-rules"}},
                              "rules": [{"name": "re", "match": {"path": "^/(a|b)+$"}, "action": "block"}]})
    r = hidden(shim, tmp_path, ["libcjson.so.1", "libpcre2-8.so.0"],
               [PY, "-c", "import os; print(os.environ.get('MARKER'))"],
               shim.preload_env({"HFSHIM_RULES": str(rules)}))
    assert r.returncode == 0 and r.stdout.strip() == "from-rules", r
    assert "cannot" not in r.log, r


def test_portable_check_catches_a_new_import(tmp_path):
    """tests/portable_check.sh (make check-exports) fails on an import newer
    than GLIBC_2.17 and on a NEEDED library other than the C library's."""
    src = tmp_path / "new.c"
    src.write_text("#include <dlfcn.h>\nvoid *f(void) { return dlopen(\"x\", RTLD_NOW); }\n")
    so = tmp_path / "libnew.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", so, src, "-Wl,--no-as-needed", "-lcurl"], check=True)
    r = subprocess.run(["bash", "tests/portable_check.sh", so], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 1, r
    assert "dlopen@GLIBC_2.34" in r.stdout, r.stdout
    assert "needs libcurl.so.4 at run time" in r.stdout, r.stdout
