"""Reads for reviewing: the review queue, the audit of every correction, the reviewed articles.

The queue lists what a person should look at, most important first: figures for a target (存疑
ones first, then the matcher's new figures), then candidates (待确认, `articles.candidate`) and
the matcher's new item links, items with targets before other items; recent before old within
each. A story appears once (a candidate only while no copy of it is relevant); what a person has
judged leaves the queue.
"""

from __future__ import annotations

import sqlite_utils

from db.reviews import active_reviews, machine_result

# Each kind and priority is a branch read newest first from an index (figure_table's m018 indexes,
# articles' candidate index, review_links: migration m018), cut at the page's end; only the page's rows
# are joined to their articles. The order is by priority, publication (newest first) and article (the
# later first); rows equal in those come in a fixed order (kind, item, target, value, unit).
# A stored figure whose article is gone (the queue leaves it out) belongs to a target marked dirty: 011's
# triggers mark the targets of an article's figures when it is deleted, until the figures are stored
# again. Only those targets' rows are looked up (a lookup for each of 90,000 figures took 0.4 s).
_ARTICLE_KEPT = (
    "(f.target_id NOT IN (SELECT target_id FROM figure_dirty)"
    " OR EXISTS (SELECT 1 FROM articles a INDEXED BY idx_articles_id_story WHERE a.id = f.article_id))"
)

_FIGURES = """
  SELECT * FROM (
    SELECT {priority} AS priority, '{kind}' AS kind, f.article_id, f.published, NULL AS item_id, f.target_id,
           f.value, f.unit, f.as_of, coalesce(f.doubt_rule, f.doubt_conflict) AS detail
    FROM figure_table f
    WHERE NOT f.by_person AND coalesce(f.doubt_rule, f.doubt_conflict) IS {null}
      AND coalesce(:kind, '{kind}') = '{kind}' AND __KEPT__
    ORDER BY f.published DESC, f.article_id DESC, f.target_id, f.value, f.unit
    LIMIT :limit + :offset)""".replace("__KEPT__", _ARTICLE_KEPT)

_CANDIDATES = """
  SELECT * FROM (
    SELECT * FROM candidates WHERE priority = {priority} AND coalesce(:kind, 'candidate') = 'candidate'
    ORDER BY published DESC, article_id DESC LIMIT :limit + :offset)"""

_LINKS = """
  SELECT * FROM (
    SELECT {priority} AS priority, 'link' AS kind, l.article_id, l.published, l.item_id,
           NULL AS target_id, NULL AS value, NULL AS unit, NULL AS as_of, NULL AS detail
    FROM review_links l
    WHERE l.item_id {has} (SELECT item_id FROM targets) AND coalesce(:kind, 'link') = 'link'
    ORDER BY l.published DESC, l.article_id DESC, l.item_id
    LIMIT :limit + :offset)"""

# A candidate is listed once per story (the story's first candidate), unless the story is already
# relevant through another copy or a person judged its relevance. NOT MATERIALIZED: each branch reads
# the candidates newest first from their index and stops at the page's end; used twice, SQLite would
# otherwise compute every candidate's priority (its evidence JSON read against the targets) first:
# 2.4 s at a million articles with 78,000 candidates, 20 ms for the first page this way. The judged
# articles and stories (`judged`) are listed once (IN), not looked for per candidate; an earlier
# candidate or a relevant copy of the story is one index seek each (m020): the count 650 → 290 ms.
_QUEUE_CTES = """
WITH judged AS (
  SELECT c.id, c.story_id FROM reviews r JOIN articles c ON c.id = r.article_id
  WHERE r.kind = 'relevance' AND r.undone_at IS NULL
),
candidates AS NOT MATERIALIZED (
  SELECT CASE WHEN EXISTS (SELECT 1 FROM json_each(a.candidate) e JOIN targets t
                           ON t.item_id = json_extract(e.value, '$.item')) THEN 2 ELSE 3 END AS priority,
         'candidate' AS kind, a.id AS article_id, a.published,
         (SELECT group_concat(DISTINCT json_extract(e.value, '$.item')) FROM json_each(a.candidate) e) AS item_id,
         NULL AS target_id, NULL AS value, NULL AS unit, NULL AS as_of, NULL AS detail
  FROM articles a INDEXED BY idx_articles_candidate
  WHERE a.candidate IS NOT NULL AND a.relevant = 0
    AND a.id NOT IN (SELECT id FROM judged)
    AND (a.story_id IS NULL OR a.story_id NOT IN (SELECT story_id FROM judged WHERE story_id IS NOT NULL))
    AND NOT EXISTS (SELECT 1 FROM articles c INDEXED BY idx_articles_candidate_story
                    WHERE c.story_id = a.story_id AND c.id < a.id AND c.candidate IS NOT NULL AND c.relevant = 0)
    AND NOT EXISTS (SELECT 1 FROM articles c WHERE c.relevant = 1 AND c.story_id = a.story_id)
),
queue AS ("""

