"""test_reach_waits.py: the reach deadlines keep each hooked call's contract,
and resets are signs at every layer.

A non-blocking socket (an event loop's) is never made to wait inside a
hooked call: its connect to a Hub host returns EINPROGRESS at once and the
deadline acts where the app waits (poll/select/epoll), which wakes at the
deadline with the socket ready (connected to a virtual peer that answers as
offline, or failed with ETIMEDOUT) and never spins. Checked with a C client
(exact return values and errno), asyncio (aiohttp, httpx), libcurl's multi
interface (pycurl) and node, each with a timer in its own loop that must
keep ticking, in the dropped-packets namespace of tests/netrows.py.

A reset before any response to a GET/HEAD is learned over TLS (Python's
ssl: the request is answered as offline) and through libcurl too.
"""

import json
import shutil
import time

import pytest

from conftest import PY, ROOT
from test_reach import PY_GET, SHA, bound, hub_env, in_ns, warm  # noqa: F401 (warm: a fixture)

# a tick of the app's own loop may come this late at most (the deadlines
# are 1.5 s and more: a wait inside a hooked call shows as a gap that long)
GAP = 0.5


def gap_bound(shim):
    return GAP + (0.5 if shim.kind == "san" else 0.0)  # the ASan runtime slows every step of a loop

AIO = r"""
import asyncio, json, ssl, sys, time
import httpx, aiohttp  # before the loop starts: an import is not a wait
which, url = sys.argv[1], sys.argv[2]
async def main():
    # the client and its TLS context (loading the CA bundle blocks, in the
    # app's own code) are made before the timer starts
    ctx = ssl.create_default_context()
    if which == "httpx":
        client = httpx.AsyncClient(timeout=30, verify=ctx)
    else:
        client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                       connector=aiohttp.TCPConnector(ssl=ctx))
    gap, stop = [0.0], [False]
    async def ticker():
        last = time.monotonic()
        while not stop[0]:
            await asyncio.sleep(0.02)
            now = time.monotonic(); gap[0] = max(gap[0], now - last); last = now
    t = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    t0, cpu0, out = time.monotonic(), time.process_time(), {}
    try:
        if which == "httpx":
            r = await client.get(url); out["code"], body = r.status_code, r.text
        else:
            async with client.get(url) as r:
                out["code"], body = r.status, await r.text()
        if out["code"] == 200:
            out["sha"] = json.loads(body).get("sha")
    except Exception as e:
        out["error"] = type(e).__name__ + ": " + str(e)[:200]
    out["seconds"] = round(time.monotonic() - t0, 3)
    out["cpu"] = round(time.process_time() - cpu0, 3)
    stop[0] = True; await t
    out["max_gap"] = round(gap[0], 3)
    await (client.aclose() if which == "httpx" else client.close())
    print(json.dumps(out))
asyncio.run(main())
"""

PYCURL_MULTI = r"""
import io, json, sys, time, pycurl
m, c = pycurl.CurlMulti(), pycurl.Curl()
c.setopt(pycurl.URL, sys.argv[1]); c.setopt(pycurl.WRITEDATA, io.BytesIO())
m.add_handle(c)
t0 = last = time.monotonic(); gap = 0.0; cpu0 = time.process_time()
while True:  # the loop's own tick: one perform, one select of at most 0.1 s
    _, active = m.perform()
    now = time.monotonic(); gap = max(gap, now - last); last = now
    if not active:
        break
    m.select(0.1)
    now = time.monotonic(); gap = max(gap, now - last); last = now
_, ok, err = m.info_read()
out = {"seconds": round(time.monotonic() - t0, 3), "max_gap": round(gap, 3), "cpu": round(time.process_time() - cpu0, 3)}
if ok:
    out["code"] = c.getinfo(pycurl.RESPONSE_CODE)
if err:
    out["curl_error"] = err[0][1]
print(json.dumps(out))
"""

NODE_FETCH = r"""
let last = Date.now(), gap = 0;
const iv = setInterval(() => { const n = Date.now(); gap = Math.max(gap, n - last); last = n; }, 20);
const t0 = Date.now(), c0 = process.cpuUsage();
const done = (o) => {
  clearInterval(iv); gap = Math.max(gap, Date.now() - last);
  const c = process.cpuUsage(c0);
  Object.assign(o, {seconds: (Date.now() - t0) / 1000, max_gap: gap / 1000, cpu: (c.user + c.system) / 1e6});
  console.log(JSON.stringify(o));
};
fetch(process.argv[1]).then(r => done({code: r.status}))
  .catch(e => done({error: e.cause ? String(e.cause.code || e.cause.message) : e.message}));
"""


