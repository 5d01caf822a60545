#!/usr/bin/env bash
# Installs, by Debian package name, everything hfshim needs to build, test,
# fuzz, benchmark and run its demo; does nothing when all are present.
# Run as root (CI) or with sudo available. Used by `make deps` and .ci/run.
set -euo pipefail

pkgs=(
  build-essential pkg-config
  libcurl4-openssl-dev libcjson-dev libpcre2-dev     # the library's own deps
  libcmocka-dev clang libclang-rt-14-dev              # unit tests, fuzzers
  clang-format                                        # make lint
  scdoc man-db                                        # the man pages (docs/man/*.scd), and reading them
  python3 python3-pytest python3-requests python3-httpx python3-pycurl python3-aiohttp python3-venv
  python3-build python3-wheel python3-setuptools python3-pip python3-pytest-xdist  # make wheel; the plugin's tests
  curl git openssl ca-certificates iproute2 util-linux strace hyperfine nghttp2-server valgrind
  nginx                                               # an event-loop server under the shim (epoll)
)
# mitmproxy (bench's comparison row only) is heavy: `make bench-deps`, not here.
# node: keep one already on the machine (any source); otherwise Debian's.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "hfshim deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# cJSON's source, from Debian's source package (the version of the
# libcjson-dev installed above, Debian's patches applied, checked by apt
# against the archive's signed index), for the portable build: the library
# and the launcher link it in with hidden symbols (docs/portable-build.md).
# Fetched into .deps/ (not part of the repository); the Makefile builds it.
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/.ci/cjson-src.sh"

# the official @huggingface/hub JS client the tests run, pinned by
# tests/js/package-lock.json
if [ ! -d "$here/tests/js/node_modules/@huggingface/hub" ]; then
  echo "hfshim deps: npm ci in tests/js"
  npm ci --prefix "$here/tests/js" --no-audit --no-fund --loglevel=error >/dev/null
fi

# huggingface_hub as users run it, pinned (tests/requirements-hub*.txt), for
# tests/test_reach.py: the current 1.x in tests/.venv, a legacy 0.2x in
# tests/.venv-legacy; remade when a requirements file changes
for v in "" -legacy; do
  req="$here/tests/requirements-hub$v.txt" venv="$here/tests/.venv$v"
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements"; then
    echo "hfshim deps: $venv from tests/requirements-hub$v.txt"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$req"
    cp "$req" "$venv/.requirements"
  fi
done
