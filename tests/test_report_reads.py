"""The supervision report's reads (db/report.py) after migration m018 read m016's stored story rows and
m018's indexes: for every plan and as-of date, and whatever the articles are like (undated, without
a story, a story published across the date, sub-items), they equal the reads as they were before
m018, which computed everything from the articles, links and figures (kept here as the reference)."""

from __future__ import annotations

import pytest
import sqlite_utils
from support_fixture_db import build_fixture_db

import db as dbpkg
from db import report
from db.figures import refresh_figures

# The reads before m018 (db/report.py at a228028), whole.
# Reports published by the as-of date (its whole day, Beijing time: stored dates carry +08:00).
_BY_DATE = "(a.published IS NULL OR substr(a.published, 1, 10) <= :as_of)"

PLAN_SQL = "SELECT id, title, city, announced, watch_from, reform_count, task_count FROM plans WHERE id = :plan"

ITEMS_SQL = f"""
WITH linked AS MATERIALIZED (
  SELECT m.item_id, a.story_id, a.published
  FROM matches m JOIN articles a ON a.id = m.article_id
  WHERE a.relevant = 1 AND {_BY_DATE}
),
per_item AS (
  SELECT item_id, story_id, published FROM linked
  UNION ALL
  SELECT c.parent_id, l.story_id, l.published FROM linked l JOIN items c ON c.id = l.item_id
  WHERE c.parent_id IS NOT NULL
),
counts AS (
  SELECT item_id, count(DISTINCT story_id) AS reports, max(published) AS latest_report
  FROM per_item GROUP BY item_id
)
SELECT i.id AS item_id, i.kind, i.title, i.parent_id, i.position, i.definition,
       coalesce(c.reports, 0) AS reports, c.latest_report
FROM items i LEFT JOIN counts c ON c.item_id = i.id
WHERE i.plan_id = :plan
ORDER BY i.position
"""

LATEST_REPORTS_SQL = f"""
WITH stories AS (
  SELECT a.story_id, min(a.published) AS published
  FROM matches m JOIN articles a ON a.id = m.article_id
  WHERE a.relevant = 1 AND {_BY_DATE}
    AND m.item_id IN (SELECT :item UNION SELECT id FROM items WHERE parent_id = :item)
  GROUP BY a.story_id
  ORDER BY published DESC, a.story_id DESC
  LIMIT :n
)
SELECT a.id AS article_id, a.title, a.published, a.source_name, a.site, a.url, s.story_id,
       (SELECT count(*) - 1 FROM articles c WHERE c.story_id = s.story_id) AS other_copies
FROM stories s
JOIN articles a ON a.id = (SELECT a3.id FROM articles a3 WHERE a3.story_id = s.story_id AND a3.relevant = 1
                           ORDER BY a3.published, a3.id LIMIT 1)
ORDER BY s.published DESC, s.story_id DESC
"""

TARGETS_SQL = """
WITH known AS (
  SELECT fa.* FROM figure_table fa
  WHERE fa.published IS NULL OR substr(fa.published, 1, 10) <= :as_of
),
latest AS (
  SELECT * FROM (
    SELECT k.*, row_number() OVER (
             PARTITION BY k.target_id ORDER BY k.as_of DESC, k.rank DESC, k.published DESC, k.story_id DESC) AS pick
    FROM known k
    WHERE coalesce(k.doubt_rule, k.doubt_conflict) IS NULL
      AND k.unit = k.target_unit AND k.as_of IS NOT NULL
      AND (k.due IS NULL OR k.as_of <= k.due) AND k.as_of <= :as_of
  ) WHERE pick = 1
)
SELECT t.id AS target_id, t.item_id, i.title AS item_title, t.metric,
       CASE t.comparator WHEN '>=' THEN CASE WHEN t.unit = '%' THEN '不低于' ELSE '不少于' END
                         WHEN '<=' THEN CASE WHEN t.unit = '%' THEN '不高于' ELSE '不多于' END
                         ELSE '等于' END AS comparator_text,
       t.value AS target_value, t.unit, t.due,
       l.value AS latest_value, l.unit AS latest_unit, l.as_of, l.rank, l.article_id,
       a.title AS article_title, a.source_name, a.site, a.url, a.published,
       CASE WHEN l.value IS NOT NULL AND t.value > 0 THEN round(100.0 * l.value / t.value, 1) END AS percent_of_target,
       (SELECT count(*) FROM known k WHERE k.target_id = t.id) AS figures,
       (SELECT count(*) FROM known k WHERE k.target_id = t.id
         AND coalesce(k.doubt_rule, k.doubt_conflict) IS NOT NULL) AS doubtful,
       (SELECT group_concat(reason, '；') FROM (
          SELECT DISTINCT k.value_text || '（截至' || k.as_of_text || '）：' || coalesce(k.doubt_rule, k.doubt_conflict)
            AS reason
          FROM known k WHERE k.target_id = t.id AND coalesce(k.doubt_rule, k.doubt_conflict) IS NOT NULL)) AS doubts,
       CASE
         WHEN l.value IS NOT NULL AND ((t.comparator = '>=' AND l.value >= t.value)
           OR (t.comparator = '<=' AND l.value <= t.value) OR (t.comparator = '=' AND l.value = t.value))
           THEN '达标'
         WHEN t.due IS NULL OR t.due >= :as_of THEN '未到期'
         WHEN l.as_of = t.due THEN '未达标'
         ELSE '未报告'
       END AS status,
       EXISTS (SELECT 1 FROM figure_dirty d WHERE d.target_id = t.id) AS updating
FROM targets t
JOIN items i ON i.id = t.item_id
LEFT JOIN latest l ON l.target_id = t.id
LEFT JOIN articles a ON a.id = l.article_id
WHERE t.plan_id = :plan
ORDER BY i.position, t.id
"""


