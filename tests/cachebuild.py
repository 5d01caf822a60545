"""cachebuild.py: builds Hugging Face cache folders for tests, in the layout
huggingface_hub writes (research/hf-protocol.md §6), and computes what the
Hub would answer for them independently of hfshim: git blob ids, LFS
pointer ids, sizes. Used by tests/test_cache_answers.py."""

import hashlib
import os
from pathlib import Path


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


class CachedRepo:
    """One repo written into a cache root. files: path -> bytes (regular
    files, blob named by git id); lfs: path -> bytes (blob named by
    sha256). expected(path) gives the Hub's view of a cached file."""

    def __init__(self, root, repo_id, sha, files=None, lfs=None, kind="model", refs=None, no_exist=(),
                 folder=None):
        self.root, self.repo_id, self.sha, self.kind = Path(root), repo_id, sha, kind
        self.files, self.lfs = dict(files or {}), dict(lfs or {})
        name = folder or "--".join([kind + "s", *repo_id.split("/")])
        self.dir = self.root / name
        snap = self.dir / "snapshots" / sha
        for path, data in list(self.files.items()) + list(self.lfs.items()):
            blob = hashlib.sha256(data).hexdigest() if path in self.lfs else git_blob_id(data)
            (self.dir / "blobs").mkdir(parents=True, exist_ok=True)
            (self.dir / "blobs" / blob).write_bytes(data)
            link = snap / path
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(os.path.relpath(self.dir / "blobs" / blob, link.parent))
        snap.mkdir(parents=True, exist_ok=True)
        for ref, commit in (refs if refs is not None else {"main": sha}).items():
            p = self.dir / "refs" / ref
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(commit)  # no newline, as huggingface_hub writes it
        for path in no_exist:
            p = self.dir / ".no_exist" / sha / path
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"")

    def data(self, path):
        return self.files.get(path, self.lfs.get(path))

    def expected(self, path):
        """{"oid", "size", "etag", "lfs"}: what the Hub says of the file."""
        data = self.data(path)
        if path in self.lfs:
            h = hashlib.sha256(data).hexdigest()
            ptr = lfs_pointer(h, len(data))
            return {"oid": git_blob_id(ptr), "size": len(data), "etag": h,
                    "lfs": {"oid": h, "size": len(data), "pointerSize": len(ptr)}}
        oid = git_blob_id(data)
        return {"oid": oid, "size": len(data), "etag": oid, "lfs": None}

    def paths(self):
        return sorted(list(self.files) + list(self.lfs))
