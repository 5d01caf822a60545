#!/usr/bin/python3
"""bench/requests_client.py URL N [PROXY]: one requests.Session, one warm-up
GET (opens the keep-alive connection), then N GETs of URL timed with
time.perf_counter (and time.process_time) around the loop only, then one
GET of <origin>/echo that bench/tinyhttpd answers with whether it saw
Authorization and how many requests the connection carried. Every request sends a stale-looking
`Authorization: Bearer hf_...`. Prints one JSON line:
{"us_per_request": ..., "cpu_us_per_request": ..., "authorization_seen": true|false,
"connection_requests": N, "python": ..., "requests": ..., "urllib3": ...}.
The environment's proxy variables are ignored (trust_env off); PROXY, when
given, is the proxy for http:// URLs; BENCH_CA, when set, is the CA file
that verifies an https:// server."""
import json
import os
import platform
import sys
import time
from urllib.parse import urlsplit

import requests
import urllib3

AUTH = {"Authorization": "Bearer hf_staleTOKENxxxxxxxxxxxxxxxxxxxxxx"}


def main():
    url, n = sys.argv[1], int(sys.argv[2])
    s = requests.Session()
    s.trust_env = False
    s.verify = os.environ.get("BENCH_CA", True)
    if len(sys.argv) > 3:
        s.proxies = {"http": sys.argv[3]}
    s.get(url, headers=AUTH).raise_for_status()
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(n):
        r = s.get(url, headers=AUTH)
        r.content
    t1 = time.perf_counter()
    c1 = time.process_time()
    r.raise_for_status()
    u = urlsplit(url)
    echo = s.get("%s://%s/echo" % (u.scheme, u.netloc), headers=AUTH).text.split()
    fields = dict(f.split("=", 1) for f in echo)
    print(json.dumps({"us_per_request": (t1 - t0) / n * 1e6, "cpu_us_per_request": (c1 - c0) / n * 1e6,
                      "authorization_seen": fields["authorization"] == "yes",
                      "connection_requests": int(fields["requests"]), "python": platform.python_version(),
                      "requests": requests.__version__, "urllib3": urllib3.__version__}))


if __name__ == "__main__":
    main()
