#!/usr/bin/python3
"""bench/cache_client.py BASE REPO SHA N (BENCH_CA: CA file for https): one requests.Session, one warm-up
GET of BASE/api/models/REPO (model_info), then N more timed with
time.perf_counter around the loop only. Every answer's `sha` must be SHA
(so a broken answer cannot make a fast figure). Prints one JSON line:
{"us_per_request": ..., "cpu_us_per_request": ...}."""
import json
import os
import sys
import time

import requests


def main():
    base, repo, sha, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    s = requests.Session()
    s.trust_env = False
    s.verify = os.environ.get("BENCH_CA", True)  # the fake Hub's throwaway CA, for https
    url = "%s/api/models/%s" % (base, repo)
    auth = {"Authorization": "Bearer hf_staleTOKENxxxxxxxxxxxxxxxxxxxxxx"}
    r = s.get(url, headers=auth)
    if r.status_code != 200 or r.json().get("sha") != sha:
        sys.exit("cache_client: %s answered %d %r" % (url, r.status_code, r.text[:200]))
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        r = s.get(url, headers=auth)
        if r.json()["sha"] != sha:
            sys.exit("cache_client: wrong sha %r" % r.text[:200])
    t1, c1 = time.perf_counter(), time.process_time()
    print(json.dumps({"us_per_request": (t1 - t0) * 1e6 / n, "cpu_us_per_request": (c1 - c0) * 1e6 / n}))


if __name__ == "__main__":
    main()
