"""Cache entries that carry the hash of their name and content, verified on every read."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from .errors import Problem
from .fsutil import write_atomic

HEADER = b"bookbuild-cache sha256="


def _digest(path: Path, data: bytes) -> bytes:
    # The entry's name (its key) is hashed with its content, so an entry copied over
    # another is caught like a damaged one.
    return hashlib.sha256(path.name.encode("utf-8") + b"\0" + data).hexdigest().encode()


def store(path: Path, data: bytes) -> None:
    """Keep `data` at `path` (atomically), under a header line with its hash."""
    write_atomic(path, HEADER + _digest(path, data) + b"\n" + data)


def load(path: Path) -> bytes | None:
    """The entry's content when it is there and whole; None when absent, and when damaged
    (then it is removed, and said once: the caller makes it again)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head, newline, data = raw.partition(b"\n")
    if head.startswith(HEADER) and newline and head[len(HEADER):] == _digest(path, data):
        return data
    discard(path, "its content does not match its hash")
    return None


def store_json(path: Path, value) -> None:
    store(path, json.dumps(value, ensure_ascii=False).encode("utf-8"))


def load_json(path: Path, valid=lambda value: True):
    """A JSON entry (see `load`) that `valid(value)` accepts; None otherwise."""
    data = load(path)
    if data is None:
        return None
    try:
        value = json.loads(data)
        if valid(value):
            return value
    except (ValueError, TypeError, KeyError, IndexError):
        pass
    discard(path, "its content is not what this build stores there")
    return None


def discard(path: Path, why: str) -> None:
    """Remove a bad entry and say so (a warning; the build goes on and remakes it)."""
    path.unlink(missing_ok=True)
    print(Problem(str(path), 0, 0, "warning", "B001", f"cache entry discarded and made again: {why}"),
          file=sys.stderr)
