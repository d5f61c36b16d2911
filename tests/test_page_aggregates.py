"""Stored page aggregates (db/page_aggregates.py, migration m016): whatever writes the database and
however, every stored count equals the same count computed from scratch, right after the write (in
its transaction: no refresh step), and the pages' queries read the stored rows."""

from __future__ import annotations

import pytest
from support_fixture_db import build_fixture_db

import db as dbpkg
from db import articles as db_articles
from db import reviews
from db.catalog import sync_catalog
from db.matches import save_match, verdict_columns
from db.page_aggregates import from_scratch, stored
from db.records import Article, Evidence, Figure, MatchResult
from monitor.matching.catalog import load_catalog

HOUSING = "tgt-housing-6000"


@pytest.fixture
def db(tmp_path):
    conn = dbpkg.connect(tmp_path / "aggregates.db")
    sync_catalog(conn, load_catalog())
    yield conn
    conn.close()


def _exact(db) -> None:
    want = from_scratch(db)
    got = stored(db)
    for table in want:
        assert got[table] == want[table], table
    assert any(want.values())


def _article(db, n: int, *, published: str, source_id: str = "hz", site: str = "a.example.cn") -> int:
    art = Article(
        url=f"https://{site}/{n}.html",
        title=f"报道{n}",
        body=f"第{n}篇：住房。",
        published=published,
        source_name="杭州日报",
        site=site,
        source_id=source_id,
    )
    with db.atomic():
        article_id, _ = db_articles.store_article(db, art)
    return article_id


def _match(db, article_id: int, items: list[str], *, relevant: bool = True, figure: float | None = None) -> None:
    evidence = [Evidence(i, "住房", 0, 2, "住房") for i in items]
    progress = [Figure(HOUSING, figure, "套", "2024-06-30", "住房")] if figure is not None else []
    result = MatchResult(
        relevant=relevant,
        score=2.0,
        items=items if relevant else [],
        evidence=evidence,
        progress=progress,
        candidate=not relevant and bool(items),
    )
    save_match(db, article_id, result, "test")


def test_every_kind_of_write_keeps_the_aggregates_exact(db):
    child, parent = db.execute(
        "SELECT id, parent_id FROM items WHERE parent_id IS NOT NULL AND plan_id = 'hangzhou-2024' LIMIT 1"
    ).fetchone()
    other = db.execute(
        "SELECT id FROM items WHERE plan_id = 'hangzhou-2026' AND parent_id IS NOT NULL LIMIT 1"
    ).fetchone()[0]
    a = _article(db, 1, published="2024-03-05T09:00:00+08:00")
    b = _article(db, 2, published="2024-04-01T09:00:00+08:00", source_id="fg", site="b.example.cn")
    c = _article(db, 3, published="2024-05-01T09:00:00+08:00")
    _exact(db)
    # matched: a child item (rolled up to its parent) and an item of another plan; a candidate
    _match(db, a, [child, other], figure=3200)
    _match(db, b, [parent])
    _match(db, c, [child], relevant=False)
    _exact(db)
    assert db.execute("SELECT count(*) FROM candidate_links").fetchone()[0] == 1
    # b joins a's story (a copy): one story, two articles; then it leaves again
    story_a, story_b = (db.execute("SELECT story_id FROM articles WHERE id = ?", [i]).fetchone()[0] for i in (a, b))
    db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story_a, b])
    _exact(db)
    db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story_b, b])
    _exact(db)
    # a re-match with other items; relevance taken away and given back; the date and source change
    _match(db, a, [parent], figure=3300)
    _exact(db)
    db.execute("UPDATE articles SET relevant = 0 WHERE id = ?", [a])
    _exact(db)
    db.execute("UPDATE articles SET relevant = 1, published = '2025-01-02T08:00:00+08:00' WHERE id = ?", [a])
    db.execute("UPDATE articles SET source_id = 'fg', published = NULL WHERE id = ?", [b])
    _exact(db)
    # links written directly: REPLACE over an existing link, an update, a delete
    db.execute(
        "INSERT OR REPLACE INTO matches (article_id, item_id, score, evidence) VALUES (?, ?, 9, '')", [a, parent]
    )
    db.execute("UPDATE matches SET item_id = ? WHERE article_id = ? AND item_id = ?", [child, b, parent])
    _exact(db)
    db.execute("DELETE FROM matches WHERE article_id = ?", [b])
    _exact(db)
    # people's reviews: a candidate confirmed (relevant, linked), a link rejected, then undone
    reviews.confirm_candidate(db, c, "lin")
    _exact(db)
    review = reviews.record(db, reviews.Review(a, "link", "reject", item_id=parent), "lin")
    _exact(db)
    reviews.undo(db, review, "lin")
    _exact(db)
    # the crawl's write (db.writer): copies of a stored with their verdict in their one row write: a
    # relevant one with a link, a relevant one without (it moves the story's first date: its insert
    # alone recomputes the links) and one that is not relevant (only the story's counts change)
    for n, relevant, items, year in ((4, True, [child], 2020), (5, True, [], 2019), (6, False, [], 2018)):
        copy = Article(
            url=f"https://c.example.cn/{n}.html",
            title="报道1",
            body="第1篇：住房。",
            site="c.example.cn",
            published=f"{year}-01-0{n}T08:00:00+08:00",
            source_name="杭州日报",
            source_id="hz",
        )
        result = MatchResult(
            relevant=relevant, score=2.0, items=items, evidence=[Evidence(child, "住房", 0, 2, "住房")]
        )
        with db.atomic():
            copy_id, _ = db_articles.store_article(db, copy, verdict_columns(result, "test"))
            save_match(db, copy_id, result, "test", verdict_written=True)
        assert db.execute("SELECT story_id FROM articles WHERE id = ?", [copy_id]).fetchone()[0] == story_a
        _exact(db)
    db.execute("DELETE FROM articles WHERE url LIKE 'https://c.example.cn/%' AND relevant = 0")
    _exact(db)
    db.execute("DELETE FROM articles WHERE url LIKE 'https://c.example.cn/%'")
    _exact(db)
    # an item moved under another parent, then the catalog synced back; articles deleted
    db.execute("UPDATE items SET parent_id = NULL WHERE id = ?", [child])
    _exact(db)
    sync_catalog(db, load_catalog())
    _exact(db)
    db.execute("DELETE FROM articles WHERE id = ?", [c])
    _exact(db)
    db.execute("DELETE FROM articles")
    _exact(db)
    assert db.execute("SELECT articles, stories, relevant_stories FROM page_totals").fetchone() == (0, 0, 0)
    assert db.execute("SELECT count(*) FROM item_story").fetchone()[0] == 0


def test_the_fixture_database_is_exact_and_pages_read_stored_rows(tmp_path):
    path = tmp_path / "fixture.db"
    build_fixture_db(path, generated=300)
    db = dbpkg.connect(path)
    _exact(db)
    totals = db.execute("SELECT articles, relevant_articles FROM page_totals").fetchone()
    assert totals == db.execute("SELECT count(*), count(CASE WHEN relevant = 1 THEN 1 END) FROM articles").fetchone()
    # no target dirty: the computed figure views read nothing (no pass over the articles)
    plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM figure_assessments_computed")]
    scans = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
    assert scans[0] == "SCAN d", plan  # figure_dirty first (m016); 015's view scanned the articles
    db.close()
