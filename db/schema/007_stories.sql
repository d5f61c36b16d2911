-- Migration m007_stories: what a reader counts is a story (one event, its syndicated copies
-- together), and a target's latest figure is the credible one, chosen by rules kept as data.
-- Shipped: never edit. To change a view, add a migration that drops and recreates it.

-- Rules as data, synced from the plan YAML (db/catalog.py): the bodies responsible for a target
-- (来源 names or site hosts, JSON list), whether its figures are running totals (a count that
-- only grows: figures.period_required) and the city's own paper(s) (JSON list).
ALTER TABLE targets ADD COLUMN responsible TEXT;
ALTER TABLE targets ADD COLUMN cumulative INTEGER;
ALTER TABLE plans ADD COLUMN city_papers TEXT;

-- One figure per story: the copies of a report state the same number once. Within one story the
-- same value dated twice (a headline's 今年以来 and the body's 1至7月) is one figure with the
-- earlier, more precise as-of date. Only stories the matcher found relevant.
CREATE VIEW story_figures AS
SELECT a.story_id, p.target_id, p.value, p.unit, min(p.as_of) AS as_of,
       min(a.published) AS published, count(DISTINCT a.id) AS copies
FROM progress p
JOIN articles a ON a.id = p.article_id
WHERE a.relevant = 1 AND a.story_id IS NOT NULL
GROUP BY a.story_id, p.target_id, p.value, p.unit;

-- Every story figure with its credibility rank and, when it is doubtful (存疑), the reason:
--   rank 3: a copy comes from a body responsible for the target; 2: from the city paper; 1: other.
--   doubt:  as-of date after the story's first publication; a running total lower than an earlier
--           figure; or another figure of the same as-of date with a different value that ranks
--           as high (a lower-ranked conflicting figure is the doubtful one).
CREATE VIEW figure_assessments AS
WITH copies AS (
  -- the copy shown for a figure: the responsible body's, else the first published
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
  (SELECT '与同一截至日期、来源同样或更可信的' || e.value_text || '不一致'
   FROM shown e
   WHERE e.target_id = s.target_id AND e.unit = s.unit AND NOT e.after_publication
     AND e.as_of = s.as_of AND e.value <> s.value AND e.rank >= s.rank
   ORDER BY e.rank DESC, e.published DESC LIMIT 1) AS doubt_conflict
FROM shown s;

-- Each target's credible latest figure: among figures not in doubt, in the target's unit, dated on
-- or before its due date: the latest as-of first, then the higher rank, then the later publication.
CREATE VIEW target_latest AS
SELECT * FROM (
  SELECT fa.*, row_number() OVER (
           PARTITION BY fa.target_id
           ORDER BY fa.as_of DESC, fa.rank DESC, fa.published DESC, fa.story_id DESC) AS pick
  FROM figure_assessments fa
  WHERE coalesce(fa.doubt_rule, fa.doubt_conflict) IS NULL
    AND fa.unit = fa.target_unit AND fa.as_of IS NOT NULL
    AND (fa.due IS NULL OR fa.as_of <= fa.due)
)
WHERE pick = 1;
