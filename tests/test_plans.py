"""Several plans: a real crawl of the replica with the two bundled plans, then a third plan dropped
into a temporary catalog (HZWATCH_PLANS), `hzwatch init` and `hzwatch match --all`: the site, the
feeds and the supervision report (`hzwatch report`, HTML and .xlsx) show every plan, and the
report's numbers equal the site's pages, its JSON and an independent SQL count."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import httpx
import openpyxl
import pytest
import yaml
from support_data import REPO
from support_fixture_db import start_logged, stop

import db as dbpkg
from monitor.service import serve

ATOM = "{http://www.w3.org/2005/Atom}"
THIRD = {
    "id": "test-third",
    "title": "第三个计划：住房保障专项",
    "city": "杭州",
    "announced": "2025-03-01",
    "watch_from": "2024-01-01",
    "reform_count": 1,
    "task_count": 0,
    "districts": ["上城区"],
    "city_papers": ["杭州日报"],
    "items": [
        {"id": "X-group", "kind": "group", "title": "住房保障"},
        {
            "id": "X-housing",
            "kind": "project",
            "parent": "X-group",
            "title": "配售型保障性住房专项",
            "aliases": ["配售型保障性住房", "配售型保障房"],
        },
    ],
    "targets": [
        {
            "id": "tgtx-housing",
            "item": "X-housing",
            "metric": "专项：新建配售型保障性住房",
            "comparator": ">=",
            "value": 6000,
            "unit": "套",
            "due": "2024-12-31",
            "figures": {"indicator": ["配售型保障性住房"], "units": ["套"], "period_required": True},
        }
    ],
}


def cli(*args, env):
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def site(replica_module, tmp_path_factory):
    """A crawl of the replica's news site with the bundled plans, then a third plan added."""
    tmp = tmp_path_factory.mktemp("plans")
    catalog = tmp / "plans"
    catalog.mkdir()
    for path in (REPO / "monitor" / "plans").glob("*.yaml"):
        shutil.copy(path, catalog)
    env = {**os.environ, "HZWATCH_PLANS": str(catalog)}
    path = tmp / "hzwatch.db"
    remap = [a for r in replica_module.remap_args() for a in ("--remap", r)]
    cli("crawl", "hznews", "--db", str(path), "--fast", "--since", "2024-01-01", *remap, env=env)
    # The third plan reads figures and places as the 2024 plan does (each plan file carries its rules).
    rules = yaml.safe_load((REPO / "monitor" / "plans" / "hangzhou-2024.yaml").read_text(encoding="utf-8"))
    third = {**THIRD, **{k: rules[k] for k in ("locality", "matching", "figures")}}
    (catalog / "test-third.yaml").write_text(yaml.safe_dump(third, allow_unicode=True), encoding="utf-8")
    cli("init", "--db", str(path), env=env)
    cli("match", "--all", "--db", str(path), env=env)
    proc, url = start_logged(serve.datasette_argv(path, port=0), tmp / "datasette.log", env=serve.datasette_env())
    client = httpx.Client(base_url=url, timeout=60)
    try:
        yield client, path, env, tmp
    finally:
        client.close()
        stop(proc)


def rows(client, query, **params):
    r = client.get(f"/hzwatch/{query}.json", params={"_shape": "array", **params})
    assert r.status_code == 200, r.text[:500]
    return r.json()


def test_home_lists_every_plan_latest_first(site):
    client, _path, _env, _tmp = site
    home = client.get("/").text
    order = [m for m in re.findall(r'<li class="hz-plan" data-plan="([^"]+)"', home)]
    assert order == ["hangzhou-2026", "test-third", "hangzhou-2024"]
    for plan_id, text in [("hangzhou-2026", "人工智能创新发展第一城"), ("test-third", "配售型保障性住房专项")]:
        page = client.get(f"/plan/{plan_id}")
        assert page.status_code == 200 and text in page.text
        assert f'href="/plan/{plan_id}/report.xlsx"' in page.text
    assert client.get("/plan/nope").status_code == 404


def test_a_2026_report_lands_on_the_2026_plan_only(site):
    _client, path, _env, _tmp = site
    db = dbpkg.connect(path)
    story = db.execute("SELECT story_id FROM articles WHERE title LIKE '上半年杭州新引育35周岁以下大学生%'").fetchone()[
        0
    ]
    items = {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT m.item_id FROM matches m JOIN articles a ON a.id = m.article_id WHERE a.story_id = ?",
            [story],
        )
    }
    targets = {
        r[0]: r[1]
        for r in db.execute(
            "SELECT DISTINCT p.target_id, p.value FROM progress p JOIN articles a ON a.id = p.article_id "
            "WHERE a.story_id = ?",
            [story],
        )
    }
    plans = {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT i.plan_id FROM items i WHERE i.id IN (%s)" % ",".join("?" * len(items)), list(items)
        )
    }
    db.close()
    assert {"Y26-talent-top", "Y26-graduates"} <= items and "hangzhou-2026" in plans
    assert targets == {"tgt26-top-talent-15": 9, "tgt26-leading-talent-300": 168, "tgt26-graduates-350k": 21.3}
    assert not any(t.startswith("tgt-") for t in targets)  # worded like 2024's targets, not 2024's


