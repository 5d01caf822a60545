"""test_examples_container.py: examples/container without Docker. The
test reads examples/container/Dockerfile and builds the same root layout
from a minimal Debian 11 root (tests/legacyroot.py: the legacy stage's
python:3.9-slim-bullseye stands for it; Debian's python3-requests there
for the pinned pip one): the builder stage's `make install … DESTDIR=/out`
tree shown over it, its COPY and ENV lines, a writable layer of its own;
then, chrooted there inside a private mount namespace, it runs the
Dockerfile's RUN line that calls hfshim and the image's CMD, as `docker
build` and `docker run` would. Nothing is installed into the root: the
hardening stage must not need a package. The legacy image fails against
a Hub that rejects its stale token; the hardened image succeeds from the
image's cache with zero requests reaching the Hub, and also with the real
hostnames inside `unshare -n`. Skipped when no Debian 11 root is cached
(`make legacy-check` builds it)."""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from buildlock import run_make
from cachebuild import CachedRepo
from conftest import ROOT
from fakehub import HUB_REPO, HUB_SHA
from legacyroot import OldRoot, legacy_lower  # noqa: F401 (fixture)
from sysroot import SysRoot

EXAMPLE = ROOT / "examples/container"


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
    assert names == ["hfshim", "hfshim-layer", "legacy", "stage3"], names
    return Image(text, names[-1]), Image(text, "legacy")


