-- The first schema (migration m001_initial). Shipped: never edit; add a migration instead.
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
