"""test_startup_layout.py: what every process pays at start, in page faults.

Under /etc/ld.so.preload every exec of `true`, `sh` or `sed` starts the
library, and on a virtual machine each page first touched costs about as
much as the rest of the start-up code (issue 20). The variables the
start-up writes are grouped on the pages the loader writes anyway
(HFS_STARTUP_DATA, shim/core/startup.h), its functions on a few code pages
(HFS_STARTUP); these tests keep it so.
"""

import mmap
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

# Variables the constructor writes in every process (not an exhaustive
# list: the ones whose moving back to .bss cost a fault each, measured).
STARTUP_DATA = ["hfs_g", "hfs_real_cache", "hfs_rules_final", "hfs_re_error_hook"]

# Page faults the library may add to `/usr/bin/true` under the default rules
# with its compiled policy current. Measured on the reference VM: 34 before
# the start-up data was grouped, 23 after, 18 once libdl.so.2 was no longer
# named NEEDED; the loader's share (mapping and relocating the library) is
# about 10 of them.
MAX_ADDED_FAULTS = 24


def _plain(shim):
    if shim.kind != "plain":
        pytest.skip("the layout of the plain build (the sanitizer runtimes fault on their own)")


def _symbols(lib):
    out = subprocess.run(["nm", "-S", str(lib)], capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4:
            syms[f[3]] = (int(f[0], 16), int(f[1], 16), f[2])
    return syms


def _section(lib, name):
    out = subprocess.run(["readelf", "-SW", str(lib)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.replace("[ ", "[").split()
        if len(f) > 5 and f[1] == name:
            return int(f[3], 16), int(f[5], 16)
    raise AssertionError(f"{name} not in {lib}")


def test_startup_data_in_data_section(shim):
    """The start-up's variables are initialised data (.data), not .bss, and
    .data stays within the two pages the loader writes (relocations, the
    zeroed start of .bss)."""
    _plain(shim)
    syms = _symbols(shim.lib)
    start, size = _section(shim.lib, ".data")
    for name in STARTUP_DATA:
        assert name in syms, name
        addr, _, kind = syms[name]
        assert kind in "dD" and start <= addr < start + size, (name, kind, hex(addr))
    first, last = start // 4096, (start + size) // 4096
    assert last - first <= 1, f".data spans {last - first + 1} pages ({size} bytes)"


def _fault_around_kib(path):
    """KiB the kernel maps for one read fault on a cached file (its
    fault-around window, 64 by default): the Rss of a shared mapping of
    path (the loader's own mappings are private) after one byte of it is
    read."""
    data = Path(path).read_bytes()  # in the page cache
    fd = os.open(path, os.O_RDONLY)
    try:
        m = mmap.mmap(fd, len(data), flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    try:
        _ = m[len(data) // 2 & ~0xFFFF]
        for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", Path("/proc/self/smaps").read_text()):
            head = block.split("\n", 1)[0].split()
            if len(head) >= 6 and head[1] == "r--s" and head[-1] == str(path):
                return int(re.search(r"^Rss:\s+(\d+) kB", block, re.M).group(1))
    finally:
        m.close()
    return None


def _faults(cmd, env):
    pid = os.posix_spawn(cmd[0], cmd, env)
    _, status, ru = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, cmd
    return ru.ru_minflt


def test_startup_page_faults(shim):
    """`true` under the default rules: few page faults added (the minimum of
    several runs; the first run writes the compiled policy)."""
    _plain(shim)
    around = _fault_around_kib(shim.lib)
    if around != 64:
        pytest.skip(f"this kernel maps {around} KiB per read fault; the bound was measured with the default 64")
    # the compiled policy is written only for files over 2 s old
    newest = max(p.stat().st_mtime for p in [shim.lib, *shim.rules_dir.glob("*.json")])
    time.sleep(max(0.0, newest + 2.2 - time.time()))
    env_without = shim.base_env()
    env_with = shim.preload_env()
    env_with.pop("HFSHIM_LOG", None)
    for _ in range(2):
        subprocess.run(["/usr/bin/true"], env=env_with, check=True)
    assert list((shim.tmp / "home/.cache/hfshim").glob("policy-*")), "no compiled policy was written"
    without = min(_faults(["/usr/bin/true"], env_without) for _ in range(5))
    with_ = min(_faults(["/usr/bin/true"], env_with) for _ in range(5))
    assert with_ - without <= MAX_ADDED_FAULTS, (without, with_)
