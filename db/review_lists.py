"""Reads for reviewing: the review queue, the audit of every correction, the reviewed articles.

The queue lists what a person should look at, most important first: figures for a target (存疑
ones first, then the matcher's new figures), then candidates (待确认, `articles.candidate`) and
the matcher's new item links, items with targets before other items; recent before old within
each. A story appears once; what a person has judged leaves the queue.
"""

from __future__ import annotations

import sqlite_utils

from db.reviews import active_reviews, machine_result

QUEUE_SQL = """
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
    AND a.id = (SELECT min(c.id) FROM articles c WHERE c.story_id = a.story_id OR c.id = a.id)
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
ORDER BY q.priority, q.published DESC, q.article_id DESC
LIMIT :limit OFFSET :offset
"""


KINDS = ("doubt", "figure", "candidate", "link")


def queue(db: sqlite_utils.Database, limit: int = 100, offset: int = 0, kind: str | None = None) -> list[dict]:
    """One page of the review queue (of one kind: doubt, figure, candidate, link), most important first."""
    return list(db.query(QUEUE_SQL, {"limit": limit, "offset": offset, "kind": kind if kind in KINDS else None}))


def queue_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many queue rows of each kind."""
    sql = QUEUE_SQL.split("SELECT q.*", 1)[0] + "SELECT kind, count(*) FROM queue GROUP BY kind"
    return {row[0]: row[1] for row in db.execute(sql)}


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
