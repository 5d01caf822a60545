"""test_launcher.py: `hfshim run/check/explain`, bad rules, logging.

The launcher refuses bad rules with file:line:col (exit 2) before anything
runs; the library meeting bad rules keeps the program running in the safe
default (offline, loopback only) and says so in one line. `run` execs in
place: pid, exit status and signals are the program's own.
"""

import json
import os
import shutil
import signal
import stat

from conftest import PY

BAD_REGEX = '{\n  "version": 1,\n  "rules": [\n    {"match": {"path": "^/a(b"}, "action": "block"}\n  ]\n}\n'
BAD_MSG = "rules[0].match.path: invalid regex: missing closing parenthesis at offset 5"


def test_run_refuses_bad_rules(shim, tmp_path):
    rules = shim.write_rules(BAD_REGEX, "bad.json")
    marker = tmp_path / "ran"
    r = shim.hfshim("run", "--rules", rules, "--", "touch", marker)
    assert r.returncode == 2, r
    assert f"{rules}:4:24: {BAD_MSG}" in r.stderr, r
    assert "refusing to run touch" in r.stderr, r
    assert not marker.exists()


def test_check_reports_every_file(shim):
    bad = shim.write_rules(BAD_REGEX, "bad.json")
    r = shim.hfshim("check", bad, shim.rules_dir / "offline.json")
    assert r.returncode == 2, r
    assert f"{bad}:4:24: {BAD_MSG}" in r.stderr
    assert f"{shim.rules_dir / 'offline.json'}: OK (1 rule)" in r.stdout
    assert "offline: yes" in r.stdout and "HF_HUB_OFFLINE" not in r.stdout, r
    assert "hub-cache: answer from the local cache (2 extra folders; a miss is blocked) for Hub hosts" in r.stdout, r


def test_check_summary_and_warnings(shim):
    rules = shim.write_rules({"version": 1, "hub_hosts": ["huggingface.co", "*.hf.co"], "colour": "blue",
                              "rules": [{"name": "no-metrics", "match": {"host": "*.example.com", "method": "POST",
                                                                         "path": "^/metrics"}, "action": "block"},
                                        {"name": "rest", "match": {}, "action": "allow"},
                                        {"name": "never", "match": {"host": "x.org"}, "action": "block"}]})
    r = shim.hfshim("check", rules)
    assert r.returncode == 0, r
    assert f"{rules}: OK (3 rules, with warnings above)" in r.stdout, r
    assert "no-metrics" in r.stdout and "rest" in r.stdout, r
    assert "warning: colour: unknown key" in r.stderr, r
    assert "rules[2]: this rule can never match: rules[1] (\"rest\") before it matches every request" in r.stderr, r


def test_check_says_what_each_action_does(shim):
    """check's words come from the table of actions: the faults and the
    presets had none and read "allow" / "respond 429 (0-byte body)"."""
    hosts = {"th": "@hub", "rf": "c.example", "df": "d.example", "hg": "a.example", "hc": "b.example",
             "p1": "e.example", "p2": "f.example"}
    rules = [{"name": "th", "action": "throttle", "bytes_per_second": 100},
             {"name": "rf", "action": "refuse"}, {"name": "df", "action": "dns-fail"},
             {"name": "hg", "action": "hang"}, {"name": "hc", "action": "hang", "stage": "connect"},
             {"name": "p1", "preset": "rate-limited"}, {"name": "p2", "preset": "firewall-hang"}]
    for rule in rules:
        rule["match"] = {"host": hosts[rule["name"]]}
    r = shim.hfshim("check", shim.write_rules({"version": 1, "rules": rules}))
    assert r.returncode == 0, r
    lines = [line.strip() for line in r.stdout.splitlines()]
    for want in ["1. th: throttle the response to 100 bytes/s, on Hub hosts (then the next rules are tried)"
                 "  [per HTTP request]",
                 "2. rf: refuse connections (ECONNREFUSED) to c.example",
                 "3. df: fail the lookup (EAI_NONAME) of d.example",
                 "4. hg: hang requests (never answered) to a.example  [per HTTP request]",
                 "5. hc: hang connections (never completed) to b.example",
                 "7. p2: preset firewall-hang: the connection never completes (a firewall dropping packets), "
                 "on f.example"]:
        assert want in lines, r
    assert any(line.startswith("6. p1: preset rate-limited: 429") and line.endswith("[per HTTP request]")
               for line in lines), r
    assert " allow " not in r.stdout, r


