"""Schema migrations: plain functions, applied once each, in order, in a transaction.

Add a migration by appending a function to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

import sqlite_utils

from db.clock import now_iso

Migration = Callable[[sqlite_utils.Database], None]
SCHEMA_DIR = Path(__file__).with_name("schema")


def m001_initial(db: sqlite_utils.Database) -> None:
    """The first schema: plans, items, targets, articles, stories, matches, progress, runs, outbox."""
    db.executescript((SCHEMA_DIR / "001_initial.sql").read_text(encoding="utf-8"))


def m002_alerts(db: sqlite_utils.Database) -> None:
    # Lease for crash recovery, per-URL delivery progress, and when a subscription was first seen
    # (so a new subscription does not alert the whole backlog).
    db.executescript(
        """
        ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
        ALTER TABLE outbox ADD COLUMN delivered TEXT;   -- JSON list of env var names that accepted
        CREATE TABLE subscriptions (
            name TEXT PRIMARY KEY,
            mode TEXT,
            first_seen TEXT NOT NULL,
            article_watermark INTEGER NOT NULL,       -- articles with id <= this are backlog
            last_seen TEXT
        );
        """
    )


def m003_search(db: sqlite_utils.Database) -> None:
    # Chinese full-text search (db/search.py): one CJK character per token, filled by
    # db.search.index_article / sync_index; the state table records what was indexed when.
    db.executescript(
        """
        CREATE VIRTUAL TABLE articles_search USING fts5(title, body, tokenize = 'unicode61');
        CREATE TABLE articles_search_state (
            article_id INTEGER PRIMARY KEY,
            stamp TEXT,                                -- content_hash (or timestamp) indexed
            indexed_at TEXT
        );
        """
    )


def m004_crawl(db: sqlite_utils.Database) -> None:
    # Whether a run read every list page it meant to: only then may the next run trust 304s and
    # stop at the first page without news (a killed first run must be resumed, not skipped).
    db.execute("ALTER TABLE runs ADD COLUMN listing_complete INTEGER")


def m005_publish_indexes(db: sqlite_utils.Database) -> None:
    # The Datasette home page and dashboards count relevant articles per source and month; without
    # these covering indexes each count reads every article body (0.3-0.8 s at 100k articles).
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_articles_relevant ON articles(relevant, published, source_id);
        CREATE INDEX IF NOT EXISTS idx_articles_source_relevant ON articles(source_id, relevant);
        """
    )


