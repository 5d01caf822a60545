"""test_env_children.py: the environment the program sees, and children.

Offline variables and the rules' env.set/env.unset must reach Python's
os.environ (copied from environ at start) and C getenv/secure_getenv, and
keep their enforced values after the program overwrote them. Children stay
under the shim even when exec'd with an empty environment, unless the
rules say `"children": false`.
"""

import json

import pytest

from conftest import PY

OFFLINE_VARS = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
                "HF_HUB_DISABLE_XET"]


def test_python_sees_offline_vars(shim):
    """--offline=variables: the libraries are told too (all set to 1, over
    the user's own 0/false)."""
    code = "import os, json; print(json.dumps({k: os.environ.get(k) for k in %r}))" % OFFLINE_VARS
    env = shim.base_env({"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "false"})  # user set them off
    r = shim.hfshim("run", "--offline=variables", "--", PY, "-c", code, env=env)
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == {k: "1" for k in OFFLINE_VARS}
    r = shim.run([PY, "-c", code], env=shim.preload_env({"HFSHIM_OFFLINE": "variables", "HF_HUB_OFFLINE": "0"}))
    assert json.loads(r.stdout) == {k: "1" for k in OFFLINE_VARS}, r


def test_offline_takes_over_users_offline_switches(shim):
    """--offline (hfshim answers): the libraries are left online-looking so
    model_info() reaches hfshim's cache answers; a switch the user turned
    on is turned off, the others stay as they were (unset here); the
    telemetry/Xet switches are still set."""
    code = "import os, json; print(json.dumps({k: os.environ.get(k) for k in %r}))" % OFFLINE_VARS
    env = shim.base_env({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "YES"})
    r = shim.hfshim("run", "--offline", "--", PY, "-c", code, env=env)
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == {"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": None, "HF_DATASETS_OFFLINE": "0",
                                    "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1"}, r
    r = shim.hfshim("run", "--offline", "--", PY, "-c", code)
    assert json.loads(r.stdout) == {"HF_HUB_OFFLINE": None, "TRANSFORMERS_OFFLINE": None, "HF_DATASETS_OFFLINE": None,
                                    "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1"}, r


def test_c_getenv_after_overwrite(shim):
    """getenv and secure_getenv keep answering the enforced value after the
    program's own setenv("0")/unsetenv; other variables behave normally."""
    env = shim.base_env({"MY_OWN": "x"})
    r = shim.hfshim("run", "--offline=variables", "--", shim.progs / "getenv_probe", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_XET",
                    "MY_OWN", "TRANSFORMERS_OFFLINE", env=env)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[:4] == ["before HF_HUB_OFFLINE=1", "before HF_HUB_DISABLE_XET=1", "before MY_OWN=x",
                         "before TRANSFORMERS_OFFLINE=1"], r
    assert lines[4:] == ["after HF_HUB_OFFLINE=1 secure=1",        # setenv(…, "0") overridden
                         "after HF_HUB_DISABLE_XET=1 secure=1",    # unsetenv overridden
                         "after MY_OWN=0 secure=0",                # not ours: the program's change stands
                         "after TRANSFORMERS_OFFLINE=1 secure=1"], r


def test_rules_env_set_and_unset(shim):
    rules = shim.write_rules({"version": 1, "env": {"set": {"HF_HUB_DISABLE_TELEMETRY": "1", "MY_FLAG": "on"},
                                                    "unset": ["HUGGING_FACE_HUB_TOKEN", "HF_TOKEN"]}})
    env = shim.base_env({"HUGGING_FACE_HUB_TOKEN": "hf_stale", "HF_TOKEN": "hf_other", "MY_FLAG": "off"})
    code = ("import os; print(os.environ.get('MY_FLAG'), os.environ.get('HUGGING_FACE_HUB_TOKEN'),"
            " os.environ.get('HF_TOKEN'), os.environ.get('HF_HUB_DISABLE_TELEMETRY'))")
    r = shim.hfshim("run", "--rules", rules, "--", PY, "-c", code, env=env)
    assert r.stdout.split() == ["on", "None", "None", "1"], r
    # the same through LD_PRELOAD alone (the constructor applies it to environ)
    r = shim.run([PY, "-c", code], env=shim.preload_env({"HFSHIM_RULES": str(rules), "MY_FLAG": "off",
                                                          "HF_TOKEN": "hf_other"}))
    assert r.stdout.split() == ["on", "None", "None", "1"], r
    r = shim.run([shim.progs / "getenv_probe", "HF_TOKEN"], env=shim.preload_env({"HFSHIM_RULES": str(rules),
                                                                                    "HF_TOKEN": "hf_x"}))
    assert r.stdout.splitlines()[0] == "before HF_TOKEN=(unset)", r


@pytest.mark.parametrize("mode", ["execve", "execle", "execvp", "posix_spawn", "fork-execv"])
def test_child_with_empty_env_still_shimmed(shim, hanging_hub, mode):
    """exec_clean runs its child with an EMPTY environment; the child still
    has the shim and its rules (it is refused and logs)."""
    env = shim.base_env({"HF_ENDPOINT": hanging_hub.url})
    child = [str(shim.progs / "net_probe"), "connect", "192.0.2.1", "9"]  # TEST-NET-1: never reached
    r = shim.hfshim("run", "--offline", "--", shim.progs / "exec_clean", mode, *child, env=env, timeout=10)
    assert "connect: rc=-1 errno=ECONNREFUSED" in r.stdout, r
    assert "net_probe: blocked connect 192.0.2.1:9 (rule offline" in r.log, r
    assert hanging_hub.connection_count() == 0


def test_child_env_shows_preload(shim):
    """The child of a clean exec gets LD_PRELOAD (ours, once) and HFSHIM_*."""
    r = shim.hfshim("run", "--offline=variables", "--", shim.progs / "exec_clean", "execve", "/usr/bin/env")
    env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert str(shim.lib) in env.get("LD_PRELOAD", ""), r
    assert env["LD_PRELOAD"].split(":").count(str(shim.lib)) == 1
    assert env.get("HFSHIM_OFFLINE") == "variables", r
    assert env.get("HF_HUB_OFFLINE") == "1", r


@pytest.mark.parametrize("how", ["execve", "posix_spawn", "subprocess"])
def test_child_with_a_large_environment(shim, how):
    """An environment of more variables than the exec hooks hold on their
    stack (exechooks.c ENV_ON_STACK) and without LD_PRELOAD: the child
    still gets this library and every variable (subprocess: a vfork
    child's execve on Python's side)."""
    child = ("import os; print(os.environ.get('LD_PRELOAD', ''));"
             " print(sum(k.startswith('BIG_') for k in os.environ), os.environ.get('BIG_1999'))")
    code = ("import os, subprocess, sys\n"
            "env = {'PATH': '/usr/bin:/bin'}\n"
            "env.update({'BIG_%%d' %% i: 'v%%d' %% i for i in range(2000)})\n"
            "argv = [sys.executable, '-c', %r]\n"
            "how = %r\n"
            "if how == 'execve':\n"
            "    sys.stdout.flush(); os.execve(argv[0], argv, env)\n"
            "elif how == 'posix_spawn':\n"
            "    os.waitpid(os.posix_spawn(argv[0], argv, env), 0)\n"
            "else:\n"
            "    subprocess.run(argv, env=env, check=True)\n") % (child, how)
    r = shim.hfshim("run", "--offline=variables", "--", PY, "-c", code, timeout=20)
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and str(shim.lib) in lines[0].split(":"), r
    assert lines[1] == "2000 v1999", r


def test_children_false(shim, hanging_hub):
    """`"children": false`: a child exec'd with a clean environment is not
    put back under the shim (its own environment is respected)."""
    rules = shim.write_rules({"version": 1, "offline": True, "children": False})
    env = shim.base_env({"HF_ENDPOINT": hanging_hub.url})
    r = shim.hfshim("run", "--rules", rules, "--", shim.progs / "exec_clean", "execve", "/usr/bin/env", env=env)
    assert "LD_PRELOAD=" not in r.stdout.replace(f"LD_PRELOAD={shim.asan}\n", ""), r
    assert "HFSHIM_" not in r.stdout, r


def test_nested_run_no_duplicate(shim):
    """hfshim run inside hfshim run: the library is in LD_PRELOAD once, and
    whatever the user preloaded is kept."""
    env = shim.base_env()
    env["LD_PRELOAD"] = ((shim.asan + ":") if shim.asan else "") + "libpthread.so.0"
    r = shim.hfshim("run", "--", shim.launcher, "run", "--", "/usr/bin/env", env=env)
    pre = [line for line in r.stdout.splitlines() if line.startswith("LD_PRELOAD=")]
    assert len(pre) == 1, r
    parts = pre[0][len("LD_PRELOAD="):].split(":")
    assert parts.count(str(shim.lib)) == 1 and "libpthread.so.0" in parts, parts
    if shim.asan:
        assert parts[0] == shim.asan  # sanitizer runtimes stay first
        assert parts[1] == str(shim.lib)
    else:
        assert parts[0] == str(shim.lib)
