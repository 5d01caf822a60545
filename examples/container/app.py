"""app.py: stands for the application in a legacy image that nobody will
change. Like the seed apps (a fastembed or transformers start-up), it asks
the Hub for the model's commit (`model_info(repo).sha`: GET
/api/models/{repo}), then fetches each file it needs (HEAD, then GET
.../resolve/{sha}/{file}), sending the token baked into the image (HF_TOKEN)
the way huggingface_hub sends it. It speaks huggingface_hub's HTTP through
requests, so it runs on machines without huggingface_hub too.

Settings (environment): HF_ENDPOINT (default https://huggingface.co),
MODEL (default acme/tiny-model), MODEL_FILES (comma-separated, default
config.json,README.md), MODEL_DIR (where the files go, default
/tmp/model). Exits 0 with one line when the model is complete, 1 with the
error otherwise."""

import os
import sys

import requests

endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
repo = os.environ.get("MODEL", "acme/tiny-model")
files = os.environ.get("MODEL_FILES", "config.json,README.md").split(",")
dest = os.environ.get("MODEL_DIR", "/tmp/model")
token = os.environ.get("HF_TOKEN")
headers = {"authorization": f"Bearer {token}"} if token else {}

s = requests.Session()
try:
    r = s.get(f"{endpoint}/api/models/{repo}", headers=headers, timeout=10)
    r.raise_for_status()
    sha = r.json()["sha"]
    total = 0
    for name in files:
        url = f"{endpoint}/{repo}/resolve/{sha}/{name}"
        h = s.head(url, headers=headers, timeout=10, allow_redirects=False)
        h.raise_for_status()
        size = int(h.headers.get("x-linked-size") or h.headers["content-length"])
        g = s.get(url, headers=headers, timeout=10)
        g.raise_for_status()
        if len(g.content) != size:
            raise RuntimeError(f"{name}: {len(g.content)} bytes, the Hub said {size}")
        path = os.path.join(dest, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(g.content)
        total += size
except (requests.RequestException, KeyError, ValueError, RuntimeError) as e:
    print(f"app: cannot load {repo}: {e}", file=sys.stderr)
    sys.exit(1)
print(f"app: {repo} at {sha}: {len(files)} files, {total} bytes in {dest}")