def m006_source_latest_index(db: sqlite_utils.Database) -> None:
    # Source health shows each source's latest article: read it from an index, not 30k article rows.
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_articles_source_published ON articles(source_id, published);
        """
    )


def m007_stories(db: sqlite_utils.Database) -> None:
    # Readers count stories, not articles; a target's latest figure is the credible one (the rules'
    # data in targets/plans, the views that apply them): db/schema/007_stories.sql.
    db.executescript((SCHEMA_DIR / "007_stories.sql").read_text(encoding="utf-8"))


def m008_candidates(db: sqlite_utils.Database) -> None:
    # A candidate (待确认): below the relevance threshold but with plan evidence, kept as that
    # evidence (JSON, as matches.evidence with the item in each entry); NULL for the rest. The item
    # page lists them after the confirmed reports; the partial index keeps that list cheap.
    db.executescript(
        """
        ALTER TABLE articles ADD COLUMN candidate TEXT;
        CREATE INDEX IF NOT EXISTS idx_articles_candidate ON articles(published) WHERE candidate IS NOT NULL;
        """
    )


def m009_publisher(db: sqlite_utils.Database) -> None:
    # The issuing body (发布机构/信息来源 on government pages, e.g. 市林水局) in its own column:
    # before, it was stored as the author, which is for people only.
    db.execute("ALTER TABLE articles ADD COLUMN publisher TEXT")


def m010_reviews(db: sqlite_utils.Database) -> None:
    # People's corrections (who, when, why), the matcher's own output kept for reviewed stories,
    # reviewers' sign-ins, and the story views knowing a person's figure: db/schema/010_reviews.sql.
    db.executescript((SCHEMA_DIR / "010_reviews.sql").read_text(encoding="utf-8"))


def m011_figure_table(db: sqlite_utils.Database) -> None:
    # Story figures and assessments stored per target, kept exact by triggers marking dirty targets
    # (computed on the fly until db.figures.refresh_figures stores them): db/schema/011_figure_table.sql.
    db.executescript((SCHEMA_DIR / "011_figure_table.sql").read_text(encoding="utf-8"))


def m012_rematch_state(db: sqlite_utils.Database) -> None:
    # A forced re-match of the whole database (`hzwatch match --all --force`) records after each
    # batch the last article it matched, so an interrupted run continues where it stopped.
    db.executescript(
        """
        CREATE TABLE rematch_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),  -- at most one re-match in progress
            matcher_version TEXT NOT NULL,
            started_at TEXT NOT NULL,
            last_article_id INTEGER NOT NULL,       -- articles with id <= this are done
            matched INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT
        );
        """
    )


def m013_story_indexes(db: sqlite_utils.Database) -> None:
    # Covering indexes for the story queries of the home, plan, item and dashboard pages: at a million
    # articles, reading each matched article's row (bodies inline) for relevant/story_id/published
    # cost seconds. By id (joins from matches), by relevance (relevant stories), by story (copies).
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_articles_id_story ON articles(id, relevant, story_id, published);
        CREATE INDEX IF NOT EXISTS idx_articles_relevant_story ON articles(relevant, story_id, published);
        CREATE INDEX IF NOT EXISTS idx_articles_story_relevant ON articles(story_id, relevant, published, id);
        """
    )


def m014_failure_url_index(db: sqlite_utils.Database) -> None:
    # Every article link a crawl meets asks whether its URL was given up (db.runs.given_up), and each
    # crawl start asks which failed URLs to fetch again: by URL, not by scanning every failure kept.
    db.execute("CREATE INDEX IF NOT EXISTS idx_fetch_failures_url ON fetch_failures(url, reason)")


def m015_figure_view(db: sqlite_utils.Database) -> None:
    # figure_assessments_computed without the quadratic last step: db/schema/015_figure_view.sql.
    db.executescript((SCHEMA_DIR / "015_figure_view.sql").read_text(encoding="utf-8"))


def m016_page_aggregates(db: sqlite_utils.Database) -> None:
    # The counts the pages show, stored and kept exact by triggers (db/page_aggregates.py); each
    # target's latest figure and figure counts stored with figure_table: db/schema/016_page_aggregates.sql.
    from db import page_aggregates

    db.executescript(page_aggregates.figure_view())
    db.executescript((SCHEMA_DIR / "016_page_aggregates.sql").read_text(encoding="utf-8"))
    db.executescript(page_aggregates.figure_counts_schema())
    db.executescript(page_aggregates.fill())
    db.executescript(page_aggregates.triggers())


def m017_figure_conflicts(db: sqlite_utils.Database) -> None:
    # figure_assessments_computed with the same rows in seconds instead of a minute for a target of
    # 40,000 figures: each date's figures numbered once instead of paired: db/schema/017_figure_conflicts.sql.
    db.executescript((SCHEMA_DIR / "017_figure_conflicts.sql").read_text(encoding="utf-8"))


