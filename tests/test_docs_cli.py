"""test_docs_cli: hfshim(1), `hfshim --help`, `hfshim CMD --help`, the
command's parsers and every `hfshim ...` line in the docs agree.

The help comes from one table (shim/launcher/help.c); the man page
(docs/man/hfshim.1.scd) is written by hand and held to it here: the same
synopsis for every command and the same options. Every option the help
lists is one the command's parser takes (it is run with it), and every
`hfshim ...` command line in README, docs/ and the man pages names a
command and options its --help lists. The `check`, `explain`, `cache` and
`doctor` lines whose files exist are run as written and must succeed.
"""
import re
import shlex
import subprocess

import pytest

from conftest import ROOT
from docref import CMD_MAN, code_blocks, definitions, doc_files, plain, sections


def commands(shim):
    r = shim.hfshim("--help")
    assert r.returncode == 0, r
    block = r.stdout.split("\nCOMMANDS\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def cmd_help(shim, cmd):
    """(synopsis lines, option flags) of `hfshim CMD --help`."""
    r = shim.hfshim(cmd, "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: hfshim " + cmd), r
    head, rest = r.stdout.split("\n\n", 1)
    syn = [re.sub(r"^(usage:)?\s*", "", line) for line in head.splitlines()]
    # a synopsis line continued on the next one (run)
    lines = []
    for line in syn:
        if line.startswith("hfshim "):
            lines.append(line)
        else:
            lines[-1] += " " + line
    opts = rest.split("\nOPTIONS\n", 1)[1].split("\n\n", 1)[0]
    flags = [re.split(r"\s{2,}", line.strip())[0] for line in opts.splitlines()]
    return [" ".join(s.split()) for s in lines], flags


def man_synopsis(cmd):
    body = sections(CMD_MAN.read_text())["SYNOPSIS"]
    out = []
    for para in body.split("\n\n"):
        line = " ".join(plain(para).split())
        if line.startswith(f"hfshim {cmd} ") or line == f"hfshim {cmd}":
            out.append(line)
    return out


def man_options(cmd):
    body = sections(sections(CMD_MAN.read_text())["OPTIONS"], "##")[cmd]
    flags = []
    for line in body.splitlines():
        if line and not line.startswith("\t"):
            flags.append(" ".join(plain(line).split()))
    return flags


def test_every_command_has_help_and_a_man_entry(shim):
    cmds = commands(shim)
    assert cmds == ["run", "check", "explain", "cache", "doctor", "install", "uninstall"], cmds
    described = {name for name, _, _ in definitions(sections(CMD_MAN.read_text())["COMMANDS"])}
    assert {d.split()[0] for d in described} == set(cmds), described
    for cmd in cmds:
        r = shim.hfshim("help", cmd)
        assert r.returncode == 0 and r.stdout.startswith("usage: hfshim " + cmd), r


@pytest.mark.parametrize("cmd", ["run", "check", "explain", "cache", "doctor", "install", "uninstall"])
def test_man_page_and_help_say_the_same(shim, cmd):
    syn, flags = cmd_help(shim, cmd)
    assert man_synopsis(cmd) == syn
    assert man_options(cmd) == flags


def test_the_comparison_sees_drift(shim):
    """A man page without --audit disagrees with the help."""
    _, flags = cmd_help(shim, "run")
    assert "--audit FILE" in flags and "--fault SPEC" in flags
    assert [f for f in man_options("run") if f != "--audit FILE"] != flags


def accepts(shim, tmp_path, cmd, flag):
    """Runs cmd with the flag (and a value when it takes one) and says
    whether the parser took it: not a usage error."""
    rules = str(ROOT / "rules/default.json")
    value = {"FILE": rules, "SPEC": "hub-outage", "FILE|-|off": "off", "text|json": "json"}
    name, _, arg = flag.partition(" ")
    args = [name.replace("[=variables]", "")]
    if arg:
        args.append(str(tmp_path / "audit.jsonl") if name == "--audit" else value[arg])
    if cmd == "run":
        r = shim.hfshim("run", *args, "--", "true")
        return r.returncode == 0, r
    if cmd == "explain":
        r = shim.hfshim("explain", *args, "GET", "http://127.0.0.1:9/x")
        return r.returncode == 0, r
    if cmd == "check":
        r = shim.hfshim("check", *args) if name.startswith("--") else shim.hfshim("check", *args, rules)
        return r.returncode == 0, r
    if cmd == "cache":
        r = shim.hfshim("cache", *args)
        return r.returncode == 0, r
    if cmd == "doctor":
        r = shim.hfshim("doctor", *args)
        return r.returncode in (0, 1) and "usage:" not in r.stderr, r
    # install/uninstall change /etc: run as nobody, where a parsed command
    # stops at "this needs root" and an unknown argument at the usage line
    extra = [] if name == "--system" else ["--system"]
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(shim.launcher), cmd,
                        *extra, *args], capture_output=True, text=True, timeout=20)
    return r.returncode == 1 and "needs root" in r.stderr and "usage:" not in r.stderr, r


