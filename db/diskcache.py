"""A small on-disk cache for values that are slow to compute at start-up and depend only on the
installed packages (the characters OpenCC converts, ...).

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


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def read(name: str, key: str) -> str | None:
    """The value stored under `name` for `key`, or None (missing, stale or damaged)."""
    try:
        head, _, value = (cache_dir() / name).read_text(encoding="utf-8").partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if head != f"{key}\t{_digest(value)}":
        return None
    return value


def write(name: str, key: str, value: str) -> None:
    """Store `value` under `name` for `key` (atomically: a reader sees the old file or the new one)."""
    import tempfile  # only when writing: start-up reads

    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(f"{key}\t{_digest(value)}\n{value}")
            os.replace(tmp, folder / name)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
