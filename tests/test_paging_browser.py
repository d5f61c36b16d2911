"""Long lists a page at a time, in a real browser (headless Chromium on `hzwatch serve`): a target with
130 figures shows 50 a page, newest first, with the total and links to the other pages, and a person
clicking 下一页 walks through every figure exactly once; an item with 230 reports shows 100 a page; the
CSV exports still give every row."""

from __future__ import annotations

import csv
import io
import sys
import urllib.request
from pathlib import Path

import lxml.html
import pytest
from support_cdp import Browser
from support_fixture_db import build_fixture_db, start_logged, stop

import db as database
from db.articles import store_article
from db.figures import refresh_figures
from db.matches import save_match
from db.records import Article, Evidence, Figure, MatchResult

REPO = Path(__file__).resolve().parents[1]
TARGET = "tgt-housing-6000"
ITEM = "T-housing"
FIGURES = 130
REPORTS = 230


def _add_reports(path: Path) -> None:
    """REPORTS stories linked to ITEM, the first FIGURES of them with a housing figure each."""
    db = database.connect(path)
    for n in range(REPORTS):
        day = f"2024-{3 + n % 9:02d}-{1 + n % 28:02d}"
        art = Article(
            url=f"https://paging.example.cn/{n}.html",
            title=f"分页测试报道{n}号",
            body=f"保障性住房第{n}号报道。",
            published=f"{day}T{8 + n % 12:02d}:{n % 60:02d}:00+08:00",
            source_name="杭州日报",
            site="paging.example.cn",
        )
        figures = [Figure(TARGET, 1000.0 + n, "套", day, f"第{n}号数字")] if n < FIGURES else []
        evidence = [Evidence(ITEM, "保障性住房", 0, 5, "保障性住房")]
        with db.atomic():
            article_id, _ = store_article(db, art)
            result = MatchResult(relevant=True, score=3.0, items=[ITEM], evidence=evidence, progress=figures)
            save_match(db, article_id, result, "paging")
    refresh_figures(db)
    db.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paging")
    path = tmp / "hzwatch.db"
    build_fixture_db(path, generated=100)
    _add_reports(path)
    db = database.connect(path)
    figures = db.execute("SELECT count(*) FROM figure_assessments WHERE target_id = ?", [TARGET]).fetchone()[0]
    reports = db.execute("SELECT reports FROM item_counts WHERE item_id = ?", [ITEM]).fetchone()[0]
    db.close()
    argv = [sys.executable, "-m", "monitor.cli", "serve", "--db", str(path), "--port", "0"]
    proc, url = start_logged(
        argv, tmp / "serve.log", cwd=str(REPO), pattern=r"Uvicorn running on (http://127\.0\.0\.1:\d+)"
    )
    browser = Browser(tmp / "profile")
    try:
        yield {"url": url, "browser": browser, "figures": figures, "reports": reports}
    finally:
        browser.close()
        stop(proc)


def _doc(browser: Browser) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(browser.html())


def _text(node) -> str:
    return " ".join(node.text_content().split())


def test_the_target_page_walks_every_figure_a_page_at_a_time(site):
    b, total = site["browser"], site["figures"]
    assert total >= FIGURES
    b.goto(site["url"] + f"/plan/hangzhou-2024/target/{TARGET}")
    seen, dates, pages = [], [], 0
    while True:
        doc = _doc(b)
        pages += 1
        assert [_text(x) for x in doc.xpath("//h2//*[@data-check='figures']")] == [str(total)]
        rows = doc.xpath("//table[@class='hz-figures']//tr[@data-story]")
        assert 1 <= len(rows) <= 50
        first = int(_text(doc.xpath("//*[@data-check='page-first']")[0]))
        assert first == len(seen) + 1
        seen += [(r.get("data-story"), _text(r.xpath(".//*[@data-check='value']")[0])) for r in rows]
        dates += [_text(r.xpath("./td")[0]) for r in rows]
        assert "第 %d / %d 页" % (pages, (total + 49) // 50) in _text(doc.xpath("//p[@class='hz-pager']")[0])
        if not doc.xpath("//a[@rel='next']"):
            break
        b.act("document.querySelector('a[rel=next]').click()")
    assert pages == (total + 49) // 50 and len(seen) == len(set(seen)) == total
    assert b.eval("location.search") == f"?page={pages}"
    # newest first across the pages: the as-of dates never rise (Chinese dates, compared as dates)
    as_dates = [tuple(int(x) for x in d.replace("年", "-").replace("月", "-").rstrip("日").split("-")) for d in dates]
    assert as_dates == sorted(as_dates, reverse=True)
    # the previous page link goes back; a page past the end says so in Chinese
    b.act("document.querySelector('a[rel=prev]').click()")
    assert int(_text(_doc(b).xpath("//*[@data-check='page-first']")[0])) == (pages - 2) * 50 + 1
    b.goto(site["url"] + f"/plan/hangzhou-2024/target/{TARGET}?page={pages + 5}")
    assert "没有第" in _text(_doc(b).xpath("//body")[0])


def test_the_csv_export_still_gives_every_figure(site):
    b, total = site["browser"], site["figures"]
    b.goto(site["url"] + f"/plan/hangzhou-2024/target/{TARGET}")
    rows = []
    for href in _doc(b).xpath("//a[@data-export='csv']/@href"):
        with urllib.request.urlopen(site["url"] + href + "&_size=max") as r:
            rows += list(csv.DictReader(io.StringIO(r.read().decode("utf-8"))))
    assert len(rows) == total
    assert len({(r["story_id"], r["value"]) for r in rows}) == total


def test_the_item_page_lists_100_reports_a_page(site):
    b, total = site["browser"], site["reports"]
    assert total >= REPORTS
    b.goto(site["url"] + f"/plan/hangzhou-2024/item/{ITEM}")
    seen = []
    while True:
        doc = _doc(b)
        assert [_text(x) for x in doc.xpath("//*[@data-check='item-reports']")] == [str(total)]
        listed = doc.xpath("//ul[@class='hz-reports']/li/@data-story")
        assert 1 <= len(listed) <= 100
        seen += listed
        if not doc.xpath("//a[@rel='next']"):
            break
        b.act("document.querySelector('a[rel=next]').click()")
    assert len(seen) == len(set(seen)) == total
