"""The page aggregates of migration m016 (db/schema/016_page_aggregates.sql): the triggers that keep
them exact, the statements that fill them, and the same counts computed from scratch (for tests).

Every write that can change a count recomputes, in the same statement, exactly what it touches:
- a story's links (`item_story`, `plan_story`) and its size (`story_stats`) from the story's few
  articles, whenever one of its articles or their matches changes (deletes, inserts, REPLACE);
- an article's candidate rows (`candidate_links`) when its candidate evidence or relevance changes;
- the counters (`item_counts`, `plan_counts`, `item_months`, `page_totals`, `source_counts`,
  `source_months`) by one step per row that enters or leaves the tables above, or per article.
Only these triggers write the aggregate tables.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils


def _month(value: str) -> str:
    return f"cast(substr({value}, 1, 4) AS INTEGER) || '年' || substr({value}, 6, 2) || '月'"


def _links(stories: str) -> str:
    """Recompute the links of the stories `stories` (a SELECT of story ids) from their articles."""
    return f"""
  DELETE FROM item_story WHERE story_id IN ({stories});
  INSERT INTO item_story (item_id, story_id, first_published, last_published, direct, story_first)
  SELECT x.item_id, x.story_id, min(x.published), max(x.published), max(x.direct),
         (SELECT min(s.published) FROM articles s WHERE s.story_id = x.story_id AND s.relevant = 1)
  FROM (
    SELECT m.item_id, a.story_id, a.published, 1 AS direct
    FROM articles a JOIN matches m ON m.article_id = a.id
    WHERE a.story_id IN ({stories}) AND a.relevant = 1
    UNION ALL
    SELECT i.parent_id, a.story_id, a.published, 0
    FROM articles a JOIN matches m ON m.article_id = a.id JOIN items i ON i.id = m.item_id
    WHERE a.story_id IN ({stories}) AND a.relevant = 1 AND i.parent_id IS NOT NULL
  ) x GROUP BY x.item_id, x.story_id;
  DELETE FROM plan_story WHERE story_id IN ({stories});
  INSERT INTO plan_story (plan_id, story_id, last_published)
  SELECT i.plan_id, a.story_id, max(a.published)
  FROM articles a JOIN matches m ON m.article_id = a.id JOIN items i ON i.id = m.item_id
  WHERE a.story_id IN ({stories}) AND a.relevant = 1
  GROUP BY i.plan_id, a.story_id;"""


def _story(stories: str) -> str:
    return f"""
  DELETE FROM story_stats WHERE story_id IN ({stories});
  INSERT INTO story_stats (story_id, articles, relevant)
  SELECT story_id, count(*), count(CASE WHEN relevant = 1 THEN 1 END)
  FROM articles WHERE story_id IN ({stories}) GROUP BY story_id;"""


def _bump(table: str, keys: dict[str, str], column: str, step: str, when: str = "1") -> str:
    """Add `step` to `column` of the row of `table` with these keys (NULL keys match NULL), made if missing."""
    match = " AND ".join(f"{k} IS {v}" for k, v in keys.items())
    names = ", ".join(keys)
    values = ", ".join(keys.values())
    return f"""
  INSERT INTO {table} ({names}, {column}) SELECT {values}, 0
  WHERE ({when}) AND NOT EXISTS (SELECT 1 FROM {table} WHERE {match});
  UPDATE {table} SET {column} = {column} + ({step}) WHERE ({when}) AND {match};
  DELETE FROM {table} WHERE ({when}) AND {match} AND {column} = 0;"""


def _article_counts(row: str, sign: str) -> str:
    """The per-article counters for the article `row` (new/old) entering (+) or leaving (-)."""
    return (
        f"\n  UPDATE page_totals SET articles = articles {sign} 1,"
        f" relevant_articles = relevant_articles {sign} ({row}.relevant IS 1);"
        + _bump(
            "source_counts", {"source_id": f"{row}.source_id", "relevant": f"{row}.relevant"}, "articles", f"{sign}1"
        )
        + _bump(
            "source_months",
            {"month": _month(f"{row}.published"), "source_id": f"{row}.source_id"},
            "articles",
            f"{sign}1",
            f"{row}.relevant IS 1 AND {row}.published IS NOT NULL",
        )
    )


def _candidate_items(articles: str) -> str:
    """Recompute which item pages list the articles `articles` (a SELECT of ids) as candidates."""
    return f"""
  DELETE FROM candidate_items WHERE article_id IN ({articles});
  INSERT INTO candidate_items (item_id, article_id, published)
  SELECT x.item_id, x.article_id, (SELECT published FROM articles WHERE id = x.article_id)
  FROM (
    SELECT item_id, article_id FROM candidate_links WHERE article_id IN ({articles}) AND item_id IS NOT NULL
    UNION
    SELECT i.parent_id, c.article_id FROM candidate_links c JOIN items i ON i.id = c.item_id
    WHERE c.article_id IN ({articles}) AND i.parent_id IS NOT NULL
  ) x;"""


def _candidates(row: str) -> str:
    """Recompute the candidate rows of the article `row` (new), then the item pages that list it."""
    links = f"""
  DELETE FROM candidate_links WHERE article_id = {row}.id;
  INSERT INTO candidate_links (article_id, pos, item_id, term, snippet, published)
  SELECT {row}.id, e.key, json_extract(e.value, '$.item'), json_extract(e.value, '$.term'),
         json_extract(e.value, '$.snippet'), {row}.published
  FROM json_each(CASE WHEN {row}.relevant = 0 AND json_valid({row}.candidate) THEN {row}.candidate END) e;"""
    return links + _candidate_items(f"SELECT {row}.id")


def _count_step(table: str, key: str, row: str, step: str, latest_of: str) -> str:
    """item_counts / plan_counts: one story more (+, row new) or fewer (-, row old) for the key of
    `row`; the latest date moves up with a later row, and is read again only when its row leaves."""
    if step == "+":
        latest = (
            f"CASE WHEN latest_report IS NULL OR {row}.last_published > latest_report"
            f" THEN coalesce({row}.last_published, latest_report) ELSE latest_report END"
        )
    else:
        latest = (
            f"CASE WHEN {row}.last_published >= latest_report THEN (SELECT last_published FROM {latest_of}"
            f" WHERE {key} = {row}.{key} ORDER BY last_published DESC LIMIT 1) ELSE latest_report END"
        )
    return f"""
  INSERT INTO {table} ({key}, reports, latest_report) SELECT {row}.{key}, 0, NULL
  WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {key} = {row}.{key});
  UPDATE {table} SET reports = reports {step} 1, latest_report = {latest} WHERE {key} = {row}.{key};"""


def _month_step(row: str, step: str) -> str:
    when = f"{row}.direct AND {row}.story_first IS NOT NULL"
    month = _month(f"{row}.story_first")
    return _bump("item_months", {"item_id": f"{row}.item_id", "month": month}, "reports", f"{step}1", when)


def trigger(name: str, event: str, body: str, when: str = "") -> str:
    """CREATE TRIGGER text (AFTER … BEGIN body END), with a WHEN condition if given."""
    return f"CREATE TRIGGER {name} {event}{' WHEN ' + when if when else ''}\nBEGIN{body}\nEND;\n"


_STORIES = (
    "\n  UPDATE page_totals SET stories = stories {sign} 1,"
    " relevant_stories = relevant_stories {sign} ({row}.relevant > 0);"
)
_OF_ARTICLE = "SELECT story_id FROM articles WHERE id = {0}.article_id"
_OF_ITEM = "SELECT a.story_id FROM matches m JOIN articles a ON a.id = m.article_id WHERE m.item_id IN ({0})"
_CANDIDATES_OF_ITEM = "SELECT article_id FROM candidate_links WHERE item_id IN ({0})"


def _counter_triggers() -> list[str]:
    """The counters moved by rows entering or leaving item_story, plan_story and story_stats."""
    return [
        trigger(
            "agg_item_story_insert",
            "AFTER INSERT ON item_story",
            _count_step("item_counts", "item_id", "new", "+", "item_story") + _month_step("new", "+"),
        ),
        trigger(
            "agg_item_story_delete",
            "AFTER DELETE ON item_story",
            _count_step("item_counts", "item_id", "old", "-", "item_story") + _month_step("old", "-"),
        ),
        trigger(
            "agg_plan_story_insert",
            "AFTER INSERT ON plan_story",
            _count_step("plan_counts", "plan_id", "new", "+", "plan_story"),
        ),
        trigger(
            "agg_plan_story_delete",
            "AFTER DELETE ON plan_story",
            _count_step("plan_counts", "plan_id", "old", "-", "plan_story"),
        ),
        trigger(
            "agg_story_stats_insert",
            "AFTER INSERT ON story_stats",
            _STORIES.format(sign="+", row="new"),
        ),
        trigger(
            "agg_story_stats_delete",
            "AFTER DELETE ON story_stats",
            _STORIES.format(sign="-", row="old"),
        ),
    ]


def article_row_triggers() -> list[str]:
    """The triggers of an articles row's insert and delete. An article that is not relevant is in no
    story link (item_story, plan_story read relevant articles only): its insert or delete recomputes
    none (m019; m016 recomputed its story's links for every article a crawl stored)."""
    return [
        trigger(
            "agg_article_insert",
            "AFTER INSERT ON articles",
            _article_counts("new", "+")
            + _story("SELECT new.story_id")
            + _links("SELECT new.story_id WHERE new.relevant IS 1")
            + _candidates("new"),
        ),
        trigger(
            "agg_article_delete",
            "AFTER DELETE ON articles",
            _article_counts("old", "-")
            + _story("SELECT old.story_id")
            + _links("SELECT old.story_id WHERE old.relevant IS 1")
            + "\n  DELETE FROM candidate_links WHERE article_id = old.id;"
            + "\n  DELETE FROM candidate_items WHERE article_id = old.id;",
        ),
    ]


def triggers() -> str:
    """Every trigger of m016 (with m019's article row triggers), as SQL."""
    changed = " OR ".join(
        f"old.{c} IS NOT new.{c}" for c in ("relevant", "story_id", "published", "source_id", "candidate")
    )
    both = "SELECT old.story_id UNION SELECT new.story_id"
    return "\n".join(
        [
            trigger("agg_match_insert", "AFTER INSERT ON matches", _links(_OF_ARTICLE.format("new"))),
            trigger("agg_match_delete", "AFTER DELETE ON matches", _links(_OF_ARTICLE.format("old"))),
            trigger(
                "agg_match_update",
                "AFTER UPDATE OF article_id, item_id ON matches",
                _links(f"{_OF_ARTICLE.format('old')} UNION {_OF_ARTICLE.format('new')}"),
            ),
            *article_row_triggers(),
            trigger(
                "agg_article_update",
                "AFTER UPDATE OF relevant, story_id, published, source_id, candidate ON articles",
                _article_counts("old", "-")
                + _article_counts("new", "+")
                + _story(both)
                + _links(both)
                + _candidates("new"),
                changed,
            ),
            trigger(
                "agg_item_insert",
                "AFTER INSERT ON items",
                _links(_OF_ITEM.format("new.id")) + _candidate_items(_CANDIDATES_OF_ITEM.format("new.id")),
            ),
            trigger(
                "agg_item_delete",
                "AFTER DELETE ON items",
                _links(_OF_ITEM.format("old.id")) + _candidate_items(_CANDIDATES_OF_ITEM.format("old.id")),
            ),
            trigger(
                "agg_item_update",
                "AFTER UPDATE OF id, parent_id, plan_id ON items",
                _links(_OF_ITEM.format("old.id, new.id"))
                + _candidate_items(_CANDIDATES_OF_ITEM.format("old.id, new.id")),
                "old.id IS NOT new.id OR old.parent_id IS NOT new.parent_id OR old.plan_id IS NOT new.plan_id",
            ),
            *_counter_triggers(),
        ]
    )


# The aggregates from scratch, as the page queries computed them before m016: the migration fills the
# tables with these (before the triggers exist), and the tests compare the tables with them.
SCRATCH = {
    "item_story": """
        SELECT x.item_id, x.story_id, min(x.published) AS first_published, max(x.published) AS last_published,
               max(x.direct) AS direct, f.story_first
        FROM (
          SELECT m.item_id, a.story_id, a.published, 1 AS direct
          FROM articles a JOIN matches m ON m.article_id = a.id WHERE a.relevant = 1 AND a.story_id IS NOT NULL
          UNION ALL
          SELECT i.parent_id, a.story_id, a.published, 0
          FROM articles a JOIN matches m ON m.article_id = a.id JOIN items i ON i.id = m.item_id
          WHERE a.relevant = 1 AND a.story_id IS NOT NULL AND i.parent_id IS NOT NULL
        ) x
        JOIN (SELECT story_id, min(published) AS story_first FROM articles WHERE relevant = 1
              GROUP BY story_id) f ON f.story_id = x.story_id
        GROUP BY x.item_id, x.story_id""",
    "plan_story": """
        SELECT i.plan_id, a.story_id, max(a.published) AS last_published
        FROM articles a JOIN matches m ON m.article_id = a.id JOIN items i ON i.id = m.item_id
        WHERE a.relevant = 1 AND a.story_id IS NOT NULL GROUP BY i.plan_id, a.story_id""",
    "item_counts": """
        SELECT item_id, count(*) AS reports, max(last_published) AS latest_report FROM ({item_story})
        GROUP BY item_id""",
    "plan_counts": """
        SELECT plan_id, count(*) AS reports, max(last_published) AS latest_report FROM ({plan_story})
        GROUP BY plan_id""",
    "item_months": f"""
        SELECT item_id, {_month("story_first")} AS month, count(*) AS reports FROM ({{item_story}})
        WHERE direct AND story_first IS NOT NULL GROUP BY item_id, month""",
    "story_stats": """
        SELECT story_id, count(*) AS articles, count(CASE WHEN relevant = 1 THEN 1 END) AS relevant
        FROM articles WHERE story_id IS NOT NULL GROUP BY story_id""",
    "page_totals": """
        SELECT 1 AS id, (SELECT count(*) FROM articles) AS articles,
               (SELECT count(*) FROM articles WHERE relevant = 1) AS relevant_articles,
               (SELECT count(DISTINCT story_id) FROM articles) AS stories,
               (SELECT count(DISTINCT story_id) FROM articles WHERE relevant = 1) AS relevant_stories""",
    "source_counts": """
        SELECT source_id, relevant, count(*) AS articles FROM articles GROUP BY source_id, relevant""",
    "source_months": f"""
        SELECT {_month("published")} AS month, source_id, count(*) AS articles FROM articles
        WHERE relevant = 1 AND published IS NOT NULL GROUP BY month, source_id""",
    "candidate_links": """
        SELECT a.id AS article_id, e.key AS pos, json_extract(e.value, '$.item') AS item_id,
               json_extract(e.value, '$.term') AS term, json_extract(e.value, '$.snippet') AS snippet,
               a.published
        FROM articles a, json_each(a.candidate) e
        WHERE a.candidate IS NOT NULL AND a.relevant = 0 AND json_valid(a.candidate)""",
    "candidate_items": """
        SELECT x.item_id, x.article_id, a.published FROM (
          SELECT item_id, article_id FROM ({candidate_links}) WHERE item_id IS NOT NULL
          UNION
          SELECT i.parent_id, c.article_id FROM ({candidate_links}) c JOIN items i ON i.id = c.item_id
          WHERE i.parent_id IS NOT NULL
        ) x JOIN articles a ON a.id = x.article_id""",
}


# 015's figure_assessments_computed read every relevant article and then kept the figures of dirty
# targets; starting from figure_dirty (a CROSS JOIN fixes the order) it reads only those targets'
# progress rows, and nothing when no target is dirty. Same rows: figure_dirty's target_id is its key.
_FIGURE_FROM = [
    (
        """  FROM progress p
  JOIN articles a ON a.id = p.article_id
  WHERE a.relevant = 1 AND a.story_id IS NOT NULL AND p.target_id IN (SELECT target_id FROM figure_dirty)""",
        """  FROM figure_dirty d CROSS JOIN progress p ON p.target_id = d.target_id
  JOIN articles a ON a.id = p.article_id
  WHERE a.relevant = 1 AND a.story_id IS NOT NULL""",
    ),
    (
        """  FROM progress p JOIN articles a ON a.id = p.article_id
  WHERE a.relevant = 1 AND a.story_id IS NOT NULL AND p.target_id IN (SELECT target_id FROM figure_dirty)""",
        """  FROM figure_dirty d CROSS JOIN progress p ON p.target_id = d.target_id
  JOIN articles a ON a.id = p.article_id
  WHERE a.relevant = 1 AND a.story_id IS NOT NULL""",
    ),
]


def figure_view() -> str:
    """015's figure_assessments_computed (db/schema/015_figure_view.sql, shipped, so fixed) reading
    the dirty targets' progress rows only."""
    text = (Path(__file__).with_name("schema") / "015_figure_view.sql").read_text(encoding="utf-8")
    start = text.index("CREATE VIEW figure_assessments_computed AS")
    view = text[start : text.index(";", text.index("FROM shown s", start)) + 1]
    for old, new in _FIGURE_FROM:
        if view.count(old) != 1:
            raise ValueError(f"015_figure_view.sql changed: {old!r}")
        view = view.replace(old, new)
    return "DROP VIEW figure_assessments_computed;\n" + view + "\n" + figure_picks()


def figure_picks() -> str:
    """target_latest's rule (011) over the stored rows (figure_picks_stored) and the computed ones
    (figure_picks_computed): each target's credible latest figure, one text for both views."""
    return "".join(
        f"""
CREATE VIEW figure_picks_{name} AS
SELECT * FROM (
  SELECT fa.*, row_number() OVER (
           PARTITION BY fa.target_id
           ORDER BY fa.as_of DESC, fa.by_person DESC, fa.rank DESC, fa.published DESC, fa.story_id DESC) AS pick
  FROM {source} fa
  WHERE coalesce(fa.doubt_rule, fa.doubt_conflict) IS NULL
    AND fa.unit = fa.target_unit AND fa.as_of IS NOT NULL
    AND (fa.due IS NULL OR fa.as_of <= fa.due)
)
WHERE pick = 1;"""
        for name, source in (("stored", "figure_table"), ("computed", "figure_assessments_computed"))
    )


def figure_counts(source: str, picks: str, targets: str = "") -> str:
    """Per target of `source` (assessment rows): how many figures, how many doubtful, and what the
    target page's explanation counts against the pick in `picks` (same date and credible, doubtful
    from its date to the due date, after the due date)."""
    where = f"WHERE target_id IN ({targets})" if targets else ""
    # Both sides materialized once: joined to a view with a window function (the picks), SQLite
    # otherwise evaluated the picks again for each figure row (318 ms for 393 computed rows).
    return f"""
WITH f AS MATERIALIZED (SELECT * FROM {source} {where}),
     l AS MATERIALIZED (SELECT * FROM {picks})
SELECT f.target_id, count(*) AS figures, count(coalesce(f.doubt_rule, f.doubt_conflict)) AS doubtful,
       count(CASE WHEN f.as_of = l.as_of AND NOT (f.story_id = l.story_id AND f.value = l.value)
                   AND coalesce(f.doubt_rule, f.doubt_conflict) IS NULL THEN 1 END) AS same_date_credible,
       count(CASE WHEN f.as_of >= l.as_of AND f.as_of <= f.due
                   AND coalesce(f.doubt_rule, f.doubt_conflict) IS NOT NULL THEN 1 END) AS later_doubtful,
       count(CASE WHEN f.as_of > f.due THEN 1 END) AS after_due
FROM f LEFT JOIN l ON l.target_id = f.target_id
GROUP BY f.target_id"""


def figure_counts_schema() -> str:
    """The stored per-target figure counts, filled from figure_table, and the view pages read."""
    return f"""
CREATE TABLE target_figure_counts_table (
    target_id TEXT PRIMARY KEY, figures INTEGER NOT NULL, doubtful INTEGER NOT NULL,
    same_date_credible INTEGER NOT NULL, later_doubtful INTEGER NOT NULL, after_due INTEGER NOT NULL
);
INSERT INTO target_figure_counts_table {figure_counts("figure_table", "target_latest_table")};
CREATE VIEW target_figure_counts AS
SELECT * FROM target_figure_counts_table WHERE target_id NOT IN (SELECT target_id FROM figure_dirty)
UNION ALL
SELECT * FROM ({figure_counts("figure_assessments_computed", "figure_picks_computed")})
WHERE EXISTS (SELECT 1 FROM figure_dirty);
"""


def scratch_sql(table: str, stored_links: bool = False) -> str:
    """The SELECT computing `table` from scratch (the counts from the stored link rows with `stored_links`)."""
    if stored_links:
        names = ("item_story", "plan_story", "candidate_links")
        return SCRATCH[table].format(**{name: f"SELECT * FROM {name}" for name in names})
    return SCRATCH[table].format(
        item_story=SCRATCH["item_story"], plan_story=SCRATCH["plan_story"], candidate_links=SCRATCH["candidate_links"]
    )


def fill() -> str:
    """Statements filling every aggregate table from scratch (run before the triggers exist)."""
    return "\n".join(f"INSERT INTO {table} {scratch_sql(table, stored_links=True)};" for table in SCRATCH)


def from_scratch(db: sqlite_utils.Database) -> dict[str, list[tuple]]:
    """Each aggregate table's rows computed anew, sorted; for comparing with the stored ones."""
    return {table: sorted(db.execute(scratch_sql(table)).fetchall(), key=repr) for table in SCRATCH}


def stored(db: sqlite_utils.Database) -> dict[str, list[tuple]]:
    """Each aggregate table's stored rows (an item or plan whose count fell to 0 keeps a row: left out)."""
    out = {}
    for table in SCRATCH:
        where = " WHERE reports > 0" if table in ("item_counts", "plan_counts") else ""
        out[table] = sorted(db.execute(f"SELECT * FROM {table}{where}").fetchall(), key=repr)
    return out
