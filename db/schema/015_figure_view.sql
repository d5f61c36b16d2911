-- Migration m015_figure_view: figure_assessments_computed as in 011_figure_table.sql, except that it
-- reads each story figure's first copy, earliest figure and conflict by correlated subqueries (SQLite
-- gives those an automatic index) instead of joins on the CTEs, which SQLite ran as a scan of the CTE
-- per figure: quadratic, more than 10 minutes for one refresh at a million articles. Same rows: each
-- key has exactly one row there (the first copy of every story figure exists, being drawn from the
-- same rows; earliest is grouped by the key; conflicts are numbered within it).
-- Shipped: never edit; add a migration instead.

DROP VIEW target_latest;
DROP VIEW figure_assessments;
DROP VIEW figure_assessments_computed;

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
  SELECT sf.*,
         (SELECT c.article_id FROM copies c WHERE c.n = 1 AND c.story_id = sf.story_id AND c.target_id = sf.target_id
                                            AND c.value = sf.value AND c.unit = sf.unit) AS article_id,
         t.item_id, t.comparator, t.value AS target_value, t.unit AS target_unit, t.due,
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
      (SELECT '累计数低于更早的' || x.value_text || '（截至' || x.as_of_text || '）' FROM earliest x
        WHERE x.target_id = s.target_id AND x.unit = s.unit AND x.value = s.earlier_max)
  END AS doubt_rule,
  (SELECT c.note FROM conflicts c WHERE c.n = 1 AND c.story_id = s.story_id AND c.target_id = s.target_id
                                    AND c.value = s.value AND c.unit = s.unit) AS doubt_conflict
FROM shown s;


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
