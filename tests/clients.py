"""clients.py: the real programs the integration tests aim at a URL.

Each entry builds the command line of one real client that fetches URL and
has no timeout of its own (so against a hanging server it hangs until the
test's bounded timeout fires). Python clients are Debian's /usr/bin/python3
with requests, httpx and urllib; node uses its built-in fetch; git goes
through git-remote-http (libcurl).
"""

import shutil

PY = "/usr/bin/python3"

PY_REQUESTS = "import sys, requests; r = requests.get(sys.argv[1]); print(r.status_code)"
PY_HTTPX = "import sys, httpx; r = httpx.get(sys.argv[1], timeout=None); print(r.status_code)"
PY_URLLIB = "import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1]); print(r.status)"
NODE_FETCH = ("fetch(process.argv[1]).then(r => console.log(r.status))"
              ".catch(e => { console.error('fetch failed:', e.cause ? e.cause.code : e); process.exit(1); })")


def client_cmd(name, url):
    if name == "requests":
        return [PY, "-c", PY_REQUESTS, url]
    if name == "httpx":
        return [PY, "-c", PY_HTTPX, url]
    if name == "urllib":
        return [PY, "-c", PY_URLLIB, url]
    if name == "curl":
        return ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\n", url]
    if name == "node":
        return ["node", "-e", NODE_FETCH, url]
    if name == "git":
        return ["git", "-c", "http.lowSpeedLimit=0", "ls-remote", url + "/acme/tiny-model"]
    raise ValueError(name)


CLIENTS = ["requests", "httpx", "urllib", "curl", "node", "git"]


def available(name):
    return shutil.which({"requests": PY, "httpx": PY, "urllib": PY}.get(name, name)) is not None
