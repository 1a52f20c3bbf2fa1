"""The content hash of a checkpoint: what an evaluation or a gate names when it names a model.

SHA-256 over the sorted relative paths of every file in the saved directory, each followed by
the SHA-256 of its bytes, so renaming, adding or changing any file changes the hash and
copying the directory elsewhere does not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checkpoint_hash(directory: Path) -> str:
    """Content hash of a checkpoint directory (sha256 hex)."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    digest = hashlib.sha256()
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    for path in files:
        relative = path.relative_to(directory).as_posix()
        digest.update(f"{relative}\0{file_hash(path)}\n".encode())
    return digest.hexdigest()
