"""test_install_symbols.py: the installed layout and the library's symbols.

`make install` gives a tree whose launcher finds the library and the
default rules relative to itself (never the current directory); the
library exports only its hooks, and a host program with its own PCRE2 and
cJSON symbols does not change what the shim's rules do.
"""

import subprocess
from pathlib import Path

from buildlock import run_make
from conftest import ROOT, hook_exports


def test_exports_only_hooks(shim):
    out = subprocess.run(["nm", "-D", "--defined-only", str(shim.lib)], capture_output=True, text=True,
                         check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    allowed = hook_exports()
    assert exported and exported <= allowed, sorted(exported - allowed)
    assert not any(s.startswith(("pcre2_", "cJSON", "hfs_")) for s in exported)
    assert {"getenv", "getaddrinfo", "connect", "execve"} <= exported


def test_host_with_own_pcre2_and_cjson(shim, tmp_path):
    """symclash exports broken pcre2_compile_8/cJSON_Parse*; the shim's rules
    (with a regex and globs) still load: no 'cannot use the rules' line, and
    the rules' env.set is in effect."""
    rules = shim.write_rules({"version": 1, "hub_hosts": ["hub-[0-9].example", "*.hf.co"],
                              "env": {"set": {"MARKER": "from-rules"}},
                              "rules": [{"name": "re", "match": {"path": "^/(a|b)+$"}, "action": "block"}]})
    r = shim.run([str(shim.progs / "symclash"), "MARKER", "HF_HUB_OFFLINE"],
                 env=shim.preload_env({"HFSHIM_RULES": str(rules)}))
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == ["MARKER=from-rules", "HF_HUB_OFFLINE=(unset)"], r
    assert "cannot use the rules" not in r.log, r


def test_make_install_layout(tmp_path):
    dest = tmp_path / "root"
    run_make(["-s", "install", f"DESTDIR={dest}", "PREFIX=/opt/hfs"], cwd=ROOT, check=True, capture_output=True)
    prefix = dest / "opt/hfs"
    assert (prefix / "bin/hfshim").is_file() and (prefix / "lib/libhfshim.so").is_file()
    assert {p.name for p in (prefix / "share/hfshim/rules").iterdir()} >= {"default.json", "offline.json"}
    # a decoy library in the current directory must not be picked up
    cwd = tmp_path / "cwd"
    (cwd / "lib").mkdir(parents=True)
    (cwd / "libhfshim.so").write_text("decoy")
    (cwd / "lib/libhfshim.so").write_text("decoy")
    r = subprocess.run([str(prefix / "bin/hfshim"), "run", "--", "/usr/bin/env"], cwd=cwd, capture_output=True,
                       text=True, env={"PATH": "/usr/bin:/bin", "HFSHIM_LOG": "off"})
    assert r.returncode == 0, r.stderr
    env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert env["LD_PRELOAD"] == str(prefix / "lib/libhfshim.so")
    assert env["HFSHIM_RULES"] == str(prefix / "share/hfshim/rules/default.json")
    assert env["HF_HUB_DISABLE_TELEMETRY"] == "1"
    # the library alone (no HFSHIM_RULES) finds the default rules next to itself
    r = subprocess.run(["/usr/bin/env"], cwd=cwd, capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": str(prefix / "lib/libhfshim.so"),
                            "HFSHIM_LOG": "stderr"})
    assert "HF_HUB_DISABLE_TELEMETRY=1" in r.stdout and "cannot use the rules" not in r.stderr, r
    # a symlink to the installed library still finds the rules of the real tree
    link = tmp_path / "elsewhere/libhfshim.so"
    link.parent.mkdir()
    link.symlink_to(prefix / "lib/libhfshim.so")
    r = subprocess.run(["/usr/bin/env"], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": str(link), "HFSHIM_LOG": "stderr"})
    assert "HF_HUB_DISABLE_TELEMETRY=1" in r.stdout and "cannot use the rules" not in r.stderr, r
    # ...and so does the library reached through a symlinked folder (the
    # name as loaded is used: the kernel reads "lib/.." where lib really is)
    dirlink = tmp_path / "linked-lib"
    dirlink.symlink_to(prefix / "lib")
    r = subprocess.run(["/usr/bin/env"], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": str(dirlink / "libhfshim.so"),
                            "HFSHIM_LOG": "stderr"})
    assert "HF_HUB_DISABLE_TELEMETRY=1" in r.stdout and "cannot use the rules" not in r.stderr, r
    run_make(["-s", "uninstall", f"DESTDIR={dest}", "PREFIX=/opt/hfs"], cwd=ROOT, check=True)
    assert not (prefix / "bin/hfshim").exists() and not (prefix / "share/hfshim").exists()
