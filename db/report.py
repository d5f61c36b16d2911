"""Reads for the supervision report (monitor/reporting): one plan, as of one date.

Every figure comes from the stored story figures (figure_table, db/figures.py; a target whose new
figures are not stored yet is marked `updating`, as on the site's pages): the credible latest
figure is picked with target_latest's order, among the figures published by the as-of date; the
status follows the site's target_progress query with the as-of date in place of today. On today's
date the numbers are the site's.
"""

from __future__ import annotations

import sqlite_utils

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


def plan(db: sqlite_utils.Database, plan_id: str) -> dict | None:
    """The plan's row, None when there is no such plan."""
    rows = list(db.query(PLAN_SQL, {"plan": plan_id}))
    return rows[0] if rows else None


def plan_ids(db: sqlite_utils.Database) -> list[str]:
    """Every plan id, latest announced first."""
    return [r["id"] for r in db.query("SELECT id FROM plans ORDER BY announced DESC, id")]


def items(db: sqlite_utils.Database, plan_id: str, as_of: str) -> list[dict]:
    """The plan's items with their reports (stories, sub-items' included) published by `as_of`."""
    return list(db.query(ITEMS_SQL, {"plan": plan_id, "as_of": as_of}))


def latest_reports(db: sqlite_utils.Database, item_id: str, as_of: str, n: int) -> list[dict]:
    """The item's (and its sub-items') `n` latest stories by `as_of`, each as its first copy."""
    return list(db.query(LATEST_REPORTS_SQL, {"item": item_id, "as_of": as_of, "n": n}))


def targets(db: sqlite_utils.Database, plan_id: str, as_of: str) -> list[dict]:
    """The plan's targets: credible latest figure, percentage, status and doubts as of `as_of`."""
    return list(db.query(TARGETS_SQL, {"plan": plan_id, "as_of": as_of}))
