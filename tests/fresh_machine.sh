#!/usr/bin/env bash
# fresh_machine.sh: the README's set-up tried as a new user would try it.
# Builds a minimal Debian 12 root with mmdebstrap, runs the README's first
# install line in it (read from the README, so the two cannot drift), puts a
# clean clone of HEAD in it, then runs the README's two commands, `make demo`
# and `make test`, inside it (chroot in a private mount namespace). Prints
# each step's time and ends with "fresh-check: passed" or the failing step
# and the tail of its log. Used by `make fresh-check`; run as root.
#
#   tests/fresh_machine.sh [STEP...]     steps: demo test (default: both)
#   FRESH_KEEP=1   keep the root and the logs (printed at the end)
#   FRESH_SUITE=bookworm   the Debian release to build the root from
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(demo test)
suite=${FRESH_SUITE:-bookworm}

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-check: needs root (mmdebstrap, chroot, mount namespaces)" >&2
  exit 2
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "fresh-check: installing mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

# The README's first install line: the one place that says what a fresh
# machine needs before the two commands.
prereq=$(grep -m1 -E '^[[:space:]]+apt-get update && apt-get install' "$here/README.md" | sed 's/^[[:space:]]*//') || true
if [ -z "$prereq" ]; then
  echo "fresh-check: README.md has no 'apt-get update && apt-get install …' line" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/hfshim-fresh.XXXXXX")
R=$work/root
cleanup() {
  if [ "${FRESH_KEEP:-0}" = 1 ]; then echo "fresh-check: kept $work"; return; fi
  # the mounts lived in the private namespace only; refuse to delete
  # through one that is somehow still there
  if findmnt -rn -o TARGET | grep -q "^$R"; then
    echo "fresh-check: $R still has mounts, not removing it" >&2; return
  fi
  rm -rf "$work"
}
trap cleanup EXIT

t0=$(date +%s)
step() { printf 'fresh-check: %-28s %4ss\n' "$1" "$(( $(date +%s) - $2 ))"; }

t=$(date +%s)
mmdebstrap --quiet --variant=minbase "$suite" "$work/root.tar" >"$work/mmdebstrap.log" 2>&1 \
  || { tail -20 "$work/mmdebstrap.log"; echo "fresh-check: failed: mmdebstrap"; exit 1; }
mkdir "$R" && tar -xf "$work/root.tar" -C "$R" && rm -f "$work/root.tar"
step "minimal $suite root" "$t"

# What a real machine has and a minbase root lacks: name service files
# (minbase has no localhost line), and the machine's CA bundle when the
# registries are reached through a TLS-inspecting gateway (added trust,
# not weakened checks; node gets it through NODE_EXTRA_CA_CERTS, pip in
# the test venvs through PIP_CERT: Debian's bundle, which then holds it).
cp /etc/resolv.conf /etc/hosts "$R/etc/"
mkdir -p "$R/usr/local/share/fresh-check" "$R/usr/local/share/ca-certificates" "$R/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$R/usr/local/share/fresh-check/host-ca.crt"
# the machine's local CAs, where Debian's ca-certificates adds them to the
# bundle when the README's line installs it; until then the host's bundle
cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"

# a clean clone of HEAD, as a user's `git clone` gives
git clone -q --no-hardlinks "$here" "$R/root/hfshim"
git -C "$R/root/hfshim" log -1 --format='fresh-check: clone of %h %s'

# run ONE command inside the root, logging to $work/NAME.log
in_root() {
  local name=$1 cmd=$2
  unshare -m --propagation private sh -c '
    R=$1; cmd=$2
    mount --bind "$R" "$R"          # a mount point, so `unshare -m` works inside
    mount -t proc proc "$R/proc"
    mount --rbind /dev "$R/dev"; mount --make-rslave "$R/dev"
    mount --rbind /sys "$R/sys"; mount --make-rslave "$R/sys"
    mount -t tmpfs tmpfs "$R/tmp"
    exec chroot "$R" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 TERM=dumb \
      NODE_EXTRA_CA_CERTS=/usr/local/share/fresh-check/host-ca.crt \
      PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
      sh -c "cd /root/hfshim && $cmd"' sh "$R" "$cmd" >"$work/$name.log" 2>&1
}

t=$(date +%s)
echo "fresh-check: README's first line: $prereq"
in_root prereq "$prereq" || { tail -30 "$work/prereq.log"; echo "fresh-check: failed: README's install line"; exit 1; }
step "README's install line" "$t"

for s in "${steps[@]}"; do
  t=$(date +%s)
  if ! in_root "$s" "make $s"; then
    tail -60 "$work/$s.log"
    step "make $s FAILED" "$t"
    FRESH_KEEP=1
    echo "fresh-check: failed: make $s (log: $work/$s.log)"
    exit 1
  fi
  step "make $s" "$t"
  if [ "$s" = test ]; then
    echo "fresh-check: make test closed with: $(grep -E '[0-9]+ passed' "$work/test.log" | tail -1)"
  fi
done
step "total" "$t0"
echo "fresh-check: passed"
