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


def test_pending_retries_are_the_passing_failures_not_stored_not_given_up_not_tried_too_often(tmp_path):
    from db import runs
    from db.articles import store_article
    from db.records import Article

    db = connect(tmp_path / "retry.db")

    def failed(url: str, reason: str, times: int = 1, source: str = "hznews") -> None:
        for _ in range(times):
            runs.record_failure(db, None, source, url, reason)

    failed("https://x.cn/a", "http_503")  # wanted
    failed("https://x.cn/b", "timeout", 2)  # wanted, tried twice
    failed("https://x.cn/gone", "http_503")
    failed("https://x.cn/gone", "http_404", runs.GIVE_UP_AFTER)  # given up
    failed("https://x.cn/often", "http_503", runs.RETRY_AT_MOST)  # tried often enough
    failed("https://x.cn/stored", "http_503")
    store_article(db, Article(url="https://x.cn/stored", title="甲", body="乙"))
    failed("https://x.cn/404", "http_404")  # not a passing reason
    failed("https://x.cn/other", "http_503", source="gov-www")  # another source
    db.conn.commit()
    assert runs.given_up(db, "https://x.cn/gone") and not runs.given_up(db, "https://x.cn/a")
    got = runs.pending_retries(db, "hznews", ["http_503", "timeout"])
    assert sorted(got) == ["https://x.cn/a", "https://x.cn/b"]
    plan = " ".join(str(r[-1]) for r in db.execute("EXPLAIN QUERY PLAN SELECT 1 FROM fetch_failures WHERE url = 'u'"))
    assert "idx_fetch_failures_url" in plan
