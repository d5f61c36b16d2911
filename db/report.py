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

# The stories linked to an item (directly or through a sub-item) are m016's stored item_story rows;
# a story counts by the date when one of its linked articles is published by then: its first one
# (first_published) or an undated one. Articles without a story come from the articles themselves.
_ITEMS = "SELECT :item AS id UNION SELECT id FROM items WHERE parent_id = :item"
_UNDATED_FROM = """
  FROM articles a INDEXED BY idx_articles_relevant JOIN matches m ON m.article_id = a.id
  JOIN items c ON c.id = m.item_id"""
_UNDATED_WHERE = "a.relevant = 1 AND a.published IS NULL AND a.story_id IS NOT NULL"
_UNDATED = f"{_UNDATED_FROM}\n  WHERE {_UNDATED_WHERE}"
_STORYLESS_FROM = """
  FROM articles a INDEXED BY idx_articles_story_relevant JOIN matches m ON m.article_id = a.id
  JOIN items c ON c.id = m.item_id"""
_STORYLESS = f"{_STORYLESS_FROM}\n  WHERE a.story_id IS NULL AND a.relevant = 1 AND {_BY_DATE}"

# Per item: how many stories by the date and the latest linked article by then. An item none of whose
# linked articles is published after the date has m016's stored count (item_counts); the others count
# their item_story rows, and a story published across the date is read from its articles.
ITEMS_SQL = f"""
WITH plan_items AS MATERIALIZED (
  SELECT i.id, coalesce(substr((SELECT max(s.last_published) FROM item_story s WHERE s.item_id = i.id), 1, 10)
                        <= :as_of, 1) AS whole
  FROM items i WHERE i.plan_id = :plan
),
linked AS (
  SELECT p.id AS item_id, coalesce(c.reports, 0) AS fresh, c.latest_report AS latest
  FROM plan_items p LEFT JOIN item_counts c ON c.item_id = p.id AND c.reports > 0
  WHERE p.whole
  UNION ALL
  SELECT s.item_id, 1,
         CASE WHEN substr(s.last_published, 1, 10) <= :as_of THEN s.last_published
              ELSE (SELECT max(a.published) FROM articles a JOIN matches m ON m.article_id = a.id
                    WHERE a.story_id = s.story_id AND a.relevant = 1 AND substr(a.published, 1, 10) <= :as_of
                      AND m.item_id IN (SELECT s.item_id UNION SELECT id FROM items WHERE parent_id = s.item_id))
         END
  FROM plan_items p JOIN item_story s ON s.item_id = p.id
  WHERE NOT p.whole AND substr(s.first_published, 1, 10) <= :as_of
  UNION ALL
  SELECT x.item_id, NOT EXISTS (SELECT 1 FROM item_story s WHERE s.item_id = x.item_id AND s.story_id = x.story_id
                                AND substr(s.first_published, 1, 10) <= :as_of), NULL
  FROM (SELECT DISTINCT p.id AS item_id, a.story_id {_UNDATED_FROM}
        JOIN plan_items p ON (c.id = p.id OR c.parent_id = p.id) AND NOT p.whole
        WHERE {_UNDATED_WHERE}) x
  UNION ALL
  SELECT p.id, 0, a.published {_STORYLESS_FROM} JOIN plan_items p ON c.id = p.id OR c.parent_id = p.id
  WHERE a.story_id IS NULL AND a.relevant = 1 AND {_BY_DATE}
),
counts AS (
  SELECT item_id, sum(fresh) AS reports, max(latest) AS latest_report FROM linked GROUP BY item_id
)
SELECT i.id AS item_id, i.kind, i.title, i.parent_id, i.position, i.definition,
       coalesce(c.reports, 0) AS reports, c.latest_report
FROM items i LEFT JOIN counts c ON c.item_id = i.id
WHERE i.plan_id = :plan
ORDER BY i.position
"""

# An item's stories by the date, newest first (by each story's first linked article), from item_story
# read backwards; stories linked by the date only through undated articles after them; articles
# without a story are one group, which has no row of its own (as before m018).
_STORIES = f"""
  SELECT * FROM (
    SELECT s.story_id, s.first_published AS published FROM item_story s
    WHERE s.item_id = :item AND substr(s.first_published, 1, 10) <= :as_of
    ORDER BY s.first_published DESC, s.story_id DESC LIMIT :n)
  UNION ALL
  SELECT DISTINCT a.story_id, NULL {_UNDATED} AND c.id IN ({_ITEMS})
    AND NOT EXISTS (SELECT 1 FROM item_story s WHERE s.item_id = :item AND s.story_id = a.story_id
                    AND substr(s.first_published, 1, 10) <= :as_of)
  UNION ALL
  SELECT NULL, min(a.published) {_STORYLESS} AND c.id IN ({_ITEMS}) HAVING count(*) > 0"""

