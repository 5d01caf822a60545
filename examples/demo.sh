#!/usr/bin/env bash
# demo.sh: runs real programs with and without hfshim and shows the
# difference (the main job of `make demo`). Everything talks to fake Hubs
# this script starts on 127.0.0.1; the one real Hub hostname is tried only
# inside a network namespace of its own (unshare -n).
#   usage: examples/demo.sh [BUILD_DIR]     (default: build)
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
HFSHIM="$PWD/$BUILD/bin/hfshim"
PY=/usr/bin/python3
WAIT=3
[ -x "$HFSHIM" ] || { echo "demo: $HFSHIM is missing: run make first" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

start_hub() { # mode [fakehub args] -> sets HUB_PORT (not in a subshell: the pid must reach cleanup)
    local mode=$1; shift
    $PY tests/fakehub.py --mode "$mode" "$@" >"$work/hub-$mode" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        grep -q READY "$work/hub-$mode" 2>/dev/null && break
        sleep 0.05
    done
    HUB_PORT=$(awk '/READY/ {print $2}' "$work/hub-$mode")
}

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# run LABEL CMD...: runs CMD with a WAIT-second bound, prints time and outcome
run() {
    local label=$1; shift
    local t0 t1 rc
    t0=$(date +%s.%N)
    timeout "$WAIT" "$@" >"$work/out" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
    if [ $rc -eq 124 ]; then
        printf '  %-34s still waiting after %ss (killed by the demo; it would hang)\n' "$label" "$secs"
    else
        printf '  %-34s exit %-3s after %ss: %s\n' "$label" "$rc" "$secs" "$(grep -v -e '^hfshim\[' -e '^@@' "$work/out" | tail -1 | cut -c1-90)"
        grep '^hfshim\[' "$work/out" | grep -v summary | sed 's/^/      log: /'
    fi
}

start_hub hang
HANG=$HUB_PORT
start_hub ok
OK=$HUB_PORT
export HF_ENDPOINT="http://127.0.0.1:$HANG"
export HFSHIM_LOG=stderr
URL="$HF_ENDPOINT/api/models/acme/tiny-model"
REQ="import requests; r = requests.get('$URL'); print(r.status_code, r.json().get('sha') or r.headers.get('X-Error-Message'))"
NODE="fetch('$URL').then(async r => console.log(r.status, (await r.json()).sha || r.headers.get('x-error-message'))).catch(e => { console.error('fetch failed:', e.cause ? e.cause.code : e); process.exit(1) })"

bold "1. A Hub endpoint that accepts connections and never answers (a firewall swallowing packets): HF_ENDPOINT=$HF_ENDPOINT"
echo "   without hfshim:"
run "python3 requests (model info)" $PY -c "$REQ"
run "curl" curl -sS "$URL"
run "node fetch" node -e "$NODE"
run "git ls-remote" git ls-remote "$HF_ENDPOINT/acme/tiny-model"
echo "   with: hfshim run --offline -- …"
run "python3 requests (model info)" "$HFSHIM" run --offline -- $PY -c "$REQ"
run "curl" "$HFSHIM" run --offline -- curl -sS "$URL"
run "node fetch" "$HFSHIM" run --offline -- node -e "$NODE"
run "git ls-remote" "$HFSHIM" run --offline -- git ls-remote "$HF_ENDPOINT/acme/tiny-model"

bold "2. Offline: hfshim is offline, the libraries are not (a user's HF_HUB_OFFLINE=1 is taken over); --offline=variables tells them too"
run "os.environ, --offline" env HF_HUB_OFFLINE=1 "$HFSHIM" run --offline -- $PY -c \
    "import os; print({k: os.environ.get(k) for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_HUB_DISABLE_XET')})"
run "os.environ, --offline=variables" "$HFSHIM" run --offline=variables -- $PY -c \
    "import os; print({k: os.environ[k] for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_HUB_DISABLE_XET')})"
run "getenv after setenv(…, \"0\")" "$HFSHIM" run --offline=variables -- "$BUILD/progs/getenv_probe" HF_HUB_OFFLINE

bold "3. Other local services stay reachable offline (here: a server on 127.0.0.1:$OK)"
run "python3 requests to it" "$HFSHIM" run --offline -- $PY -c \
    "import requests; print(requests.get('http://127.0.0.1:$OK/health').status_code, 'from the local service')"

bold "4. The real Hub by name, in a network namespace with no network at all (unshare -n)"
if unshare -n true 2>/dev/null; then
    run "python3 requests huggingface.co" "$HFSHIM" run --offline -- unshare -n $PY -c \
        "import requests; r = requests.get('https://huggingface.co/api/models/bert-base-uncased'); print(r.status_code, r.headers['X-Error-Message'], '(virtual TLS, no network)')"
else
    echo "  (skipped: unshare -n is not permitted here)"
fi

bold "5. Children exec'd with an EMPTY environment are still under the shim"
run "exec_clean execve → net_probe" "$HFSHIM" run --offline -- "$BUILD/progs/exec_clean" execve \
    "$BUILD/progs/net_probe" connect 192.0.2.1 443

bold "6. Bad rules are refused before anything runs (hfshim run exits 2)"
printf '{\n  "version": 1,\n  "rules": [ { "match": { "path": "^/a(b" }, "action": "block" } ]\n}\n' >"$work/bad.json"
(cd "$work" && "$HFSHIM" run --rules bad.json -- true; echo "  exit status $?")

bold "7. HTTP-level rules in any program (libcurl, plain sockets, OpenSSL): strip a stale token, answer without any server"
cat >"$work/http.json" <<JSON
{ "version": 1, "rules": [
  { "name": "no-stale-token", "match": { "host": "127.0.0.1" }, "action": "strip-header", "header": "Authorization" },
  { "name": "fake-model-info", "match": { "path": "^/api/models/acme/tiny\$" }, "action": "respond",
    "headers": { "Content-Type": "application/json" }, "body": "{\"id\": \"acme/tiny\", \"sha\": \"c0ffee\"}" }
] }
JSON
run "curl, stale token, what the server got" "$HFSHIM" run --rules "$work/http.json" -- curl -sS \
    -H "Authorization: Bearer hf_stale_token_from_2023" "http://127.0.0.1:$OK/headers"
run "curl to a port nobody listens on" "$HFSHIM" run --rules "$work/http.json" -- curl -sS \
    "http://127.0.0.1:9/api/models/acme/tiny"
run "python3 requests, stale token" "$HFSHIM" run --rules "$work/http.json" -- $PY -c \
    "import requests; print(requests.get('http://127.0.0.1:$OK/headers', headers={'Authorization': 'Bearer hf_stale_token_from_2023'}).text)"
run "node fetch, nobody listening" "$HFSHIM" run --rules "$work/http.json" -- node -e \
    "fetch('http://127.0.0.1:19999/api/models/acme/tiny').then(r => r.text()).then(console.log)"

bold "8. Hub metadata answered from the local cache (rules/cache-first.json, the default): no network, no token"
CACHE="$work/hub-cache"
$PY -c "import sys; sys.path.insert(0, 'tests'); from cachebuild import CachedRepo
CachedRepo('$CACHE', 'acme/tiny-model', '0123456789abcdef0123456789abcdef01234567',
           files={'config.json': b'{\"model_type\": \"bert\"}\n'}, lfs={'model.safetensors': b'\\0' * 4096})"
export HF_HUB_CACHE="$CACHE"
MI="import requests; r = requests.get('$URL', headers={'Authorization': 'Bearer hf_stale_token_from_2023'}, timeout=60); print(r.status_code, 'model_info sha', r.json()['sha'], [s['rfilename'] for s in r.json()['siblings']])"
echo "   the Hub at $HF_ENDPOINT accepts connections and never answers; the model is in \$HF_HUB_CACHE:"
run "python3 requests, no shim" $PY -c "$MI"
run "python3 requests, cache-first" "$HFSHIM" run --rules rules/cache-first.json -- $PY -c "$MI"
run "curl -I resolve, cache-first" "$HFSHIM" run -- sh -c \
    "curl -sS -I '$HF_ENDPOINT/acme/tiny-model/resolve/main/model.safetensors' | grep -E '^(X-Repo-Commit|X-Linked-Size)' | tr -d '\\r' | paste -sd ' '"
run "node fetch, cache-first" "$HFSHIM" run -- node -e \
    "fetch('$URL').then(r => r.json()).then(j => console.log('sha', j.sha))"
run "offline, user's HF_HUB_OFFLINE=1" env HF_HUB_OFFLINE=1 "$HFSHIM" run --offline -- $PY -c "$MI"
"$HFSHIM" cache | sed 's/^/  /'
unset HF_HUB_CACHE

bold "9. A stale token (revoked on the Hub) and public models: the default rules (token-hygiene.json)"
GOOD_TOKEN=hf_GoodTokenForTheDemo0123456789abcdef
STALE=hf_RevokedIn2023xxxxxxxxxxxxxxxxxxxx
start_hub ok --valid-token "$GOOD_TOKEN"
TOK=$HUB_PORT
export HF_ENDPOINT="http://127.0.0.1:$TOK"
REAL_HOME=$HOME
export HOME="$work/home"   # the token state file (~/.cache/hfshim/tokens) lands here, not in yours
echo "   the Hub at $HF_ENDPOINT answers 401 \"Invalid credentials\" to any token but one, even for public repos"
MI2="import requests; r = requests.get('$HF_ENDPOINT/api/models/acme/tiny-model', headers={'Authorization': 'Bearer $STALE'}); print(r.status_code, r.json().get('sha') or r.json())"
run "python3 requests, no shim" $PY -c "$MI2"
run "python3 requests, hfshim run" "$HFSHIM" run -- $PY -c "$MI2"
run "the next process (state file)" "$HFSHIM" run -- $PY -c "$MI2"
run "curl, HF_TOKEN=None" "$HFSHIM" run -- sh -c "curl -sS -H 'Authorization: Bearer None' '$HF_ENDPOINT/api/models/acme/tiny-model' | cut -c1-60"
run "HF token → another host: it saw" "$HFSHIM" run -- sh -c \
    "curl -sS -H 'Authorization: Bearer $GOOD_TOKEN' http://127.0.0.1:$OK/headers | grep -ci authorization | sed 's/\$/ Authorization headers/'"
echo "   hfshim doctor (every token source, what is wrong with it; no network without --online):"
HF_TOKEN=$STALE HUGGING_FACE_HUB_TOKEN=None "$HFSHIM" doctor 2>&1 | sed 's/^/  /'
HOME=$REAL_HOME

bold "10. What a rules file does, and what would happen to a request"
"$HFSHIM" check rules/offline.json | sed 's/^/  /'
"$HFSHIM" explain --rules rules/offline.json GET https://huggingface.co/api/models/acme/tiny-model | sed 's/^/  /'

bold "11. A legacy container made safe (examples/container): /etc/ld.so.preload and a locked policy"
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
    echo "   skipped: this part needs root, for a private mount namespace whose /etc is an overlay"
else
    echo "   in a private mount namespace whose /etc is an overlay in $work (the machine's /etc is not touched);"
    echo "   the app (examples/container/app.py) has a stale HF_TOKEN and its model in \$HF_HOME; the Hub rejects the token"
    mkdir -p "$work/etc-up" "$work/etc-work"
    sed "s|/var/log/hfshim/audit.jsonl|$work/audit.jsonl|" examples/container/rules.json >"$work/container-rules.json"
    $PY -c "import sys; sys.path.insert(0, 'tests'); from cachebuild import CachedRepo
CachedRepo('$work/models/hub', 'acme/tiny-model', '0123456789abcdef0123456789abcdef01234567',
           files={'config.json': b'{\"model_type\": \"bert\"}\n', 'README.md': b'# tiny\n'})"
    cat >"$work/ns.sh" <<NS
mount --make-rprivate / && mount -t overlay overlay -o lowerdir=/etc,upperdir=$work/etc-up,workdir=$work/etc-work /etc || exit 99
exec "\$@"
NS
    NS="unshare -m sh $work/ns.sh"
    APP="env HF_HOME=$work/models HF_TOKEN=$STALE MODEL_DIR=$work/model $PY examples/container/app.py"
    run "the app, no hfshim" $NS $APP
    run "hfshim install --system" $NS "$HFSHIM" install --system --rules "$work/container-rules.json"
    run "the app, no variable set" $NS $APP
    run "HFSHIM_RULES=open.json HFSHIM_OFFLINE=0" $NS env HFSHIM_RULES="$work/http.json" HFSHIM_OFFLINE=0 $APP
    run "an uncached model" $NS env MODEL=acme/other $APP
    echo "   the audit log the policy names ($(wc -l <"$work/audit.jsonl") records), the HTTP decisions:"
    grep '"layer":"http"' "$work/audit.jsonl" | $PY -c "import json, sys, urllib.parse
for l in sys.stdin:
    r = json.loads(l); print('  ', r['decision'], r['status'], r['method'], urllib.parse.urlsplit(r['url']).path, 'token', r['token'].get('mask'))" | tail -4
    run "hfshim uninstall --system" $NS "$HFSHIM" uninstall --system
fi

bold "12. The Hub cannot be reached, no flag, no variable: a firewall drops the packets (the default rules)"
if [ "$(id -u)" -ne 0 ] || ! unshare -mn true 2>/dev/null; then
    echo "   skipped: this part needs root, for a network namespace with a veth pair that swallows SYNs"
else
    echo "   in a network namespace of its own (tests/netrows.py \"drop\": SYNs to 10.99.0.2 vanish, a private /etc/hosts"
    echo "   maps huggingface.co there; nothing can leave it); acme/tiny-model is in the cache"
    $PY -c "import sys; sys.path.insert(0, 'tests'); from cachebuild import CachedRepo
CachedRepo('$work/reach-cache', 'acme/tiny-model', '0123456789abcdef0123456789abcdef01234567',
           files={'config.json': b'{\"model_type\": \"bert\"}\n'})"
    mkdir -p "$work/reach-home"
    DROP=$($PY -c "import sys; sys.path.insert(0, 'tests'); import netrows; print(' '.join(netrows.ns_argv('drop', '$work', [])))")
    RQ="import requests; r = requests.get('https://huggingface.co/api/models/acme/tiny-model'); print(r.status_code, r.json()['sha'][:12])"
    RENV="env -u HF_ENDPOINT T=$work HOME=$work/reach-home HF_HUB_CACHE=$work/reach-cache"
    run "model_info, no hfshim" $RENV $DROP $PY -c "$RQ"
    run "model_info, hfshim run" $RENV $DROP "$HFSHIM" run -- $PY -c "$RQ"
    run "again, within a minute" $RENV $DROP "$HFSHIM" run -- $PY -c "$RQ"
    if [ -x tests/.venv/bin/python ]; then
        HQ="from huggingface_hub import model_info, snapshot_download; print('snapshot', snapshot_download('acme/tiny-model', revision=model_info('acme/tiny-model').sha))"
        run "FastEmbed's flow (huggingface_hub)" $RENV HF_HUB_DISABLE_XET=1 $DROP "$HFSHIM" run -- tests/.venv/bin/python -c "$HQ"
    fi
    echo "   hfshim doctor, in the same home:"
    HOME=$work/reach-home "$HFSHIM" doctor | sed -n '/Hub reachability/,/^$/p' | sed 's/^/   /'
fi

echo
