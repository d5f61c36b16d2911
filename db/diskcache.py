"""A small on-disk cache for values that are slow to compute at start-up and depend only on files
the key covers (the characters OpenCC converts, the parsed plan catalog, ...).

Where: $HZWATCH_CACHE, else $XDG_CACHE_HOME/hzwatch, else ~/.cache/hzwatch. Each entry is one
file: a first line with the entry's key and the SHA-256 of the value, then the value. A missing,
unreadable, stale (other key) or damaged (hash differs) entry reads as None and the caller
computes the value again; a write that fails (read-only or full disk) is ignored.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir() -> Path:
    env = os.environ.get("HZWATCH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hzwatch"


def read_bytes(name: str, key: str) -> bytes | None:
    """The value stored under `name` for `key`, or None (missing, stale or damaged)."""
    try:
        head, _, value = (cache_dir() / name).read_bytes().partition(b"\n")
    except OSError:
        return None
    if head != f"{key}\t{hashlib.sha256(value).hexdigest()}".encode():
        return None
    return value


def write_bytes(name: str, key: str, value: bytes) -> None:
    """Store `value` under `name` for `key` (atomically: a reader sees the old file or the new one)."""
    import tempfile  # only when writing: start-up reads

    if "\n" in key or "\t" in key:
        raise ValueError(f"cache key with a tab or newline: {key!r}")
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(f"{key}\t{hashlib.sha256(value).hexdigest()}\n".encode() + value)
            os.replace(tmp, folder / name)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def read(name: str, key: str) -> str | None:
    """`read_bytes` for a text value."""
    value = read_bytes(name, key)
    try:
        return None if value is None else value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def write(name: str, key: str, value: str) -> None:
    """`write_bytes` for a text value."""
    write_bytes(name, key, value.encode("utf-8"))
