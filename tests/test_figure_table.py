"""Stored story figures (db/figures.py, migration m011): whatever writes the database and however,
`figure_assessments` and `target_latest` equal a computation from scratch, before and after a refresh,
and a refresh leaves nothing to compute on the fly."""

from __future__ import annotations

import pytest

import db as dbpkg
from db import articles as db_articles
from db.catalog import sync_catalog
from db.figures import dirty_targets, refresh_figures
from db.records import Article
from monitor.matching.catalog import load_catalog

HOUSING = "tgt-housing-6000"
TALENT = "tgt-top-talent-15"


@pytest.fixture
def db(tmp_path):
    conn = dbpkg.connect(tmp_path / "figures.db")
    sync_catalog(conn, load_catalog())
    yield conn
    conn.close()


def _store(db, n: int, *, target: str, value: float, as_of: str, published: str, source: str, copies: int = 1):
    ids = []
    for c in range(copies):
        art = Article(
            url=f"https://site{c}.example.cn/{target}/{n}.html",
            title=f"报道{n}",
            body=f"第{n}篇：数字{value}。",
            published=published,
            source_name=source,
            site=f"site{c}.example.cn",
        )
        aid, _ = db_articles.store_article(db, art)
        db.execute("UPDATE articles SET relevant = 1 WHERE id = ?", [aid])
        db.execute(
            "INSERT INTO progress (article_id, target_id, value, unit, as_of) VALUES (?, ?, ?, ?, ?)",
            [aid, target, value, "套" if target == HOUSING else "名", as_of],
        )
        ids.append(aid)
    return ids


def _from_scratch(db) -> tuple[list, list]:
    """Every target computed anew (in a transaction rolled back afterwards)."""
    db.execute("SAVEPOINT scratch")
    try:
        db.execute("INSERT OR IGNORE INTO figure_dirty (target_id) SELECT id FROM targets")
        db.execute("INSERT OR IGNORE INTO figure_dirty (target_id) SELECT DISTINCT target_id FROM figure_table")
        return _read(db)
    finally:
        db.execute("ROLLBACK TO scratch")
        db.execute("RELEASE scratch")


def _read(db) -> tuple[list, list, list]:
    figures = sorted(db.execute("SELECT * FROM figure_assessments").fetchall(), key=repr)
    latest = sorted(db.execute("SELECT * FROM target_latest").fetchall(), key=repr)
    counts = sorted(db.execute("SELECT * FROM target_figure_counts").fetchall(), key=repr)  # (m016)
    return figures, latest, counts


def _check(db) -> None:
    want = _from_scratch(db)
    assert _read(db) == want  # exact before the refresh (dirty targets computed on the fly)
    refresh_figures(db)
    assert dirty_targets(db) == []
    assert _read(db) == want  # and from the stored rows after it


def test_every_kind_of_write_keeps_the_figures_exact(db):
    assert dirty_targets(db) == []
    a = _store(
        db,
        1,
        target=HOUSING,
        value=3200,
        as_of="2024-06-30",
        published="2024-07-08T09:00:00+08:00",
        source="杭州日报",
        copies=2,
    )
    b = _store(
        db, 2, target=HOUSING, value=2900, as_of="2024-07-31", published="2024-08-05T10:00:00+08:00", source="都市快报"
    )
    _store(db, 3, target=TALENT, value=12, as_of="2024-06-30", published="2024-07-02T10:00:00+08:00", source="杭州网")
    assert set(dirty_targets(db)) == {HOUSING, TALENT}
    _check(db)
    figures, latest, counts = _read(db)
    assert {f[2] for f in figures if f[1] == HOUSING} == {3200, 2900} and latest and counts

    # relevance taken away, then given back
    db.execute("UPDATE articles SET relevant = 0 WHERE id = ?", [b[0]])
    assert dirty_targets(db) == [HOUSING]
    _check(db)
    db.execute("UPDATE articles SET relevant = 1 WHERE id = ?", [b[0]])
    _check(db)
    # a copy without figures joins a story from the responsible bureau: the figure's rank changes
    before = {f[2]: f[15] for f in _read(db)[0] if f[1] == HOUSING}
    copy, _ = db_articles.store_article(
        db,
        Article(
            url="https://fgj.example.cn/x.html",
            title="报道1",
            body="第1篇：数字3200。",
            published="2024-07-09T09:00:00+08:00",
            source_name="市住保房管局",
            site="fgj.example.cn",
        ),
    )
    db.execute(
        "UPDATE articles SET story_id = ? WHERE id = ?",
        [db.execute("SELECT story_id FROM articles WHERE id = ?", [a[0]]).fetchone()[0], copy],
    )
    _check(db)
    after = {f[2]: f[15] for f in _read(db)[0] if f[1] == HOUSING}
    assert before[3200] < after[3200] == 3
    # the copy's source renamed; a figure corrected in place; one deleted; an article deleted
    db.execute("UPDATE articles SET source_name = '其他' WHERE id = ?", [copy])
    _check(db)
    db.execute("UPDATE progress SET value = 3300 WHERE article_id = ?", [a[1]])
    _check(db)
    db.execute("DELETE FROM progress WHERE article_id = ?", [a[0]])
    _check(db)
    db.execute("DELETE FROM articles WHERE id = ?", [b[0]])
    _check(db)
    # the target's rules change (due date), then the catalog is synced back
    db.execute("UPDATE targets SET due = '2024-06-30' WHERE id = ?", [HOUSING])
    assert dirty_targets(db) == [HOUSING]
    _check(db)
    sync_catalog(db, load_catalog())
    assert dirty_targets(db) == []  # the sync refreshes what it changed
    assert _read(db) == _from_scratch(db)


def test_pages_read_stored_rows_when_nothing_is_dirty(db):
    _store(
        db, 1, target=HOUSING, value=3200, as_of="2024-06-30", published="2024-07-08T09:00:00+08:00", source="杭州日报"
    )
    refresh_figures(db)
    plan = " ".join(
        r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM figure_assessments WHERE target_id = ?", [HOUSING])
    )
    assert "figure_table" in plan
    assert db.execute("SELECT count(*) FROM figure_table").fetchone()[0] == 1