def test_preloaded_library_with_bad_rules_safe_default(shim):
    """LD_PRELOAD with a bad rules file: the program runs, one log line,
    then offline/loopback-only is enforced (HFSHIM_OFFLINE=0 cannot lift it).
    hfshim is offline, the libraries are not told (HF_HUB_OFFLINE unset):
    their Hub calls get cache answers or HTTP blocks."""
    rules = shim.write_rules(BAD_REGEX, "bad.json")
    code = ("import os, socket\nprint(os.environ.get('HF_HUB_OFFLINE'))\n"
            "s = socket.socket()\ntry:\n    s.connect(('10.1.2.3', 80))\nexcept ConnectionRefusedError:\n"
            "    print('refused')\n")
    for extra in ({}, {"HFSHIM_OFFLINE": "0"}):
        env = shim.preload_env({"HFSHIM_RULES": str(rules), **extra})
        r = shim.run(["unshare", "-n", PY, "-c", code], env=env)
        assert r.returncode == 0 and r.stdout.split() == ["None", "refused"], r
        # one line per process (unshare, then python3), not per hook call
        errors = [line for line in r.log.splitlines() if "python3: cannot use the rules" in line]
        assert len(errors) == 1, r
        assert f"{rules}:4:24: {BAD_MSG}; enforcing the safe default (offline, loopback only)" in errors[0]
        assert "blocked connect 10.1.2.3:80" in r.log


def test_missing_rules_file(shim, tmp_path):
    r = shim.hfshim("run", "--rules", tmp_path / "nope.json", "--", "true")
    assert r.returncode == 2 and "nope.json" in r.stderr and "No such file" in r.stderr, r


def test_explain(shim):
    r = shim.hfshim("explain", "--rules", shim.rules_dir / "offline.json", "GET",
                    "https://huggingface.co/api/models/x")
    assert r.returncode == 0, r
    assert "a Hub host" in r.stdout
    assert "lookup:                virtual by policy (offline)" in r.stdout, r
    assert "HTTP request:          block by rule (hub-cache): answered with HTTP 403" in r.stdout, r
    assert "cache:                 no snapshot of model x@main" in r.stdout, r
    r = shim.hfshim("explain", "--offline", "--rules", shim.rules_dir / "cache-first.json", "GET",
                    "https://huggingface.co/api/models/x")
    assert "HTTP request:          block by policy (offline): answered with HTTP 403" in r.stdout, r
    rules = shim.write_rules({"version": 1, "rules": [{"name": "no-evil", "match": {"host": "*.evil.test"},
                                                       "action": "block"}]})
    r = shim.hfshim("explain", "--rules", rules, "GET", "http://a.evil.test/x")
    assert "block by rule (no-evil)" in r.stdout and "ECONNREFUSED" in r.stdout, r
    r = shim.hfshim("explain", "--rules", rules, "GET", "http://good.test/x")
    assert "block" not in r.stdout and "allow" in r.stdout, r
    # a rule that needs the request: the connection is watched
    rules = shim.write_rules({"version": 1, "rules": [
        {"name": "no-post", "match": {"host": "api.test", "method": "POST"}, "action": "block"}]})
    r = shim.hfshim("explain", "--rules", rules, "POST", "http://api.test/x")
    assert "connection:            allow, watched: HTTP rules may act on its requests (first: no-post)" in r.stdout, r
    assert "HTTP request:          block by rule (no-post)" in r.stdout, r


def test_help_and_version(shim):
    r = shim.hfshim("--help")
    assert r.returncode == 0
    for word in ("run", "check", "explain", "--rules", "--offline", "--log", "HFSHIM_RULES", "EXIT STATUS"):
        assert word in r.stdout, word
    r = shim.hfshim("--version")
    assert r.returncode == 0 and r.stdout.startswith("hfshim 0."), r
    r = shim.hfshim("frobnicate")
    assert r.returncode == 2 and "frobnicate" in r.stderr, r


