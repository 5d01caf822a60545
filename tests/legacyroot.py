"""legacyroot.py: a minimal Debian 11 root (bullseye, glibc 2.31) for the
portable build's run-time tests (tests/test_legacy_root.py,
tests/test_examples_container.py). Built once with `mmdebstrap
--variant=minbase bullseye` and its own python3, python3-requests, curl and
CA bundle (the --include list: building the root, not installing into it
afterwards), cached as a tarball under ~/.cache/hfshim; nothing is added to
it after that. Each test sees it through an overlay whose writable layer is
its own (`OldRoot.upper`), chrooted in a private mount namespace.

Without the cached tarball the tests are skipped unless
HFSHIM_LEGACY_ROOT=1 (`make legacy-check`), which builds it (root, about a
minute, from the Debian archive).

The same cache holds other roots, named by (suite, include list): the
Debian 12 root of the .deb test (tests/test_deb.py, `make deb-check`,
HFSHIM_DEB_ROOT=1) is `tarball(DEB_SUITE, DEB_INCLUDE)`."""

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

SUITE = "bullseye"
INCLUDE = ["python3", "python3-requests", "curl", "ca-certificates"]
# the .deb's test root: Debian 12 minbase and curl, nothing of hfshim's
DEB_SUITE = "bookworm"
DEB_INCLUDE = ["curl", "ca-certificates"]
RELEASE = {"bullseye": "debian11", "bookworm": "debian12"}
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hfshim"

ENTER = r"""
set -e
R="$HFS_ROOT"; L="$HFS_LAYERS"
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$HFS_LOWER,upperdir=$L/upper,workdir=$L/work" "$R"
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
for f in $HFS_HIDE; do mount --bind /dev/null "$R$f"; done
unset HFS_ROOT HFS_LAYERS HFS_LOWER HFS_HIDE
exec chroot "$R" "$@"
"""


def tarball(suite=SUITE, include=INCLUDE):
    key = hashlib.sha256(f"{suite} minbase {','.join(include)}".encode()).hexdigest()[:10]
    return CACHE / f"{RELEASE.get(suite, 'debian')}-{suite}-minbase-{key}.tar"


def build_tarball(suite=SUITE, include=INCLUDE):
    """The cached root tarball, built with mmdebstrap when missing."""
    t = tarball(suite, include)
    if t.exists():
        return t
    if os.geteuid() != 0:
        pytest.fail(f"building the {suite} root needs root (mmdebstrap, chroot)")
    if not shutil.which("mmdebstrap"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "mmdebstrap"], check=True,
                       env=env)
    CACHE.mkdir(parents=True, exist_ok=True)
    part = t.with_name(t.stem + ".part.tar")
    start = time.monotonic()
    r = subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--include=" + ",".join(include), suite,
                        str(part)], capture_output=True, text=True)
    if r.returncode != 0:
        part.unlink(missing_ok=True)
        pytest.fail(f"mmdebstrap {suite} failed:\n{r.stderr[-3000:]}")
    part.rename(t)
    print(f"legacyroot: built {t} in {time.monotonic() - start:.0f}s")
    return t


@pytest.fixture(scope="session")
def legacy_lower(tmp_path_factory):
    """The Debian 11 root, extracted once per session (read-only use)."""
    if not tarball().exists() and os.environ.get("HFSHIM_LEGACY_ROOT") != "1":
        pytest.skip(f"no Debian 11 root cached ({tarball()}): `make legacy-check` builds it")
    t = build_tarball()
    d = tmp_path_factory.mktemp("debian11") / "lower"
    d.mkdir()
    subprocess.run(["tar", "-xf", str(t), "-C", str(d)], check=True)
    return d


class OldRoot:
    """The Debian 11 root with a writable layer of its own: put(path, data)
    writes a file that the root shows at path, cmd(argv) is the argv that
    runs argv chrooted there (net=False: with no network; hide: files of
    the root that read as empty, e.g. a library that is not installed)."""

    def __init__(self, lower, tmp, over=()):
        self.lower, self.base = Path(lower), Path(tmp) / "oldroot"
        self.over = [str(o) for o in over]  # read-only trees shown over the root (a `make install` DESTDIR)
        self.dir, self.upper = self.base / "merged", self.base / "upper"
        for d in (self.dir, self.upper, self.base / "work"):
            d.mkdir(parents=True, exist_ok=True)
        self.upper.chmod(0o755)
        (self.base / "enter.sh").write_text(ENTER)

    def put(self, path, data, mode=0o644):
        p = self.upper / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        for d in reversed(p.relative_to(self.upper).parents):
            (self.upper / d).chmod(0o755)  # root's folders: a locked policy is trusted only then
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        p.chmod(mode)
        return p

    def file(self, path):
        """A file the root wrote (its writable layer), or the root's own."""
        p = self.upper / path.lstrip("/")
        return p if p.exists() else self.lower / path.lstrip("/")

    def install_tree(self, build, prefix="/usr/local"):
        """The staged tree of a build (bin, lib, share), as `make install` lays it out."""
        for rel, mode in (("bin/hfshim", 0o755), ("lib/libhfshim.so", 0o755)):
            self.put(f"{prefix}/{rel}", (Path(build) / rel).read_bytes(), mode)
        for rules in sorted((Path(build) / "share/hfshim/rules").glob("*.json")):
            self.put(f"{prefix}/share/hfshim/rules/{rules.name}", rules.read_bytes())

    def env(self, extra=None, hide=()):
        e = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
             "LANG": "C.UTF-8", "NO_PROXY": "*", "HFSHIM_LOG": "stderr",
             "HFS_ROOT": str(self.dir), "HFS_LAYERS": str(self.base), "HFS_LOWER": ":".join([*self.over, str(self.lower)]),
             "HFS_HIDE": " ".join(hide)}
        e.update(extra or {})
        return e

    def cmd(self, argv, net=True):
        return ["unshare", "-m", *([] if net else ["-n"]), "sh", str(self.base / "enter.sh"), *map(str, argv)]
