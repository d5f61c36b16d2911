-- Migration m016_page_aggregates: the counts the pages show, stored and kept exact by triggers, so a
-- page at a million articles reads a few rows instead of aggregating every story or posting (1-8 s per
-- query, on every first read after a write). The triggers (db/page_aggregates.py) recompute what a
-- write touches in the same statement: one story's rows for a link, an article's candidate rows, one
-- counter row. Shipped: never edit; add a migration instead.

-- Stories linked to each item (a relevant article of the story matched to the item or, rolled up
-- like the coverage query, to one of its sub-items); `direct` when matched to the item itself.
-- first/last: earliest and latest publication of those articles; direct_first: earliest of the
-- directly matched ones; story_first: the story's earliest relevant article (the month it counts in).
CREATE TABLE item_story (
    item_id TEXT NOT NULL,
    story_id INTEGER NOT NULL,
    first_published TEXT,
    last_published TEXT,
    direct INTEGER NOT NULL,
    story_first TEXT,
    PRIMARY KEY (item_id, story_id)
) WITHOUT ROWID;
CREATE INDEX idx_item_story_story ON item_story(story_id);
CREATE INDEX idx_item_story_page ON item_story(item_id, first_published, story_id);
CREATE INDEX idx_item_story_last ON item_story(item_id, last_published);
-- Stories linked to any item of a plan, and the latest publication among them.
CREATE TABLE plan_story (
    plan_id TEXT NOT NULL,
    story_id INTEGER NOT NULL,
    last_published TEXT,
    PRIMARY KEY (plan_id, story_id)
) WITHOUT ROWID;
CREATE INDEX idx_plan_story_story ON plan_story(story_id);
CREATE INDEX idx_plan_story_last ON plan_story(plan_id, last_published);
-- Per item and per plan: how many stories, the latest; per item and month (of story_first, direct
-- links only): how many stories (the dashboard's items-monthly chart).
CREATE TABLE item_counts (item_id TEXT PRIMARY KEY, reports INTEGER NOT NULL, latest_report TEXT);
CREATE TABLE plan_counts (plan_id TEXT PRIMARY KEY, reports INTEGER NOT NULL, latest_report TEXT);
CREATE TABLE item_months (item_id TEXT NOT NULL, month TEXT NOT NULL, reports INTEGER NOT NULL,
                          PRIMARY KEY (item_id, month)) WITHOUT ROWID;

-- Per story: its articles and relevant articles; and the site's totals (one row).
CREATE TABLE story_stats (story_id INTEGER PRIMARY KEY, articles INTEGER NOT NULL, relevant INTEGER NOT NULL);
CREATE TABLE page_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    articles INTEGER NOT NULL, relevant_articles INTEGER NOT NULL,
    stories INTEGER NOT NULL, relevant_stories INTEGER NOT NULL
);
-- Articles per source and relevance (NULL, 0, 1 apart), relevant dated articles per month and source.
CREATE TABLE source_counts (source_id TEXT, relevant INTEGER, articles INTEGER NOT NULL);
CREATE UNIQUE INDEX idx_source_counts ON source_counts(coalesce(source_id, ''), coalesce(relevant, -1));
CREATE TABLE source_months (month TEXT NOT NULL, source_id TEXT, articles INTEGER NOT NULL);
CREATE UNIQUE INDEX idx_source_months ON source_months(month, coalesce(source_id, ''));

-- Candidates (待确认): one row per evidence entry of an article below the threshold (relevant = 0).
CREATE TABLE candidate_links (
    article_id INTEGER NOT NULL, pos INTEGER NOT NULL, item_id TEXT, term TEXT, snippet TEXT, published TEXT
);
CREATE INDEX idx_candidate_links_article ON candidate_links(article_id);
-- The articles each item's page lists as candidates: an entry for the item or one of its sub-items.
CREATE TABLE candidate_items (
    item_id TEXT NOT NULL, article_id INTEGER NOT NULL, published TEXT, PRIMARY KEY (item_id, article_id)
) WITHOUT ROWID;
CREATE INDEX idx_candidate_items_page ON candidate_items(item_id, published, article_id);
CREATE INDEX idx_candidate_items_article ON candidate_items(article_id);

-- The target page lists its figures newest first, a page at a time.
CREATE INDEX idx_figure_table_page
    ON figure_table(target_id, as_of DESC, rank DESC, published DESC, story_id DESC, value DESC, unit DESC);
-- The dashboard's figure charts draw the credible figures only (a few of tens of thousands at a million).
CREATE INDEX idx_figure_table_credible ON figure_table(target_id, unit, as_of)
    WHERE doubt_rule IS NULL AND doubt_conflict IS NULL;

-- Per target, stored with figure_table (db.figures.refresh_figures) for the targets it stores: the
-- credible latest figure (target_latest's row) and how many figures, how many doubtful. Read for
-- targets not in figure_dirty; the dirty ones are computed on the fly, as figure_assessments does.
-- The computed part of each view runs only when some target is dirty: without that guard SQLite
-- evaluated figure_assessments_computed (a pass over every relevant article) on every read.
DROP VIEW target_latest;
DROP VIEW figure_assessments;
-- (figure_assessments_computed is 015's, now starting from figure_dirty: db/page_aggregates.py)
CREATE VIEW figure_assessments AS
SELECT story_id, target_id, value, unit, as_of, published, copies, by_person,
       article_id, item_id, comparator, target_value, target_unit, due, cumulative, rank, after_publication,
       value_text, as_of_text, doubt_rule, doubt_conflict
FROM figure_table WHERE target_id NOT IN (SELECT target_id FROM figure_dirty)
UNION ALL
SELECT * FROM figure_assessments_computed WHERE EXISTS (SELECT 1 FROM figure_dirty);

-- target_latest's rule (011) over stored and computed assessments: the views figure_picks_stored and
-- figure_picks_computed, one text for both (db/page_aggregates.py figure_picks), made before this file.
CREATE TABLE target_latest_table AS SELECT * FROM figure_picks_stored WHERE 0;
CREATE UNIQUE INDEX idx_target_latest_table ON target_latest_table(target_id);
INSERT INTO target_latest_table SELECT * FROM figure_picks_stored;
CREATE VIEW target_latest AS
SELECT * FROM target_latest_table WHERE target_id NOT IN (SELECT target_id FROM figure_dirty)
UNION ALL
SELECT * FROM figure_picks_computed WHERE EXISTS (SELECT 1 FROM figure_dirty);

-- (target_figure_counts: db/page_aggregates.py, after this file)
