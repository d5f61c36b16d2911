"""The review queue's link rows stored (migration m018, `review_links`), kept exact by triggers.

A link row of the queue (db/review_lists.py) is one story (an article without a story on its own)
and one item the matcher linked to it (`matches.origin IS NULL`), over the story's relevant
articles: its first article (min id) and its latest publication. Computing them for the queue
grouped every matched article (and the queue joined every queue row to its article before sorting:
8-19 s at a million articles). Every write that can change a story's link rows recomputes that
story's rows in the same statement, as db/page_aggregates.py does for item_story.
"""

from __future__ import annotations

import sqlite_utils

from db.page_aggregates import trigger

# The link rows from scratch: what the queue computed before m018 (and what the tests compare with).
SCRATCH = """
SELECT coalesce(a.story_id, -a.id) AS story_key, m.item_id, min(a.id) AS article_id, max(a.published) AS published
FROM matches m JOIN articles a ON a.id = m.article_id
WHERE a.relevant = 1 AND m.origin IS NULL
GROUP BY coalesce(a.story_id, -a.id), m.item_id"""

SCHEMA = """
CREATE TABLE review_links (
    story_key INTEGER NOT NULL,   -- the story's id; minus the article's id for an article without a story
    item_id TEXT NOT NULL,
    article_id INTEGER NOT NULL,  -- the group's first article (min id)
    published TEXT,               -- the group's latest publication
    PRIMARY KEY (story_key, item_id)
) WITHOUT ROWID;
-- the queue lists links newest first (ties: the later first article first)
CREATE INDEX idx_review_links_page ON review_links(published DESC, article_id DESC, item_id);
"""


def _recompute(keys: str) -> str:
    """Recompute the link rows of the story keys `keys` (a SELECT of one column named k): stories by
    their id, articles without a story by theirs (two statements: one OR of both read every article)."""
    return f"""
  DELETE FROM review_links WHERE story_key IN ({keys});
  INSERT INTO review_links (story_key, item_id, article_id, published)
  SELECT a.story_id, m.item_id, min(a.id), max(a.published)
  FROM articles a JOIN matches m ON m.article_id = a.id
  WHERE a.story_id IN ({keys}) AND a.relevant = 1 AND m.origin IS NULL
  GROUP BY a.story_id, m.item_id;
  INSERT INTO review_links (story_key, item_id, article_id, published)
  SELECT -a.id, m.item_id, a.id, a.published
  FROM articles a JOIN matches m ON m.article_id = a.id
  WHERE a.id IN (SELECT -k FROM ({keys})) AND a.story_id IS NULL AND a.relevant = 1 AND m.origin IS NULL;"""


_OF_ARTICLE = "SELECT coalesce(story_id, -id) AS k FROM articles WHERE id = {0}.article_id"


def article_row_triggers() -> list[str]:
    """The triggers of an articles row's insert and delete: only a relevant article has link rows
    (m019; m018 recomputed its story's rows for every article stored)."""
    return [
        trigger(
            "review_links_article_insert",
            "AFTER INSERT ON articles",
            _recompute("SELECT coalesce(new.story_id, -new.id) AS k WHERE new.relevant IS 1"),
        ),
        trigger(
            "review_links_article_delete",
            "AFTER DELETE ON articles",
            _recompute("SELECT coalesce(old.story_id, -old.id) AS k WHERE old.relevant IS 1"),
        ),
    ]


def triggers() -> str:
    """Every trigger of m018 (with m019's article row triggers), as SQL."""
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in ("id", "relevant", "story_id", "published"))
    both = "SELECT coalesce(old.story_id, -old.id) AS k UNION SELECT coalesce(new.story_id, -new.id)"
    return "\n".join(
        [
            trigger("review_links_match_insert", "AFTER INSERT ON matches", _recompute(_OF_ARTICLE.format("new"))),
            trigger("review_links_match_delete", "AFTER DELETE ON matches", _recompute(_OF_ARTICLE.format("old"))),
            trigger(
                "review_links_match_update",
                "AFTER UPDATE OF article_id, item_id, origin ON matches",
                _recompute(f"{_OF_ARTICLE.format('old')} UNION {_OF_ARTICLE.format('new')}"),
            ),
            *article_row_triggers(),
            trigger(
                "review_links_article_update",
                "AFTER UPDATE OF id, relevant, story_id, published ON articles",
                _recompute(both),
                changed,
            ),
        ]
    )


def fill() -> str:
    """The statement filling the table from scratch (run before the triggers exist)."""
    return f"INSERT INTO review_links (story_key, item_id, article_id, published) {SCRATCH};"


def from_scratch(db: sqlite_utils.Database) -> list[tuple]:
    return sorted(db.execute(SCRATCH).fetchall(), key=repr)


def stored(db: sqlite_utils.Database) -> list[tuple]:
    return sorted(db.execute("SELECT * FROM review_links").fetchall(), key=repr)
