-- Migration m011_figure_table: the story figures and their assessments kept in a table, so pages
-- read a few rows instead of evaluating figure_assessments over every progress row and article
-- (6-10 s per page at a million articles). Shipped: never edit; add a migration instead.
--
-- Exact at every moment, whoever writes: triggers mark the targets whose figures a write may
-- change in `figure_dirty`; `figure_assessments` reads the stored rows of clean targets and computes
-- the dirty ones on the fly (same rules as 010_reviews.sql). db.figures.refresh_figures stores the
-- dirty targets' rows and clears the marks (after a match run, a crawl, a review).

-- save_match and reviews delete an article's progress rows by article: without this, a full scan each.
CREATE INDEX IF NOT EXISTS idx_progress_article ON progress(article_id);

CREATE TABLE figure_dirty (target_id TEXT PRIMARY KEY);

-- Columns as figure_assessments (010_reviews.sql) returns them, without declared types so every value
-- keeps the type the computation gave it.
CREATE TABLE figure_table (
    story_id, target_id, value, unit, as_of, published, copies, by_person,
    article_id, item_id, comparator, target_value, target_unit, due, cumulative, rank, after_publication,
    value_text, as_of_text, doubt_rule, doubt_conflict
);
CREATE INDEX idx_figure_table_target ON figure_table(target_id, as_of);
CREATE INDEX idx_figure_table_story ON figure_table(story_id);

DROP VIEW target_latest;
DROP VIEW figure_assessments;