def jlines(r):
    return [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]


def shimmed(shim, cmd):
    return [shim.launcher, "run", "--", *map(str, cmd)]


@pytest.mark.parametrize("mode", ["poll", "ppoll", "select", "pselect", "epoll"])
def test_nonblocking_connect_keeps_contract(shim, warm, mode):
    """A non-blocking connect to a Hub host whose packets are dropped:
    connect() returns -1/EINPROGRESS at once (as libc would); the app's
    own wait (10 s timeout) wakes at reach.connect_ms with the socket
    writable, SO_ERROR 0 (a virtual peer), and the request on it is
    answered from the cache; the wait did not spin (CPU time)."""
    slack = 2.0 if shim.kind == "san" else 0.0
    env = hub_env(shim, warm, {"HF_ENDPOINT": "http://huggingface.co"})
    prog = shim.progs / "nb_connect"
    r, _, tx = in_ns(shim, "drop", shimmed(shim, [prog, mode, "huggingface.co", "80", "/api/models/acme/tiny"]), env)
    s = {j["step"]: j for j in jlines(r)}
    assert s["connect"]["rc"] == -1 and s["connect"]["errno"] == "EINPROGRESS", r
    assert s["connect"]["ms"] < 100 + 200 * slack, r  # at once: no wait inside connect()
    assert s["wait"]["rc"] == 1 and s["wait"]["ready"], r  # the app's wait saw its socket ready...
    assert 1400 <= s["wait"]["ms"] <= 2500 + 1000 * slack, r  # ...at the deadline, not at its own 10 s
    assert s["so_error"]["rc"] == 0 and s["so_error"]["value"] == "0", r
    assert s["answer"]["status"] == "HTTP/1.1 200 OK", r  # the cached repo info, on the virtual connection
    assert s["cpu"]["ms"] < 300 + 1000 * slack, r  # no spinning while it waited
    assert r.log.count("Hub host huggingface.co is unreachable: the connection did not complete in time") == 1, r
    assert tx is not None and tx <= 4, (tx, r)  # one attempt's SYNs


def test_nonblocking_connect_curl_fails_with_etimedout(shim, warm):
    """libcurl's multi interface (pycurl, libcurl-gnutls): its non-blocking
    connect is failed at the deadline (ETIMEDOUT through SO_ERROR: libcurl
    answers Hub requests at its own layer, never on a virtual socket), the
    loop kept ticking, and the next transfer is answered at once."""
    env = hub_env(shim, warm)
    url = "https://huggingface.co/api/models/acme/nothere"
    script = f"{PY} -c \"$C\" {url}; {PY} -c \"$C\" {url}"
    r, _, _ = in_ns(shim, "drop", shimmed(shim, ["sh", "-c", script]), dict(env, C=PYCURL_MULTI))
    out = jlines(r)
    assert len(out) == 2, r
    first, second = out
    assert first.get("curl_error") == 28 and 1.4 <= first["seconds"] <= bound(shim), r  # CURLE_OPERATION_TIMEDOUT
    assert first["max_gap"] < gap_bound(shim) and first["cpu"] < 0.5, r
    assert second["seconds"] < 0.5 and "curl_error" not in second or second.get("code") != 200, r
    assert r.log.count("Hub host huggingface.co is unreachable: the connection did not complete in time") == 1, r


@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
@pytest.mark.parametrize("row", ["drop", "stall"])
def test_asyncio_loop_keeps_ticking(shim, warm, client, row):
    """asyncio clients (non-blocking sockets, TLS through memory BIOs): the
    cached repo info is answered and a miss gets the 403, while a timer in
    the same loop keeps ticking."""
    env = hub_env(shim, warm)
    base = "https://huggingface.co/api/models/acme/"
    script = f"{PY} -c \"$C\" {client} {base}nothere; {PY} -c \"$C\" {client} {base}tiny"
    r, _, _ = in_ns(shim, row, shimmed(shim, ["sh", "-c", script]), dict(env, C=AIO))
    out = jlines(r)
    assert len(out) == 2, r
    miss, hit = out
    assert miss.get("code") == 403 and miss["seconds"] <= bound(shim), r
    assert hit.get("code") == 200 and hit["sha"] == SHA, r
    assert max(miss["max_gap"], hit["max_gap"]) < gap_bound(shim), r
    assert miss["cpu"] < 1.5, r