@pytest.mark.parametrize("cmd", ["run", "check", "explain", "cache", "doctor", "install", "uninstall"])
def test_every_option_in_the_help_is_taken(shim, tmp_path, cmd):
    _, flags = cmd_help(shim, cmd)
    for flag in flags:
        ok, r = accepts(shim, tmp_path, cmd, flag)
        assert ok, (cmd, flag, r)
    # and an option the help does not list is refused
    r = shim.hfshim(cmd, "--no-such-option", "x", "y")
    assert r.returncode == 2 and "usage: hfshim " + cmd in r.stderr, r


def doc_command_lines():
    """(file, argv) of every `hfshim ...` line in the docs' code blocks."""
    out = []
    for f in doc_files():
        for block in code_blocks(f):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"^\s*(\$|#)\s+", "", line).strip()
                line = re.sub(r"^(sudo\s+|([A-Z_]+=\S*\s+)+)", "", line)
                if not line.startswith("hfshim "):
                    continue
                line = line.split(" # ")[0].split(" | ")[0].split(" && ")[0].split(";")[0]
                try:
                    argv = shlex.split(line)
                except ValueError:
                    argv = ["hfshim", "(not a shell line)", line]
                out.append((str(f.relative_to(ROOT)), argv))
    return out


def test_docs_have_command_lines():
    files = {f for f, _ in doc_command_lines()}
    for page in ("README.md", "docs/getting-started.md", "docs/troubleshooting.md", "docs/man/hfshim.1.scd"):
        assert page in files, files


def options_of(argv, cmd):
    """The options of a command line, as the launcher's parsers read them."""
    opts = []
    for a in argv[2:]:
        if cmd == "run" and (a == "--" or not a.startswith("-")):
            break
        if a.startswith("-"):
            opts.append(a)
    return opts


def test_every_command_line_in_the_docs_parses(shim):
    cmds = commands(shim)
    helps = {c: cmd_help(shim, c)[1] for c in cmds}
    bad = []
    for where, argv in doc_command_lines():
        if argv[1] in ("--help", "--version", "-h", "help"):
            continue
        if argv[1] not in cmds:
            bad.append(f"{where}: {shlex.join(argv)}: no command {argv[1]}")
            continue
        listed = {f.split(" ")[0].split("[")[0] for f in helps[argv[1]]} | {"--help", "-h"}
        for opt in options_of(argv, argv[1]):
            if opt.split("=")[0] not in listed:
                bad.append(f"{where}: {shlex.join(argv)}: {opt} is not an option of hfshim {argv[1]}")
    assert bad == []


def test_check_and_explain_lines_work_as_written(shim, tmp_path):
    """The docs' `hfshim check`, `explain`, `cache` and `doctor` lines whose files
    are in the repository run as written, from its root."""
    ran = 0
    for where, argv in doc_command_lines():
        if argv[1] not in ("check", "explain", "cache", "doctor") or "--online" in argv:
            continue
        if any("[" in a or a.endswith(("...", "…")) or a in ("FILE", "METHOD", "URL", "CMD") for a in argv[2:]):
            continue  # a synopsis, not a command
        files = [a for a in argv[2:] if a.endswith(".json")]
        if any(not (ROOT / a).exists() for a in files):
            continue
        r = shim.run([str(shim.launcher), *argv[1:]], cwd=ROOT, env=shim.base_env({"HF_HUB_CACHE": str(tmp_path)}))
        # doctor exits 1 when it found a problem: a finding, not a failure
        assert r.returncode in ((0, 1) if argv[1] == "doctor" else (0,)), (where, argv, r)
        ran += 1
    assert ran >= 10
