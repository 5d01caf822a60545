"""test_examples_container.py: examples/container without Docker. The
test reads examples/container/Dockerfile and builds the same root layout
in a folder: the host's /usr (Python, requests, curl) bound read-only, the
Dockerfile's `make install … DESTDIR=/out` tree over /usr/local, its COPY
and ENV lines, an /etc overlay; then, chrooted there inside a private
mount namespace, it runs the Dockerfile's RUN line that calls hfshim and
the image's CMD, as `docker build` and `docker run` would. The legacy
image (stage "legacy") fails against a Hub that rejects its stale token;
the hardened image succeeds from the image's cache with zero requests
reaching the Hub, and also with the real hostnames inside `unshare -n`."""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from cachebuild import CachedRepo
from conftest import ROOT
from fakehub import HUB_REPO, HUB_SHA
from sysroot import SysRoot

EXAMPLE = ROOT / "examples/container"

ENTER = r"""
set -e
R="$HFS_ROOT"; L="$HFS_LAYERS"
mount --make-rprivate /
mount --rbind /usr "$R/usr"
mount -o remount,bind,ro "$R/usr" 2>/dev/null || true
mount -t overlay overlay -o "lowerdir=$HFS_OUT/usr/local:/usr/local,upperdir=$L/local/upper,workdir=$L/local/work" "$R/usr/local"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$L/etc/upper,workdir=$L/etc/work" "$R/etc"
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
unset HFS_ROOT HFS_LAYERS HFS_OUT
exec chroot "$R" "$@"
"""


def dockerfile_stages(text):
    """[(name, [(instruction, args)])] with continuation lines joined."""
    stages, cur = [], None
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            words = args.split()
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else f"stage{len(stages)}"
            cur = (name, words[0], [])
            stages.append(cur)
        else:
            cur[2].append((instr, args.strip()))
    return stages


class Image:
    """What the Dockerfile's last stage holds: ENV, COPY, RUN, CMD,
    following its FROM chain (stage 3 is FROM legacy)."""

    def __init__(self, text, stage):
        stages = {name: (base, steps) for name, base, steps in dockerfile_stages(text)}
        self.steps = []
        chain = []
        while stage in stages and stage not in chain:
            chain.append(stage)
            stage = stages[stage][0]
        for name in reversed(chain):
            self.steps += [(name, i, a) for i, a in stages[name][1]]
        self.env = {}
        self.cmd = None
        for _, instr, args in self.steps:
            if instr == "ENV":
                for part in shlex.split(args):
                    k, _, v = part.partition("=")
                    self.env[k] = v
            elif instr == "CMD":
                self.cmd = json.loads(args)

    def runs(self):
        return [a for _, i, a in self.steps if i == "RUN"]

    def copies(self):
        return [a.split() for _, i, a in self.steps if i == "COPY"]


@pytest.fixture
def image():
    text = (EXAMPLE / "Dockerfile").read_text()
    names = [s[0] for s in dockerfile_stages(text)]
    assert names == ["hfshim", "legacy", "stage2"], names
    return Image(text, names[-1]), Image(text, "legacy")


