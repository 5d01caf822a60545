"""setup.py: only the wheel's platform tag (pyproject.toml has the rest).

The wheel holds no Python extension, but native files: libhfshim.so and
the launcher, built by `make` for glibc >= 2.17 with nothing else NEEDED
(docs/portable-build.md; `make check-exports` checks it). So the tag is
py3-none-<platform>: manylinux2014_x86_64 (glibc 2.17) for that portable
x86-64 build, which `make wheel` says through HFSHIM_WHEEL_PLAT after its
check, else linux_<arch> (a build for this machine only)."""

import os
import platform
from pathlib import Path

from setuptools import setup
from setuptools.dist import Distribution
from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
if not (HERE / "hfshim/_native/bin/hfshim").exists():
    raise SystemExit("hfshim/_native is missing: build the wheel with `make wheel` (it stages make install's tree)")

PLAT = os.environ.get("HFSHIM_WHEEL_PLAT") or f"linux_{platform.machine()}"


class NativeFiles(Distribution):
    def has_ext_modules(self):
        return True  # platform files: a platlib wheel, installed as one tree


class NativeWheel(bdist_wheel):
    def get_tag(self):
        return "py3", "none", PLAT


setup(distclass=NativeFiles, cmdclass={"bdist_wheel": NativeWheel})
