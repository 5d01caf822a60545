#!/usr/bin/env bash
# build.sh: hfshim_VERSION_ARCH.deb from `make install`'s tree, with the
# tools Debian builds binary packages with: dpkg-shlibdeps computes
# Depends from the installed ELF files, dpkg-deb builds the archive. Not
# debhelper: the package wraps the tree `make install PREFIX=/usr` makes
# (the same artifact as the wheel and the image layer), not a second build
# from a debian/ source directory. Used by `make deb`:
#   packaging/deb/build.sh BUILD OUTDIR
# Layout (FHS): /usr/bin/hfshim, /usr/lib/hfshim/libhfshim.so (a preload
# module, not a library for the linker: in the package's own folder, where
# the launcher looks second), /usr/share/hfshim/rules/*.json, and what else
# `make install` puts under share (man pages, gzipped here). Nothing is
# switched on by installing: `hfshim install --system` stays the
# administrator's step; prerm (remove) takes the library back out of
# /etc/ld.so.preload so no process is left naming a missing file, postrm
# (purge) removes the system policy that step wrote (/etc/hfshim).
set -euo pipefail

build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
version=$(cat "$top/VERSION")
arch=$(dpkg --print-architecture)
work=$build/deb
root=$work/root

rm -rf "$work"
mkdir -p "$root/DEBIAN"
make -s -C "$top" install BUILD="$build" PREFIX=/usr DESTDIR="$root" >/dev/null
install -d "$root/usr/lib/hfshim"
mv "$root/usr/lib/libhfshim.so" "$root/usr/lib/hfshim/libhfshim.so"
# stripped as dh_strip does (Debian policy 10.1); the dynamic symbols stay
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/lib/hfshim/libhfshim.so"
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/hfshim"
if [ -d "$root/usr/share/man" ]; then
  find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +
fi
install -d "$root/usr/share/doc/hfshim"
install -m 0644 "$top/README.md" "$root/usr/share/doc/hfshim/README.md"
install -m 0755 "$here/prerm" "$here/postrm" "$root/DEBIAN/"

# Depends: what the ELF files need, as Debian's symbols files say (the
# launcher's dlopen of libcurl.so.4 is invisible here, and optional: only
# the Hub token check uses it, hence Suggests)
mkdir -p "$work/debian"
printf 'Source: hfshim\n\nPackage: hfshim\nArchitecture: any\n' >"$work/debian/control"
elfs=$(cd "$work" && find root -type f -perm -u+x ! -path 'root/DEBIAN/*' -exec sh -c 'head -c4 "$1" | grep -q ELF' sh {} \; -print)
deps=$(cd "$work" && dpkg-shlibdeps -O -xhfshim $elfs 2>"$work/shlibdeps.log" | sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || { cat "$work/shlibdeps.log" >&2; echo "deb: dpkg-shlibdeps computed no Depends" >&2; exit 1; }

# md5sums as dh_md5sums writes them (dpkg --verify reads them)
(cd "$root" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$deps/" -e "s/@SIZE@/$size/" \
  "$here/control.in" >"$root/DEBIAN/control"
deb="$out/hfshim_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
