"""Opening the database: WAL, busy timeout, migrations applied."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

DEFAULT_DB_NAME = "hzwatch.db"
BUSY_TIMEOUT_MS = 30_000


class DatabaseError(Exception):
    """A database that cannot be opened or migrated."""


class Database(sqlite_utils.Database):
    """sqlite-utils' Database whose `atomic()` blocks take the write lock at their first statement.

    sqlite-utils begins a plain (deferred) transaction. One that reads and then writes, while another
    process commits in between (the service queueing alerts while a crawl stores an article), fails
    at once with "database is locked", whatever the busy timeout: SQLite cannot wait for a snapshot
    that is already stale. BEGIN IMMEDIATE waits (busy timeout) for the lock up front instead.
    Nested blocks stay savepoints.
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.rollback()
            raise


def default_db_path() -> Path:
    """`$HZWATCH_DB`, else `hzwatch.db` in the working directory."""
    return Path(os.environ.get("HZWATCH_DB") or DEFAULT_DB_NAME)


def connect(path: str | os.PathLike | None = None, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open the database at `path` in WAL mode with a busy timeout; apply pending migrations."""
    path = Path(path) if path is not None else default_db_path()
    if path.parent and not path.parent.exists():
        raise DatabaseError(f"directory does not exist: {path.parent}")
    try:
        db = Database(path)
        # Datasette reads while a crawl writes: WAL plus a generous busy timeout.
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        # Statement journals in memory, not in a temporary file: every statement that fires triggers
        # (each article and match write, m016/m018) opened one, 0.8 -> 0.3 ms an article INSERT.
        db.execute("PRAGMA temp_store = MEMORY")
    except Exception as exc:  # sqlite3.DatabaseError: not a database, permissions …
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    if migrate:
        from db.migrations import migrate as _migrate

        _migrate(db)
    return db


def snapshot(path: str | os.PathLike, out: Path) -> Path:
    """A consistent one-file copy of a live database (SQLite backup API, safe while crawls write)."""
    src = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")  # a snapshot travels as one file
    finally:
        src.close()
        dst.close()
    return out
