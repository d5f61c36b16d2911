"""The review queue (db/review_lists.py) read from the stored link rows and the indexes of migration
m018: whatever writes the database, the stored link rows equal the same rows computed from scratch,
and every page of the queue (each kind, any offset) and every count equal the queue computed by the
whole query the queue used before m018 (independent of the stored rows and indexes)."""

from __future__ import annotations

import pytest
from support_fixture_db import build_fixture_db

import db as dbpkg
from db import articles as db_articles
from db import review_lists, reviews
from db.catalog import sync_catalog
from db.figures import refresh_figures
from db.matches import save_match
from db.records import Article, Evidence, Figure, MatchResult
from db.review_links import from_scratch, stored
from monitor.matching.catalog import load_catalog

HOUSING = "tgt-housing-6000"

# The queue as computed before m018: every row of every kind, sorted whole (ties in a fixed order).
# (Since m020 a story's candidate is its first candidate, not its first article, and a story that is
# relevant through another copy lists none.)
REFERENCE_QUEUE = """
WITH doubtful AS (
  SELECT f.article_id, f.story_id, f.target_id, f.value, f.unit, f.as_of, f.published,
         coalesce(f.doubt_rule, f.doubt_conflict) AS detail
  FROM figure_table f WHERE NOT f.by_person
),
queue AS (
  SELECT CASE WHEN d.detail IS NOT NULL THEN 0 ELSE 1 END AS priority,
         CASE WHEN d.detail IS NOT NULL THEN 'doubt' ELSE 'figure' END AS kind,
         d.article_id, d.published, NULL AS item_id, d.target_id, d.value, d.unit, d.as_of, d.detail
  FROM doubtful d
  UNION ALL
  SELECT CASE WHEN EXISTS (SELECT 1 FROM json_each(a.candidate) e JOIN targets t
                           ON t.item_id = json_extract(e.value, '$.item')) THEN 2 ELSE 3 END,
         'candidate', a.id, a.published,
         (SELECT group_concat(DISTINCT json_extract(e.value, '$.item')) FROM json_each(a.candidate) e),
         NULL, NULL, NULL, NULL, NULL
  FROM articles a
  WHERE a.candidate IS NOT NULL AND a.relevant = 0
    AND NOT EXISTS (SELECT 1 FROM reviews r JOIN articles c ON c.id = r.article_id
                    WHERE r.kind = 'relevance' AND r.undone_at IS NULL
                      AND (c.id = a.id OR c.story_id = a.story_id))
    AND a.id = (SELECT min(c.id) FROM articles c
                WHERE (c.story_id = a.story_id OR c.id = a.id) AND c.candidate IS NOT NULL AND c.relevant = 0)
    AND NOT EXISTS (SELECT 1 FROM articles c WHERE c.story_id = a.story_id AND c.relevant = 1)
  UNION ALL
  SELECT CASE WHEN EXISTS (SELECT 1 FROM targets t WHERE t.item_id = m.item_id) THEN 2 ELSE 3 END,
         'link', min(a.id), max(a.published), m.item_id, NULL, NULL, NULL, NULL, NULL
  FROM matches m JOIN articles a ON a.id = m.article_id
  WHERE a.relevant = 1 AND m.origin IS NULL
  GROUP BY coalesce(a.story_id, -a.id), m.item_id
)
SELECT q.*, a.title, a.source_name, a.site, a.candidate,
       i.title AS item_title, t.metric, t.value AS target_value, t.unit AS target_unit
FROM queue q
JOIN articles a ON a.id = q.article_id AND (:kind IS NULL OR q.kind = :kind)
LEFT JOIN items i ON i.id = q.item_id
LEFT JOIN targets t ON t.id = q.target_id
ORDER BY q.priority, q.published DESC, q.article_id DESC, q.kind, q.item_id, q.target_id, q.value, q.unit
"""


@pytest.fixture
def db(tmp_path):
    conn = dbpkg.connect(tmp_path / "queue.db")
    sync_catalog(conn, load_catalog())
    yield conn
    conn.close()


