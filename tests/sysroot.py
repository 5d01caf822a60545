"""sysroot.py: runs commands in a private mount namespace where /etc (and
any other folder asked for) is an overlay whose writable layer is a
temporary folder, so a test can put files at /etc/ld.so.preload and
/etc/hfshim/rules.json, or let `hfshim install --system` write them,
without changing anything outside the test (tests/test_system.py,
tests/test_examples_container.py). Needs root (or user namespaces with
overlayfs), which `SysRoot.check()` verifies instead of assuming."""

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = r"""
set -e
mount --make-rprivate /
i=0
for d in $HFS_OVERLAYS; do
  i=$((i+1))
  up="$HFS_LAYERS/$i/upper"; work="$HFS_LAYERS/$i/work"; lower="$d"
  extra="$HFS_LAYERS/$i/lower"
  if [ -d "$extra" ]; then lower="$extra:$d"; fi
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$up,workdir=$work" "$d"
done
unset HFS_OVERLAYS HFS_LAYERS
exec "$@"
"""


class SysRoot:
    """Folders shown through an overlay: write(path, text) puts a file
    into the writable layer (it appears at path inside), lower(path, dir)
    adds a read-only layer (an installed tree), cmd(argv) is the argv
    that runs inside the namespace, upper(path) is where a file written
    inside ended up."""

    def __init__(self, tmp, dirs=("/etc",)):
        self.base = Path(tmp) / "sysroot"
        self.dirs = list(dirs)
        self.script = self.base / "enter.sh"
        for i, _ in enumerate(self.dirs, 1):
            (self.base / str(i) / "upper").mkdir(parents=True, exist_ok=True)
            (self.base / str(i) / "work").mkdir(parents=True, exist_ok=True)
        self.script.write_text(SCRIPT)
        # other users (a setuid test) must reach what the overlay shows
        for p in [self.base, *self.base.iterdir()]:
            os.chmod(p, 0o755)
        for i, _ in enumerate(self.dirs, 1):
            os.chmod(self.base / str(i), 0o755)
            os.chmod(self.base / str(i) / "upper", 0o755)

    def _layer(self, path):
        for i, d in enumerate(self.dirs, 1):
            if path == d or path.startswith(d.rstrip("/") + "/"):
                return i, os.path.relpath(path, d)
        raise ValueError(f"{path} is not under {self.dirs}")

    def upper(self, path):
        i, rel = self._layer(path)
        return self.base / str(i) / "upper" / rel

    def write(self, path, text, mode=0o644):
        p = self.upper(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(p.parent, 0o755)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
        os.chmod(p, mode)
        return p

    def remove(self, path):
        p = self.upper(path)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()

    def lower(self, path, src):
        """Shows the tree src under path (below the writable layer)."""
        i, rel = self._layer(path)
        assert rel == ".", "a lower layer covers a whole overlaid folder"
        dst = self.base / str(i) / "lower"
        if dst.exists() or dst.is_symlink():
            dst.unlink() if dst.is_symlink() else shutil.rmtree(dst)
        dst.symlink_to(Path(src).resolve())

    def env(self, env):
        e = dict(env)
        e["HFS_OVERLAYS"] = " ".join(self.dirs)
        e["HFS_LAYERS"] = str(self.base)
        return e

    def cmd(self, argv):
        return ["unshare", "-m", "sh", str(self.script), *map(str, argv)]

    @staticmethod
    def check():
        """None when overlays in a mount namespace work here, else why not."""
        r = subprocess.run(["unshare", "-m", "sh", "-c", "mount --make-rprivate / && mount -t tmpfs none /mnt"],
                           capture_output=True, text=True)
        return None if r.returncode == 0 else f"unshare -m with mounts does not work here: {r.stderr.strip()}"