def test_third_plan_in_feeds_and_redirects(site):
    client, _path, _env, _tmp = site
    feed = client.get("/feeds/plan.atom", params={"plan": "test-third"}, follow_redirects=True)
    assert feed.status_code == 200
    entries = ET.fromstring(feed.content).findall(f"{ATOM}entry")
    assert entries and all(
        "配售型保障" in (e.find(f"{ATOM}title").text + e.find(f"{ATOM}content").text) for e in entries
    )
    target_feed = client.get("/feeds/target.atom", params={"target": "tgtx-housing"}, follow_redirects=True)
    assert ET.fromstring(target_feed.content).findall(f"{ATOM}entry")
    assert client.get("/hzwatch/feed_plan.atom", params={"plan": "nope"}).status_code == 404
    moved = client.get("/item/X-housing")
    assert moved.status_code == 302 and moved.headers["location"] == "/plan/test-third/item/X-housing"
    assert client.get("/plan/hangzhou-2024/item/X-housing").status_code == 404  # the URL names the plan


def _item_counts_by_sql(path, plan_id):
    """Stories linked to each item or its sub-items: counted here without the site's queries."""
    db = dbpkg.connect(path)
    counts = {}
    for (item_id,) in db.execute("SELECT id FROM items WHERE plan_id = ?", [plan_id]).fetchall():
        ids = [item_id] + [r[0] for r in db.execute("SELECT id FROM items WHERE parent_id = ?", [item_id])]
        marks = ",".join("?" * len(ids))
        counts[item_id] = db.execute(
            f"SELECT count(DISTINCT a.story_id) FROM matches m JOIN articles a ON a.id = m.article_id "
            f"WHERE a.relevant = 1 AND m.item_id IN ({marks})",
            ids,
        ).fetchone()[0]
    db.close()
    return counts


def _page_counts(html):
    """Each item's report count as the plan page shows it (data-item, then its data-check="reports")."""
    counts = {}
    for m in re.finditer(r'data-item="([^"]+)"', html):
        shown = re.search(r'data-check="reports"(?: data-value="(\d+)")?>(\d*)', html[m.end() : m.end() + 800])
        counts[m.group(1)] = int(shown.group(1) or shown.group(2))
    return counts


@pytest.mark.parametrize("plan_id", ["hangzhou-2024", "hangzhou-2026", "test-third"])
def test_report_workbook_equals_the_site(site, plan_id):
    client, path, env, tmp = site
    out = tmp / f"{plan_id}.xlsx"
    cli("report", "--plan", plan_id, "--format", "xlsx", "--out", str(out), "--db", str(path), env=env)
    book = openpyxl.load_workbook(out)
    item_rows = list(book["条目"].iter_rows(min_row=2, values_only=True))
    target_rows = list(book["目标"].iter_rows(min_row=2, values_only=True))
    coverage = {r["item_id"]: r for r in rows(client, "coverage") if r["plan_id"] == plan_id}
    progress = {r["target_id"]: r for r in rows(client, "target_progress") if r["plan_id"] == plan_id}
    assert len(item_rows) == len(coverage) > 0 and len(target_rows) == len(progress) > 0
    by_sql = _item_counts_by_sql(path, plan_id)
    page = _page_counts(client.get(f"/plan/{plan_id}").text)
    assert any(by_sql.values()) and set(page) == set(coverage)  # something to compare, every item shown
    for row in item_rows:
        item_id, reports = row[0], row[4]
        assert reports == coverage[item_id]["reports"] == by_sql[item_id], item_id
        assert page[item_id] == reports, item_id
    for row in target_rows:
        site_row = progress[row[0]]
        assert (row[5], row[7], row[8]) == (
            site_row["latest_value"],
            site_row["percent_of_target"],
            site_row["status"],
        ), row[0]
        assert (row[12], row[13]) == (site_row["figures"], site_row["doubtful"])
    # The site's own link gives the same workbook numbers.
    served = client.get(f"/plan/{plan_id}/report.xlsx")
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/vnd.openxmlformats")
    (tmp / "served.xlsx").write_bytes(served.content)
    again = openpyxl.load_workbook(tmp / "served.xlsx")
    assert [r[4] for r in again["条目"].iter_rows(min_row=2, values_only=True)] == [r[4] for r in item_rows]
    assert [r[5:9] for r in again["目标"].iter_rows(min_row=2, values_only=True)] == [r[5:9] for r in target_rows]


def test_report_2024_numbers_and_html(site):
    client, path, env, tmp = site
    progress = {r["target_id"]: r for r in rows(client, "target_progress") if r["plan_id"] == "hangzhou-2024"}
    assert progress["tgt-housing-6000"]["latest_value"] is not None  # the replica reports housing figures
    html = cli("report", "--plan", "hangzhou-2024", "--out", "-", "--db", str(path), env=env)
    text = re.sub(r"<[^>]+>", "", html.split("<body>")[1])
    assert "逐项进展督查报告" in text and "2024年5月20日" in text
    assert not re.search(r"\d{4}-\d\d-\d\d", text)  # dates in Chinese on the page (links keep their URLs)
    served = client.get("/plan/hangzhou-2024/report.html")
    assert served.status_code == 200 and 'data-target="tgt-housing-6000"' in served.text
    # As of mid-2024: fewer reports, targets not yet due.
    early = cli("report", "--plan", "hangzhou-2024", "--as-of", "2024-06-30", "--out", "-", "--db", str(path), env=env)
    statuses = re.findall(r'data-check="status">([^<]+)<', early)
    assert len(statuses) == len(progress) and set(statuses) <= {"未到期", "达标"} and "未到期" in statuses
    bad = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "report", "--plan", "nope", "--db", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert bad.returncode == 1 and "没有这个计划" in bad.stderr
