-- Migration m017_figure_conflicts: figure_assessments_computed with the rows of m016's (015's rules,
-- reading the dirty targets' progress rows only), computed differently where 015 was per-row
-- expensive: 74 s (27-43 s on a quieter machine) to store the 40,009 figures of one target at a
-- million articles, under the write lock. Shipped: never edit; add a migration instead.
--
-- The conflicts (20 of the view's 23 s): 015 joined every figure to every other figure of its target,
-- unit and as-of date with another value, numbered the pairs and kept the first: about 120 figures
-- share each date there, so millions of pairs, each with its note, sorted and indexed. Here each
-- date's figures are numbered once (argument below).
-- The sources: each dirty target's responsible bureaus (level 3) and its plan's city papers (level 2)
-- read once into `sources`, compared as 015 compared its json_each values (015 parsed them per
-- progress row and per story figure). A story's rank in one pass: the highest level any of its
-- articles matches (015: 3 if one matches a bureau, else 2 if one matches a paper), else 1.
-- The copy shown: where a figure has one copy (count(DISTINCT a.id) = 1) it is that article; only the
-- others are looked up, in 015's order (015's `copies` numbered the copies of every figure, reading
-- every relevant article in a story and indexing all progress rows). `earliest` materialized.
--
-- Same rows. Within a date, order the figures not dated after publication as 015's conflict does
-- (by_person DESC, rank DESC, published DESC, story_id DESC). For a figure s not entered by a person,
-- 015's conflict is the first figure e in that order with e.value <> s.value and (e.by_person OR
-- e.rank >= s.rank). Let f be the first figure with a value other than s.value. If f qualifies it is
-- that first e. If not, f is no person's and ranks below s, and every later figure, coming after f
-- in the order, is no person's either and ranks no higher than f: none qualifies, no conflict. And f
-- is the date's first figure (k = 1) unless that one has s's value; then f is the first figure with a
-- value other than the first's (k2). So one numbering of each date's figures and one row per date
-- replace the pairs. Where 015's order ties (two figures of one story, date, person flag and
-- publication, with different values) its SQL left the choice open; SQLite named the smaller value
-- (the pairs reach its sort in the order of the story's figures, by value), and the numbering here
-- breaks the tie by value ascending: the same note (tests/test_figure_view.py has such ties).

DROP VIEW figure_assessments_computed;

CREATE VIEW figure_assessments_computed AS
-- each dirty target's responsible bureaus (3) and its plan's city papers (2), read once
WITH sources AS MATERIALIZED (
  SELECT t.id AS target_id, 3 AS level, j.value AS name
  FROM figure_dirty d CROSS JOIN targets t ON t.id = d.target_id, json_each(coalesce(t.responsible, '[]')) j
  UNION ALL
  SELECT t.id, 2, j.value
  FROM figure_dirty d CROSS JOIN targets t ON t.id = d.target_id JOIN plans pl ON pl.id = t.plan_id,
       json_each(coalesce(pl.city_papers, '[]')) j
),
story_figs AS (
  SELECT a.story_id, p.target_id, p.value, p.unit, min(p.as_of) AS as_of,
         min(a.published) AS published, count(DISTINCT a.id) AS copies,
         max(p.origin IS NOT NULL) AS by_person, min(a.id) AS some_article
  FROM figure_dirty d CROSS JOIN progress p ON p.target_id = d.target_id
  JOIN articles a ON a.id = p.article_id
  WHERE a.relevant = 1 AND a.story_id IS NOT NULL
  GROUP BY a.story_id, p.target_id, p.value, p.unit
),
ranked AS (
  SELECT sf.*,
         -- the copy shown: from a responsible bureau first, then the earliest (015's `copies`), looked
         -- for only where the figure has more than one copy
         CASE WHEN sf.copies = 1 THEN sf.some_article ELSE
           (SELECT a.id FROM articles a CROSS JOIN progress p ON p.article_id = a.id
            WHERE a.story_id = sf.story_id AND a.relevant = 1
              AND p.target_id = sf.target_id AND p.value = sf.value AND p.unit = sf.unit
            ORDER BY EXISTS (SELECT 1 FROM sources r WHERE r.target_id = p.target_id AND r.level = 3
                                                       AND r.name IN (a.source_name, a.site)) DESC,
                     a.published, a.id
            LIMIT 1)
         END AS article_id,
         t.item_id, t.comparator, t.value AS target_value, t.unit AS target_unit, t.due,
         coalesce(t.cumulative, 1) AS cumulative,
         -- 3: an article of the story from a responsible bureau; 2: from a city paper; else 1
         coalesce((SELECT max(r.level) FROM articles a JOIN sources r ON r.target_id = sf.target_id
                     AND (r.level = 3 AND r.name IN (a.source_name, a.site) OR r.level = 2 AND r.name = a.source_name)
                   WHERE a.story_id = sf.story_id), 1) AS rank,
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
-- each value's earliest figure (bare columns come from the min(as_of) row)
earliest AS MATERIALIZED (
  SELECT target_id, unit, value, min(as_of) AS as_of, value_text, as_of_text
  FROM shown WHERE NOT after_publication AND as_of IS NOT NULL
  GROUP BY target_id, unit, value
),
-- the figures a conflict may name, numbered within their date in 015's order; `first`: the date's first value
dated AS MATERIALIZED (
  SELECT target_id, unit, as_of, value, by_person, rank, value_text,
         row_number() OVER w AS k, first_value(value) OVER w AS first
  FROM shown WHERE NOT after_publication AND as_of IS NOT NULL
  WINDOW w AS (PARTITION BY target_id, unit, as_of
               ORDER BY by_person DESC, rank DESC, published DESC, story_id DESC, value)
),
-- per date: the first value, and the number of the first figure with another value (NULL: none)
dates AS MATERIALIZED (
  SELECT target_id, unit, as_of, first, min(CASE WHEN value <> first THEN k END) AS k2
  FROM dated GROUP BY target_id, unit, as_of, first
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
  CASE WHEN NOT s.by_person THEN
    (SELECT '与同一截至日期、' || CASE WHEN e.by_person THEN '经人工审阅' ELSE '来源同样或更可信' END
              || '的' || e.value_text || '不一致'
     FROM dates g JOIN dated e ON e.target_id = g.target_id AND e.unit = g.unit AND e.as_of = g.as_of
                              AND e.k = CASE WHEN g.first <> s.value THEN 1 ELSE g.k2 END
     WHERE g.target_id = s.target_id AND g.unit = s.unit AND g.as_of = s.as_of
       AND (e.by_person OR e.rank >= s.rank))
  END AS doubt_conflict
FROM shown s;
