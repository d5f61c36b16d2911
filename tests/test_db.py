"""Opening the database (db/connection.py): how its write blocks take the lock."""

from __future__ import annotations

import sqlite3

import pytest

from db.connection import connect


def test_a_write_block_holds_the_write_lock_from_its_first_statement(tmp_path):
    """atomic() begins IMMEDIATE: a block that reads first and writes later cannot fail with
    "database is locked" because another process committed in between (with a deferred BEGIN the
    other writer gets in, and the block's write then fails at once, whatever the busy timeout)."""
    path = tmp_path / "lock.db"
    db = connect(path)
    db.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    other = sqlite3.connect(path, timeout=0)
    try:
        with db.atomic():
            assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("INSERT INTO t VALUES (1)")
            db.execute("INSERT INTO t VALUES (2)")
        other.execute("INSERT INTO t VALUES (3)")
        other.commit()
        assert [x for (x,) in db.execute("SELECT x FROM t ORDER BY x")] == [2, 3]
        with pytest.raises(sqlite3.IntegrityError), db.atomic():  # an error rolls the block back
            db.execute("INSERT INTO t VALUES (4)")
            db.execute("INSERT INTO t VALUES (NULL)")
        with db.atomic(), db.atomic():  # nested: a savepoint inside the transaction
            db.execute("INSERT INTO t VALUES (5)")
        assert [x for (x,) in db.execute("SELECT x FROM t ORDER BY x")] == [2, 3, 5]
    finally:
        other.close()