def _reference(db, kind: str | None) -> list[dict]:
    return list(db.query(REFERENCE_QUEUE, {"kind": kind}))


def _exact(db, *, expect_rows: bool = True) -> None:
    assert stored(db) == from_scratch(db)
    whole = _reference(db, None)
    counts: dict[str, int] = {}
    for row in whole:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    assert review_lists.queue_counts(db) == counts
    for kind in (None, *review_lists.KINDS):
        want = _reference(db, kind)
        assert review_lists.queue(db, limit=len(want) + 5, kind=kind) == want, kind
        for limit, offset in ((1, 0), (2, 1), (3, 2), (2, len(want) - 1)):
            got = review_lists.queue(db, limit=limit, offset=offset, kind=kind)
            assert got == want[offset : offset + limit], (kind, limit, offset)
    if expect_rows:
        assert whole


def _article(db, n: int, *, published: str | None, source: str = "杭州日报") -> int:
    art = Article(
        url=f"https://a.example.cn/{n}.html",
        title=f"报道{n}",
        body=f"第{n}篇：住房。",
        published=published,
        source_name=source,
        site="a.example.cn",
        source_id="hz",
    )
    with db.atomic():
        article_id, _ = db_articles.store_article(db, art)
    return article_id


def _match(db, article_id: int, items: list[str], *, relevant: bool = True, figures: tuple = ()) -> None:
    result = MatchResult(
        relevant=relevant,
        score=2.0,
        items=items if relevant else [],
        evidence=[Evidence(i, "住房", 0, 2, "住房") for i in items],
        progress=[Figure(HOUSING, value, "套", as_of, "住房") for value, as_of in figures],
        candidate=not relevant and bool(items),
    )
    save_match(db, article_id, result, "test")
    refresh_figures(db)