QUEUE_SQL = (
    _QUEUE_CTES
    + "\n  UNION ALL".join(
        [
            _FIGURES.format(priority=0, kind="doubt", null="NOT NULL"),
            _FIGURES.format(priority=1, kind="figure", null="NULL"),
            _CANDIDATES.format(priority=2),
            _LINKS.format(priority=2, has="IN"),
            _CANDIDATES.format(priority=3),
            _LINKS.format(priority=3, has="NOT IN"),
        ]
    )
    + """
),
page AS (
  SELECT * FROM queue
  ORDER BY priority, published DESC, article_id DESC, kind, item_id, target_id, value, unit
  LIMIT :limit OFFSET :offset
)
SELECT q.*, a.title, a.source_name, a.site, a.candidate,
       i.title AS item_title, t.metric, t.value AS target_value, t.unit AS target_unit
FROM page q
JOIN articles a ON a.id = q.article_id
LEFT JOIN items i ON i.id = q.item_id
LEFT JOIN targets t ON t.id = q.target_id
ORDER BY q.priority, q.published DESC, q.article_id DESC, q.kind, q.item_id, q.target_id, q.value, q.unit
"""
)

# How many rows of each kind: counted from the same indexes, whole.
COUNTS_SQL = (
    _QUEUE_CTES.split(",\nqueue AS (")[0]
    + """
SELECT 'doubt', count(*) FROM figure_table f
WHERE NOT f.by_person AND coalesce(f.doubt_rule, f.doubt_conflict) IS NOT NULL
  AND __KEPT__
UNION ALL
SELECT 'figure', count(*) FROM figure_table f
WHERE NOT f.by_person AND coalesce(f.doubt_rule, f.doubt_conflict) IS NULL
  AND __KEPT__
UNION ALL
SELECT 'candidate', count(*) FROM candidates
UNION ALL
SELECT 'link', count(*) FROM review_links
""".replace("__KEPT__", _ARTICLE_KEPT)
)


KINDS = ("doubt", "figure", "candidate", "link")


def queue(db: sqlite_utils.Database, limit: int = 100, offset: int = 0, kind: str | None = None) -> list[dict]:
    """One page of the review queue (of one kind: doubt, figure, candidate, link), most important first."""
    return list(db.query(QUEUE_SQL, {"limit": limit, "offset": offset, "kind": kind if kind in KINDS else None}))


def queue_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many queue rows of each kind."""
    return {row[0]: row[1] for row in db.execute(COUNTS_SQL) if row[1]}


def audit(db: sqlite_utils.Database, limit: int = 200, offset: int = 0) -> list[dict]:
    """Every correction, newest first, with its article, item or target, author and time."""
    return list(
        db.query(
            """SELECT r.*, a.title, i.title AS item_title, t.metric
               FROM reviews r JOIN articles a ON a.id = r.article_id
               LEFT JOIN items i ON i.id = r.item_id
               LEFT JOIN targets t ON t.id = r.target_id
               ORDER BY r.id DESC LIMIT :limit OFFSET :offset""",
            {"limit": limit, "offset": offset},
        )
    )


def count_reviews(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM reviews").fetchone()[0]


def reviewed_article_ids(db: sqlite_utils.Database) -> list[int]:
    """Articles a person has judged (a standing review made on that article itself)."""
    return [
        r[0] for r in db.execute("SELECT DISTINCT article_id FROM reviews WHERE undone_at IS NULL ORDER BY article_id")
    ]


def labelled_article(db: sqlite_utils.Database, article_id: int) -> dict:
    """An article in the labelled-article JSON shape, its label being people's decisions."""
    art = next(db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
    links = db.execute("SELECT item_id FROM matches WHERE article_id = ? ORDER BY item_id", [article_id])
    items = [r[0] for r in links]
    progress = [
        {"target": r[0], "value": r[1], "unit": r[2], "as_of": r[3], "quote": r[4] or ""}
        for r in db.execute(
            "SELECT target_id, value, unit, as_of, quote FROM progress WHERE article_id = ? ORDER BY id", [article_id]
        )
    ]
    reviews = active_reviews(db, article_id)
    notes = "; ".join(
        f"{r['reviewer']} {r['created_at'][:10]} {r['kind']}/{r['action']}"
        + (f" {r['item_id'] or r['target_id']}" if r["item_id"] or r["target_id"] else "")
        + (f": {r['reason']}" if r["reason"] else "")
        for r in reviews
    )
    return {
        "url": art["url"],
        "site": art["site"],
        "title": art["title"],
        "published": (art["published"] or "")[:10] or None,
        "source": art["source_name"],
        "text": art["body"] or "",
        "label": {
            "relevant": bool(art["relevant"]),
            "projects": items if art["relevant"] else [],
            "targets": sorted({p["target"] for p in progress}) if art["relevant"] else [],
            "progress": progress if art["relevant"] else [],
            "notes": "reviewed in hzwatch: " + notes,
        },
        "matcher": machine_result(db, article_id),
    }
