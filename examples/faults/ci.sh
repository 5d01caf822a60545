#!/usr/bin/env bash
# ci.sh: the fault examples as a CI step (any shell-based CI: GitHub
# Actions `run: bash examples/faults/ci.sh`, GitLab `script:`). Each check
# runs the unchanged app under one fault, inside its own network namespace
# (nothing leaves the machine), and compares the app's exit status with
# what the app documents; one summary line at the end, exit 1 if any
# check failed.
#   HFSHIM=/path/to/hfshim bash examples/faults/ci.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
hfshim=${HFSHIM:-hfshim}
py=${PYTHON:-python3}
pass=0 fail=0

# expect STATUS DESCRIPTION [hfshim-run options...]
expect() {
    local want=$1 what=$2 got
    shift 2
    unshare -n sh -c 'ip link set lo up 2>/dev/null; exec "$@"' sh \
        env -u HF_TOKEN -u HFSHIM_RULES APP_TIMEOUT="${APP_TIMEOUT:-10}" \
        "$hfshim" run --rules "$here/hub-stub.json" --log off "$@" -- "$py" "$here/app.py" >/dev/null 2>&1
    got=$?
    if [ "$got" -eq "$want" ]; then
        pass=$((pass + 1)); echo "ok   $what (exit $got)"
    else
        fail=$((fail + 1)); echo "FAIL $what: exit $got, expected $want"
    fi
}

expect 0 "the Hub answers"
expect 3 "stale token (401 Invalid credentials)" --fault invalid-credentials:/api/
expect 4 "gated repo (401 GatedRepo)" --fault gated-repo:/resolve/
expect 4 "missing repo (401 RepoNotFound)" --fault repo-not-found
expect 0 "two 429s, then the answer" --fault 'rate-limited:/api/@first=2'
expect 5 "429 for good" --fault rate-limited
expect 7 "Hub outage (503)" --fault hub-outage
expect 6 "connection refused" --fault refuse
APP_TIMEOUT=2 expect 6 "a firewall drops the packets (the app's 2 s timeout)" --fault firewall-hang
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