class Root:
    """The image's root folder, entered with chroot in a mount namespace."""

    def __init__(self, shim, tmp, img):
        self.shim, self.dir = shim, Path(tmp) / "rootfs"
        self.layers = Path(tmp) / "layers"
        self.out = Path(tmp) / "out"
        for d in ("usr", "etc", "dev", "proc", "tmp", "root"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir / "tmp", 0o1777)
        for link in ("bin", "sbin", "lib", "lib64"):  # merged /usr, as the host and the image have it
            if os.path.islink("/" + link):
                (self.dir / link).symlink_to(os.readlink("/" + link))
        for d in ("local", "etc"):
            (self.layers / d / "upper").mkdir(parents=True)
            (self.layers / d / "work").mkdir(parents=True)
        # root's and not group-writable whatever the umask: hfshim trusts a
        # locked policy only then (the folders show through the overlays)
        for p in [self.dir, *self.dir.iterdir(), *self.layers.rglob("*")]:
            if p.is_dir() and not p.is_symlink() and p.name != "tmp":
                os.chmod(p, 0o755)
        (self.dir / "enter.sh").write_text(ENTER)
        self.img = img

    def install_hfshim(self):
        """The builder stage's `make install PREFIX=/usr/local DESTDIR=/out`
        (of the build under test)."""
        run = [r for r in self.img_builder_runs() if "make" in r and "install" in r]
        assert run == ["make -C /src/hfshim install PREFIX=/usr/local DESTDIR=/out"], run
        args = ["make", "-s", "-C", str(ROOT), "install", "PREFIX=/usr/local", f"DESTDIR={self.out}"]
        if self.shim.kind == "san":
            args.append("SAN=1")
        r = subprocess.run(args, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert (self.out / "usr/local/lib/libhfshim.so").exists()

    def img_builder_runs(self):
        text = (EXAMPLE / "Dockerfile").read_text()
        return [a for name, _, steps in dockerfile_stages(text) if name == "hfshim" for i, a in steps if i == "RUN"]

    def copy_files(self, img):
        """COPY lines: files from the repository (the build context) into
        the root; --from=hfshim takes the installed tree (mounted over
        /usr/local instead)."""
        for words in img.copies():
            if words[0].startswith("--from="):
                assert words[1:] == ["/out/usr/local/", "/usr/local/"], words
                continue
            src, dst = words
            if src == ".":
                continue  # the builder's copy of the sources
            target = self.dir / dst.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((ROOT / src).read_bytes())

    def cmd(self, argv, net=True):
        return ["unshare", "-m", *([] if net else ["-n"]), "sh", str(self.dir / "enter.sh"), *argv]

    def env(self, extra):
        e = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
             "HFSHIM_LOG": "", "HFS_ROOT": str(self.dir), "HFS_LAYERS": str(self.layers), "HFS_OUT": str(self.out)}
        if self.shim.asan:  # the sanitizer build cannot start without its runtime first
            e["LD_PRELOAD"] = self.shim.asan
            e["ASAN_OPTIONS"] = f"detect_leaks=0:verify_asan_link_order=0:log_path={self.shim.tmp}/asan"
            e["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={self.shim.tmp}/ubsan"
        e.update(extra)
        return e

    def run(self, argv, env, timeout=60, net=True):
        return self.shim.run(self.cmd(argv, net), env=self.env(env), timeout=timeout)


def put_cache(root, img):
    """The image's Hugging Face cache (HF_HOME/hub), holding the model the
    fake Hub serves, with the same files and commit."""
    home = root.dir / img.env["HF_HOME"].lstrip("/")
    CachedRepo(home / "hub", HUB_REPO, HUB_SHA,
               files={"config.json": b'{"model_type": "bert"}\n', "README.md": b"# tiny\n"}, refs={"main": HUB_SHA})


def test_dockerfile_names_real_packages(image):
    """The run-time packages the last stage installs exist under those
    names (they are installed here, as dependencies of the -dev ones)."""
    final, _ = image
    apt = [r for r in final.runs() if "apt-get install" in r]
    assert len(apt) == 1
    pkgs = [w for w in apt[0].split("--no-install-recommends", 1)[1].split("&&")[0].split()]
    assert pkgs == ["libcjson1", "libcurl4", "libpcre2-8-0"], pkgs
    for p in pkgs:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        assert "ok installed" in r.stdout, (p, r)


def test_container_example(shim, image, fakehub_factory, tmp_path, netns):
    why = SysRoot.check()
    if why:
        pytest.fail(why)
    final, legacy = image
    hub = fakehub_factory("ok")
    hub.valid_tokens = {"hf_the_only_good_one"}  # the baked-in token is stale
    root = Root(shim, tmp_path, final)
    root.install_hfshim()
    root.copy_files(final)
    put_cache(root, final)
    env = dict(final.env)
    assert env["HF_TOKEN"].startswith("hf_") and final.cmd == ["python3", "/app/app.py"]

    # the legacy image: against a Hub that rejects the stale token, the
    # app fails with the seed apps' 401 (the test can fail)
    r = root.run(legacy.cmd, dict(legacy.env, HF_ENDPOINT=hub.url))
    assert r.returncode == 1 and "401" in r.stderr, r
    assert hub.request_count() == 1
    got = hub.requests[0]
    assert got.path == f"/api/models/{HUB_REPO}" and got.header("authorization") == f"Bearer {env['HF_TOKEN']}"

    # docker build: the RUN line that installs hfshim, as /bin/sh -c runs it
    runs = [r for r in final.runs() if "hfshim install --system" in r]
    assert len(runs) == 1
    r = root.run(["/bin/sh", "-c", runs[0]], {})
    assert r.returncode == 0, r
    assert "/etc/hfshim/rules.json: installed from /tmp/hfshim-rules.json (locked" in r.stdout, r
    etc = root.layers / "etc/upper"
    assert (etc / "ld.so.preload").read_text() == "/usr/local/lib/libhfshim.so\n"
    assert (etc / "hfshim/rules.json").read_bytes() == (EXAMPLE / "rules.json").read_bytes()
    assert sorted(p.name for p in etc.iterdir()) == ["hfshim", "ld.so.preload"]  # nothing else in /etc
    assert not (root.dir / "tmp/hfshim-rules.json").exists()

    # docker run -e HF_ENDPOINT=<the fake Hub>: answered from the cache,
    # nothing reaches the Hub, the token never leaves
    before = hub.request_count()
    r = root.run(final.cmd, dict(env, HF_ENDPOINT=hub.url))
    assert r.returncode == 0, r
    assert r.stdout.strip() == f"app: {HUB_REPO} at {HUB_SHA}: 2 files, 30 bytes in /tmp/model", r
    assert (root.dir / "tmp/model/config.json").read_bytes() == b'{"model_type": "bert"}\n'
    assert hub.request_count() == before and hub.connection_count() == 1  # the legacy run's only
    assert "hfshim[" in r.stderr and "answered" in r.stderr, r  # what the log shows (docker logs)
    assert env["HF_TOKEN"] not in r.stderr

    # the audit log the policy names: one record per decision, token masked
    audit = (root.dir / "var/log/hfshim/audit.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in audit]
    urls = [x.get("url") for x in recs]
    assert f"{hub.url}/api/models/{HUB_REPO}" in urls, recs
    assert env["HF_TOKEN"] not in "\n".join(audit)

    # a model the image does not have: refused at once, with the reason
    r = root.run(final.cmd, dict(env, HF_ENDPOINT=hub.url, MODEL="acme/not-in-the-image"))
    assert r.returncode == 1 and "app: cannot load acme/not-in-the-image: 403" in r.stderr, r
    assert f"blocked GET {hub.url}/api/models/acme/not-in-the-image" in r.stderr, r
    assert hub.request_count() == before

    # the app trying to turn it off: HFSHIM_RULES and HFSHIM_OFFLINE=0 on
    # docker run change nothing
    perm = root.dir / "tmp/open.json"
    perm.write_text('{"version": 1, "offline": false}')
    r = root.run(final.cmd, dict(env, HF_ENDPOINT=hub.url, HFSHIM_RULES="/tmp/open.json", HFSHIM_OFFLINE="0"))
    assert r.returncode == 0 and hub.request_count() == before, r
    assert "ignored HFSHIM_RULES=/tmp/open.json, HFSHIM_OFFLINE=0" in r.stderr, r

    # the real hostnames (no HF_ENDPOINT), with no network at all
    r = root.run(final.cmd, env, net=False)
    assert r.returncode == 0 and f"at {HUB_SHA}: 2 files" in r.stdout, r
