"""Schema migrations: plain functions, applied once each, in order, in a transaction.

Add a migration by appending a function to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

from typing import Callable

import sqlite_utils

from db.clock import now_iso

Migration = Callable[[sqlite_utils.Database], None]


def m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE plans (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            city TEXT NOT NULL,
            announced TEXT,
            watch_from TEXT,
            reform_count INTEGER,
            task_count INTEGER,
            source_file TEXT,
            source_text TEXT,
            synced_at TEXT
        );
        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            plan_id TEXT NOT NULL REFERENCES plans(id),
            parent_id TEXT REFERENCES items(id),
            kind TEXT NOT NULL,            -- group | project | aim | task
            title TEXT NOT NULL,
            definition TEXT,
            position INTEGER
        );
        CREATE TABLE targets (
            id TEXT PRIMARY KEY,
            plan_id TEXT NOT NULL REFERENCES plans(id),
            item_id TEXT NOT NULL REFERENCES items(id),
            metric TEXT NOT NULL,
            comparator TEXT NOT NULL,
            value REAL NOT NULL,
            unit TEXT NOT NULL,
            due TEXT
        );
        CREATE TABLE aliases (
            item_id TEXT NOT NULL,
            term TEXT NOT NULL,
            kind TEXT NOT NULL,            -- alias | context | exclude
            PRIMARY KEY (item_id, term, kind)
        );
        CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            site TEXT,
            city TEXT,
            strategy TEXT,
            profile TEXT,
            interval_minutes INTEGER,
            config TEXT,                   -- JSON of the sources.yaml entry
            empty_runs INTEGER NOT NULL DEFAULT 0,
            layout_warning TEXT,
            last_run_id INTEGER
        );
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            title_key TEXT,
            first_article_id INTEGER,
            created_at TEXT
        );
        CREATE INDEX idx_stories_title_key ON stories(title_key);
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,      -- canonical URL (real host, never a replica)
            source_id TEXT,
            site TEXT,
            title TEXT,
            subtitle TEXT,
            published TEXT,                -- ISO 8601 with +08:00
            source_name TEXT,              -- 来源
            author TEXT,
            editor TEXT,
            body TEXT,                     -- original text for display
            body_norm TEXT,                -- Simplified, normalised text for matching/search
            content_hash TEXT,
            simhash TEXT,
            methods TEXT,                  -- JSON: how each field was found
            story_id INTEGER REFERENCES stories(id),
            fetched_at TEXT,
            updated_at TEXT,
            relevant INTEGER,              -- matcher verdict
            score REAL,
            matcher_version TEXT,
            matched_at TEXT
        );
        CREATE INDEX idx_articles_published ON articles(published);
        CREATE INDEX idx_articles_source ON articles(source_id);
        CREATE INDEX idx_articles_story ON articles(story_id);
        CREATE INDEX idx_articles_hash ON articles(content_hash);
        CREATE TABLE matches (
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            item_id TEXT NOT NULL,
            score REAL,
            evidence TEXT,                 -- JSON list of {term, start, end, snippet}
            PRIMARY KEY (article_id, item_id)
        );
        CREATE INDEX idx_matches_item ON matches(item_id);
        CREATE TABLE progress (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            target_id TEXT NOT NULL,
            value REAL NOT NULL,
            unit TEXT NOT NULL,
            as_of TEXT,
            quote TEXT
        );
        CREATE INDEX idx_progress_target ON progress(target_id, as_of);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL,
            started TEXT NOT NULL,
            ended TEXT,
            status TEXT NOT NULL,          -- running | ok | partial | failed | killed | timeout
            pages_fetched INTEGER DEFAULT 0,
            new_articles INTEGER DEFAULT 0,
            updated_articles INTEGER DEFAULT 0,
            failures TEXT,                 -- JSON {reason: count}
            error TEXT,
            pid INTEGER
        );
        CREATE INDEX idx_runs_source ON runs(source_id, started);
        CREATE TABLE fetch_failures (
            id INTEGER PRIMARY KEY,
            run_id INTEGER,
            source_id TEXT,
            url TEXT NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX idx_fetch_failures_run ON fetch_failures(run_id);
        CREATE TABLE list_pages (
            url TEXT PRIMARY KEY,
            source_id TEXT,
            etag TEXT,
            last_modified TEXT,
            fetched_at TEXT,
            items_found INTEGER
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            subscription TEXT NOT NULL,
            story_id INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',   -- pending | sending | sent | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_attempt TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (subscription, story_id)
        );
        CREATE INDEX idx_outbox_due ON outbox(status, next_attempt);
        """
    )


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


MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_alerts,
    m003_search,
    m004_crawl,
    m005_publish_indexes,
    m006_source_latest_index,
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

    def execute(self, sql: str, params=None) -> None:
        if params:
            raise ValueError("migrations take literal SQL only")
        self.statements.append(sql)


def _statements(migration: Migration, db: sqlite_utils.Database) -> list[str]:
    recorder = _Recorder(db)
    migration(recorder)  # type: ignore[arg-type]
    return recorder.statements
