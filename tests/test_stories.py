"""A story is one event (db/articles.py), and a target's credible latest figure follows the rules kept
as data (db/schema/007_stories.sql over the plan's `responsible` lists and `city_papers`)."""

from __future__ import annotations

import dataclasses

import pytest

import db as dbpkg
from db import articles as db_articles
from db.catalog import sync_catalog
from db.records import Article
from monitor.matching.catalog import load_catalog

BODY = "今年以来，市国资委推动市属国企参与区县（市）城镇建设，{when}共签约合作项目{n}个，总投资{inv}亿元。" * 3


@pytest.fixture
def db(tmp_path):
    conn = dbpkg.connect(tmp_path / "stories.db")
    sync_catalog(conn, load_catalog())
    yield conn
    conn.close()


def _report(n: int, inv: int, when: str = "上半年", url: str = "", day: str = "2024-07-30") -> Article:
    return Article(
        url=url or f"https://gzw.hangzhou.gov.cn/art/{n}.html",
        title=f"市属国企参与区县城镇建设 签约项目{n}个",
        body=BODY.format(n=n, inv=inv, when=when),
        published=f"{day}T15:00:00+08:00",
    )


def _story(db, article_id: int) -> int:
    return db.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()[0]


def test_reports_with_other_numbers_are_other_stories_true_copies_are_one(db):
    first, _ = db_articles.store_article(db, _report(113, 412))
    # the same template a day later with other figures: a new event (and a new alert)
    other, _ = db_articles.store_article(db, _report(29, 88, day="2024-07-31"))
    # same headline, same body text but another as-of period: also another event
    later, _ = db_articles.store_article(
        db, _report(113, 412, when="前三季度", url="https://x.hangzhou.com.cn/1.html", day="2024-07-31")
    )
    # a copy on another site, re-titled with punctuation, same numbers: the same story
    copy = dataclasses.replace(
        _report(113, 412),
        url="https://hznews.hangzhou.com.cn/jingji/1.htm",
        title="市属国企参与区县城镇建设，签约项目113个！",
    )
    copied, _ = db_articles.store_article(db, copy)
    assert _story(db, copied) == _story(db, first)
    assert len({_story(db, first), _story(db, other), _story(db, later)}) == 3


def _figure(db, n: int, *, value, as_of, published, source, site="hznews.hangzhou.com.cn", copies=1):
    """One relevant story reporting `value` for the housing target, with `copies` articles."""
    ids = []
    for c in range(copies):
        art = Article(
            url=f"https://{site}/{n}-{c}.html",
            title=f"住房报道{n}",
            body=f"第{n}篇：配售型保障性住房{value}套。",
            published=published,
            source_name=source,
            site=site if c == 0 else f"copy{c}.example.cn",
        )
        aid, _ = db_articles.store_article(db, art)
        db.execute("UPDATE articles SET relevant = 1 WHERE id = ?", [aid])
        db.execute(
            "INSERT INTO progress (article_id, target_id, value, unit, as_of) VALUES (?, ?, ?, '套', ?)",
            [aid, "tgt-housing-6000", value, as_of],
        )
        ids.append(aid)
    return ids


def _assessed(db) -> dict[float, dict]:
    return {r["value"]: r for r in db.query("SELECT * FROM figure_assessments WHERE target_id = 'tgt-housing-6000'")}


def test_credible_latest_figure_and_the_three_doubts(db):
    _figure(db, 1, value=3200, as_of="2024-06-30", published="2024-07-08T09:00:00+08:00", source="杭州日报", copies=2)
    # as-of after publication (the 4,902 published 12-01 "截至12月底")
    _figure(db, 2, value=4902, as_of="2024-12-31", published="2024-12-01T21:17:00+08:00", source="杭州网")
    # a running total lower than an earlier one
    _figure(db, 3, value=2900, as_of="2024-07-31", published="2024-08-05T10:00:00+08:00", source="都市快报")
    # one as-of date, two values: the responsible bureau's wins, the media figure is doubtful
    _figure(db, 4, value=6180, as_of="2024-12-31", published="2025-01-10T10:00:00+08:00", source="市住保房管局")
    _figure(db, 5, value=6018, as_of="2024-12-31", published="2025-01-12T10:00:00+08:00", source="都市快报")
    figures = _assessed(db)
    assert figures[3200]["copies"] == 2 and figures[3200]["rank"] == 2  # two copies, one figure; city paper
    assert "晚于发布日期" in figures[4902]["doubt_rule"]
    assert "低于更早的3200套" in figures[2900]["doubt_rule"]
    assert figures[6018]["doubt_conflict"] and figures[6180]["doubt_conflict"] is None
    assert figures[6180]["rank"] == 3
    latest = list(db.query("SELECT value, as_of FROM target_latest WHERE target_id = 'tgt-housing-6000'"))
    assert latest == [{"value": 6180.0, "as_of": "2024-12-31"}]


def test_equally_credible_conflict_is_never_chosen_silently(db):
    _figure(db, 1, value=5720, as_of="2024-11-30", published="2024-12-05T09:00:00+08:00", source="杭州日报")
    _figure(db, 2, value=6100, as_of="2024-12-31", published="2025-01-10T10:00:00+08:00", source="都市快报")
    _figure(db, 3, value=6300, as_of="2024-12-31", published="2025-01-11T10:00:00+08:00", source="每日商报")
    figures = _assessed(db)
    assert figures[6100]["doubt_conflict"] and figures[6300]["doubt_conflict"]
    latest = list(db.query("SELECT value FROM target_latest WHERE target_id = 'tgt-housing-6000'"))
    assert latest == [{"value": 5720.0}]
