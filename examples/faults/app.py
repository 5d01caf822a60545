#!/usr/bin/env python3
"""app.py: the kind of program hfshim's users cannot change, for the fault
examples. It asks the Hub for a model's commit (what `model_info(repo).sha`
does: GET /api/models/{repo}) and downloads its config.json, sending
HF_TOKEN when set, with its own timeout (APP_TIMEOUT seconds, default 10)
and huggingface_hub's way of reading errors (status, X-Error-Code,
X-Error-Message). It retries a 429 after Retry-After, three times.

Exit status: 0 ok; 3 the Hub rejected the token; 4 gated or not found;
5 still rate-limited; 6 the Hub could not be reached (offline, refused,
timed out).
"""

import os
import sys
import time

import requests

ENDPOINT = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
REPO = sys.argv[1] if len(sys.argv) > 1 else "acme/tiny-model"
TIMEOUT = float(os.environ.get("APP_TIMEOUT", "10"))


def get(url):
    headers = {"Authorization": f"Bearer {os.environ['HF_TOKEN']}"} if os.environ.get("HF_TOKEN") else {}
    for attempt in range(4):
        r = requests.get(url, headers=headers, timeout=TIMEOUT)
        if r.status_code == 429 and attempt < 3:
            wait = float(r.headers.get("Retry-After", "1"))
            print(f"rate-limited, retrying in {wait:g} s", file=sys.stderr)
            time.sleep(wait)
            continue
        return r
    return r


def check(r):
    if r.ok:
        return
    code, msg = r.headers.get("X-Error-Code"), r.headers.get("X-Error-Message") or ""
    if r.status_code == 401 and msg == "Invalid credentials in Authorization header":
        print(f"error: the Hub rejected the token in HF_TOKEN ({msg}); log in again or unset it", file=sys.stderr)
        sys.exit(3)
    if code in ("GatedRepo", "RepoNotFound", "EntryNotFound", "RevisionNotFound"):
        print(f"error: {code}: {msg or r.text}", file=sys.stderr)
        sys.exit(4)
    if r.status_code == 429:
        print("error: still rate-limited after 3 retries", file=sys.stderr)
        sys.exit(5)
    if msg.startswith("hfshim:"):  # hfshim's offline answer
        print(f"error: the Hub is not reachable here ({msg})", file=sys.stderr)
        sys.exit(6)
    print(f"error: HTTP {r.status_code}: {r.text[:200]}", file=sys.stderr)
    sys.exit(7)


try:
    info = get(f"{ENDPOINT}/api/models/{REPO}")
    check(info)
    sha = info.json()["sha"]
    cfg = get(f"{ENDPOINT}/{REPO}/resolve/{sha}/config.json")
    check(cfg)
except requests.exceptions.RequestException as e:
    print(f"error: the Hub could not be reached: {type(e).__name__}", file=sys.stderr)
    sys.exit(6)
print(f"ok {REPO}@{sha}: {len(cfg.content)} bytes of config.json")
