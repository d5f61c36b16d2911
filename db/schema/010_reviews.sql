-- Migration m008_reviews: people review what the matcher linked (issue 15).
-- Shipped: never edit. To change a view, add a migration that drops and recreates it.
--
-- `matches`, `progress` and `articles.relevant` hold the EFFECTIVE state every page, count, feed,
-- export and alert reads: the matcher's output with people's corrections applied (db/reviews.py).
-- The matcher's own output for a reviewed story is kept in `machine_results`, so a correction can
-- be undone and a re-match (any matcher version) re-applies every standing correction.


-- Who made a row: NULL = the matcher; 'confirmed' / 'corrected' / 'added' = a person (review_id).
ALTER TABLE matches ADD COLUMN origin TEXT;
ALTER TABLE matches ADD COLUMN review_id INTEGER;
ALTER TABLE progress ADD COLUMN origin TEXT;
ALTER TABLE progress ADD COLUMN review_id INTEGER;

-- Every correction: who, when, why; never deleted (an undo marks it undone, the audit keeps it).
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,            -- relevance | link | figure
    action TEXT NOT NULL,          -- relevance: relevant | not_relevant; link: confirm | reject | add;
                                   -- figure: confirm | reject | correct | add
    item_id TEXT,                  -- link: the plan item
    target_id TEXT,                -- figure: the target
    value REAL,                    -- figure: the matcher's value, unit, as-of (what is confirmed,
    unit TEXT,                     --   rejected or corrected)
    as_of TEXT,
    new_value REAL,                -- figure correct / add: the person's figure
    new_unit TEXT,
    new_as_of TEXT,
    quote TEXT,                    -- add: the sentence the link or figure comes from
    reason TEXT,
    reviewer TEXT NOT NULL,
    created_at TEXT NOT NULL,
    undone_by TEXT,
    undone_at TEXT
);
CREATE INDEX idx_reviews_article ON reviews(article_id);
CREATE INDEX idx_reviews_created ON reviews(created_at);

-- The matcher's own result for articles whose story has been reviewed (JSON, MatchResult shape).
CREATE TABLE machine_results (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    relevant INTEGER,
    score REAL,
    candidate TEXT,                -- the candidate evidence (JSON) as the matcher stored it
    matches TEXT,                  -- JSON list of {item_id, score, evidence}
    progress TEXT,                 -- JSON list of {target_id, value, unit, as_of, quote}
    matcher_version TEXT,
    saved_at TEXT
);

-- Reviewers' sign-ins: the cookie holds a random token, the table only its SHA-256. Signing out
-- ends the row, so a copied cookie is refused afterwards. Passwords are never stored here.
CREATE TABLE review_sessions (
    token_hash TEXT PRIMARY KEY,
    reviewer TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT
);

-- The story-level views again, now knowing who made a figure: a figure a person confirmed,
-- corrected or added is never 存疑 and wins over the matcher's figures of the same as-of date;
-- a matcher figure that disagrees with it is 存疑. Otherwise as in 007_stories.sql.
DROP VIEW target_latest;
DROP VIEW figure_assessments;
DROP VIEW story_figures;

CREATE VIEW story_figures AS
SELECT a.story_id, p.target_id, p.value, p.unit, min(p.as_of) AS as_of,
       min(a.published) AS published, count(DISTINCT a.id) AS copies,
       max(p.origin IS NOT NULL) AS by_person
FROM progress p
JOIN articles a ON a.id = p.article_id
WHERE a.relevant = 1 AND a.story_id IS NOT NULL
GROUP BY a.story_id, p.target_id, p.value, p.unit;

CREATE VIEW figure_assessments AS
WITH copies AS (
  SELECT a.story_id, p.target_id, p.value, p.unit, a.id AS article_id, row_number() OVER (
           PARTITION BY a.story_id, p.target_id, p.value, p.unit
           ORDER BY EXISTS (SELECT 1 FROM targets t, json_each(coalesce(t.responsible, '[]')) j
                            WHERE t.id = p.target_id AND j.value IN (a.source_name, a.site)) DESC,
                    a.published, a.id) AS n
  FROM progress p JOIN articles a ON a.id = p.article_id
  WHERE a.relevant = 1 AND a.story_id IS NOT NULL
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
  FROM story_figures sf
  JOIN copies c ON c.n = 1 AND c.story_id = sf.story_id AND c.target_id = sf.target_id
               AND c.value = sf.value AND c.unit = sf.unit
  JOIN targets t ON t.id = sf.target_id
  JOIN plans pl ON pl.id = t.plan_id
),
shown AS (
  SELECT r.*,
         CASE WHEN r.value = cast(r.value AS INTEGER) THEN cast(cast(r.value AS INTEGER) AS TEXT)
              ELSE cast(r.value AS TEXT) END || r.unit AS value_text,
         cast(substr(r.as_of, 1, 4) AS INTEGER) || '年' || cast(substr(r.as_of, 6, 2) AS INTEGER) || '月'
           || cast(substr(r.as_of, 9, 2) AS INTEGER) || '日' AS as_of_text
  FROM ranked r
)
SELECT s.*,
  CASE
    WHEN s.by_person THEN NULL
    WHEN s.after_publication THEN
      '截至日期' || s.as_of_text || '晚于发布日期' || cast(substr(s.published, 1, 4) AS INTEGER) || '年'
        || cast(substr(s.published, 6, 2) AS INTEGER) || '月' || cast(substr(s.published, 9, 2) AS INTEGER) || '日'
    WHEN s.cumulative THEN (
      SELECT '累计数低于更早的' || e.value_text || '（截至' || e.as_of_text || '）'
      FROM shown e
      WHERE e.target_id = s.target_id AND e.unit = s.unit AND NOT e.after_publication
        AND e.as_of < s.as_of AND e.value > s.value
      ORDER BY e.value DESC LIMIT 1)
  END AS doubt_rule,
  CASE WHEN NOT s.by_person THEN
  (SELECT '与同一截至日期、' || CASE WHEN e.by_person THEN '经人工审阅' ELSE '来源同样或更可信' END
          || '的' || e.value_text || '不一致'
   FROM shown e
   WHERE e.target_id = s.target_id AND e.unit = s.unit AND NOT e.after_publication
     AND e.as_of = s.as_of AND e.value <> s.value AND (e.rank >= s.rank OR e.by_person)
   ORDER BY e.by_person DESC, e.rank DESC, e.published DESC LIMIT 1)
  END AS doubt_conflict
FROM shown s;

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
