"""Storage layer: the only package that writes SQL.

`connect()` opens (and migrates) the SQLite database used by every stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from db.connection import DatabaseError, connect, default_db_path

__all__ = ["connect", "default_db_path", "DatabaseError"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `db.records` (imported by the matcher) must not pull in sqlite_utils,
    # which costs `hzwatch match --jsonl` about 70 ms of start-up.
    if name in __all__:
        from db import connection

        return getattr(connection, name)
    raise AttributeError(f"module 'db' has no attribute {name!r}")
