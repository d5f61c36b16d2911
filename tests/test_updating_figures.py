"""Pages while a target's new figures are not yet stored (db/figures.py): a real Datasette server.

Between a crawl batch's commit and the crawl's end (and during `hzwatch match --all`) the targets
whose figures changed are listed in figure_dirty. The pages then show the figures stored by the last
refresh, say that new ones are being counted, and compute nothing on the fly (at a million articles
that took minutes per page); after the refresh they show the new figures, equal to a computation
from scratch, and the note is gone.
"""

from __future__ import annotations

import re
import sys

import httpx
import pytest
import yaml
from support_fixture_db import start_logged, stop

import db as dbpkg
from db import articles as db_articles
from db.catalog import sync_catalog
from db.figures import dirty_targets, refresh_figures
from db.records import Article
from monitor.matching.catalog import load_catalog
from monitor.service import serve

HOUSING = "tgt-housing-6000"
PLAN = "hangzhou-2024"
TARGET_PAGE = f"/plan/{PLAN}/target/{HOUSING}"
NOTE = "正在计入"


def _store(db, n: int, value: float, as_of: str, published: str) -> None:
    art = Article(
        url=f"https://www.hangzhou.gov.cn/art/{n}.html",
        title=f"保障性住房报道{n}",
        body=f"新建配售型保障性住房{value}套。",
        published=published,
        source_name="杭州日报",
        site="www.hangzhou.gov.cn",
    )
    aid, _ = db_articles.store_article(db, art)
    db.execute("UPDATE articles SET relevant = 1 WHERE id = ?", [aid])
    db.execute(
        "INSERT INTO progress (article_id, target_id, value, unit, as_of) VALUES (?, ?, ?, '套', ?)",
        [aid, HOUSING, value, as_of],
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("updating")
    path = tmp / "hzwatch.db"
    db = dbpkg.connect(path)
    sync_catalog(db, load_catalog())
    _store(db, 1, 3200, "2024-06-30", "2024-07-08T09:00:00+08:00")
    refresh_figures(db)
    db.close()
    proc, url = start_logged(serve.datasette_argv(path, port=0), tmp / "datasette.log", env=serve.datasette_env())
    client = httpx.Client(base_url=url, timeout=30)
    try:
        yield client, path
    finally:
        client.close()
        stop(proc)


def _housing(client) -> dict:
    rows = client.get("/hzwatch/target_progress.json", params={"_shape": "array"}).json()
    return next(r for r in rows if r["target_id"] == HOUSING)


def _figures(client) -> list[float]:
    rows = client.get("/hzwatch/target_figures.json", params={"_shape": "array", "target": HOUSING}).json()
    return [r["value"] for r in rows]


def _latest_on_page(html: str) -> str:
    return re.search(r'data-check="latest">([^<]+)<', html).group(1)


def test_pages_show_the_stored_figures_and_say_new_ones_are_being_counted(site):
    client, path = site
    assert _housing(client)["latest_value"] == 3200 and _housing(client)["updating"] == 0
    assert NOTE not in client.get(TARGET_PAGE).text

    db = dbpkg.connect(path)
    _store(db, 2, 5100, "2024-09-30", "2024-10-08T09:00:00+08:00")  # as a crawl batch commits it
    assert dirty_targets(db) == [HOUSING]
    db.close()

    row = _housing(client)
    assert (row["latest_value"], row["figures"], row["updating"]) == (3200, 1, 1)
    assert _figures(client) == [3200]
    page = client.get(TARGET_PAGE).text
    assert _latest_on_page(page) == "3200套" and NOTE in page
    item = client.get(f"/plan/{PLAN}/item/T-housing").text
    assert NOTE in item
    report = client.get(f"/plan/{PLAN}/report.html").text
    assert "尚在计入" in report and "3200" in report

    db = dbpkg.connect(path)
    refresh_figures(db)  # the crawl's end
    stored = db.execute("SELECT value FROM figure_table WHERE target_id = ? ORDER BY as_of DESC", [HOUSING]).fetchall()
    db.close()
    assert [v for (v,) in stored] == [5100, 3200]
    row = _housing(client)
    assert (row["latest_value"], row["figures"], row["updating"]) == (5100, 2, 0)
    assert _figures(client) == [5100, 3200]
    page = client.get(TARGET_PAGE).text
    assert _latest_on_page(page) == "5100套" and NOTE not in page
    assert "尚在计入" not in client.get(f"/plan/{PLAN}/report.html").text


def _queries() -> dict[str, tuple[str, dict]]:
    """Every page query that reads figures: canned queries, dashboard charts, report, review queue."""
    from db import report, review_lists

    metadata = yaml.safe_load(serve.METADATA.read_text(encoding="utf-8"))
    params = {"target": HOUSING, "page": "1", "plan": PLAN, "as_of": "2026-12-31"}
    out = {name: (q["sql"], params) for name, q in metadata["databases"]["hzwatch"]["queries"].items()}
    for name, chart in metadata["plugins"]["datasette-dashboards"]["tracker"]["charts"].items():
        out["chart " + name] = (re.sub(r"\[\[.*?\]\]", "", chart["query"]), {})
    out["report targets"] = (report.TARGETS_SQL, params)
    out["review queue"] = (review_lists.QUEUE_SQL, params)
    return out


def test_no_page_computes_figures_on_the_fly(tmp_path):
    """With a target dirty, no page query evaluates figure_assessments_computed (here replaced by a
    view that counts its reads); the exact views (figure_assessments, target_latest) still do."""
    db = dbpkg.connect(tmp_path / "plan.db")
    sync_catalog(db, load_catalog())
    _store(db, 1, 3200, "2024-06-30", "2024-07-08T09:00:00+08:00")
    refresh_figures(db)
    _store(db, 2, 5100, "2024-09-30", "2024-10-08T09:00:00+08:00")
    assert dirty_targets(db) == [HOUSING]
    sys.path.insert(0, str(serve.PLUGINS))
    import sql_functions

    sql_functions.prepare_connection(db.conn)  # the functions Datasette gives the canned queries
    reads = []
    db.conn.create_function("computed_read", 0, lambda: reads.append(1) or 1)
    db.execute("DROP VIEW figure_assessments_computed")
    db.execute("CREATE VIEW figure_assessments_computed AS SELECT * FROM figure_table WHERE computed_read()")
    db.execute("SELECT * FROM target_latest").fetchall()
    assert reads, "the check cannot see an on-the-fly computation"
    on_the_fly = []
    defaults = {"item": "T-housing", "q": "住房", "kind": None, "limit": 100, "offset": 0}
    for name, (sql, params) in _queries().items():
        reads.clear()
        names = set(re.findall(r"(?<!:):(\w+)", sql))
        db.execute(sql, {k: params.get(k, defaults.get(k, "1")) for k in names}).fetchall()
        if reads:
            on_the_fly.append(name)
    db.close()
    assert on_the_fly == []
