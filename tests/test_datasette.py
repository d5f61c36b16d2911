"""The published site: a real Datasette server (subprocess) on the fixture database, over HTTP."""

from __future__ import annotations

import re
import sqlite3
import sys
import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx
import pytest
import yaml
from support_fixture_db import build_fixture_db, start_logged, stop

import db as dbpkg
from db.articles import normalise_text
from monitor.service import serve

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(base URL, fixture info, db path) of Datasette serving the fixture, arbitrary SQL off."""
    tmp = tmp_path_factory.mktemp("datasette")
    path = tmp / "hzwatch.db"
    info = build_fixture_db(path)
    argv = serve.datasette_argv(path, port=0)
    proc, url = start_logged(argv, tmp / "datasette.log", env=serve.datasette_env(), cwd=str(tmp))
    client = httpx.Client(base_url=url, timeout=30)
    try:
        yield client, info, path
    finally:
        client.close()
        stop(proc)


def metadata():
    return yaml.safe_load(serve.METADATA.read_text(encoding="utf-8"))


def canned_queries():
    return metadata()["databases"]["hzwatch"]["queries"]


PARAMS = {"plan": "hangzhou-2024", "item": "T-housing", "target": "tgt-housing-6000", "q": "人才"}


def params_for(sql: str) -> dict:
    return {k: v for k, v in PARAMS.items() if f":{k}" in sql}


def test_argv_is_read_only_with_time_limit():
    argv = serve.datasette_argv("x/hzwatch.db")
    joined = " ".join(argv)
    assert "--setting sql_time_limit_ms" in joined
    assert "--setting default_allow_sql off" in joined
    assert "--immutable" not in argv
    assert "--setting default_allow_sql on" in " ".join(serve.datasette_argv("x/hzwatch.db", allow_sql=True))
    assert serve.datasette_argv("x/hzwatch.db", immutable=True)[4:6] == ["--immutable", "x/hzwatch.db"]


def test_metadata_follows_database_file_name():
    renamed = serve.load_metadata("monitor")
    assert "monitor" in renamed["databases"] and "hzwatch" not in renamed["databases"]
    charts = renamed["plugins"]["datasette-dashboards"]["tracker"]["charts"].values()
    assert {c["db"] for c in charts} == {"monitor"}


def test_required_canned_queries_declared():
    assert {
        "latest_matches",
        "by_item",
        "target_progress",
        "coverage",
        "source_health",
        "alert_outbox",
        "search",
        "feed_matches",
        "feed_item",
        "feed_target",
    } <= set(canned_queries())


# Canned queries with nothing to show on the fixture, and where they are read with rows instead.
EMPTY_ON_FIXTURE = {"story_reviews": "no reviews in the fixture; test_review_browser reads it on the article page"}
# The article an `:id` query is asked about: one with figures for the figure query, else a syndicated copy.
ID_QUERY = {"article_figures": "SELECT min(article_id) FROM progress"}


@pytest.mark.parametrize("name", sorted(set(canned_queries()) - set(EMPTY_ON_FIXTURE)))
def test_every_canned_query_returns_rows(site, name):
    client, _info, path = site
    sql = canned_queries()[name]["sql"]
    article = _info["syndicated_article_id"]
    if name in ID_QUERY:
        article = dbpkg.connect(path).execute(ID_QUERY[name]).fetchone()[0]
    params = dict(params_for(sql), **({"id": article} if ":id" in sql else {}))
    page = client.get(f"/hzwatch/{name}", params=params)
    assert page.status_code == 200, page.text[:500]
    data = client.get(f"/hzwatch/{name}.json", params=dict(params, _shape="array"))
    assert data.status_code == 200, data.text[:500]
    assert data.json(), f"{name} returned no rows on the fixture"
    assert client.get(f"/hzwatch/{name}.csv", params=params).status_code == 200


@pytest.mark.parametrize(
    "name,params",
    [("feed_matches", {}), ("feed_item", {"item": "R08"}), ("feed_target", {"target": "tgt-graduates-350k"})],
)
def test_atom_feeds(site, name, params):
    client, _info, _path = site
    r = client.get(f"/hzwatch/{name}.atom", params=params)
    assert r.status_code == 200, r.text[:500]
    assert "xml" in r.headers["content-type"]
    root = ET.fromstring(r.content)
    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    assert entries
    assert all(e.find("{http://www.w3.org/2005/Atom}updated").text for e in entries)


def test_target_progress_compares_latest_figure_with_target(site):
    client, _info, path = site
    rows = client.get("/hzwatch/target_progress.json", params={"_shape": "array"}).json()
    housing = next(r for r in rows if r["target_id"] == "tgt-housing-6000")
    db = dbpkg.connect(path)
    # the credible latest figure: the latest as-of among figures not in doubt (tests/test_numbers.py
    # checks the whole rule independently on the replica)
    credible = db.execute(
        "SELECT max(as_of) FROM figure_assessments WHERE target_id = 'tgt-housing-6000' AND unit = '套' "
        "AND as_of <= due AND coalesce(doubt_rule, doubt_conflict) IS NULL"
    ).fetchone()[0]
    values = {r[0] for r in db.execute("SELECT value FROM progress WHERE target_id = 'tgt-housing-6000'")}
    db.close()
    assert housing["target_value"] == 6000 and housing["as_of"] == credible and housing["latest_value"] in values
    assert housing["percent_of_target"] == round(100 * housing["latest_value"] / 6000, 1)
    assert housing["status"] in {"达标", "未达标", "未报告"} and housing["explanation"].startswith("选取理由")


def test_coverage_lists_items_without_reports_first(site):
    client, _info, _path = site
    rows = client.get("/hzwatch/coverage.json", params={"_shape": "array"}).json()
    counts = [r["reports"] for r in rows]
    assert counts[0] == 0 and max(counts) > 0
    assert [c > 0 for c in counts] == sorted(c > 0 for c in counts)


def test_custom_pages(site):
    client, info, _path = site
    home = client.get("/")
    assert home.status_code == 200
    for text in ["计划追踪", "深化改革、强基固本主题年", "2026年政府工作报告年度目标任务", "篇", "督查报告"]:
        assert text in home.text
    plan = client.get("/plan/hangzhou-2024")
    for text in ["营商环境建设", "政务服务增值化改革", "新建配售型保障性住房", "篇报道", "完成度"]:
        assert text in plan.text
    for path, text in [
        ("/plan/hangzhou-2024/item/R08", "数据要素配置市场化改革"),
        ("/plan/hangzhou-2024/item/T-housing", "6000套"),
        ("/plan/hangzhou-2024/target/tgt-housing-6000", "报告过的数字"),
        ("/plan/hangzhou-2026", "人工智能创新发展第一城"),
        (f"/article/{info['script_article_id']}", "关联的计划条目"),
        ("/search?q=" + quote("数谷"), "篇包含"),
    ]:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert text in r.text, path
    for missing in ["/item/NOPE", "/target/nope", "/article/99999999", "/plan/nope", "/plan/hangzhou-2026/item/R08"]:
        assert client.get(missing).status_code == 404, missing
    # Older links (alert messages, bookmarks) go on to the page that names the plan.
    for old, new in [
        ("/item/R08", "/plan/hangzhou-2024/item/R08"),
        ("/target/tgt26-gdp-growth-5", "/plan/hangzhou-2026/target/tgt26-gdp-growth-5"),
    ]:
        r = client.get(old)
        assert (r.status_code, r.headers.get("location")) == (302, new)


def test_dashboard_and_its_chart_queries_work_with_sql_off(site):
    client, _info, _path = site
    page = client.get("/-/dashboards/tracker")
    assert page.status_code == 200 and "改革追踪仪表盘" in page.text
    charts = metadata()["plugins"]["datasette-dashboards"]["tracker"]["charts"]
    for slug, chart in charts.items():
        query = re.sub(r"\[\[.*?\]\]", "", chart["query"])  # as the page sends it without filters
        r = client.get("/hzwatch.json", params={"sql": query, "_shape": "objects"})
        assert r.status_code == 200, (slug, r.text[:300])
        assert r.json()["rows"], slug
    filtered = re.sub(r"\[\[(.*?)\]\]", r"\1", charts["target-values"]["query"])
    plan = "深化改革、强基固本主题年"
    params = {"sql": filtered, "target": "全年新建配售型保障性住房", "plan": plan, "_shape": "objects"}
    r = client.get("/hzwatch.json", params=params)
    assert r.status_code == 200 and {row["goal"] for row in r.json()["rows"]} == {6000}
    # The plan filter alone: that plan's targets only.
    by_plan = re.sub(r"\[\[ and t.metric = :target \]\]", "", charts["target-values"]["query"])
    by_plan = re.sub(r"\[\[(.*?)\]\]", r"\1", by_plan)
    for title, unit in [(plan, "（套）"), ("2026年政府工作报告年度目标任务", "（场）")]:
        r = client.get("/hzwatch.json", params={"sql": by_plan, "plan": title, "_shape": "objects"})
        targets = {row["target"] for row in r.json()["rows"]}
        assert r.status_code == 200 and any(t.endswith(unit) for t in targets)
        assert len(targets) == (6 if title == plan else 15), title
    assert client.get(f"/-/dashboards/tracker/{next(iter(charts))}").status_code == 200


def test_arbitrary_sql_is_refused(site):
    client, _info, _path = site
    assert client.get("/hzwatch.json", params={"sql": "select 1"}).status_code == 403
    assert client.get("/hzwatch", params={"sql": "select * from outbox"}).status_code == 403


def _page_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-article-id="(\d+)"', html)]


@pytest.mark.parametrize("term", ["人才", "数谷", "保障性住房", "一网通办"])
def test_search_page_equals_substring_scan(site, term):
    client, _info, path = site
    db = dbpkg.connect(path)
    # one result per story (copies of a syndicated report are one result)
    story_of = {r["id"]: r["story_id"] for r in db.query("SELECT id, story_id FROM articles")}
    expected = {
        r["story_id"]
        for r in db.query("SELECT story_id, title, body_norm FROM articles")
        if term in normalise_text(r["title"]) or term in (r["body_norm"] or "")
    }
    db.close()
    found, page = [], 1
    while True:
        r = client.get("/search", params={"q": term, "page": page})
        assert r.status_code == 200
        if page == 1:
            total = int(re.search(r'id="hz-total"[^>]*>(\d+)<', r.text).group(1))
            assert total == len(expected)
        ids = _page_ids(r.text)
        if not ids:
            break
        found += [story_of[i] for i in ids]
        page += 1
    assert len(found) == len(set(found)) and set(found) == expected
    canned = client.get("/hzwatch/search.json", params={"q": term, "_shape": "array"}).json()
    assert {story_of[row["article_id"]] for row in canned} == expected
    assert len(canned) == len(expected) <= 1000


def test_search_marks_traditional_titles(site):
    client, _info, _path = site
    html = client.get("/search", params={"q": "数谷"}).text
    assert "<mark>數谷</mark>" in html  # a Traditional title found through its Simplified form


def test_scraped_html_is_escaped_everywhere(site):
    client, info, _path = site
    aid = info["script_article_id"]
    pages = [
        f"/hzwatch/articles?id={aid}",
        f"/hzwatch/articles/{aid}",
        f"/article/{aid}",
        "/search?q=" + quote("人才新政"),
        "/hzwatch/latest_matches",
        "/plan/hangzhou-2024/item/T-talent-policy",
    ]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert SCRIPT not in r.text, path
        assert "<b>粗体</b>" not in r.text and "<i>杭州网</i>" not in r.text, path
    article = client.get(f"/article/{aid}").text
    assert ESCAPED_SCRIPT in article and "&lt;b&gt;粗体&lt;/b&gt;" in article
    # Highlighting marks the matched phrase without un-escaping its neighbours.
    assert "<mark>人才</mark>" in article
    search = client.get("/search", params={"q": "人才新政"}).text
    assert ESCAPED_SCRIPT in search and "<mark>人才新政</mark>" in search


def test_article_page_marks_terms_in_traditional_text(site):
    client, _info, path = site
    db = dbpkg.connect(path)
    row = db.execute(
        "SELECT a.id FROM articles a JOIN matches m ON m.article_id = a.id "
        "WHERE a.body LIKE '%數谷%' AND a.body NOT LIKE '%数谷%' "
        "AND m.evidence LIKE '%数谷%' LIMIT 1"
    ).fetchone()
    db.close()
    assert row, "fixture lacks a Traditional-only matched article"
    html = client.get(f"/article/{row[0]}").text
    # The original Traditional text is shown, with the Simplified match marked in it.
    assert "<mark>數谷</mark>" in html and "已转为简体" not in html


def test_links_from_tables_to_custom_pages(site):
    client, _info, _path = site
    html = client.get("/hzwatch/latest_matches").text
    assert re.search(r'href="/article/\d+"', html)
    assert 'href="/item/' in client.get("/hzwatch/target_progress").text


def test_hzwatch_serve_refuses_missing_database(tmp_path):
    import subprocess

    r = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "serve", "--db", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        cwd=str(serve.REPO),
    )
    assert r.returncode != 0 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_publish_dry_run_prepares_a_snapshot_that_serves(site, tmp_path):
    """`hzwatch publish` snapshots the live DB and vendors `db` beside the plugins for the image."""
    import shlex
    import sqlite3
    import subprocess

    _client, info, path = site
    r = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "publish", "--db", str(path), "--dry-run", "--name", "hzwatch-site"],
        capture_output=True,
        text=True,
        cwd=str(serve.REPO),
    )
    assert r.returncode == 0, r.stderr
    argv = shlex.split(r.stdout.strip().splitlines()[-1])
    assert argv[1:4] == ["-m", "datasette", "package"] and "--tag" in argv
    assert {"datasette-dashboards"} <= {argv[i + 1] for i, a in enumerate(argv) if a == "--install"}
    snapshot = argv[4]
    plugins = argv[argv.index("--plugins-dir") + 1]
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == info["articles"]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert (serve.Path(plugins) / "vendor" / "db" / "search.py").exists()
    # Serve the prepared snapshot exactly as the image would (datasette --get: no server needed).
    get = subprocess.run(
        [
            sys.executable,
            "-m",
            "datasette",
            "serve",
            "-i",
            snapshot,
            "--metadata",
            argv[argv.index("--metadata") + 1],
            "--plugins-dir",
            plugins,
            "--template-dir",
            argv[argv.index("--template-dir") + 1],
            "--get",
            "/search?q=" + quote("数谷"),
        ],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
    )
    assert get.returncode == 0, get.stderr[-2000:]
    assert "篇包含“数谷”的报道" in get.stdout


def test_item_page_lists_candidates_after_reports_apart(site):
    client, _info, path = site
    db = dbpkg.connect(path)
    row = db.execute(
        "SELECT a.id, a.title FROM articles a, json_each(a.candidate) e WHERE a.relevant = 0"
        " AND json_extract(e.value, '$.item') = 'T-housing' ORDER BY a.published DESC LIMIT 1"
    ).fetchone()
    assert row is not None, "the fixture has a T-housing candidate"
    html = client.get("/plan/hangzhou-2024/item/T-housing").text
    reports, _, candidates = html.partition("<h2>待确认")
    assert candidates and f'href="/article/{row[0]}"' in candidates
    # A candidate is neither a report of the item nor in its count.
    assert f'href="/article/{row[0]}"' not in reports
    by_item = client.get("/hzwatch/by_item.json", params={"item": "T-housing", "_shape": "array"}).json()
    assert row[0] not in {r["article_id"] for r in by_item}


def test_datasette_own_pages_speak_chinese(site):
    """The database, table and query pages come from Datasette's own templates, translated as they
    load (datasette/plugins/chrome_zh.yaml): no English chrome left, the Chinese in its place."""
    client, _info, _path = site
    pages = {
        "/hzwatch": (["数据表", "查询", "视图", " 行"], ["Tables", "Queries", "Views", " rows", "Custom SQL query"]),
        "/hzwatch/articles": (
            ["导出为", "高级导出", " 行", "首页", "应用", "下一页", ">包含</option>", "建议的分面"],
            [
                "This data as",
                ">advanced<",
                " rows",
                ">home<",
                "Apply",
                "Next page",
                "JSON shape",
                "Export CSV",
                ">contains<",
            ],
        ),
        "/hzwatch/coverage": (["导出为", "查询"], ["This data as", "Custom SQL query", " rows"]),
        "/hzwatch/articles/1": (["导出为", "其他表中引用本行的记录"], ["This data as", "Links from other tables"]),
        "/hzwatch/articles?_sort_desc=id&relevant=1&title__contains=杭州": (
            ["条件：", " 包含 ", " 且 ", "按 id 降序排列", "仪表板"],
            ["where ", "sorted by", "descending", ">contains<", "Dashboards"],
        ),
    }
    for path, (chinese, english) in pages.items():
        r = client.get(path)
        assert r.status_code == 200, path
        text = re.sub(r"<script.*?</script>|<style.*?</style>", "", r.text, flags=re.S)
        for word in chinese:
            assert word in text, (path, word)
        for word in english:
            assert word not in text, (path, word)


def test_a_chrome_phrase_datasette_no_longer_has_stops_the_site():
    sys.path.insert(0, str(serve.PLUGINS))
    import chinese_chrome

    chrome = chinese_chrome.Chrome()
    rules = chrome.rules
    assert rules["table.html"] and all(len(r) == 3 for rs in rules.values() for r in rs)
    assert chrome.word("contains") == "包含" and chrome.word("Dashboards") == "仪表板"
    # the table description: words translated, quoted values as typed
    assert (
        chrome.describe(
            'where source_id = "hzrb and in", title contains "like 住房" and relevant = 1 sorted by id descending'
        )
        == '条件：source_id = "hzrb and in"，title 包含 "like 住房" 且 relevant = 1 按 id 降序排列'
    )
    assert chrome.describe("sorted by published") == "按 published 排序"
    assert chrome.describe('search matches "数谷"') == '全文搜索 "数谷"'
    assert chinese_chrome.translate("x.html", "<h3>Tables</h3>", [("Tables", "数据表", 1)]) == "<h3>数据表</h3>"
    with pytest.raises(chinese_chrome.ChromeError, match="occurs 0 times"):
        chinese_chrome.translate("x.html", "<h3>Tablez</h3>", [("Tables", "数据表", 1)])


def test_page_reads_are_cached_until_another_connection_commits(tmp_path):
    """template_data.cached_rows: a repeated read is served from the cache, also to another read
    connection; a commit by any other connection (a crawl, a review) makes the next read run again."""
    sys.path.insert(0, str(serve.PLUGINS))
    import template_data

    path = tmp_path / "cache.db"
    reader, reader2, writer = sqlite3.connect(path), sqlite3.connect(path), sqlite3.connect(path)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("INSERT INTO t VALUES (1)")
    writer.commit()
    sql = "SELECT count(*) AS n, sum(x) AS total FROM t WHERE x >= :least"
    template_data.cached_rows(reader2, sql, {"least": 5})  # reader2 has looked before the commits below
    first = template_data.cached_rows(reader, sql, {"least": 0})
    assert first == [{"n": 1, "total": 1}]
    assert template_data.cached_rows(reader, sql, {"least": 0}) is first  # not run again
    assert template_data.cached_rows(reader2, sql, {"least": 0}) is first  # shared
    assert template_data.cached_rows(reader, sql, {"least": 2}) == [{"n": 0, "total": None}]  # other params
    writer.execute("INSERT INTO t VALUES (2)")
    writer.commit()
    # whichever connection reads first after the commit sees it
    assert template_data.cached_rows(reader2, sql, {"least": 0}) == [{"n": 2, "total": 3}]
    assert template_data.cached_rows(reader, sql, {"least": 2}) == [{"n": 1, "total": 2}]
    writer.execute("INSERT INTO t VALUES (3)")
    writer.commit()
    assert template_data.cached_rows(reader, sql, {"least": 0}) == [{"n": 3, "total": 6}]
    for conn in (reader, reader2, writer):
        conn.close()