@pytest.mark.parametrize("row", ["drop", "stall"])
def test_node_loop_keeps_ticking(shim, warm, row):
    """node's fetch (libuv, its own TLS): fails within the bound while its
    setInterval keeps ticking (the foreign-TLS handshake bound too is kept
    where libuv waits)."""
    if not shutil.which("node"):
        pytest.skip("no node")
    env = hub_env(shim, warm)
    r, _, _ = in_ns(shim, row, shimmed(shim, ["node", "-e", NODE_FETCH, "https://huggingface.co/api/models/acme/tiny"]),
                    env)
    out = jlines(r)
    assert len(out) == 1 and "error" in out[0], r
    assert out[0]["seconds"] <= bound(shim) and out[0]["max_gap"] < gap_bound(shim), r


@pytest.fixture
def reset_tls(tls_ca):
    """A TLS server on 127.0.0.1 that finishes the handshake, reads the
    request and resets the connection (RST, no response)."""
    import socket
    import ssl

    import tlsca
    from acceptloop import AcceptLoop
    ctx = tlsca.server_context(tls_ca)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)

    def serve(c, _peer):
        try:
            c.settimeout(5)
            t = ctx.wrap_socket(c, server_side=True)
            t.recv(65536)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, bytes([1, 0, 0, 0, 0, 0, 0, 0]))
            t.close()
        except (ssl.SSLError, OSError):
            c.close()

    loop = AcceptLoop(ls, serve).start()
    yield ls.getsockname()[1]
    loop.stop()  # the loop's thread closes the listener (acceptloop.py says why)


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_tls_reset_before_response(shim, warm, tls_ca, reset_tls, client):
    """Over TLS (Python's ssl): a reset before any response to a GET is
    answered as offline (the 403, not a ConnectionError huggingface_hub
    would not catch), the host learned (said once), the next miss answered
    at once and a cached request still served."""
    import tlsca
    base = f"https://127.0.0.1:{reset_tls}"
    env = hub_env(shim, warm, dict(tlsca.client_env(tls_ca), HF_ENDPOINT=base,
                                   HF_HUB_CACHE=str(warm / ".cache/huggingface/hub")))
    code = "import os\n" + PY_GET.replace("httpx.get(url, timeout=None)",
                                          "httpx.get(url, timeout=None, verify=os.environ['SSL_CERT_FILE'])")
    get = f"{PY} -c \"$C\" {client}"
    script = f"{get} {base}/api/models/acme/nothere; {get} {base}/api/models/acme/nothere; {get} {base}/api/models/acme/tiny"
    r = shim.run([shim.launcher, "run", "--", "sh", "-c", script], env=dict(env, C=code), timeout=40)
    out = jlines(r)
    assert len(out) == 3, r
    assert out[0].get("code") == 403, r
    assert out[1].get("code") == 403 and out[1]["seconds"] < 1.0, r
    assert out[2].get("code") == 200 and out[2]["sha"] == SHA, r
    assert r.log.count("Hub host 127.0.0.1 is unreachable: the connection was reset before any response") == 1, r


def test_curl_reset_before_response(shim, warm, tls_ca, reset_tls):
    """libcurl (curl, OpenSSL) meets a reset before any response: that
    transfer fails as it would (CURLE_RECV_ERROR), the host is learned
    (said once) and the next one is answered at libcurl's layer at once."""
    shim.skip_if_asan_deadlocks("curl")
    import tlsca
    base = f"https://127.0.0.1:{reset_tls}"
    env = hub_env(shim, warm, dict(tlsca.client_env(tls_ca), HF_ENDPOINT=base))
    one = f"curl -sS -o /dev/null -w '%{{http_code}} %{{time_total}}\\n' {base}/api/models/acme/nothere"
    r = shim.run([shim.launcher, "run", "--", "sh", "-c", f"{one}; {one}"], env=env, timeout=40)
    lines = [x.split() for x in r.stdout.splitlines()]
    assert len(lines) == 2, r
    assert lines[0][0] == "000", r  # the reset: curl fails as without hfshim
    assert lines[1][0] not in ("000", "200") and float(lines[1][1]) < 0.5, r  # answered by hfshim at once
    assert r.log.count("Hub host 127.0.0.1 is unreachable: the connection was reset before any response") == 1, r