-- The rules of 010_reviews.sql's figure_assessments, for the targets in figure_dirty only. A target's
-- assessments depend on that target's figures alone, so computing a subset of targets is exact.
-- The two doubts are computed with a window (the highest earlier running total) and a join on the
-- as-of date instead of a scan of every figure per figure: 010's form takes hours at a million
-- articles.
CREATE VIEW figure_assessments_computed AS
WITH story_figs AS (
  SELECT a.story_id, p.target_id, p.value, p.unit, min(p.as_of) AS as_of,
         min(a.published) AS published, count(DISTINCT a.id) AS copies,
         max(p.origin IS NOT NULL) AS by_person
  FROM progress p
  JOIN articles a ON a.id = p.article_id
  WHERE a.relevant = 1 AND a.story_id IS NOT NULL AND p.target_id IN (SELECT target_id FROM figure_dirty)
  GROUP BY a.story_id, p.target_id, p.value, p.unit
),
copies AS (
  SELECT a.story_id, p.target_id, p.value, p.unit, a.id AS article_id, row_number() OVER (
           PARTITION BY a.story_id, p.target_id, p.value, p.unit
           ORDER BY EXISTS (SELECT 1 FROM targets t, json_each(coalesce(t.responsible, '[]')) j
                            WHERE t.id = p.target_id AND j.value IN (a.source_name, a.site)) DESC,
                    a.published, a.id) AS n
  FROM progress p JOIN articles a ON a.id = p.article_id
  WHERE a.relevant = 1 AND a.story_id IS NOT NULL AND p.target_id IN (SELECT target_id FROM figure_dirty)
),
ranked AS (
  SELECT sf.*, c.article_id, t.item_id, t.comparator, t.value AS target_value, t.unit AS target_unit, t.due,
         coalesce(t.cumulative, 1) AS cumulative,
         CASE
           WHEN EXISTS (SELECT 1 FROM articles a, json_each(coalesce(t.responsible, '[]')) j
                        WHERE a.story_id = sf.story_id AND j.value IN (a.source_name, a.site)) THEN 3
           WHEN EXISTS (SELECT 1 FROM articles a, json_each(coalesce(pl.city_papers, '[]')) j
                        WHERE a.story_id = sf.story_id AND a.source_name = j.value) THEN 2
           ELSE 1
         END AS rank,
         sf.as_of > substr(sf.published, 1, 10) AS after_publication
  FROM story_figs sf
  JOIN copies c ON c.n = 1 AND c.story_id = sf.story_id AND c.target_id = sf.target_id
               AND c.value = sf.value AND c.unit = sf.unit
  JOIN targets t ON t.id = sf.target_id
  JOIN plans pl ON pl.id = t.plan_id
),
shown AS MATERIALIZED (
  SELECT r.*,
         CASE WHEN r.value = cast(r.value AS INTEGER) THEN cast(cast(r.value AS INTEGER) AS TEXT)
              ELSE cast(r.value AS TEXT) END || r.unit AS value_text,
         cast(substr(r.as_of, 1, 4) AS INTEGER) || '年' || cast(substr(r.as_of, 6, 2) AS INTEGER) || '月'
           || cast(substr(r.as_of, 9, 2) AS INTEGER) || '日' AS as_of_text,
         -- the highest figure dated before this one (same target and unit, not dated after publication)
         max(CASE WHEN NOT r.after_publication AND r.as_of IS NOT NULL THEN r.value END) OVER (
           PARTITION BY r.target_id, r.unit ORDER BY r.as_of
           GROUPS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier_max
  FROM ranked r
),
-- each value's earliest figure (bare columns come from the min(as_of) row): where several earlier
-- figures hold the highest value, the doubt names the first (010's form named any one of them;
-- likewise a conflict names the latest story among equally ranked figures published at once)
earliest AS (
  SELECT target_id, unit, value, min(as_of) AS as_of, value_text, as_of_text
  FROM shown WHERE NOT after_publication AND as_of IS NOT NULL
  GROUP BY target_id, unit, value
),
conflicts AS (
  SELECT s.story_id, s.target_id, s.value, s.unit,
         '与同一截至日期、' || CASE WHEN e.by_person THEN '经人工审阅' ELSE '来源同样或更可信' END
           || '的' || e.value_text || '不一致' AS note,
         row_number() OVER (PARTITION BY s.story_id, s.target_id, s.value, s.unit
                            ORDER BY e.by_person DESC, e.rank DESC, e.published DESC, e.story_id DESC) AS n
  FROM shown s JOIN shown e ON e.target_id = s.target_id AND e.unit = s.unit AND e.as_of = s.as_of
  WHERE NOT s.by_person AND NOT e.after_publication AND e.value <> s.value AND (e.rank >= s.rank OR e.by_person)
)
SELECT s.story_id, s.target_id, s.value, s.unit, s.as_of, s.published, s.copies, s.by_person,
       s.article_id, s.item_id, s.comparator, s.target_value, s.target_unit, s.due, s.cumulative, s.rank,
       s.after_publication, s.value_text, s.as_of_text,
  CASE
    WHEN s.by_person THEN NULL
    WHEN s.after_publication THEN
      '截至日期' || s.as_of_text || '晚于发布日期' || cast(substr(s.published, 1, 4) AS INTEGER) || '年'
        || cast(substr(s.published, 6, 2) AS INTEGER) || '月' || cast(substr(s.published, 9, 2) AS INTEGER) || '日'
    WHEN s.cumulative AND s.earlier_max > s.value THEN
      '累计数低于更早的' || x.value_text || '（截至' || x.as_of_text || '）'
  END AS doubt_rule,
  c.note AS doubt_conflict
FROM shown s
LEFT JOIN earliest x ON x.target_id = s.target_id AND x.unit = s.unit AND x.value = s.earlier_max
LEFT JOIN conflicts c ON c.n = 1 AND c.story_id = s.story_id AND c.target_id = s.target_id
                     AND c.value = s.value AND c.unit = s.unit;

-- Fill the table for every target, then clear the marks.
INSERT OR IGNORE INTO figure_dirty (target_id) SELECT id FROM targets;
INSERT INTO figure_table SELECT * FROM figure_assessments_computed;
DELETE FROM figure_dirty;

CREATE VIEW figure_assessments AS
SELECT story_id, target_id, value, unit, as_of, published, copies, by_person,
       article_id, item_id, comparator, target_value, target_unit, due, cumulative, rank, after_publication,
       value_text, as_of_text, doubt_rule, doubt_conflict
FROM figure_table WHERE target_id NOT IN (SELECT target_id FROM figure_dirty)
UNION ALL
SELECT * FROM figure_assessments_computed;

CREATE VIEW target_latest AS
SELECT * FROM (
  SELECT fa.*, row_number() OVER (
           PARTITION BY fa.target_id
           ORDER BY fa.as_of DESC, fa.by_person DESC, fa.rank DESC, fa.published DESC, fa.story_id DESC) AS pick
  FROM figure_assessments fa
  WHERE coalesce(fa.doubt_rule, fa.doubt_conflict) IS NULL
    AND fa.unit = fa.target_unit AND fa.as_of IS NOT NULL
    AND (fa.due IS NULL OR fa.as_of <= fa.due)
)
WHERE pick = 1;

-- What marks a target dirty: its figures (progress rows of relevant articles in a story), anything
-- about the articles of a story with figures (relevance, story, date, source: copies and rank), and
-- the target's or its plan's rules. (NOT IN rather than OR IGNORE: an outer statement's conflict
-- clause, e.g. an upsert's, would override the trigger's.)
CREATE TRIGGER figure_dirty_progress_insert AFTER INSERT ON progress BEGIN
  INSERT INTO figure_dirty (target_id)
  SELECT new.target_id WHERE new.target_id NOT IN (SELECT target_id FROM figure_dirty);
END;
CREATE TRIGGER figure_dirty_progress_delete AFTER DELETE ON progress BEGIN
  INSERT INTO figure_dirty (target_id)
  SELECT old.target_id WHERE old.target_id NOT IN (SELECT target_id FROM figure_dirty);
END;
CREATE TRIGGER figure_dirty_progress_update AFTER UPDATE ON progress BEGIN
  INSERT INTO figure_dirty (target_id)
  SELECT t FROM (SELECT old.target_id AS t UNION SELECT new.target_id)
  WHERE t NOT IN (SELECT target_id FROM figure_dirty);
END;
CREATE TRIGGER figure_dirty_article_insert AFTER INSERT ON articles WHEN new.story_id IS NOT NULL BEGIN
  INSERT INTO figure_dirty (target_id)
  SELECT DISTINCT p.target_id FROM articles a JOIN progress p ON p.article_id = a.id
  WHERE a.story_id = new.story_id AND a.relevant = 1 AND p.target_id NOT IN (SELECT target_id FROM figure_dirty);
END;
CREATE TRIGGER figure_dirty_article_update AFTER UPDATE OF relevant, story_id, published, source_name, site ON articles
WHEN old.relevant IS NOT new.relevant OR old.story_id IS NOT new.story_id OR old.published IS NOT new.published
  OR old.source_name IS NOT new.source_name OR old.site IS NOT new.site
BEGIN
  INSERT INTO figure_dirty (target_id)
  SELECT target_id FROM progress WHERE article_id = new.id
  UNION
  SELECT p.target_id FROM articles a JOIN progress p ON p.article_id = a.id
  WHERE a.story_id IN (old.story_id, new.story_id) AND a.relevant = 1
  EXCEPT
  SELECT target_id FROM figure_dirty;
END;
CREATE TRIGGER figure_dirty_article_delete BEFORE DELETE ON articles BEGIN
  INSERT INTO figure_dirty (target_id)
  SELECT target_id FROM progress WHERE article_id = old.id
  UNION
  SELECT p.target_id FROM articles a JOIN progress p ON p.article_id = a.id
  WHERE a.story_id = old.story_id AND a.relevant = 1
  EXCEPT
  SELECT target_id FROM figure_dirty;
END;
CREATE TRIGGER figure_dirty_target_insert AFTER INSERT ON targets BEGIN
  INSERT INTO figure_dirty (target_id) SELECT new.id WHERE new.id NOT IN (SELECT target_id FROM figure_dirty);
END;
CREATE TRIGGER figure_dirty_target_delete AFTER DELETE ON targets BEGIN
  INSERT INTO figure_dirty (target_id) SELECT old.id WHERE old.id NOT IN (SELECT target_id FROM figure_dirty);
END;
CREATE TRIGGER figure_dirty_target_update AFTER UPDATE ON targets
WHEN old.id IS NOT new.id OR old.plan_id IS NOT new.plan_id OR old.item_id IS NOT new.item_id
  OR old.comparator IS NOT new.comparator OR old.value IS NOT new.value OR old.unit IS NOT new.unit
  OR old.due IS NOT new.due OR old.responsible IS NOT new.responsible OR old.cumulative IS NOT new.cumulative
BEGIN
  INSERT INTO figure_dirty (target_id)
  SELECT t FROM (SELECT old.id AS t UNION SELECT new.id) WHERE t NOT IN (SELECT target_id FROM figure_dirty);
END;
CREATE TRIGGER figure_dirty_plan_update AFTER UPDATE OF city_papers ON plans
WHEN old.city_papers IS NOT new.city_papers
BEGIN
  INSERT INTO figure_dirty (target_id)
  SELECT id FROM targets WHERE plan_id = new.id AND id NOT IN (SELECT target_id FROM figure_dirty);
END;