def m018_read_indexes(db: sqlite_utils.Database) -> None:
    # Reads still slow at a million articles (benchmarks/README.md): the review queue's link rows
    # stored and kept by triggers (db/review_links.py); the queue reads figures newest first from
    # figure_table (doubtful and not apart), a target's feed its latest figures, the report a
    # target's figures by publication date, without sorting or reading every row.
    from db import review_links

    db.executescript(review_links.SCHEMA)
    db.executescript(review_links.fill())
    db.executescript(review_links.triggers())
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_figure_table_queue_doubt
            ON figure_table(published DESC, article_id DESC, target_id, value, unit)
            WHERE NOT by_person AND coalesce(doubt_rule, doubt_conflict) IS NOT NULL;
        CREATE INDEX IF NOT EXISTS idx_figure_table_queue_figure
            ON figure_table(published DESC, article_id DESC, target_id, value, unit)
            WHERE NOT by_person AND coalesce(doubt_rule, doubt_conflict) IS NULL;
        CREATE INDEX IF NOT EXISTS idx_figure_table_report
            ON figure_table(target_id, value_text, as_of_text, doubt_rule, doubt_conflict, published);
        CREATE INDEX IF NOT EXISTS idx_figure_table_feed
            ON figure_table(target_id, published DESC, story_id DESC, value DESC, unit DESC);
        """
    )


def m019_relevant_links(db: sqlite_utils.Database) -> None:
    # A crawl stores mostly articles that are not relevant: their insert or delete no longer
    # recomputes their story's item, plan and review links, which read relevant articles only.
    from db import page_aggregates, review_links

    created = page_aggregates.article_row_triggers() + review_links.article_row_triggers()
    for sql in created:  # "CREATE TRIGGER name …"
        db.execute(f"DROP TRIGGER IF EXISTS {sql.split()[2]}")
    db.executescript("\n".join(created))


def m020_candidate_index(db: sqlite_utils.Database) -> None:
    # The review queue reads its candidates (a.relevant, a.story_id) from the candidate index alone:
    # read from the row, those columns sit after the body, in its overflow pages (480 → 124 ms for
    # the count at a million articles with 78,000 candidates). Same order as before: publication
    # date, then id. The second index finds a story's earlier candidate without reading a row.
    db.executescript(
        """
        DROP INDEX IF EXISTS idx_articles_candidate;
        CREATE INDEX idx_articles_candidate ON articles(published, id, relevant, story_id)
            WHERE candidate IS NOT NULL;
        CREATE INDEX IF NOT EXISTS idx_articles_candidate_story ON articles(story_id, id)
            WHERE candidate IS NOT NULL AND relevant = 0;
        """
    )


MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_alerts,
    m003_search,
    m004_crawl,
    m005_publish_indexes,
    m006_source_latest_index,
    m007_stories,
    m008_candidates,
    m009_publisher,
    m010_reviews,
    m011_figure_table,
    m012_rematch_state,
    m013_story_indexes,
    m014_failure_url_index,
    m015_figure_view,
    m016_page_aggregates,
    m017_figure_conflicts,
    m018_read_indexes,
    m019_relevant_links,
    m020_candidate_index,
]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; return the names applied."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row["name"] for row in db.query("SELECT name FROM _migrations")}
    applied = []
    for migration in MIGRATIONS:
        name = migration.__name__
        if name in done:
            continue
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check inside the write lock: two processes may start at once.
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone():
                conn.execute("COMMIT")
                continue
            for statement in _statements(migration, db):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, now_iso()],
            )
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


class _Recorder:
    """Collects the SQL a migration would run, so it can run inside one transaction."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.statements: list[str] = []

    def executescript(self, script: str) -> None:
        import sqlite3

        buf = ""
        for line in script.splitlines(keepends=True):
            buf += line
            if sqlite3.complete_statement(buf):
                self.statements.append(buf.strip())
                buf = ""
        if buf.strip():
            self.statements.append(buf.strip())

    def execute(self, sql: str, params: Iterable[Any] | dict[str, Any] | None = None) -> None:
        if params:
            raise ValueError("migrations take literal SQL only")
        self.statements.append(sql)


def _statements(migration: Migration, db: sqlite_utils.Database) -> list[str]:
    recorder = _Recorder(db)
    migration(recorder)  # type: ignore[arg-type]
    return recorder.statements
