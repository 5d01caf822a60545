"""test_deb.py: the .deb (`make deb`, packaging/deb/build.sh) where it is
meant to go: a minimal Debian 12 root (mmdebstrap minbase and curl,
tests/legacyroot.py, cached under ~/.cache/hfshim), chrooted in a private
mount namespace with a writable layer of its own. There, as an
administrator would: `apt-get install ./hfshim_*.deb` from the file with
no network (Depends met by the root as it is), nothing switched on by
that, `hfshim run --offline -- curl` against the fake Hub, `hfshim install
--system` with a locked policy (every program under it, no variable
set), then `apt-get purge`: the preload line, the policy and every file of
the package gone, the root's file list as it was before.

Skipped when the root is not cached; `make deb-check` builds it (root,
about two minutes, from the Debian archive) and runs this file."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from buildlock import build_lock
from conftest import ROOT
from fakehub import HUB_REPO
from legacyroot import DEB_INCLUDE, DEB_SUITE, OldRoot, build_tarball, tarball
from sysroot import SysRoot

VERSION = (ROOT / "VERSION").read_text().strip()
LIB = "/usr/lib/hfshim/libhfshim.so"
# what dpkg and apt keep about any package, and scratch places: not "left" by ours
BOOKKEEPING = ("/var/lib/dpkg", "/var/log", "/var/cache/apt", "/var/lib/apt", "/var/cache/debconf", "/tmp", "/root")
LIST = r"find / -xdev \( -path /proc -o -path /dev -o -path /sys \) -prune -o -print"


@pytest.fixture(scope="session")
def bookworm_lower(tmp_path_factory):
    t = tarball(DEB_SUITE, DEB_INCLUDE)
    if not t.exists() and os.environ.get("HFSHIM_DEB_ROOT") != "1":
        pytest.skip(f"no Debian 12 root cached ({t}): `make deb-check` builds it")
    t = build_tarball(DEB_SUITE, DEB_INCLUDE)
    d = tmp_path_factory.mktemp("debian12") / "lower"
    d.mkdir()
    subprocess.run(["tar", "-xf", str(t), "-C", str(d)], check=True)
    return d


@pytest.fixture
def deb(shim, tmp_path):
    if shim.kind != "plain":
        pytest.skip("the .deb carries the normal build")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    with build_lock():  # another worker may rebuild it: this test's copy is taken first
        p = subprocess.run(["make", "-s", "deb", f"BUILD={shim.build}"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 0, p
        return Path(shutil.copy(p.stdout.strip().splitlines()[-1], tmp_path))


def run(shim, root, argv, env=None, net=True, timeout=120):
    return shim.run(root.cmd(argv, net), env=root.env({"DEBIAN_FRONTEND": "noninteractive", **(env or {})}),
                    timeout=timeout)


def files(shim, root):
    r = run(shim, root, ["sh", "-c", LIST])
    assert r.returncode == 0, r
    return {p for p in r.stdout.splitlines() if not p.startswith(BOOKKEEPING)}


def test_deb_install_use_purge(shim, deb, bookworm_lower, tmp_path, fakehub):
    why = SysRoot.check()
    if why:
        pytest.fail(why)
    root = OldRoot(bookworm_lower, tmp_path)
    assert deb.name == f"hfshim_{VERSION}_amd64.deb"
    root.put(f"/root/{deb.name}", deb.read_bytes())
    r = run(shim, root, ["sh", "-c", ". /etc/os-release; echo $VERSION_CODENAME; ldd --version | head -1"])
    assert r.stdout.startswith("bookworm\n"), r
    before = files(shim, root)

    # installed from the file, with no network (its Depends: the root's libc6)
    r = run(shim, root, ["sh", "-c", f"cd /root && apt-get install -y --no-install-recommends ./{deb.name}"], net=False)
    assert r.returncode == 0 and "Setting up hfshim" in r.stdout, r
    r = run(shim, root, ["dpkg-query", "-W", "-f", "${Version} ${Status}\n", "hfshim"])
    assert r.stdout == f"{VERSION} install ok installed\n", r
    r = run(shim, root, ["dpkg", "-L", "hfshim"])
    owned = set(r.stdout.split())
    for f in ("/usr/bin/hfshim", LIB, "/usr/share/hfshim/rules/default.json", "/usr/share/hfshim/rules/offline.json"):
        assert f in owned, (f, sorted(owned))
    if (shim.build / "deb/root/usr/share/man/man1").exists():  # make install's man pages, when it installs them
        assert "/usr/share/man/man1/hfshim.1.gz" in owned, sorted(owned)
    # nothing switched on by installing
    assert not root.file("/etc/ld.so.preload").exists() and not root.file("/etc/hfshim").exists()
    r = run(shim, root, ["hfshim", "--version"])
    assert r.stdout == f"hfshim {VERSION}\n", r
    r = run(shim, root, ["dpkg", "--verify", "hfshim"])
    assert r.returncode == 0 and r.stdout == "", r

    # hfshim run --offline: curl's Hub request answered by hfshim, none reaches the fake Hub
    env = {"HF_ENDPOINT": fakehub.url}
    url = f"{fakehub.url}/api/models/{HUB_REPO}"
    r = run(shim, root, ["hfshim", "run", "--offline", "--", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n",
                         url], env)
    assert r.stdout.strip() == "403" and "blocked GET" in r.stderr, r
    assert fakehub.request_count() == 0
    r = run(shim, root, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n", url], env)
    assert r.stdout.strip() == "200" and fakehub.request_count() == 1, r  # without it, the Hub answers

    # install --system with a locked policy: every program under it, no variable needed
    policy = {"version": 1, "locked": True, "offline": True,
              "hub_hosts": ["huggingface.co", "*.huggingface.co", f"127.0.0.1:{fakehub.port}"],
              "log": {"destination": "stderr"}}
    root.put("/root/policy.json", json.dumps(policy))
    r = run(shim, root, ["hfshim", "install", "--system", "--rules", "/root/policy.json"])
    assert r.returncode == 0 and "(locked" in r.stdout, r
    assert root.file("/etc/ld.so.preload").read_text() == f"{LIB}\n"
    r = run(shim, root, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n", url], dict(env, HFSHIM_OFFLINE="0"))
    assert r.stdout.strip() == "403" and "blocked GET" in r.stderr, r
    assert fakehub.request_count() == 1

    # purge: the preload line (prerm), the policy (postrm), every file
    r = run(shim, root, ["apt-get", "purge", "-y", "hfshim"], net=False)
    assert r.returncode == 0 and "Purging configuration files for hfshim" in r.stdout, r
    # (apt and dpkg started under the system preload: their children after
    # the files went still name the library in LD_PRELOAD, as the exec hooks
    # keep them under it, and ld.so says it skips it; new processes do not)
    r = run(shim, root, ["dpkg-query", "-W", "hfshim"])
    assert r.returncode != 0, r
    after = files(shim, root)
    assert after == before, (sorted(after - before), sorted(before - after))
    for f in owned | {"/etc/ld.so.preload", "/etc/hfshim"}:
        if f not in before:
            assert f not in after, f
    r = run(shim, root, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n", url], env)
    assert r.stdout.strip() == "200" and "cannot be preloaded" not in r.stderr, r


def test_deb_contents_work_where_unpacked(shim, deb, tmp_path, fakehub):
    """Without a root (so also when none is cached): the package's files,
    unpacked with dpkg-deb -x, work as laid out: the launcher finds
    /usr/lib/hfshim/libhfshim.so and /usr/share/hfshim/rules next to
    itself; Depends is computed (libc6 only), libcurl only suggested, and
    no maintainer script switches anything on at install."""
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path / "x")], check=True)
    usr = tmp_path / "x/usr"
    assert (usr / "lib/hfshim/libhfshim.so").exists() and not (usr / "lib/libhfshim.so").exists()
    dump = "import os; print(os.environ['LD_PRELOAD'], os.environ['HFSHIM_RULES'])"
    r = shim.run([str(usr / "bin/hfshim"), "run", "--", "/usr/bin/python3", "-c", dump], env=shim.base_env())
    assert r.returncode == 0, r
    assert r.stdout.split() == [str(usr / "lib/hfshim/libhfshim.so"), str(usr / "share/hfshim/rules/default.json")], r
    url = f"{fakehub.url}/api/models/{HUB_REPO}"
    r = shim.run([str(usr / "bin/hfshim"), "run", "--offline", "--", "curl", "-sS", "-o", "/dev/null", "-w",
                  "%{http_code}", url], env=shim.base_env({"HF_ENDPOINT": fakehub.url, "HFSHIM_LOG": "stderr"}))
    assert r.stdout == "403" and "blocked GET" in r.stderr and fakehub.request_count() == 0, r
    fields = {k: subprocess.run(["dpkg-deb", "-f", str(deb), k], capture_output=True, text=True).stdout.strip()
              for k in ("Depends", "Suggests", "Recommends")}
    assert fields["Depends"].startswith("libc6 (>= 2.") and "," not in fields["Depends"], fields
    assert fields["Suggests"] == "libcurl4" and fields["Recommends"] == "", fields
    ctl = tmp_path / "ctl"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(ctl)], check=True)
    assert sorted(p.name for p in ctl.iterdir()) == ["control", "md5sums", "postrm", "prerm"]  # no postinst
