"""Storage: the only package that writes SQL, and the base every stage stands on.

Enters: typed records (`records.py`: `Article`, `MatchResult`) and the plan catalog. `connection.py`
opens and migrates the SQLite file (`migrations.py`, first schema in `schema/`); `writer.py` stores
articles in batches during a crawl and keeps each source's crawl ledger; `articles.py`,
`matches.py`, `search.py`, `catalog.py`, `runs.py`, `alerts.py` and `status.py` are the named
reads and writes per access pattern; `clock.py` is the one clock and time zone.

Leaves: rows that Datasette serves, the alert outbox, and the reads the service and CLI need.
This package imports nothing from `scrapers/` or `monitor/`.
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
