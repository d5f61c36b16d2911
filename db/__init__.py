"""Storage: the only package that writes SQL, and the base every stage stands on.

Enters: typed records (`records.py`: `Article`, `MatchResult`) and the plan catalog. `connection.py`
opens and migrates the SQLite file (`migrations.py`, first schema in `schema/`); `writer.py` stores
articles in batches during a crawl and keeps each source's crawl ledger; `articles.py`,
`matches.py`, `search.py`, `catalog.py`, `runs.py`, `alerts.py` and `status.py` are the named
reads and writes per access pattern; `clock.py` is the one clock and time zone.

Leaves: rows that Datasette serves, the alert outbox, and the reads the service and CLI need.
This package imports nothing from `scrapers/` or `monitor/`.
"""

from db.connection import DatabaseError, connect, default_db_path

__all__ = ["connect", "default_db_path", "DatabaseError"]
