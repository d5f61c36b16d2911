"""The crawl writes each new article's row once, its verdict with it (db.writer.ArticleWriter.store),
and ends with exactly what storing first and matching after (db.articles.store_article, then
db.matches.save_match, as `hzwatch match --all` does) stores: every count, story, link and figure."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from support_data import EVAL_CASES as CASES
from support_data import EVAL_DEV as DEV

import db as dbmod
from db.articles import store_article
from db.catalog import sync_catalog
from db.figures import refresh_figures
from db.matches import save_match
from db.records import Article
from db.writer import ArticleWriter
from monitor.matching import catalog_cache
from monitor.matching.matcher import Matcher

# Derived tables, with article and story ids replaced by URLs (the two paths number rows alike, but
# the comparison must not depend on it).
URL = "(SELECT url FROM articles WHERE id = {0})"
STORY = "(SELECT min(url) FROM articles WHERE story_id = {0})"
FIGURE_COLS = (
    f"{STORY.format('t.story_id')}, target_id, value, unit, as_of, published, copies, by_person, "
    f"{URL.format('t.article_id')}, item_id, rank, after_publication, doubt_rule, doubt_conflict"
)
TABLES = {
    "articles": "url, relevant, score, candidate, matcher_version IS NULL, content_hash, "
    + STORY.format("articles.story_id"),
    "stories": f"{URL.format('first_article_id')}, title_key",
    "matches": f"{URL.format('article_id')}, item_id, score, evidence",
    "progress": f"{URL.format('article_id')}, target_id, value, unit, as_of, quote",
    "story_stats": f"{STORY.format('story_stats.story_id')}, articles, relevant",
    "item_story": f"item_id, {STORY.format('item_story.story_id')}, first_published, last_published, direct, "
    "story_first",
    "plan_story": f"plan_id, {STORY.format('plan_story.story_id')}, last_published",
    "review_links": f"item_id, {URL.format('article_id')}, published",
    "page_totals": "*",
    "source_counts": "*",
    "source_months": "*",
    "candidate_links": f"{URL.format('article_id')}, pos, item_id, term, snippet, published",
    "candidate_items": f"item_id, {URL.format('article_id')}, published",
    "figure_table t": FIGURE_COLS,
    "target_latest_table t": FIGURE_COLS + ", pick",
    "target_figure_counts_table": "*",
}


def _articles() -> list[Article]:
    """The labelled real articles and cases, each also as two syndicated copies (stories of three)."""
    cases = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(DEV.glob("*.json")) + sorted(CASES.glob("*.json"))
    ]
    out = []
    for n in range(3):
        for case in cases:
            art = Article.from_labelled(case)
            url = art.url if n == 0 else f"{art.url}?copy={n}"
            site = art.site if n == 0 else f"copy{n}.example.cn"
            out.append(
                Article(
                    url=url,
                    title=art.title,
                    body=art.body,
                    published=art.published,
                    site=site,
                    source_name=art.source_name,
                )
            )
    return out


def _dump(path: Path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(map(repr, conn.execute(f"SELECT {cols} FROM {t}"))) for t, cols in TABLES.items()}
    finally:
        conn.close()


def test_crawl_write_path_stores_what_store_then_match_stores(tmp_path: Path) -> None:
    catalog = catalog_cache.load()
    matcher = Matcher(catalog)
    articles = _articles()

    crawl_db = dbmod.connect(tmp_path / "crawl.db")
    sync_catalog(crawl_db, catalog)
    # every write of an articles row, counted by temporary triggers of this connection
    crawl_db.conn.executescript(
        "CREATE TEMP TABLE row_writes (kind TEXT, article_id INTEGER);"
        "CREATE TEMP TRIGGER count_inserts AFTER INSERT ON main.articles"
        " BEGIN INSERT INTO row_writes VALUES ('insert', new.id); END;"
        "CREATE TEMP TRIGGER count_updates AFTER UPDATE ON main.articles"
        " BEGIN INSERT INTO row_writes VALUES ('update', new.id); END;"
    )
    writer = ArticleWriter(crawl_db, max_seconds=600)
    for art in articles:
        with writer.article():
            prepared = writer.prepare(art)
            writer.store(prepared, matcher.match(art), matcher.version)
        writer.done()
    writer.finish()
    row_writes = crawl_db.execute("SELECT kind, count(*) FROM temp.row_writes GROUP BY kind").fetchall()

    old_db = dbmod.connect(tmp_path / "old.db")
    sync_catalog(old_db, catalog)
    for art in articles:
        with old_db.atomic():
            article_id, _ = store_article(old_db, art)
            save_match(old_db, article_id, matcher.match(art), matcher.version)
    refresh_figures(old_db)

    # one row write per article: the INSERT carries its story and verdict
    assert row_writes == [("insert", len(articles))]
    crawl, old = _dump(tmp_path / "crawl.db"), _dump(tmp_path / "old.db")
    assert crawl["articles"] and crawl["matches"] and crawl["progress"] and crawl["figure_table t"]
    conn = sqlite3.connect(tmp_path / "crawl.db")
    # each report and its two copies (same text) make one story, first stored first
    groups = conn.execute(
        "SELECT count(DISTINCT story_id) FROM articles GROUP BY replace(replace(url, '?copy=1', ''), '?copy=2', '')"
    ).fetchall()
    assert groups and all(n == 1 for (n,) in groups)
    assert conn.execute("SELECT count(*) FROM stories").fetchone()[0] == len(articles) // 3
    firsts = (
        "SELECT count(*) FROM stories s"
        " WHERE first_article_id IS NOT (SELECT min(id) FROM articles WHERE story_id = s.id)"
    )
    assert conn.execute(firsts).fetchone()[0] == 0
    conn.close()
    for table in TABLES:
        assert crawl[table] == old[table], table