LATEST_REPORTS_SQL = f"""
WITH stories AS (
  SELECT * FROM ({_STORIES})
  ORDER BY published DESC, story_id DESC
  LIMIT :n
)
SELECT a.id AS article_id, a.title, a.published, a.source_name, a.site, a.url, s.story_id,
       (SELECT count(*) - 1 FROM articles c WHERE c.story_id = s.story_id) AS other_copies
FROM stories s
JOIN articles a ON a.id = (SELECT a3.id FROM articles a3 WHERE a3.story_id = s.story_id AND a3.relevant = 1
                           ORDER BY a3.published, a3.id LIMIT 1)
ORDER BY s.published DESC, s.story_id DESC
"""

# The plan's stories by the date: linked to one of its top-level items (or their sub-items). When those
# items are the plan's items and none of its linked articles is published after the date, that is
# m016's stored count (plan_counts); otherwise the stories are read from item_story.
_ROOTS = "SELECT id FROM items WHERE plan_id = :plan AND parent_id IS NULL"
REPORTS_SQL = f"""
SELECT CASE
  WHEN NOT EXISTS (SELECT 1 FROM items c WHERE c.plan_id = :plan AND c.parent_id IS NOT NULL
                     AND c.parent_id NOT IN ({_ROOTS}))
   AND NOT EXISTS (SELECT 1 FROM items c WHERE c.parent_id IN ({_ROOTS}) AND c.plan_id IS NOT :plan)
   AND coalesce(substr((SELECT max(s.last_published) FROM plan_story s WHERE s.plan_id = :plan), 1, 10)
                <= :as_of, 1)
  THEN coalesce((SELECT reports FROM plan_counts WHERE plan_id = :plan), 0)
  ELSE (SELECT count(*) FROM (
    SELECT s.story_id FROM items r JOIN item_story s ON s.item_id = r.id
    WHERE r.plan_id = :plan AND r.parent_id IS NULL AND substr(s.first_published, 1, 10) <= :as_of
    UNION
    SELECT a.story_id {_UNDATED}
      AND c.id IN ({_ROOTS} UNION SELECT id FROM items WHERE parent_id IN ({_ROOTS}))))
END
"""

# A target's counts and doubts are read from an index (m018) holding the columns they need, in the
# order the query before m018 listed the doubts in (each reason where it first occurs in an index
# built on the fly over every figure: value, as-of date, rule, conflict), not from a copy of every
# figure with such an index built per target (1-9 s at a million articles).
_KNOWN = """FROM figure_table k INDEXED BY idx_figure_table_report
          WHERE k.target_id = t.id AND (k.published IS NULL OR substr(k.published, 1, 10) <= :as_of)"""
TARGETS_SQL = f"""
WITH latest AS (
  SELECT * FROM (
    SELECT k.*, row_number() OVER (
             PARTITION BY k.target_id ORDER BY k.as_of DESC, k.rank DESC, k.published DESC, k.story_id DESC) AS pick
    FROM targets t JOIN figure_table k INDEXED BY idx_figure_table_credible ON k.target_id = t.id
    WHERE t.plan_id = :plan AND k.doubt_rule IS NULL AND k.doubt_conflict IS NULL
      AND (k.published IS NULL OR substr(k.published, 1, 10) <= :as_of)
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
       (SELECT count(*) {_KNOWN}) AS figures,
       (SELECT count(*) {_KNOWN} AND coalesce(k.doubt_rule, k.doubt_conflict) IS NOT NULL) AS doubtful,
       (SELECT group_concat(reason, '；') FROM (
          SELECT DISTINCT reason FROM (
            SELECT k.value_text || '（截至' || k.as_of_text || '）：' || coalesce(k.doubt_rule, k.doubt_conflict)
              AS reason
            {_KNOWN} AND coalesce(k.doubt_rule, k.doubt_conflict) IS NOT NULL
            ORDER BY k.value_text, k.as_of_text, k.doubt_rule, k.doubt_conflict))) AS doubts,
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


def reports(db: sqlite_utils.Database, plan_id: str, as_of: str) -> int:
    """How many stories linked to the plan's items (top-level items with their sub-items) by `as_of`."""
    return db.execute(REPORTS_SQL, {"plan": plan_id, "as_of": as_of}).fetchone()[0]


def targets(db: sqlite_utils.Database, plan_id: str, as_of: str) -> list[dict]:
    """The plan's targets: credible latest figure, percentage, status and doubts as of `as_of`."""
    return list(db.query(TARGETS_SQL, {"plan": plan_id, "as_of": as_of}))
