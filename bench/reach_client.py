#!/usr/bin/python3
"""bench/reach_client.py first URL SHA | fresh URL SHA N

first: one requests GET of URL (model_info of a cached repo, the Hub out of
reach in some way), timed from before the call to its answer; prints
{"ms": ..., "ok": bool} (ok: a 200 whose sha is SHA). A failure or a
timeout after 10 s is ok=false with the time it took.
fresh: N GETs of URL on a fresh connection each (connect, request, answer:
the path the reachability deadlines watch), after one warm-up; prints
{"us_per_request": ..., "cpu_us_per_request": ...}."""
import json
import sys
import time

import requests


def main():
    mode, url, sha = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "first":
        t0 = time.perf_counter()
        try:
            r = requests.get(url, timeout=10)
            ok = r.status_code == 200 and r.json().get("sha") == sha
        except Exception:
            ok = False
        print(json.dumps({"ms": (time.perf_counter() - t0) * 1e3, "ok": ok}))
        return
    n = int(sys.argv[4])
    r = requests.get(url)
    if r.status_code != 200 or r.json().get("sha") != sha:
        sys.exit("reach_client: %s answered %d %r" % (url, r.status_code, r.text[:200]))
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        r = requests.get(url, headers={"Connection": "close"})
        if r.json()["sha"] != sha:
            sys.exit("reach_client: wrong sha %r" % r.text[:200])
    t1, c1 = time.perf_counter(), time.process_time()
    print(json.dumps({"us_per_request": (t1 - t0) * 1e6 / n, "cpu_us_per_request": (c1 - c0) * 1e6 / n}))


if __name__ == "__main__":
    main()
