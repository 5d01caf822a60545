"""test_banned_calls: C library calls the library must not make inside the
host process, checked on the sources of shim/core and shim/lib (the
launcher is a program of its own and may).

strerror goes through gettext and the C library's locale lock; called from
a hook that glibc reaches while it holds that lock (newlocale -> getenv ->
rules load -> a missing file) it corrupted the lock and hung an ASan run at
exit. shim/core/errtext.c (hfs_errtext) is the one way to name an errno.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANNED = {
    "strerror": "use hfs_errtext() (shim/core/errtext.h)",
    "strerror_r": "use hfs_errtext() (shim/core/errtext.h)",
    "perror": "use hfs_log_msg() with hfs_errtext()",
}
CALL = re.compile(r"(?<![A-Za-z0-9_>.])(" + "|".join(BANNED) + r")\s*\(")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def test_no_banned_calls_in_the_library():
    found = []
    for d in ("shim/core", "shim/lib"):
        for f in sorted((ROOT / d).glob("*.[ch]")):
            for n, line in enumerate(strip_comments(f.read_text()).splitlines(), 1):
                for m in CALL.finditer(line):
                    found.append(f"{f.relative_to(ROOT)}:{n}: {m.group(1)}(): {BANNED[m.group(1)]}")
    assert not found, "\n".join(found)


def test_the_check_sees_a_call(tmp_path):
    """The pattern finds a real call and not a name in a comment or a
    longer identifier (so the test above can fail)."""
    text = strip_comments("x = strerror(e); /* strerror( */ y = hfs_errtext(e); z = my_strerror(e);\n")
    assert [m.group(1) for m in CALL.finditer(text)] == ["strerror"]
