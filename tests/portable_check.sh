#!/usr/bin/env bash
# portable_check.sh: the portable build's promise, read from the ELF files
# (docs/portable-build.md): every glibc version they need is GLIBC_2.17 or
# older (none GLIBC_PRIVATE), and NEEDED names only libc and the dynamic
# loader (libdl and libpthread are found at run time: glibc217.h). Run by `make check-exports` on
# the normal build, so by the README's test command.
#   tests/portable_check.sh FILE...
set -euo pipefail
max=2.17
fail=0
for f in "$@"; do
  # version needs: "Name: GLIBC_2.34  Flags: none  Version: 5"
  vers=$(readelf -W -V "$f" | sed -n 's/.*Name: \([A-Z_]*[0-9][0-9.]*\|GLIBC_PRIVATE\|[A-Za-z_]*\)  *Flags.*/\1/p' | sort -u)
  bad=()
  for v in $vers; do
    case "$v" in
      GLIBC_PRIVATE) bad+=("$v") ;;
      GLIBC_[0-9]*)
        n=${v#GLIBC_}
        [ "$(printf '%s\n%s\n' "$n" "$max" | sort -V | tail -1)" = "$max" ] || bad+=("$v") ;;
      *) bad+=("$v") ;;   # a version of another library (libcurl, OpenSSL, …)
    esac
  done
  if [ ${#bad[@]} -gt 0 ]; then
    fail=1
    echo "portable check: $f needs ${bad[*]} (newer than GLIBC_$max or not glibc's):"
    for v in "${bad[@]}"; do
      objdump -T "$f" | awk -v v="($v)" '$0 ~ /\*UND\*/ && index($0, v) {print "  " $NF "@" substr(v, 2, length(v) - 2)}'
    done
  fi
  needed=$(readelf -W -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  for n in $needed; do
    case "$n" in
      libc.so.6|ld-linux-x86-64.so.2|ld-linux-aarch64.so.1) ;;
      *) echo "portable check: $f needs $n at run time (only the C library is allowed)"; fail=1 ;;
    esac
  done
  [ $fail -eq 0 ] && echo "portable check: $(basename "$f"): glibc <= $max ($(echo $vers | tr ' ' ,)), NEEDED $(echo $needed | tr ' ' ,)"
done
exit $fail