DATES = ("2023-12-31", "2024-01-15", "2024-03-01", "2024-06-30", "2024-12-31", "2026-12-31")


def _reference_reports(db: sqlite_utils.Database, plan_id: str, as_of: str) -> int:
    """The report's count before m018: the distinct stories of every top-level item's whole list."""
    roots = [r["item_id"] for r in db.query(ITEMS_SQL, {"plan": plan_id, "as_of": as_of}) if r["parent_id"] is None]
    every = [db.query(LATEST_REPORTS_SQL, {"item": i, "as_of": as_of, "n": -1}) for i in roots]
    return len({r["story_id"] for rows in every for r in rows})


def _same(db: sqlite_utils.Database) -> int:
    """Every read equals the reference for every plan and date; returns how many rows were compared."""
    compared = 0
    for plan_id in report.plan_ids(db):
        for as_of in DATES:
            params = {"plan": plan_id, "as_of": as_of}
            items = list(db.query(ITEMS_SQL, params))
            assert report.items(db, plan_id, as_of) == items, (plan_id, as_of)
            for item in items:
                for n in (3, -1):
                    want = list(db.query(LATEST_REPORTS_SQL, {"item": item["item_id"], "as_of": as_of, "n": n}))
                    assert report.latest_reports(db, item["item_id"], as_of, n) == want, (item["item_id"], as_of, n)
                    compared += len(want)
            assert report.reports(db, plan_id, as_of) == _reference_reports(db, plan_id, as_of), (plan_id, as_of)
            targets = list(db.query(TARGETS_SQL, params))
            assert report.targets(db, plan_id, as_of) == targets, (plan_id, as_of)
            compared += len(items) + len(targets)
    return compared


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "fixture.db"
    build_fixture_db(path, generated=300)
    conn = dbpkg.connect(path)
    yield conn
    conn.close()


def test_the_fixture_reports_equal_the_reference(fixture_db):
    assert _same(fixture_db) > 100
    doubts = [t["doubts"] for t in report.targets(fixture_db, "hangzhou-2024", "2026-12-31") if t["doubts"]]
    assert any("；" in d for d in doubts)  # several doubts of one target, in the reference's order


def test_odd_articles_keep_the_reports_equal(fixture_db, tmp_path):
    """Undated articles, articles without a story, a story whose copies straddle the date, a sub-item's
    link, a target's figure undated: each read still equals the reference (on a copy of the fixture)."""
    path = tmp_path / "odd.db"
    fixture_db.conn.execute("VACUUM INTO ?", [str(path)])
    db = dbpkg.connect(path)
    rows = db.execute(
        "SELECT DISTINCT a.id, a.story_id FROM articles a JOIN matches m ON m.article_id = a.id"
        " JOIN items i ON i.id = m.item_id WHERE a.relevant = 1 AND i.parent_id IS NOT NULL"
        " AND i.plan_id = 'hangzhou-2024' ORDER BY a.id LIMIT 6"
    ).fetchall()
    assert len(rows) == 6
    (a1, _), (a2, _), (a3, _), (a4, s4), (a5, _), (a6, _) = rows
    with db.atomic():
        db.execute("UPDATE articles SET published = NULL WHERE id IN (?, ?)", [a1, a2])  # undated
        db.execute("UPDATE articles SET story_id = NULL WHERE id IN (?, ?)", [a3, a5])  # without a story
        # the newest report of its items: the storyless group takes one of their three places
        db.execute("UPDATE articles SET published = '2024-12-30T23:00:00+08:00' WHERE id = ?", [a5])
        db.execute("UPDATE articles SET story_id = ?, published = '2024-02-20T10:00:00+08:00' WHERE id = ?", [s4, a6])
        db.execute("UPDATE articles SET published = '2024-07-02T09:00:00+08:00' WHERE id = ?", [a4])  # straddles
        db.execute(
            "INSERT OR IGNORE INTO matches (article_id, item_id, score, evidence)"
            " SELECT ?, item_id, 1, '' FROM matches WHERE article_id = ?",
            [a6, a4],
        )
        db.execute(
            "UPDATE progress SET article_id = ? WHERE id = (SELECT min(id) FROM progress WHERE target_id = ?)",
            [a1, "tgt-housing-6000"],
        )
    refresh_figures(db)
    undated = db.execute("SELECT count(*) FROM articles WHERE published IS NULL AND relevant = 1").fetchone()[0]
    storyless = db.execute("SELECT count(*) FROM articles WHERE story_id IS NULL AND relevant = 1").fetchone()[0]
    assert (undated, storyless) == (2, 2)
    straddling = db.execute(
        "SELECT count(*) FROM item_story WHERE story_id = ? AND substr(first_published, 1, 10) <= '2024-06-30'"
        " AND substr(last_published, 1, 10) > '2024-06-30'",
        [s4],
    ).fetchone()[0]
    assert straddling
    assert _same(db) > 100
    db.close()
