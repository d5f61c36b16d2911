"""figure_assessments_computed of m017 (db/schema/017_figure_conflicts.sql) gives exactly the rows of the
view it replaced (015's rules reading the dirty targets, as m016 made it: db.page_aggregates.figure_view),
on targets with many figures per as-of date, several copies per story, stories from the responsible
bureau and from the city paper, figures entered by people, doubts of both kinds and conflicts."""

from __future__ import annotations

import collections
import random

import pytest

import db as dbpkg
from db.catalog import sync_catalog
from db.figures import dirty_targets, refresh_figures, store_target
from db.page_aggregates import figure_view
from monitor.matching.catalog import load_catalog

HOUSING = "tgt-housing-6000"  # responsible 市住保房管局 / fgj.hangzhou.gov.cn, cumulative
TALENT = "tgt-top-talent-15"  # responsible 市委人才办, 市人力社保局 / hrss.hangzhou.gov.cn, cumulative
WINDOW = "tgt-onenet-intake-90"  # a rate: not cumulative
UNITS = {HOUSING: ["套", "万套"], TALENT: ["名"], WINDOW: ["%"]}
SOURCES = [  # (source_name, site): responsible by name, by site, the city paper, neither
    ("市住保房管局", "www.example.cn"),
    ("市人力社保局", "www.example.cn"),
    ("新闻网", "fgj.hangzhou.gov.cn"),
    ("新闻网", "hrss.hangzhou.gov.cn"),
    ("杭州日报", "www.hangzhou.com.cn"),
    ("新闻网", "news.example.cn"),
    ("其他报", "news.example.cn"),
]
DATES = [f"2024-0{m}-15" for m in range(1, 7)]  # few as-of dates: dozens of figures share each
VALUES = [100, 200, 200.5, 300, 450, 1000]


def _reference(db) -> None:
    """The replaced view, under another name, from the shipped text."""
    text = figure_view()
    start = text.index("CREATE VIEW figure_assessments_computed AS")
    view = text[start : text.index("FROM shown s;", start) + len("FROM shown s;")]
    db.execute(view.replace("figure_assessments_computed", "figure_assessments_reference", 1))


def _build(db, rng: random.Random, stories: int) -> None:
    article = 0
    for story in range(1, stories + 1):
        db.execute("INSERT INTO stories (id, title_key) VALUES (?, ?)", [story, f"s{story}"])
        target = rng.choice(list(UNITS))
        # one or two figures per story; two figures of one story on one date tie in 015's order of
        # conflicts (its SQL left the choice open; see 017's note)
        dates = rng.sample(DATES + [None], 2) if rng.random() < 0.5 else [rng.choice(DATES)] * 2
        figures = [(rng.choice(VALUES), rng.choice(UNITS[target]), dates[i]) for i in range(rng.choice([1, 1, 2]))]
        for copy in range(rng.choice([1, 1, 2, 3])):
            article += 1
            source, site = rng.choice(SOURCES)
            published = f"2024-0{rng.randint(1, 6)}-{rng.randint(10, 28)}T09:00:00+08:00"
            relevant = 1 if copy == 0 or rng.random() < 0.8 else 0  # an irrelevant copy still ranks the story
            db.execute(
                "INSERT INTO articles (id, url, title, published, source_name, site, story_id, relevant)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [article, f"https://{site}/{article}.html", f"报道{story}", published, source, site, story, relevant],
            )
            if copy and rng.random() < 0.3:
                continue  # a copy without figures
            for value, unit, as_of in figures:
                origin = "review" if rng.random() < 0.05 else None
                db.execute(
                    "INSERT INTO progress (article_id, target_id, value, unit, as_of, origin)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [article, target, value, unit, as_of, origin],
                )


@pytest.fixture
def db(tmp_path):
    conn = dbpkg.connect(tmp_path / "view.db")
    sync_catalog(conn, load_catalog())
    yield conn
    conn.close()


def _rows(db, view: str) -> list[tuple]:
    return sorted(db.execute(f"SELECT * FROM {view}").fetchall(), key=repr)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_view_gives_the_replaced_views_rows(db, seed):
    _reference(db)
    with db.atomic():
        _build(db, random.Random(seed), 600)
    db.execute("INSERT OR IGNORE INTO figure_dirty (target_id) SELECT id FROM targets")
    want = _rows(db, "figure_assessments_reference")
    got = _rows(db, "figure_assessments_computed")
    assert got == want
    # the data exercises every rule
    assert len(want) > 500
    columns = [d[0] for d in db.execute("SELECT * FROM figure_assessments_reference LIMIT 0").description]
    col = {name: [row[columns.index(name)] for row in want] for name in columns}
    assert {1, 2, 3} <= set(col["rank"])
    assert max(col["copies"]) >= 3 and any(col["by_person"])
    assert any(col["after_publication"])
    rules = [r for r in col["doubt_rule"] if r]
    assert any(r.startswith("累计数低于") for r in rules) and any(r.startswith("截至日期") for r in rules)
    conflicts = [c for c in col["doubt_conflict"] if c]
    assert any("经人工审阅" in c for c in conflicts) and any("来源同样或更可信" in c for c in conflicts)
    assert len(conflicts) < len(want)
    tied = collections.Counter(
        (r[1], r[3], r[4], r[0], r[7], r[5]) for r in want if r[4] and not r[columns.index("after_publication")]
    )
    assert max(tied.values()) > 1  # figures tied in 015's order of conflicts
    # stored one target at a time, the same rows; nothing left dirty
    refresh_figures(db)
    assert dirty_targets(db) == []
    assert sorted(db.execute("SELECT * FROM figure_table").fetchall(), key=repr) == want


def test_a_refresh_stores_one_target_at_a_time_and_keeps_the_other_marks(db):
    with db.atomic():
        _build(db, random.Random(7), 200)
    refresh_figures(db)
    for target in (HOUSING, WINDOW):  # the triggers mark both
        db.execute("DELETE FROM progress WHERE id = (SELECT min(id) FROM progress WHERE target_id = ?)", [target])
    assert dirty_targets(db) == sorted([HOUSING, WINDOW])
    want = _rows(db, "figure_assessments")  # exact: stored rows of clean targets, the dirty ones computed
    with db.atomic():
        assert store_target(db, HOUSING) == 1
        assert store_target(db, HOUSING) == 0  # no longer marked
    assert dirty_targets(db) == [WINDOW]
    assert _rows(db, "figure_assessments") == want
    stored = sorted(db.execute("SELECT * FROM figure_table WHERE target_id = ?", [HOUSING]).fetchall(), key=repr)
    assert stored == [r for r in want if r[1] == HOUSING] and stored
    assert refresh_figures(db) == 1
    assert dirty_targets(db) == []
    assert sorted(db.execute("SELECT * FROM figure_table").fetchall(), key=repr) == want
