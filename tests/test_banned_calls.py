"""test_banned_calls: C library calls the library must not make inside the
host process, checked on the sources of shim/core and shim/lib (the
launcher is a program of its own and may) and on the built objects.

strerror goes through gettext and the C library's locale lock; called from
a hook that glibc reaches while it holds that lock (newlocale -> getenv ->
rules load -> a missing file) it corrupted the lock and hung an ASan run at
exit. shim/core/errtext.c (hfs_errtext) is the one way to name an errno.

The hooked names (shim/lib/hooks.def: read, write, close, getenv,
syscall, connect, …): libhfshim.so defines them, so inside the host a
plain call of one from hfshim's own code runs hfshim's hook, not libc,
while the unit tests link the same object against libc. The shim's own
work goes through shim/core/sysio.h (raw system calls; core code) or
REAL(name) (shim/lib/real.h; library code), and environment lookups are
passed in to the core or read with hfs_env_lookup (lib/envhooks.h). In
the manner of curl's checksrc: a check of the sources (which also sees a
call inside the file that defines the hook, invisible to nm) and `nm -u`
on the objects (which sees what macros and inline functions expanded to).
A few library files call a hook on purpose; ALLOWED names them, with why.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import _build_dirs, hook_exports  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BANNED = {
    "strerror": "use hfs_errtext() (shim/core/errtext.h)",
    "strerror_r": "use hfs_errtext() (shim/core/errtext.h)",
    "perror": "use hfs_log_msg() with hfs_errtext()",
}
CALL = re.compile(r"(?<![A-Za-z0-9_>.])(" + "|".join(BANNED) + r")\s*\(")

HOOKED = sorted(hook_exports())
HOOK_CALL = re.compile(r"(?<![A-Za-z0-9_>.])(" + "|".join(map(re.escape, HOOKED)) + r")\s*\(")
# a word before the name that makes it a declaration or definition
# ("int close(", "ssize_t __write_nocancel(") rather than a call
NOT_TYPES = {"return", "else", "do", "case", "sizeof", "if", "while", "for", "switch"}

WHERE = {
    "shim/core": "use shim/core/sysio.h (or take the value as a parameter)",
    "shim/lib": "use REAL(name) (shim/lib/real.h), shim/core/sysio.h or hfs_env_lookup()",
}

# (file, name): a hook called on purpose, by the source check and nm
ALLOWED = {
    # the syscall hook hands the numbers that connect, send, duplicate or
    # close to the hooks of the same names; pwritev2 at offset -1 is the
    # writev hook's; fdopen's stream reads and writes through the hooks
    **{("shim/lib/hatchhooks.c", n): "forwards to the hook of the same name"
       for n in ("connect", "sendto", "sendmsg", "sendmmsg", "write", "writev", "pwritev2", "sendfile", "splice",
                 "dup", "dup2", "dup3", "fcntl", "read", "close")},
    # a TCP Fast Open send is made by the connect hook (judged like one)
    ("shim/lib/sockhooks.c", "connect"): "TFO: the connection is judged by the connect hook",
    # the peer of a watched fd the engine cannot name comes from the hook
    ("shim/lib/iohooks.c", "getpeername"): "recvfrom's address through the getpeername hook",
    # secure_getenv is getenv outside secure-execution mode
    ("shim/lib/envhooks.c", "getenv"): "secure_getenv answers as the getenv hook",
    # the execl/execv family goes through the execve/execvpe hooks
    **{("shim/lib/exechooks.c", n): "goes through the execve/execvpe hooks" for n in ("execve", "execvpe")},
    # sysio's fallback on other architectures than x86-64 and AArch64
    ("shim/core/sysio.c", "syscall"): "libc's syscall() where no inline system call is written",
}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def strip_strings(text):
    return re.sub(r'"(?:\\.|[^"\\\n])*"' + r"|'(?:\\.|[^'\\\n])*'", '""', text)


def hooked_calls(text):
    """(line, name) of each call of a hooked name in C text."""
    text = strip_strings(strip_comments(text))
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for m in HOOK_CALL.finditer(line):
            before = re.search(r"([A-Za-z_][A-Za-z0-9_]*|\*)\s*$", line[:m.start()])
            if before and before.group(1) not in NOT_TYPES:
                continue  # int close(int fd) / FILE *fdopen(
            out.append((n, m.group(1)))
    return out


def sources():
    for d in ("shim/core", "shim/lib"):
        yield from sorted((ROOT / d).glob("*.[ch]"))


def test_no_banned_calls_in_the_library():
    found = []
    for f in sources():
        for n, line in enumerate(strip_comments(f.read_text()).splitlines(), 1):
            for m in CALL.finditer(line):
                found.append(f"{f.relative_to(ROOT)}:{n}: {m.group(1)}(): {BANNED[m.group(1)]}")
    assert not found, "\n".join(found)


def test_the_check_sees_a_call(tmp_path):
    """The pattern finds a real call and not a name in a comment or a
    longer identifier (so the test above can fail)."""
    text = strip_comments("x = strerror(e); /* strerror( */ y = hfs_errtext(e); z = my_strerror(e);\n")
    assert [m.group(1) for m in CALL.finditer(text)] == ["strerror"]


# The re-entry guard is set and cleared only by HFS_BUSY_ENTER/LEAVE
# (shim/lib/state.h), which save and restore it: a plain `hfs_busy = 0`
# inside a nested guard cleared the outer one.
BUSY_WRITE = re.compile(r"(?<![A-Za-z0-9_])hfs_busy\s*(?:[-+*/|&]?=(?!=)|\+\+|--)|(?:\+\+|--)\s*hfs_busy(?![A-Za-z0-9_])")


def busy_writes(text):
    return [n for n, line in enumerate(strip_comments(text).splitlines(), 1) if BUSY_WRITE.search(line)]


def test_busy_guard_only_through_its_macros():
    found = []
    for f in sources():
        rel = str(f.relative_to(ROOT))
        if rel == "shim/lib/state.h":
            continue
        found += [f"{rel}:{n}: hfs_busy written directly: use HFS_BUSY_ENTER/HFS_BUSY_LEAVE (state.h)"
                  for n in busy_writes(f.read_text())]
    assert not found, "\n".join(found)


def test_the_busy_check_sees_a_write():
    text = "if (!hfs_busy && hfs_busy == 0) f(); /* hfs_busy = 0 */\nhfs_busy = 1;\n x; hfs_busy++;\n--hfs_busy;\n"
    assert busy_writes(text) == [2, 3, 4]


def test_no_hooked_name_called_in_the_sources():
    found = []
    for f in sources():
        rel = str(f.relative_to(ROOT))
        for n, name in hooked_calls(f.read_text()):
            if (rel, name) not in ALLOWED:
                why = WHERE[str(f.parent.relative_to(ROOT))]
                found.append(f"{rel}:{n}: {name}() is hfshim's own hook inside the host: {why}")
    assert not found, "\n".join(found)


def test_the_source_check_sees_a_hook_call():
    text = """