class Root(OldRoot):
    """The image's root: the Debian 11 root, the builder's /out tree over
    it, a writable layer (upper) that COPY lines and the image's runs write."""

    def __init__(self, shim, tmp, lower, img):
        self.shim, self.out, self.img = shim, Path(tmp) / "out", img
        super().__init__(lower, tmp, over=[self.out])

    def install_hfshim(self):
        """The builder stage's `make install PREFIX=/usr/local DESTDIR=/out`
        (of the build under test)."""
        run = [r for r in self.img_builder_runs() if "make" in r and "install" in r]
        assert run == ["make -C /src/hfshim install PREFIX=/usr/local DESTDIR=/out"], run
        args = ["make", "-s", "-C", str(ROOT), "install", "PREFIX=/usr/local", f"DESTDIR={self.out}",
                f"BUILD={self.shim.build}"]
        r = run_make(args[1:], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert (self.out / "usr/local/lib/libhfshim.so").exists()

    def img_builder_runs(self):
        text = (EXAMPLE / "Dockerfile").read_text()
        return [a for name, _, steps in dockerfile_stages(text) if name == "hfshim" for i, a in steps if i == "RUN"]

    def copy_files(self, img):
        """COPY lines: files from the repository (the build context) into
        the root; --from=hfshim-layer takes the installed tree (shown over
        it: the layer stage is that tree, test_layer_stage checks it)."""
        for words in img.copies():
            if words[0].startswith("--from="):
                assert words == ["--from=hfshim-layer", "/usr/local/", "/usr/local/"], words
                continue
            src, dst = words
            if src == ".":
                continue  # the builder's copy of the sources
            self.put(dst, (ROOT / src).read_bytes())

    def run(self, argv, env, timeout=60, net=True):
        return self.shim.run(self.cmd(argv, net), env=self.env(dict({"HFSHIM_LOG": ""}, **env)), timeout=timeout)


def put_cache(root, img):
    """The image's Hugging Face cache (HF_HOME/hub), holding the model the
    fake Hub serves, with the same files and commit."""
    home = root.upper / img.env["HF_HOME"].lstrip("/")
    CachedRepo(home / "hub", HUB_REPO, HUB_SHA,
               files={"config.json": b'{"model_type": "bert"}\n', "README.md": b"# tiny\n"}, refs={"main": HUB_SHA})


def test_dockerfile_installs_no_package(image, legacy_lower):
    """The hardening stage copies the portable tree in and runs hfshim: no
    package manager. The legacy stage is an old Debian (11, bullseye), the
    one the test's root is."""
    final, legacy = image
    text = (EXAMPLE / "Dockerfile").read_text()
    stages = {name: (base, steps) for name, base, steps in dockerfile_stages(text)}
    adds = stages["stage3"][1]
    assert stages["stage3"][0] == "legacy"
    assert not [a for i, a in adds if i == "RUN" and re.search(r"apt-get|apt |pip|dpkg|yum|apk", a)], adds
    assert [i for i, _ in adds] == ["COPY", "COPY", "RUN"], adds
    base = stages["legacy"][0]
    assert "bullseye" in base, base
    assert (legacy_lower / "etc/debian_version").read_text().startswith("11."), "the test root is not Debian 11"


def test_layer_stage(shim, tmp_path):
    """The hfshim-layer stage is the installed tree and nothing else: FROM
    scratch, one COPY of the builder's /out/usr/local/ (where `make
    install PREFIX=/usr/local DESTDIR=/out` puts everything it installs),
    so COPY --from=hfshim-layer gives /usr/local/{bin,lib,share}/… only;
    the README shows the same lines."""
    text = (EXAMPLE / "Dockerfile").read_text()
    stages = {name: (base, steps) for name, base, steps in dockerfile_stages(text)}
    assert stages["hfshim-layer"] == ("scratch", [("COPY", "--from=hfshim /out/usr/local/ /usr/local/")])
    out = tmp_path / "out"
    r = run_make(["-s", "-C", str(ROOT), "install", "PREFIX=/usr/local", f"DESTDIR={out}", f"BUILD={shim.build}"],
                 capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    everything = sorted(str(p.relative_to(out)) for p in out.rglob("*") if not p.is_dir())
    assert everything and all(p.startswith("usr/local/") for p in everything), everything  # nothing left behind
    layer = [p[len("usr/local/"):] for p in everything]
    assert {p.split("/")[0] for p in layer} == {"bin", "lib", "share"}, layer
    assert {"bin/hfshim", "lib/libhfshim.so", "share/hfshim/rules/default.json"} <= set(layer), layer
    assert all(p.startswith(("bin/", "lib/", "share/hfshim/", "share/man/")) for p in layer), layer
    assert os.access(out / "usr/local/bin/hfshim", os.X_OK)
    readme = (EXAMPLE / "README.md").read_text()
    assert "--target hfshim-layer" in readme and "COPY --from=hfshim-layer /usr/local/ /usr/local/" in readme


def test_container_example(shim, image, fakehub_factory, tmp_path, netns, legacy_lower):
    if shim.kind == "san":
        pytest.skip("the sanitizer build needs this machine's glibc and runtime; the plain build is what ships")
    why = SysRoot.check()
    if why:
        pytest.fail(why)
    final, legacy = image
    hub = fakehub_factory("ok")
    hub.valid_tokens = {"hf_the_only_good_one"}  # the baked-in token is stale
    root = Root(shim, tmp_path, legacy_lower, final)
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
    etc = root.upper / "etc"
    assert (etc / "ld.so.preload").read_text() == "/usr/local/lib/libhfshim.so\n"
    assert (etc / "hfshim/rules.json").read_bytes() == (EXAMPLE / "rules.json").read_bytes()
    assert sorted(p.name for p in etc.iterdir()) == ["hfshim", "ld.so.preload"]  # nothing else in /etc
    assert not (root.upper / "tmp/hfshim-rules.json").exists()

    # docker run -e HF_ENDPOINT=<the fake Hub>: answered from the cache,
    # nothing reaches the Hub, the token never leaves
    before = hub.request_count()
    r = root.run(final.cmd, dict(env, HF_ENDPOINT=hub.url))
    assert r.returncode == 0, r
    assert r.stdout.strip() == f"app: {HUB_REPO} at {HUB_SHA}: 2 files, 30 bytes in /tmp/model", r
    assert (root.upper / "tmp/model/config.json").read_bytes() == b'{"model_type": "bert"}\n'
    assert hub.request_count() == before and hub.connection_count() == 1  # the legacy run's only
    assert "hfshim[" in r.stderr and "answered" in r.stderr, r  # what the log shows (docker logs)
    assert env["HF_TOKEN"] not in r.stderr

    # the audit log the policy names: one record per decision, token masked
    audit = (root.upper / "var/log/hfshim/audit.jsonl").read_text().splitlines()
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
    root.put("/tmp/open.json", '{"version": 1, "offline": false}')
    r = root.run(final.cmd, dict(env, HF_ENDPOINT=hub.url, HFSHIM_RULES="/tmp/open.json", HFSHIM_OFFLINE="0"))
    assert r.returncode == 0 and hub.request_count() == before, r
    assert "ignored HFSHIM_RULES=/tmp/open.json, HFSHIM_OFFLINE=0" in r.stderr, r

    # the real hostnames (no HF_ENDPOINT), with no network at all
    r = root.run(final.cmd, env, net=False)
    assert r.returncode == 0 and f"at {HUB_SHA}: 2 files" in r.stdout, r
