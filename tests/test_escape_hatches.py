"""test_escape_hatches.py: docs/escape-hatches.md lists every libc entry
point that can open, connect, send on or duplicate a socket, and what
hfshim does with each. This test reads the exported symbol table of the
libc.so.6 this machine uses, so an entry point a new glibc adds (a new
alias, a new call) that the list does not name fails here; and it checks
the list against what libhfshim.so really exports."""

import re
import subprocess

from conftest import ROOT

DOC = ROOT / "docs/escape-hatches.md"

# The families of names that can open, connect, send on or duplicate a
# socket, with glibc's prefixes and suffixes (__x, __libc_x, x64, xv2,
# x_nocancel).
FAMILY = re.compile(r"^_*(?:libc_)?(connect|send|sendto|sendmsg|sendmmsg|write|writev|pwrite|pwritev|sendfile|"
                    r"splice|vmsplice|tee|copy_file_range|aio_write|lio_listio|fdopen|dup|dup2|dup3|fcntl|socket|"
                    r"socketpair|accept|accept4|close|close_range|closefrom|syscall|io_uring_\w+)"
                    r"(?:64)?(?:v2)?(?:_nocancel)?$")


def table():
    rows = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"^\| `([^`]+)` \| (hooked|refused|no) \| (.*) \|$", line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} listed twice"
            rows[m.group(1)] = (m.group(2), m.group(3).strip())
    return rows


def machine_libc():
    for line in open("/proc/self/maps"):
        path = line.split()[-1]
        if re.search(r"/libc\.so\.6$", path):
            return path
    raise AssertionError("no libc.so.6 mapped in this process")


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}


def test_every_libc_entry_point_is_listed():
    rows = table()
    libc = machine_libc()
    names = {n for n in exported(libc) if FAMILY.match(n)}
    assert len(names) > 30, (libc, sorted(names))  # the filter found the families
    missing = sorted(names - set(rows))
    assert not missing, f"{libc} exports entry points docs/escape-hatches.md does not list: {missing}"
    for name, (state, why) in rows.items():
        same = re.match(r"^as `(\w+)`", why)  # "as `pwrite`": the reason given there
        assert len(why) > 15 or (same and same.group(1) in rows), f"{name}: say why"


def test_list_matches_what_the_library_hooks(shim):
    rows = table()
    ours = exported(shim.lib)
    for name, (state, _) in rows.items():
        if state in ("hooked", "refused"):
            assert name in ours, f"{name} is listed as {state} but libhfshim.so does not export it"
        else:
            assert name not in ours, f"{name} is listed as not hooked but libhfshim.so exports it"
    unlisted = sorted(n for n in ours if FAMILY.match(n) and n not in rows)
    assert not unlisted, f"hooked but not in docs/escape-hatches.md: {unlisted}"