HFS_EXPORT int close(int fd) { return REAL(close)(fd); }
ssize_t __write_nocancel(int fd, const void *b, size_t n);
static int f(int fd) { char b[4]; /* read( */ log("read(") ; s->read(fd); x.write(1);
    if (read(fd, b, 4) < 0) return close(fd);
    return my_read(fd) + hfs_sys_read(fd, b, 4) + getenv ("X") != 0; }
"""
    assert [name for _, name in hooked_calls(text)] == ["read", "close", "getenv"]


def undefined_hooked(obj):
    out = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    return sorted(names & set(HOOKED))


def objects(build):
    for d in ("core", "lib"):
        yield from sorted((build / "obj" / d).glob("*.o"))


@pytest.mark.parametrize("kind,build", _build_dirs(), ids=[k for k, _ in _build_dirs()])
def test_objects_reference_no_hooked_name(kind, build):
    """nm -u build/obj/{core,lib}/*.o: no reference to a name the library
    exports (REAL() looks them up by name at run time, which nm does not
    see)."""
    if not shutil.which("nm"):
        pytest.skip("no nm")
    objs = list(objects(build))
    assert objs, f"no objects under {build}/obj: build first (make all / make san)"
    found = []
    for o in objs:
        src = ("shim/core/" if o.parent.name == "core" else "shim/lib/") + o.stem.replace("_dl", "") + ".c"
        for name in undefined_hooked(o):
            if (src, name) not in ALLOWED:
                found.append(f"{o.relative_to(ROOT) if o.is_relative_to(ROOT) else o}: {name}")
    assert not found, "objects that call hfshim's own hooks:\n" + "\n".join(found)


def test_the_nm_check_sees_a_reference(tmp_path):
    if not shutil.which("nm") or not shutil.which(os.environ.get("CC", "cc")):
        pytest.skip("no nm or cc")
    c = tmp_path / "x.c"
    c.write_text("#include <unistd.h>\n#include <stdlib.h>\n"
                 "long f(int fd, char *b) { return read(fd, b, 1) + (getenv(\"X\") != 0) + pread(fd, b, 1, 0); }\n")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-c", str(c), "-o", str(tmp_path / "x.o")], check=True)
    assert undefined_hooked(tmp_path / "x.o") == ["getenv", "read"]


# A prototype at file scope in a .c file (not static): a function another
# file defines, declared by hand instead of through its header, so the two
# can drift apart unseen (docs/DESIGN.md, "Layers and includes").
PROTOTYPE = re.compile(r"^(?!static\b|typedef\b|extern\s+__thread\b)[A-Za-z_][\w \t*]*?\b(\w+)\s*\([^;{}()]*\)\s*;",
                       re.M)


def file_prototypes(text):
    """Names declared at file scope and not defined in the same file (a
    hook glibc declares nowhere, such as __write_nocancel, gets its own
    prototype right before its definition: that one is fine)."""
    text = strip_comments(text)
    defined = set(re.findall(r"\b(\w+)\s*\([^;{}()]*\)\s*\{", text))
    return [m.group(1) for m in PROTOTYPE.finditer(text) if m.group(1) not in defined]


def test_no_prototypes_in_c_files():
    bad = []
    for d in ("shim/core", "shim/lib", "shim/launcher"):
        for f in sorted((ROOT / d).glob("*.c")):
            bad += [f"{f.relative_to(ROOT)}: {n}" for n in file_prototypes(f.read_text(errors="replace"))]
    assert bad == [], "declare these in the header of the file that defines them:\n" + "\n".join(bad)


def test_the_prototype_check_sees_one():
    text = "ssize_t hfs_x(int fd, const void *b);\nstatic int y(void);\nint z(void);\nint z(void)\n{\n}\n"
    assert file_prototypes(text) == ["hfs_x"]
