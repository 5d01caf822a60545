"""mitmproxy addon for bench/bench.py: every request leaves without its
Authorization header (what the strip-header rule does under the shim)."""


def request(flow):
    flow.request.headers.pop("Authorization", None)