def test_every_kind_of_write_keeps_the_queue_exact(db):
    housing_item = db.execute("SELECT item_id FROM targets WHERE id = ?", [HOUSING]).fetchone()[0]
    plain = db.execute(
        "SELECT id FROM items WHERE id NOT IN (SELECT item_id FROM targets) AND plan_id = 'hangzhou-2024' LIMIT 1"
    ).fetchone()[0]
    other = db.execute("SELECT id FROM items WHERE plan_id = 'hangzhou-2026' LIMIT 1").fetchone()[0]
    a = _article(db, 1, published="2024-03-05T09:00:00+08:00")
    b = _article(db, 2, published="2024-04-01T09:00:00+08:00")
    c = _article(db, 3, published="2024-05-01T09:00:00+08:00")
    d = _article(db, 4, published="2024-05-01T09:00:00+08:00")  # published as c: ordered by article
    e = _article(db, 5, published=None)
    _exact(db, expect_rows=False)
    # figures (a later lower cumulative figure is doubtful), links to items with and without targets,
    # candidates for an item with a target and one without
    _match(db, a, [housing_item, plain], figures=((3200, "2024-02-29"),))
    _match(db, b, [housing_item], figures=((3000, "2024-03-31"), (3100, "2024-03-31")))
    _match(db, c, [plain], relevant=False)
    _match(db, d, [housing_item], relevant=False)
    _match(db, e, [plain, housing_item], figures=((2000, "2024-01-31"),))
    _exact(db)
    kinds = {r["kind"] for r in _reference(db, None)}
    assert kinds == {"doubt", "figure", "candidate", "link"}, kinds
    # b joins a's story, then leaves; an article without a story; dates and relevance change
    story_a, story_b = (db.execute("SELECT story_id FROM articles WHERE id = ?", [i]).fetchone()[0] for i in (a, b))
    db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story_a, b])
    _exact(db)
    db.execute("UPDATE articles SET story_id = NULL WHERE id = ?", [b])
    _exact(db)
    db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story_b, b])
    db.execute("UPDATE articles SET published = '2024-06-01T08:00:00+08:00' WHERE id = ?", [e])
    _exact(db)
    db.execute("UPDATE articles SET relevant = 0 WHERE id = ?", [a])
    _exact(db)
    db.execute("UPDATE articles SET relevant = 1 WHERE id = ?", [a])
    refresh_figures(db)
    _exact(db)
    # links written directly: REPLACE, an update of the item, of the origin, a delete
    db.execute("INSERT OR REPLACE INTO matches (article_id, item_id, score, evidence) VALUES (?, ?, 9, '')", [b, plain])
    db.execute("UPDATE matches SET item_id = ? WHERE article_id = ? AND item_id = ?", [other, e, housing_item])
    _exact(db)
    db.execute("UPDATE matches SET origin = 'person' WHERE article_id = ? AND item_id = ?", [a, plain])
    _exact(db)
    db.execute("DELETE FROM matches WHERE article_id = ? AND item_id = ?", [b, plain])
    _exact(db)
    # people's reviews: a candidate confirmed, a link rejected and the rejection undone
    reviews.confirm_candidate(db, c, "lin")
    refresh_figures(db)
    _exact(db)
    # a candidate without a story while judged stories exist; a candidate whose story-mate was judged
    f = _article(db, 6, published="2024-07-01T09:00:00+08:00")
    _match(db, f, [plain], relevant=False)
    db.execute("UPDATE articles SET story_id = NULL WHERE id = ?", [f])
    _exact(db)
    g, h = (_article(db, n, published="2024-08-01T09:00:00+08:00") for n in (7, 8))
    for x in (g, h):
        _match(db, x, [plain], relevant=False)
    story_g = db.execute("SELECT story_id FROM articles WHERE id = ?", [g]).fetchone()[0]
    db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story_g, h])
    assert {r["article_id"] for r in _reference(db, "candidate")} >= {f, g}
    _exact(db)
    reviews.record(db, reviews.Review(h, "relevance", "not_relevant"), "lin")  # judges g's story through h
    refresh_figures(db)
    assert g not in {r["article_id"] for r in _reference(db, "candidate")}
    _exact(db)
    # a judged article without a story leaves the other stories' candidates in the queue
    k = _article(db, 9, published="2024-09-01T09:00:00+08:00")
    _match(db, k, [plain], relevant=False)
    reviews.record(db, reviews.Review(f, "relevance", "not_relevant"), "lin")
    refresh_figures(db)
    assert k in {r["article_id"] for r in _reference(db, "candidate")}
    _exact(db)
    # a story whose first copy is neither relevant nor a candidate lists its first candidate; once a
    # copy is relevant, the story lists none
    m1, m2, m3 = (_article(db, n, published="2024-10-01T09:00:00+08:00") for n in (10, 11, 12))
    _match(db, m1, [], relevant=False)
    for x in (m2, m3):
        _match(db, x, [plain], relevant=False)
    story_m = db.execute("SELECT story_id FROM articles WHERE id = ?", [m1]).fetchone()[0]
    db.execute("UPDATE articles SET story_id = ? WHERE id IN (?, ?)", [story_m, m2, m3])
    listed = {r["article_id"] for r in _reference(db, "candidate")}
    assert m2 in listed and m1 not in listed and m3 not in listed
    _exact(db)
    _match(db, m3, [plain])
    assert m2 not in {r["article_id"] for r in _reference(db, "candidate")}
    _exact(db)
    review = reviews.record(db, reviews.Review(a, "link", "reject", item_id=housing_item), "lin")
    refresh_figures(db)
    _exact(db)
    reviews.undo(db, review, "lin")
    refresh_figures(db)
    _exact(db)
    # articles deleted (a figure row of a deleted article stays until the refresh: not in the queue)
    db.execute("DELETE FROM articles WHERE id = ?", [b])
    _exact(db)
    refresh_figures(db)
    db.execute("DELETE FROM articles")
    _exact(db, expect_rows=False)
    assert db.execute("SELECT count(*) FROM review_links").fetchone()[0] == 0


def test_the_fixture_database_queue_is_exact(tmp_path):
    path = tmp_path / "fixture.db"
    build_fixture_db(path, generated=300)
    db = dbpkg.connect(path)
    _exact(db)
    assert len(_reference(db, "link")) > 100
    db.close()
