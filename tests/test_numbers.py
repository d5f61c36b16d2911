"""Numbers a supervision officer can quote (issue 13): crawl the replica, read every number off the
pages in Chromium and compare each with an independent computation over stories.

The expected side below reads only base tables (articles, matches, progress, targets) and the plan
YAML, never the views or canned queries the site uses, and applies the rules as the issue states
them: one story one row; the credible latest figure (latest as-of, then the responsible body over
the city paper over others, then the later publication; 存疑 figures never chosen); met / missed /
unreported at the due date; complete exports; feeds with one entry per story or story figure.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest
import yaml
from support_fixture_db import start_logged, stop
from test_browser import chromium

REPO = Path(__file__).resolve().parents[1]
PLAN = REPO / "monitor" / "plans" / "hangzhou-2024.yaml"
ATOM = "{http://www.w3.org/2005/Atom}"
SEARCH_TERM = "人才"


# ------------------------------------------------------------------ the site under test


@pytest.fixture(scope="module")
def site(replica_module, tmp_path_factory):
    """A database crawled from the replica (matched, indexed), served by `hzwatch serve`."""
    tmp = tmp_path_factory.mktemp("numbers")
    db_path = tmp / "replica-crawl.db"  # not hzwatch.db: the site must work under any file name
    cli = [sys.executable, "-m", "monitor.cli"]
    remap = [arg for r in replica_module.remap_args() for arg in ("--remap", r)]
    subprocess.run([*cli, "crawl", "--db", str(db_path), *remap, "--fast"], cwd=REPO, capture_output=True)
    done = subprocess.run([*cli, "match", "--all", "--db", str(db_path)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    argv = [*cli, "serve", "--db", str(db_path), "--port", "0"]
    proc, url = start_logged(argv, tmp / "serve.log", cwd=str(REPO), pattern=r"Uvicorn running on (http://[\d.:]+)")
    try:
        yield url, tmp, db_path
    finally:
        stop(proc)


def dom(url: str, tmp: Path) -> lxml.html.HtmlElement:
    """The page as Chromium rendered it."""
    proc = chromium(url, tmp, "--dump-dom")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    return lxml.html.fromstring(out)


def doms(urls: list[str], tmp: Path) -> dict[str, lxml.html.HtmlElement]:
    with ThreadPoolExecutor(3) as pool:
        return dict(zip(urls, pool.map(lambda u: dom(u, tmp), urls), strict=True))


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def checks(node, name: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in node.xpath(f".//*[@data-check='{name}']")]


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%").rstrip("套名万个篇").strip() or 0)


# ------------------------------------------------------------------ the independent computation


def fmt(value: float, unit: str) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + unit


class Expected:
    """What the pages must say, computed from base tables and the plan YAML only."""

    def __init__(self, db_path: Path):
        self.db = sqlite3.connect(db_path)
        self.db.row_factory = sqlite3.Row
        self.plan = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
        self.items = {i["id"]: i for i in self.plan["items"]}

    def q(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.db.execute(sql, params).fetchall()

    def totals(self) -> dict[str, int]:
        return {
            "articles": self.q("select count(*) from articles")[0][0],
            "stories": self.q("select count(distinct story_id) from articles")[0][0],
            "relevant-stories": self.q("select count(distinct story_id) from articles where relevant = 1")[0][0],
        }

    def item_reports(self, item_id: str) -> int:
        ids = [item_id] + [i for i, it in self.items.items() if it.get("parent") == item_id]
        marks = ",".join("?" * len(ids))
        sql = f"""select count(distinct a.story_id) from matches m join articles a on a.id = m.article_id
                  where a.relevant = 1 and m.item_id in ({marks})"""
        return self.q(sql, ids)[0][0]

    def item_articles(self, item_id: str) -> int:
        """The article-level count (what the site showed before): used to prove the check can fail."""
        ids = [item_id] + [i for i, it in self.items.items() if it.get("parent") == item_id]
        marks = ",".join("?" * len(ids))
        sql = f"""select count(*) from matches m join articles a on a.id = m.article_id
                  where a.relevant = 1 and m.item_id in ({marks})"""
        return self.q(sql, ids)[0][0]

    def figures(self, target: dict) -> list[dict]:
        """One figure per (story, value): copies once; flags and ranks as the issue states them."""
        rows = self.q(
            """select a.story_id, p.value, p.unit, p.as_of, a.published, a.source_name, a.site
               from progress p join articles a on a.id = p.article_id
               where a.relevant = 1 and p.target_id = ?""",
            [target["id"]],
        )
        stories: dict[int, set] = {}
        for r in self.q("select story_id, source_name, site from articles"):
            stories.setdefault(r["story_id"], set()).update({r["source_name"], r["site"]})
        figs: dict[tuple, dict] = {}
        for r in rows:
            f = figs.setdefault((r["story_id"], r["value"], r["unit"]), dict(r) | {"as_of": r["as_of"]})
            f["as_of"] = min(filter(None, [f["as_of"], r["as_of"]]), default=None)
            f["published"] = min(f["published"], r["published"])
        responsible = set(target.get("responsible") or [])
        papers = set(self.plan.get("city_papers") or [])
        for f in figs.values():
            names = stories[f["story_id"]]
            f["rank"] = 3 if names & responsible else 2 if names & papers else 1
            f["after_pub"] = bool(f["as_of"]) and f["as_of"] > f["published"][:10]
        cumulative = (target.get("figures") or {}).get("period_required", True)
        for f in figs.values():
            others = [g for g in figs.values() if g is not f and g["unit"] == f["unit"] and not g["after_pub"]]
            drop = cumulative and any(g["as_of"] < f["as_of"] and g["value"] > f["value"] for g in others if f["as_of"])
            same_date = [g for g in others if g["as_of"] == f["as_of"] and g["value"] != f["value"]]
            clash = any(g["rank"] >= f["rank"] for g in same_date)
            f["doubt"] = f["after_pub"] or drop or clash
        return list(figs.values())

    def latest(self, target: dict) -> dict | None:
        due = str(target["due"])
        ok = [
            f
            for f in self.figures(target)
            if not f["doubt"] and f["as_of"] and f["as_of"] <= due and f["unit"] == str(target["unit"])
        ]
        ok.sort(key=lambda f: (f["as_of"], f["rank"], f["published"], f["story_id"]), reverse=True)
        return ok[0] if ok else None

    def status(self, target: dict) -> str:
        f, due = self.latest(target), str(target["due"])
        if f and f["value"] >= target["value"]:
            return "达标"
        if due >= dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat():
            return "未到期"
        return "未达标" if f and f["as_of"] == due else "未报告"

    def search_stories(self, term: str) -> int:
        """Stories with an article containing the term: a plain substring scan, not the FTS index."""
        from db.articles import normalise_text

        hits = {
            r["story_id"]
            for r in self.q("select story_id, title, body_norm from articles")
            if term in normalise_text(r["title"]) or term in (r["body_norm"] or "")
        }
        return len(hits)


@pytest.fixture(scope="module")
def expected(site):
    return Expected(site[2])


# ------------------------------------------------------------------ the checks


def test_the_check_can_fail(expected):
    """The replica must exercise what the check is about: copies, a 存疑 figure, story != article counts."""
    copies = "select count(*) from (select story_id from articles group by story_id having count(*) > 1)"
    assert expected.q(copies)[0][0], "no syndicated story"
    housing = next(t for t in expected.plan["targets"] if t["id"] == "tgt-housing-6000")
    assert any(f["doubt"] for f in expected.figures(housing)), "the demo's conflicting media figure"
    assert any(expected.item_reports(i) != expected.item_articles(i) for i in expected.items)


def test_home_page_numbers(site, expected):
    url, tmp, _ = site
    home = dom(url + "/", tmp)
    totals = expected.totals()
    for name, value in totals.items():
        assert [number(x) for x in checks(home, name)] == [value], name
    page = dom(url + "/plan/hangzhou-2024", tmp)  # the plan's items and targets, in the former home layout
    for item_id in expected.items:
        node = page.xpath(f"//*[@data-item='{item_id}']")
        assert node, f"{item_id} not on the home page"
        shown = node[0].xpath(".//*[@data-check='reports']")[0]
        got = int(shown.get("data-value") or number(shown.text_content()))
        assert got == expected.item_reports(item_id), f"home: {item_id}"
    for target in expected.plan["targets"]:
        _check_target_line(page, target, expected, "home")


def _check_target_line(page, target: dict, expected: Expected, where: str) -> None:
    node = page.xpath(f"//*[@data-target='{target['id']}']")
    assert node, f"{where}: {target['id']} missing"
    latest = expected.latest(target)
    if latest is None:
        assert not checks(node[0], "latest"), f"{where}: {target['id']} shows a figure"
    else:
        assert checks(node[0], "latest") == [fmt(latest["value"], latest["unit"])], f"{where}: {target['id']}"
        percent = round(100.0 * latest["value"] / target["value"], 1)
        assert checks(node[0], "percent") == [fmt(percent, "%")], f"{where}: {target['id']} percent"
    assert checks(node[0], "status") == [expected.status(target)], f"{where}: {target['id']} status"
    figures = expected.figures(target)
    assert [int(number(x)) for x in checks(node[0], "figures")] == [len(figures)], f"{where}: {target['id']}"
    doubtful = sum(f["doubt"] for f in figures)
    assert [int(number(x)) for x in checks(node[0], "doubtful")] == ([doubtful] if doubtful else [])


def test_every_item_page(site, expected):
    url, tmp, _ = site
    pages = doms([f"{url}/plan/hangzhou-2024/item/{i}" for i in expected.items], tmp)
    for item_id in expected.items:
        page = pages[f"{url}/plan/hangzhou-2024/item/{item_id}"]
        want = expected.item_reports(item_id)
        assert [int(number(x)) for x in checks(page, "item-reports")] == [want], item_id
        listed = page.xpath("//ul[@class='hz-reports']/li/@data-story")
        assert len(listed) == len(set(listed)) == min(want, 100), f"{item_id}: one row per story, 100 a page"
        for target in expected.plan["targets"]:
            if target["item"] == item_id:
                _check_target_line(page, target, expected, f"/item/{item_id}")


def test_every_target_page(site, expected):
    url, tmp, _ = site
    pages = doms([f"{url}/plan/hangzhou-2024/target/{t['id']}" for t in expected.plan["targets"]], tmp)
    for target in expected.plan["targets"]:
        page = pages[f"{url}/plan/hangzhou-2024/target/{target['id']}"]
        latest, figures = expected.latest(target), expected.figures(target)
        want_latest = [fmt(latest["value"], latest["unit"])] if latest else []
        assert checks(page, "latest") == want_latest, target["id"]
        assert checks(page, "status") == [expected.status(target)], target["id"]
        assert sorted(checks(page, "value")) == sorted(fmt(f["value"], f["unit"]) for f in figures), target["id"]
        assert len(checks(page, "doubt")) == sum(f["doubt"] for f in figures), target["id"]
        if latest:
            explanation = page.xpath("//*[@id='hz-explanation']")
            assert explanation and "选取理由" in explanation[0].text_content(), target["id"]


def test_search_and_its_exports(site, expected):
    url, tmp, _ = site
    page = dom(f"{url}/search?q={quote(SEARCH_TERM)}", tmp)
    want = expected.search_stories(SEARCH_TERM)
    assert [int(number(x)) for x in checks(page, "search-total")] == [want]
    for kind in ("csv", "json"):
        rows = 0
        for href in page.xpath(f"//a[@data-export='{kind}']/@href"):
            status, body = get(href if href.startswith("http") else url + href)
            assert status == 200, href
            text = body.decode("utf-8")
            rows += len(list(csv.DictReader(io.StringIO(text)))) if kind == "csv" else len(json.loads(text))
        assert rows == want, f"{kind} export rows"


def test_every_feed(site, expected):
    url, _, db_path = site
    db_name = Path(db_path).stem
    feeds = [("feed_matches", "", None)]
    feeds += [("feed_item", f"item={i}", ("item", i)) for i in expected.items]
    feeds += [("feed_target", f"target={t['id']}", ("target", t)) for t in expected.plan["targets"]]
    for name, query, what in feeds:
        status, body = get(f"{url}/{db_name}/{name}.atom?{query}")
        assert status == 200, (name, query, body[:200])
        root = ET.fromstring(body)
        entries = root.findall(f"{ATOM}entry")
        if what and what[0] == "item":
            assert len(entries) == min(expected.item_reports(what[1]), 100), query
        elif what:
            target = what[1]
            assert len(entries) == min(len(expected.figures(target)), 100), query  # the latest 100
            titles = [e.findtext(f"{ATOM}title") for e in entries]
            assert all(".0" not in t for t in titles), titles
        else:
            assert len(entries) == min(expected.totals()["relevant-stories"], 100)
        published = {expected_time(r[0]) for r in expected.q("select published from articles")}
        assert all(e.findtext(f"{ATOM}updated") in published for e in entries), name
    for name, query in (("feed_item", "item=NOPE"), ("feed_target", "target=tgt-none")):
        assert get(f"{url}/{db_name}/{name}.atom?{query}")[0] == 404


def expected_time(published: str | None) -> str | None:
    if not published:
        return None
    return dt.datetime.fromisoformat(published).isoformat()