def test_exec_in_place_status_and_signals(shim, tmp_path):
    """No fork-and-wait: the program has the launcher's pid, its exit status
    and its death by signal are what the caller sees."""
    r = shim.hfshim("run", "--", PY, "-c", "import os, sys; print(os.getpid(), os.getppid()); sys.exit(7)")
    assert r.returncode == 7, r
    pid_file = tmp_path / "pid"
    import subprocess

    p = subprocess.Popen([str(shim.launcher), "run", "--", "sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"],
                         env=shim.base_env({"HFSHIM_LOG": "off"}))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        import time

        time.sleep(0.01)
    assert int(pid_file.read_text()) == p.pid
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=5) == -signal.SIGTERM


def test_missing_command(shim):
    r = shim.hfshim("run", "--", "no-such-program-xyz")
    assert r.returncode == 127 and "no-such-program-xyz" in r.stderr, r


def test_warns_static_and_setuid(shim, tmp_path):
    static = tmp_path / "static_true"
    src = tmp_path / "t.c"
    src.write_text("int main(void){return 0;}\n")
    import subprocess

    if subprocess.run(["cc", "-static", "-o", static, src], capture_output=True).returncode == 0:
        r = shim.hfshim("run", "--", static)
        assert r.returncode == 0 and "statically linked" in r.stderr, r
    suid = tmp_path / "suid_true"
    shutil.copy("/bin/true", suid)
    os.chown(suid, 65534, 65534)  # owned by someone else: secure-execution mode
    os.chmod(suid, 0o4755)
    r = shim.hfshim("run", "--", suid)
    assert "setuid" in r.stderr, r
    assert not (os.stat(suid).st_mode & stat.S_ISGID)


def test_json_log_lines(shim):
    r = shim.hfshim("run", "--offline", "--log-format", "json", "--", shim.progs / "net_probe", "connect",
                    "10.1.2.3", "80")
    records = [json.loads(line) for line in r.log.splitlines()]
    block = records[0]
    assert block["event"] == "block" and block["layer"] == "connect" and block["ip"] == "10.1.2.3", records
    assert block["port"] == 80 and block["rule"] == "offline" and block["error"] == "ECONNREFUSED"
    assert block["program"] == "net_probe" and isinstance(block["pid"], int)
    assert records[-1]["event"] == "summary"


def test_log_to_stderr_and_off(shim):
    env = shim.base_env({"HFSHIM_LOG": "stderr"})
    r = shim.hfshim("run", "--offline", "--", shim.progs / "net_probe", "connect", "10.1.2.3", "80", env=env)
    assert "net_probe: blocked connect 10.1.2.3:80 (rule offline" in r.stderr, r
    env = shim.base_env({"HFSHIM_LOG": "off"})
    r = shim.hfshim("run", "--offline", "--", shim.progs / "net_probe", "connect", "10.1.2.3", "80", env=env)
    assert "hfshim" not in r.stderr and "rc=-1 errno=ECONNREFUSED" in r.stdout, r


def test_log_option_relative_path(shim, tmp_path):
    """--log FILE given relative is made absolute: a child that changes
    directory still logs to the same file."""
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    env = shim.base_env()
    env.pop("HFSHIM_LOG", None)
    r = shim.run([str(shim.launcher), "run", "--offline", "--log", "rel.log", "--", "sh", "-c",
                  f"cd {sub} && {shim.progs / 'net_probe'} connect 10.1.2.3 80"], env={**env, "HFSHIM_LOG": ""},
                 cwd=tmp_path)
    assert (tmp_path / "rel.log").exists(), r
    assert "blocked connect 10.1.2.3:80" in (tmp_path / "rel.log").read_text()
    assert not (sub / "rel.log").exists()


def test_misspelt_match_key_refused(shim):
    """A typo inside match would widen the rule to every request: refused."""
    rules = shim.write_rules('{"version": 1,\n "rules": [{"match": {"hots": "api.example.com"}, "action": "block"}]}\n')
    r = shim.hfshim("run", "--rules", rules, "--", "true")
    assert r.returncode == 2, r
    assert f"{rules}:2:23: rules[0].match.hots: unknown match key (known: host, method, port, scheme, path, url, " \
           "header, repo, cached, program)" in r.stderr, r
