#!/usr/bin/env bash
# cjson-src.sh: puts cJSON's source, from Debian's source package, into
# .deps/cjson (cJSON.c, cJSON.h, include/cjson/cJSON.h, VERSION) for the
# portable build, which links cJSON into libhfshim.so and the launcher
# with hidden symbols. The version is that of the installed libcjson-dev
# (so the headers the tests use and the code linked in agree), else the
# newest the archive has. `apt-get source` fetches the .dsc, the upstream
# tarball and Debian's patches, checks them against the archive's signed
# Sources index and applies the patches (dpkg-source, from build-essential).
# The deb-src index is read into a private folder: the machine's apt
# configuration is not changed. Does nothing when .deps/cjson is there.
# Used by .ci/deps.sh (`make deps`) and by the Makefile when it is missing.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/.deps/cjson"
[ -f "$dest/cJSON.c" ] && [ -f "$dest/VERSION" ] && exit 0

ver=$(dpkg-query -W -f='${source:Version}' libcjson-dev 2>/dev/null || true)
work=$(mktemp -d "${TMPDIR:-/tmp}/hfshim-cjson.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/parts" "$work/cache/archives/partial" "$work/src"
: >"$work/sources.list"
# the machine's own Debian sources, as deb-src (both formats)
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  sed -n 's/^[[:space:]]*deb[[:space:]]\(.*debian.*\)$/deb-src \1/p' "$f" >>"$work/sources.list"
done
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  grep -qi debian "$f" || continue
  sed 's/^Types:.*/Types: deb-src/' "$f" >"$work/parts/$(basename "$f")"
done
apt=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts="$work/parts"
     -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Debug::NoLocking=1
     -o APT::Sandbox::User=root)
echo "hfshim deps: cJSON source${ver:+ $ver} (apt-get source cjson)"
apt-get -qq "${apt[@]}" update >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
( cd "$work/src"
  apt-get -qq "${apt[@]}" source ${ver:+"cjson=$ver"} >>"$work/log" 2>&1 \
    || apt-get -qq "${apt[@]}" source cjson >>"$work/log" 2>&1 ) || { cat "$work/log" >&2; exit 1; }
src=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'cjson-*' | head -1)
[ -n "$src" ] && [ -f "$src/cJSON.c" ] || { echo "cjson-src: no cJSON.c in the source package" >&2; exit 1; }
rm -rf "$dest.new"
mkdir -p "$dest.new/include/cjson"
cp "$src/cJSON.c" "$src/cJSON.h" "$dest.new/"
cp "$src/cJSON.h" "$dest.new/include/cjson/cJSON.h"
cp "$src/LICENSE" "$dest.new/" 2>/dev/null || true
basename "$(ls "$work/src"/cjson_*.dsc)" .dsc | sed 's/^cjson_//' >"$dest.new/VERSION"
rm -rf "$dest" && mv "$dest.new" "$dest"
echo "hfshim deps: cJSON $(cat "$dest/VERSION") in .deps/cjson"
