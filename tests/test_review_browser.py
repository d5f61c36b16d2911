"""Review in a real browser (issue 15): headless Chromium, driven like a person, on a database
crawled from the replica and matched by the real matcher, served by `hzwatch serve`.

A reviewer signs in, rejects the figure the site shows as a target's credible latest one, and the
home page, the target page, the dashboard and the target's feed all move to the next credible
figure; confirms a candidate with one key in the review queue, and it is counted and listed on
its item's page; then everything is re-matched by a new matcher version and the corrections stand.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import lxml.html
import pytest
import yaml
from support_cdp import Browser
from support_fixture_db import start_logged, stop
from support_wait import wait_until

import db as database
from db.matches import save_match
from db.records import Evidence, MatchResult

REPO = Path(__file__).resolve().parents[1]
PLAN = REPO / "monitor" / "plans" / "hangzhou-2024.yaml"
ATOM = "{http://www.w3.org/2005/Atom}"
TARGET = "tgt-housing-6000"
CANDIDATE_ITEM = "R05"
CLI = [sys.executable, "-m", "monitor.cli"]


def make_candidate(db_path: Path) -> int:
    """What the matcher's candidate tier stores (issue 12): an article below the threshold, with evidence."""
    db = database.connect(db_path)
    article_id, version = db.execute(
        "SELECT id, matcher_version FROM articles WHERE relevant = 0 AND body LIKE '%杭州%' ORDER BY id LIMIT 1"
    ).fetchone()
    evidence = Evidence(CANDIDATE_ITEM, "预付式消费", 0, 5, "预付式消费监管")
    save_match(db, article_id, MatchResult(candidate=True, score=0.5, items=[], evidence=[evidence]), version)
    db.close()
    return article_id


@pytest.fixture(scope="module")
def site(replica_module, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review")
    db_path = tmp / "reviewed.db"
    remap = [arg for r in replica_module.remap_args() for arg in ("--remap", r)]
    subprocess.run([*CLI, "crawl", "--db", str(db_path), *remap, "--fast"], cwd=REPO, capture_output=True)
    done = subprocess.run([*CLI, "match", "--all", "--db", str(db_path)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    candidate = make_candidate(db_path)
    password = secrets.token_urlsafe(12)
    accounts = tmp / "reviewers.txt"  # outside the repository, as the site requires
    env = dict(os.environ, HZWATCH_REVIEWERS=str(accounts))
    added = subprocess.run(
        [*CLI, "review", "passwd", "lin", "--password", password], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    argv = [*CLI, "serve", "--db", str(db_path), "--port", "0"]
    proc, url = start_logged(
        argv, tmp / "serve.log", env=env, cwd=str(REPO), pattern=r"Uvicorn running on (http://[\d.:]+)"
    )
    browser = Browser(tmp / "profile")
    try:
        yield {"url": url, "tmp": tmp, "db": db_path, "browser": browser, "password": password, "candidate": candidate}
    finally:
        browser.close()
        stop(proc)


def page(browser: Browser, url: str) -> lxml.html.HtmlElement:
    browser.goto(url)
    return lxml.html.fromstring(browser.html())


def text(node) -> str:
    return " ".join(node.text_content().split())


def latest_on(site, where: str) -> tuple[str, str]:
    """(latest figure, percentage) as the home page or the target page shows them in the browser."""
    b = site["browser"]
    if where == "home":
        doc = page(b, site["url"] + "/plan/hangzhou-2024")  # the plan's home (/ lists the plans)
        line = doc.xpath(f"//li[@data-target='{TARGET}']")[0]
    else:
        line = page(b, site["url"] + f"/target/{TARGET}")
    latest = line.xpath(".//*[@data-check='latest']")
    percent = line.xpath(".//*[@data-check='percent']")
    return (text(latest[0]) if latest else "—", text(percent[0]) if percent else "—")


def origins_on_target_page(site) -> dict[str, str]:
    """{story id: who gave the figure (机器匹配 / 人工确认 …)} off the target page's figure table."""
    doc = page(site["browser"], site["url"] + f"/target/{TARGET}")
    return {
        tr.get("data-story"): text(tr.xpath(".//*[@data-check='origin']")[0])
        for tr in doc.xpath("//table[@class='hz-figures']//tr[@data-story]")
    }


def feed_values(site) -> list[str]:
    with urllib.request.urlopen(site["url"] + f"/feeds/target.atom?target={TARGET}", timeout=60) as r:
        feed = ET.fromstring(r.read())
    return [e.findtext(f"{ATOM}title") or "" for e in feed.iter(f"{ATOM}entry")]


def dashboard_points(site, metric: str) -> Counter:
    """The target's points the dashboard's completion chart draws, by reported figure (vega writes
    each point's tooltip fields into its aria-label)."""
    b = site["browser"]
    b.goto(site["url"] + "/-/dashboards/tracker")
    metadata = yaml.safe_load((REPO / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    charts = len(metadata["plugins"]["datasette-dashboards"]["tracker"]["charts"])
    wait_until(lambda: b.eval("document.querySelectorAll('svg.marks').length") >= charts, 60, "every chart drawn")
    labels = b.eval("Array.from(document.querySelectorAll('[aria-label]')).map(e => e.getAttribute('aria-label'))")
    return Counter(
        m.group(1)
        for label in labels
        if f"目标: {metric};" in (label or "")
        for m in [re.search(r"报告数字: ([^;]+)", label)]
        if m
    )


def num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def sign_in(site) -> None:
    b = site["browser"]
    b.goto(site["url"] + "/-/review/login?next=/")
    b.act(
        f"""document.querySelector('#hz-login [name=username]').value = 'lin';
        document.querySelector('#hz-login [name=password]').value = {site["password"]!r};
        document.querySelector('#hz-login').submit()"""
    )
    assert "审阅人 lin" in b.html()


def test_reject_figure_then_confirm_candidate_then_rematch(site):
    b = site["browser"]
    db = database.connect(site["db"])
    chosen = next(db.query("SELECT * FROM target_latest WHERE target_id = ?", [TARGET]))
    before_home, before_target = latest_on(site, "home"), latest_on(site, "target")
    metric = db.execute("SELECT metric FROM targets WHERE id = ?", [TARGET]).fetchone()[0]
    value_text = num(chosen["value"]) + chosen["unit"]
    assert before_home[0] == before_target[0] == value_text
    before_feed = feed_values(site)
    assert any(value_text in t for t in before_feed)
    before_dash = dashboard_points(site, metric)
    assert before_dash[value_text] >= 1, before_dash

    # Anonymous visitors see no review forms; the reviewer signs in and rejects the figure.
    assert "否决数字" not in page(b, site["url"] + f"/article/{chosen['article_id']}").text_content()
    sign_in(site)
    doc = page(b, site["url"] + f"/article/{chosen['article_id']}")
    assert "机器匹配" in text(doc)
    b.act(
        f"""const li = Array.from(document.querySelectorAll('li[data-figure]'))
              .find(e => e.dataset.figure.startsWith('{TARGET}='));
        const form = li.querySelector('form.hz-review-figure');
        form.querySelector('[name=reason]').value = '数字取自往年报道，不是本年进度';
        form.querySelector('button[value=reject]').click()"""
    )
    assert "数字取自往年报道" in b.html()

    expected = next(db.query("SELECT * FROM target_latest WHERE target_id = ?", [TARGET]), None)
    assert expected is None or (expected["story_id"], expected["value"]) != (chosen["story_id"], chosen["value"])
    after_home, after_target = latest_on(site, "home"), latest_on(site, "target")
    assert after_home == after_target != before_home
    if expected is not None:
        assert after_home[0] == num(expected["value"]) + expected["unit"]
        assert abs(float(after_home[1].rstrip("%")) - 100 * expected["value"] / expected["target_value"]) < 0.06
    after_feed = feed_values(site)
    assert len(after_feed) == len(before_feed) - 1
    assert sum(value_text in t for t in after_feed) == sum(value_text in t for t in before_feed) - 1
    after_dash = dashboard_points(site, metric)
    assert after_dash[value_text] < before_dash[value_text], (value_text, after_dash)

    # The candidate: one key in the review queue confirms it; its item counts and lists it.
    item_doc = page(b, site["url"] + f"/item/{CANDIDATE_ITEM}")
    count_before = int(text(item_doc.xpath("//*[@data-check='item-reports']")[0]))
    b.goto(site["url"] + "/-/review?kind=candidate")
    assert b.eval("document.querySelector('tr.hz-current').dataset.article") == str(site["candidate"])
    b.press("y")
    b.wait_for_new_page("the queue after confirming the candidate")
    item_doc = page(b, site["url"] + f"/item/{CANDIDATE_ITEM}")
    assert int(text(item_doc.xpath("//*[@data-check='item-reports']")[0])) == count_before + 1
    assert item_doc.xpath(f"//a[@href='/article/{site['candidate']}']")
    assert "人工确认" in text(page(b, site["url"] + f"/article/{site['candidate']}"))

    # A new matcher version re-matches everything; the corrections still stand.
    plan = site["tmp"] / "hangzhou-2024.yaml"
    shutil.copy(PLAN, plan)
    plan.write_text(PLAN.read_text(encoding="utf-8") + "\n# a new matcher version\n", encoding="utf-8")
    rematch = subprocess.run(
        [*CLI, "match", "--all", "--force", "--db", str(site["db"]), "--plan", str(plan)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert rematch.returncode == 0, rematch.stderr[-2000:]
    assert latest_on(site, "home") == latest_on(site, "target") == after_home
    item_doc = page(b, site["url"] + f"/item/{CANDIDATE_ITEM}")
    assert int(text(item_doc.xpath("//*[@data-check='item-reports']")[0])) == count_before + 1
    assert dashboard_points(site, metric) == after_dash
    assert feed_values(site) == after_feed
    audit = text(page(b, site["url"] + "/-/review/audit"))
    assert "lin" in audit and "数字取自往年报道" in audit

    # The target's figure table says who gave each figure: the matcher until a person confirms it.
    marks = origins_on_target_page(site)
    assert marks and set(marks.values()) == {"机器匹配"}, marks
    latest = next(db.query("SELECT * FROM target_latest WHERE target_id = ?", [TARGET]))
    page(b, site["url"] + f"/article/{latest['article_id']}")
    b.act(
        f"""const li = Array.from(document.querySelectorAll('li[data-figure]'))
              .find(e => e.dataset.figure.startsWith('{TARGET}='));
        li.querySelector('form.hz-review-figure button[value=confirm]').click()"""
    )
    marks_after = origins_on_target_page(site)
    assert marks_after[str(latest["story_id"])] == "人工确认"
    assert {k: v for k, v in marks_after.items() if k != str(latest["story_id"])} == {
        k: v for k, v in marks.items() if k != str(latest["story_id"])
    }
