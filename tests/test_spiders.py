"""Spider callbacks fed with HtmlResponse(real URL, body=...), middlewares, and article storage."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import scrapy
from scrapy.http import HtmlResponse, Request, TextResponse
from support_data import FIXTURE_PAGES

import db as dbmod
from db import articles as db_articles
from db import runs as db_runs
from db.records import Article
from db.writer import ArticleWriter, CrawlLedger
from scrapers.middlewares import RemapMiddleware, parse_remap
from scrapers.sources import load_sources
from scrapers.spiders import ChannelListSpider, EpaperDaySpider, JcmsColumnSpider

SOURCES = {s.id: s for s in load_sources()}


@pytest.fixture
def db(tmp_path):
    return dbmod.connect(tmp_path / "t.db")


def resp(url, body, request=None, status=200, meta=None, ctype=b"text/html"):
    req = request or Request(url, meta=meta or {})
    data = body.encode("utf-8") if isinstance(body, str) else body
    return HtmlResponse(url, body=data, request=req, status=status, headers={"Content-Type": ctype})


def requests_of(results):
    return [r for r in results if isinstance(r, scrapy.Request)]


HZ_LIST = (FIXTURE_PAGES / "hznews_list_chengshi.html").read_text(encoding="utf-8")


def test_channel_list_links_real_urls_canonical_and_filtered(db):
    spider = ChannelListSpider(source=SOURCES["hznews"], ledger=CrawlLedger(db, "hznews"), since=date(2024, 1, 1))
    url = "https://hznews.hangzhou.com.cn/chengshi/index.htm"
    out = list(spider.parse_list(resp(url, HZ_LIST, meta={"list_idx": 1, "page": 1})))
    reqs = requests_of(out)
    articles = [r.url for r in reqs if r.meta.get("article_url")]
    assert articles == [
        "https://hznews.hangzhou.com.cn/chengshi/content/2024-05/20/content_8736654.htm",
        "https://hznews.hangzhou.com.cn/chengshi/content/2024-06/12/content_8749232.htm",
        "https://hznews.hangzhou.com.cn/chengshi/content/2024-02/19/content_8686834.htm",  # _2 folded
    ]
    assert reqs[0].meta["list_title"] == "全市大厅“一网通办”收件率达92.6%"  # @title, not the cut text
    nxt = [r for r in reqs if not r.meta.get("article_url")]
    assert [r.url for r in nxt] == ["https://hznews.hangzhou.com.cn/chengshi/index_1.htm"]
    assert nxt[0].meta["conditional"] is True


def test_channel_list_incremental_stops_at_page_without_news(db):
    src = SOURCES["hznews"]
    spider = ChannelListSpider(source=src, ledger=CrawlLedger(db, src.id), since=date(2024, 1, 1))
    for u in (
        "https://hznews.hangzhou.com.cn/chengshi/content/2024-05/20/content_8736654.htm",
        "https://hznews.hangzhou.com.cn/chengshi/content/2024-06/12/content_8749232.htm",
        "https://hznews.hangzhou.com.cn/chengshi/content/2024-02/19/content_8686834.htm",
    ):
        db_articles.store_article(db, Article(**{"url": u, "title": u[-20:], "body": "正文" + u}))
    spider.incremental = True
    out = list(
        spider.parse_list(
            resp("https://hznews.hangzhou.com.cn/chengshi/index.htm", HZ_LIST, meta={"list_idx": 1, "page": 1})
        )
    )
    assert out == []  # every link known: no article fetch, no page 2
    spider.incremental = False  # a resumed backfill keeps walking
    out = list(
        spider.parse_list(
            resp("https://hznews.hangzhou.com.cn/chengshi/index.htm", HZ_LIST, meta={"list_idx": 1, "page": 1})
        )
    )
    assert [r.url for r in out] == ["https://hznews.hangzhou.com.cn/chengshi/index_1.htm"]


def test_node_list_pagination_and_304():
    lst = SOURCES["hznews"].config["lists"][4]
    from scrapers.spiders.channel_list import page_url

    assert page_url(lst, 2) == "https://hznews.hangzhou.com.cn/xinzheng/yaolan/node_15890_2.htm"
    assert page_url(SOURCES["hznews"].config["lists"][0], 3) == "https://hznews.hangzhou.com.cn/xinzheng/index_2.htm"
    spider = ChannelListSpider(source=SOURCES["hznews"], ledger=None, since=date(2024, 1, 1))
    r = resp("https://hznews.hangzhou.com.cn/xinzheng/index.htm", "", status=304, meta={"list_idx": 0, "page": 1})
    assert list(spider.parse_list(r)) == []
    assert spider.counters["not_modified"] == 1


GOV_COLUMN = (FIXTURE_PAGES / "hanweb_column_812262.html").read_text(encoding="utf-8")


def test_jcms_column_xml_records_pinned_duplicates_external_and_dataproxy(db):
    spider = JcmsColumnSpider(source=SOURCES["gov-www"], ledger=CrawlLedger(db, "gov-www"), since=date(2024, 1, 1))
    url = "https://www.hangzhou.gov.cn/col/col812262/index.html"
    out = list(spider.parse_column(resp(url, GOV_COLUMN, meta={"col": {"col": 812262}, "page": 1})))
    arts = [r for r in out if r.meta.get("article_url")]
    assert [r.url for r in arts] == [
        "https://www.hangzhou.gov.cn/art/2024/5/11/art_812262_59096831.html",
        "https://www.hangzhou.gov.cn/col/col812262/art/2025/art_483d44943a4f4b898e1998389d4ee3b0.html",
    ]  # 2023 pinned row: older than since; duplicate once; zjzwfw (offsite) never
    assert arts[0].meta["list_title"] == "杭州奥体中心场馆群打通了"
    (proxy,) = [r for r in out if not r.meta.get("article_url")]
    assert proxy.method == "POST"
    parts = urlsplit(proxy.url)
    assert parts.path == "/module/jpage/dataproxy.jsp" and parts.hostname == "www.hangzhou.gov.cn"
    q = parse_qs(parts.query)
    assert q["startrecord"] == ["6"] and q["perpage"] == ["15"]
    form = parse_qs(proxy.body.decode())
    assert form["webid"] == ["149"] and form["columnid"] == ["812262"] and form["unitid"] == ["4832375"]
    assert form["webname"] == ["杭州市人民政府门户网站"]


def test_jcms_pinned_row_is_not_news():
    spider = JcmsColumnSpider(source=SOURCES["gov-www"], ledger=None, since=date(2020, 1, 1))
    items, seen, skipped = spider.parse_records(
        ['<li><a href="/art/2023/3/1/art_812262_1.html" title="[置顶]说明">x</a><span>2023-03-01</span></li>'],
        "https://www.hangzhou.gov.cn/col/col812262/index.html",
    )
    assert items[0].pinned and items[0].title == "说明"
    fresh, any_new = spider.new_items(items)
    assert fresh and not any_new  # fetched once, but never keeps the pagination going


def test_jcms_dataproxy_answer_and_jpaas_api(db):
    spider = JcmsColumnSpider(source=SOURCES["gov-www"], ledger=CrawlLedger(db, "gov-www"), since=date(2024, 1, 1))
    col_url = "https://www.hangzhou.gov.cn/col/col812262/index.html"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>50</totalrecord><recordset>'
        '<record><![CDATA[<li><a href="/art/2024/4/2/art_812262_59095000.html" title="四月">四月</a>'
        "<span>2024-04-02</span></li>]]></record></recordset></datastore>"
    )
    proxy_url = "https://www.hangzhou.gov.cn/module/jpage/dataproxy.jsp?startrecord=16&endrecord=60&perpage=15"
    r = TextResponse(
        proxy_url,
        body=xml.encode(),
        request=Request(
            proxy_url,
            meta={"col": {"col": 812262}, "params": {}, "start": 16, "n": 45, "page": 2, "column_url": col_url},
        ),
    )
    out = list(spider.parse_dataproxy(r))
    assert [x.url for x in out] == ["https://www.hangzhou.gov.cn/art/2024/4/2/art_812262_59095000.html"]

    page = (
        "<html><body><div class='list-main'><div class='default_pgContainer' count='23' pageNo='1'>"
        "<ul class='ajax-ul'><li class='cf border-line'><a class='fl' href='/col/col812266/art/2025/"
        "art_0123456789abcdef0123456789abcdef.html'>部门动态一</a><span class='fr'>2025-02-01</span></li></ul>"
        "</div></div><script>var jpaasUnit = { url: '/api-gateway/jpaas-publish-server/front/page/build/unit',"
        " parseType: 'bulidstatic', webId: '149', tplSetId: '5', pageType: 'column', tagId: '组配分类list',"
        " editType: 'null', pageId: '812266', pageSize: 10 };</script></body></html>"
    )
    url = "https://www.hangzhou.gov.cn/col/col812266/index.html"
    out = list(spider.parse_column(resp(url, page, meta={"col": {"col": 812266, "api": "jpaas"}, "page": 1})))
    assert out[0].url == "https://www.hangzhou.gov.cn/col/col812266/art/2025/art_0123456789abcdef0123456789abcdef.html"
    api = out[1]
    assert urlsplit(api.url).path == "/api-gateway/jpaas-publish-server/front/page/build/unit"
    q = parse_qs(urlsplit(api.url).query)
    assert q["webId"] == ["149"] and q["pageId"] == ["812266"] and q["tplSetId"] == ["5"]
    assert json.loads(q["paramJson"][0]) == {"pageNo": 2, "pageSize": 10}
    body = json.dumps(
        {
            "success": True,
            "data": {
                "html": "<div count='23'><ul class='ajax-ul'><li><a class='fl' "
                "href='/col/col812266/art/2025/art_fedcba9876543210fedcba9876543210.html'>二</a>"
                "<span class='fr'>2025-01-20</span></li></ul></div>"
            },
        },
        ensure_ascii=False,
    )
    r = TextResponse(api.url, body=body.encode(), request=api, headers={"Content-Type": "application/json"})
    out = list(spider.parse_jpaas(r))
    assert out[0].url.endswith("art_fedcba9876543210fedcba9876543210.html")
    assert out[1].meta["page"] == 3


def test_epaper_days_lists_and_missing_day(db):
    spider = EpaperDaySpider(
        source=SOURCES["dskb"], ledger=CrawlLedger(db, "dskb"), since=date(2026, 3, 28), until=date(2026, 3, 29)
    )
    days = [r.url for r in spider.initial_requests()]
    assert days == [
        "https://hzdaily.hangzhou.com.cn/dskb/2026/03/29/page_list_20260329.html",
        "https://hzdaily.hangzhou.com.cn/dskb/2026/03/28/page_list_20260328.html",
    ]
    page_list = (
        '<ul><li><a href="../../../../dskb/page/3/2026-03/29/A01/20260329A01_pdf.pdf">PDF</a> '
        '<a href="page_detail_2_20260329A01.html" title="都市快报">第A01版：都市快报</a></li>'
        '<li><a href="page_detail_2_20260329A03.html" title="杭州新闻">第A03版：杭州新闻</a></li></ul>'
    )
    out = list(spider.parse_day(resp(days[0], page_list, meta={"day": "2026-03-29"})))
    assert [r.url for r in out] == [
        "https://hzdaily.hangzhou.com.cn/dskb/2026/03/29/article_list_2_20260329A01.html",
        "https://hzdaily.hangzhou.com.cn/dskb/2026/03/29/article_list_2_20260329A03.html",
    ]
    art_list = (
        '<div class="bm"><a href="x.pdf">PDF</a></div><ul class="list">'
        '<li><a href="article_detail_2_20260329A033.html" target="_parent">'
        "全国首部\n　　杭州为具身智能机器人立法</a></li>"
        '<li><a href="article_detail_2_20260329A031.html">杭州正在打造全球首个“人机共治社区”</a></li></ul>'
        '<div class="pages"><a href="article_list_2_20260329A04.html">下一版</a></div>'
    )
    out = list(spider.parse_article_list(resp(out[1].url, art_list, meta={"day": "2026-03-29"})))
    assert [r.url for r in out] == [
        "https://hzdaily.hangzhou.com.cn/dskb/2026/03/29/article_detail_2_20260329A033.html",
        "https://hzdaily.hangzhou.com.cn/dskb/2026/03/29/article_detail_2_20260329A031.html",
    ]
    assert out[0].meta["list_title"] == "全国首部 杭州为具身智能机器人立法"
    assert out[0].meta["list_date"] == "2026-03-29"
    missing = "<html><head><title>404页面</title></head><body><p>对不起，您访问的页面不存在或已删除！</p></body></html>"
    assert list(spider.parse_day(resp(days[1], missing, meta={"day": "2026-03-28"}))) == []
    rows = list(db.query("SELECT url, reason FROM fetch_failures"))
    assert rows == [{"url": days[1], "reason": "no_issue"}]


def test_epaper_backfill_asks_several_days_at_once_within_its_issue_budget(db):
    def spider(budget):
        return EpaperDaySpider(
            source=SOURCES["dskb"],
            ledger=CrawlLedger(db, "dskb"),
            since=date(2026, 1, 1),
            until=date(2026, 3, 29),
            max_pages=budget,
        )

    def day(r):
        return r.url.rsplit("_", 1)[1][:8]

    wide = [day(r) for r in spider(20).initial_requests()]
    # the 2 days re-checked, then the source's backfill_window (sources.yaml) of older days at once
    window = SOURCES["dskb"].get("backfill_window")
    assert window > 1
    assert wide == [f"{date(2026, 3, 29) - timedelta(days=n):%Y%m%d}" for n in range(2 + window)]
    sp = spider(2)
    first = list(sp.initial_requests())
    assert [day(r) for r in first] == ["20260329", "20260328", "20260327", "20260326"]  # the budget: 2 days
    missing = "<html><head><title>404页面</title></head><body><p>对不起，您访问的页面不存在或已删除！</p></body></html>"
    issue = '<a href="page_detail_2_20260326A01.html">第A01版</a>'
    # 27 had no issue: the next day is asked; 26 and 25 had one: the budget is spent, nothing more
    [day25] = sp.parse_day(resp(first[2].url, missing, request=first[2]))
    assert day(day25) == "20260325"
    assert [r for r in sp.parse_day(resp(first[3].url, issue, request=first[3])) if "page_list" in r.url] == []
    assert sp.counters["capped"] == 0
    out = list(sp.parse_day(resp(day25.url, issue.replace("26A", "25A"), request=day25)))
    assert [r.url for r in out if "page_list" in r.url] == [] and sp.counters["capped"] == 1


HZ_ARTICLE = (FIXTURE_PAGES / "hznews_content_8686834.htm").read_text(encoding="utf-8")


def test_article_writer_commits_articles_in_batches(tmp_path):
    # how the item pipeline stores: each article a savepoint inside the writer's open batch
    db = dbmod.connect(tmp_path / "w.db")
    writer = ArticleWriter(db, max_seconds=600)  # batches of 1, 2, 4 … articles
    reader = sqlite3.connect(tmp_path / "w.db")
    seen = []
    for i in range(3):
        with writer.article():
            url = f"https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_868680{i}.htm"
            article_id, status = writer.store(Article(url=url, title=f"第{i}条消息", body=f"第{i}条消息的正文。" * 20))
            assert status == "new"
            writer.index(article_id)
        writer.done()
        seen.append(reader.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
        # the search entries are committed with their batch, none before, none after
        assert reader.execute("SELECT COUNT(*) FROM articles_search_state").fetchone()[0] == seen[-1]
    # the first article is committed alone, the next two together (not one commit per article)
    assert seen == [1, 1, 3]
    assert [r[0] for r in reader.execute("SELECT rowid FROM articles_search WHERE articles_search MATCH '消 息'")]
    reader.close()


def test_articles_of_a_batch_rolled_back_as_a_whole_are_reported_lost(tmp_path):
    db = dbmod.connect(tmp_path / "w.db")
    writer = ArticleWriter(db, max_seconds=600)  # batches of 1, 2, 4 … articles
    base = "https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_86868"
    # an error that ends the whole transaction, not just the statement (as SQLITE_FULL would)
    db.execute(
        f"CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.url = '{base}03.htm' "
        "BEGIN SELECT RAISE(ROLLBACK, 'disk trouble'); END"
    )
    lost = []

    def store(n):
        with writer.article():
            writer.store(Article(url=f"{base}{n:02d}.htm", title=f"第{n}条", body=f"第{n}条消息的正文。" * 20))
        writer.if_lost(lambda: lost.append(n))
        writer.done()

    store(1)  # committed alone
    store(2)  # the open batch of two
    with pytest.raises(sqlite3.IntegrityError):
        store(3)
    assert lost == [2]  # stored in the batch, rolled back with it: reported, not passed off as stored
    store(4)
    writer.commit()
    assert {r[0][-6:-4] for r in db.execute("SELECT url FROM articles")} == {"01", "04"}
    assert lost == [2]


def test_run_after_a_killed_run_walks_every_list(db):
    # a complete run, then one killed mid-crawl (its process is gone): what the killed run had in an
    # uncommitted batch or in flight is found again only by a walk that does not stop early
    ledger = CrawlLedger(db, "hznews")
    ledger.start_run()
    ledger.finish_run("ok", listing_complete=True)
    assert ledger.last_listing_complete()
    dead = subprocess.Popen(["true"])
    dead.wait()
    db_runs.start_run(db, "hznews", pid=dead.pid)
    ledger.start_run()
    killed = db.execute("SELECT status, ended FROM runs WHERE pid = ?", [dead.pid]).fetchone()
    assert killed[0] == "killed" and killed[1]
    assert not ledger.last_listing_complete()


def test_urls_given_up_in_one_query_are_those_given_up_one_by_one(db):
    base = "https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_"
    reasons = {"1": ["http_404"] * 3, "2": ["http_404", "http_410"], "3": ["timeout"] * 4, "4": ["empty_shell"] * 5}
    for n, rs in reasons.items():
        for r in rs:
            db_runs.record_failure(db, None, "hznews", f"{base}{n}.htm", r)
    urls = [f"{base}{n}.htm" for n in "123456"] * 2
    assert db_runs.given_up_urls(db, urls) == {u for u in urls if db_runs.given_up(db, u)} == {urls[0], urls[3]}


def test_multi_page_article_follows_all_pages_view_and_yields_one_item(db):
    spider = ChannelListSpider(source=SOURCES["hznews"], ledger=CrawlLedger(db, "hznews"), since=date(2024, 1, 1))
    url = "https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_8686834.htm"
    req = Request(url, meta={"article_url": url, "list_title": None, "list_date": "2024-02-19", "pages": []})
    out = list(spider.parse_article(resp(url, HZ_ARTICLE, request=req)))
    (follow,) = out
    assert follow.url == url.replace(".htm", "_0.htm")
    page0 = HZ_ARTICLE.replace(
        "</div>\n<ul",
        "<p>在人才方面，全年新引育顶尖人才15名、各类领军人才500名，引进35岁以下大学生35万名以上。</p></div>\n<ul",
    )
    (item,) = list(spider.parse_article(resp(follow.url, page0, request=follow)))
    assert item.url == url
    assert item.title.startswith("聚焦“深化改革、强基固本”主题年")
    assert item.published == "2024-02-19T11:35:00+08:00" and item.source_name == "杭州日报"
    assert item.body.count("2月18日下午") == 1 and "35万名以上" in item.body


def test_error_pages_become_failures_not_articles(db):
    spider = JcmsColumnSpider(source=SOURCES["gov-hrss"], ledger=CrawlLedger(db, "gov-hrss"), since=date(2024, 1, 1))
    url = "https://hrss.hangzhou.gov.cn/art/2025/3/18/art_1229782005_4338158.html"
    limited = (
        '<html><head><meta charset="utf-8"><title>提示信息</title></head><body>'
        "<div>访问过于频繁，请稍后再试</div></body></html>"
    )
    req = Request(url, meta={"article_url": url, "pages": []})
    assert list(spider.parse_article(resp(url, limited, request=req))) == []
    assert list(spider.parse_article(resp(url, "<html><body>not here</body></html>", request=req, status=404))) == []
    rows = [(r["url"], r["reason"]) for r in db.query("SELECT url, reason FROM fetch_failures ORDER BY id")]
    assert rows == [(url, "rate_limited"), (url, "http_404")]
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 0


def test_gbk_page_with_wrong_utf8_header_decodes():
    spider = ChannelListSpider(source=SOURCES["zjol-hz"], ledger=None, since=date(2024, 1, 1))
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>杭州新闻</title>'
        "</head><body><p>杭州市数据资源管理局发布“中国数谷”建设进展。</p></body></html>"
    ).encode("gbk")
    r = HtmlResponse(
        "https://zjnews.zjol.com.cn/zjnews/hznews/202402/t20240219_26000000.shtml",
        body=html,
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    text = spider.page_text(r)
    assert "中国数谷" in text and "\ufffd" not in text


def test_remap_sends_to_replica_and_restores_real_url():
    mw = RemapMiddleware(parse_remap(["hznews.hangzhou.com.cn=http://127.0.0.1:9/hznews.hangzhou.com.cn"]))
    real = "https://hznews.hangzhou.com.cn/xinzheng/index.htm?x=1"
    req = Request(real)
    mw.process_request(req)
    assert req.url == "http://127.0.0.1:9/hznews.hangzhou.com.cn/xinzheng/index.htm?x=1"
    out = mw.process_response(req, HtmlResponse(req.url, body=b"<html></html>", request=req))
    assert out.url == real and req.url == real
    other = Request("https://www.people.com.cn/")
    mw.process_request(other)
    assert other.url == "https://www.people.com.cn/"
    with pytest.raises(ValueError):
        parse_remap(["no-equals-sign"])


def test_store_article_once_changed_updated_and_syndicated_copies_grouped(db):
    body = (
        "2月18日下午，全市主题年推进大会召开。"
        "会议明确，今年杭州将重点实施12项改革项目，全年新建配售型保障性住房不少于6000套。"
    )
    a = Article(
        url="https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_8686834.htm",
        title="聚焦主题年 杭州全年重点推进12项改革项目",
        body=body,
        published="2024-02-19T11:35:00+08:00",
    )
    aid, st = db_articles.store_article(db, a)
    assert st == "new"
    assert db_articles.store_article(db, a) == (aid, "unchanged")
    assert db_articles.store_article(db, dataclasses.replace(a, body=body + "（完）")) == (aid, "updated")
    copy = dataclasses.replace(
        a,
        url="https://zjnews.zjol.com.cn/zjnews/hznews/202402/t20240219_26000000.shtml",
        title="聚焦主题年，杭州全年重点推进12项改革项目！",
        body="　　" + body,
    )
    cid, _ = db_articles.store_article(db, copy)
    other = dataclasses.replace(
        a,
        url="https://hznews.hangzhou.com.cn/chengshi/content/2024-02/19/content_8686900.htm",
        title="西湖景区2月接待游客120万人次",
        body="西湖景区春节期间客流平稳，景区各项服务保障有序。" * 3,
    )
    oid, _ = db_articles.store_article(db, other)
    story = {r["id"]: r["story_id"] for r in db.query("SELECT id, story_id FROM articles")}
    assert story[aid] == story[cid] != story[oid]
    assert db.execute("SELECT COUNT(*) FROM stories").fetchone()[0] == 2


def test_runs_layout_warning_after_k_empty_runs(db):
    for i in range(3):
        run = db_runs.start_run(db, "gov-kj")
        warn = db_runs.record_layout(db, "gov-kj", run, 0, threshold=3)
        assert (warn is not None) == (i == 2)
    assert "layout may have changed" in db.execute("SELECT layout_warning FROM sources WHERE id='gov-kj'").fetchone()[0]
    run = db_runs.start_run(db, "gov-kj")
    assert db_runs.record_layout(db, "gov-kj", run, 12, threshold=3) is None


def test_jcms_empty_dataproxy_falls_back_to_browser_pages(db):
    spider = JcmsColumnSpider(source=SOURCES["gov-www"], ledger=CrawlLedger(db, "gov-www"), since=date(2024, 1, 1))
    col_url = "https://www.hangzhou.gov.cn/col/col812262/index.html"
    params = {"webid": "149", "columnid": "812262", "unitid": "4832375", "perpage": "15", "total": "120"}
    proxy_url = "https://www.hangzhou.gov.cn/module/jpage/dataproxy.jsp?startrecord=16&endrecord=60&perpage=15"
    empty = b'<?xml version="1.0" encoding="UTF-8"?>\n<datastore></datastore>\n'
    r = TextResponse(
        proxy_url,
        body=empty,
        request=Request(
            proxy_url,
            meta={"col": {"col": 812262}, "params": params, "start": 16, "n": 45, "page": 2, "column_url": col_url},
        ),
    )
    (fallback,) = list(spider.parse_dataproxy(r))
    assert fallback.url == col_url + "?uid=4832375&pageNum=2"
    page2 = GOV_COLUMN.replace("/art/2024/5/11/art_812262_59096831.html", "/art/2024/3/1/art_812262_59090001.html")
    out = list(spider.parse_column(resp(fallback.url, page2, request=fallback)))
    assert out[0].url == "https://www.hangzhou.gov.cn/art/2024/3/1/art_812262_59090001.html"
    assert out[-1].url == col_url + "?uid=4832375&pageNum=3"


def test_spider_runs_record_counters_and_warn_when_selectors_keep_finding_nothing(db):
    url = "https://kj.hangzhou.gov.cn/col/col1693962/index.html"
    redesigned = "<html><body><div class='newlist'><p>栏目改版，敬请期待</p></div></body></html>"
    for _ in range(3):
        spider = JcmsColumnSpider(source=SOURCES["gov-kj"], ledger=CrawlLedger(db, "gov-kj"), since=date(2024, 1, 1))
        spider.open_run()  # what the item pipeline does in open_spider
        assert list(spider.parse_column(resp(url, redesigned, meta={"col": {"col": 1693962}, "page": 1}))) == []
        spider.closed("finished")
        run = db_runs.get_run(db, spider.run_id)
        assert run["status"] == "ok" and run["ended"] and run["pages_fetched"] == 1
    warning = db.execute("SELECT layout_warning FROM sources WHERE id = 'gov-kj'").fetchone()[0]
    assert warning and "layout may have changed" in warning
    # a killed run (still 'running', its process gone) is marked when the next run starts
    db.execute("INSERT INTO runs (source_id, started, status, pid) VALUES ('gov-kj', '2026-01-01', 'running', 999999)")
    JcmsColumnSpider(source=SOURCES["gov-kj"], ledger=CrawlLedger(db, "gov-kj"), since=date(2024, 1, 1)).open_run()
    assert db.execute("SELECT status FROM runs WHERE pid = 999999").fetchone()[0] == "killed"


def test_hrss_pages_by_param_json_on_the_column_page(db):
    spider = JcmsColumnSpider(source=SOURCES["gov-hrss"], ledger=CrawlLedger(db, "gov-hrss"), since=date(2024, 1, 1))
    col = SOURCES["gov-hrss"].config["columns"][0]
    assert col["paging"] == "param_json"
    url = "https://hrss.hangzhou.gov.cn/col/col1229782005/index.html"
    page = GOV_COLUMN.replace("/art/2024/5/11/art_812262_59096831.html", "/art/2025/3/18/art_1229782005_4338158.html")
    out = list(spider.parse_column(resp(url, page, meta={"col": col, "page": 1})))
    assert out[0].url == "https://hrss.hangzhou.gov.cn/art/2025/3/18/art_1229782005_4338158.html"
    nxt = out[-1]
    assert nxt.url.split("?")[0] == url
    assert json.loads(parse_qs(urlsplit(nxt.url).query)["paramJson"][0]) == {"pageNo": 2, "pageSize": 15}
    body = json.dumps(
        {
            "success": True,
            "data": {
                "html": "<div count='40'><ul><li><a href='/art/2025/2/1/"
                "art_1229782005_4330001.html' title='二月招聘'>二月</a><i>2025-02-01</i></li></ul></div>"
            },
        }
    )
    r = TextResponse(nxt.url, body=body.encode(), request=nxt)
    out = list(spider.parse_jpaas(r))
    assert out[0].url == "https://hrss.hangzhou.gov.cn/art/2025/2/1/art_1229782005_4330001.html"
    assert json.loads(parse_qs(urlsplit(out[1].url).query)["paramJson"][0])["pageNo"] == 3


def test_a_column_that_yields_nothing_where_it_used_to_is_named_in_the_layout_warning(db):
    ledger = CrawlLedger(db, "gov-www")
    db_runs.sync_sources(db, [SOURCES["gov-www"]])
    url = "https://www.hangzhou.gov.cn/col/col812266/index.html"
    col = {"col": 812266, "name": "部门动态", "api": "jpaas"}
    with_rows = (
        "<html><body><div count='1' pageNo='1'><ul class='ajax-ul'><li class='cf border-line'><a class='fl' "
        "href='/col/col812266/art/2025/art_0123456789abcdef0123456789abcdef.html'>部门动态一</a>"
        "<span class='fr'>2025-02-01</span></li></ul></div></body></html>"
    )
    redesigned = "<html><body><div class='new-list'><p>暂无内容</p></div></body></html>"
    warnings = []
    for page in (with_rows, redesigned, redesigned, with_rows):
        spider = JcmsColumnSpider(source=SOURCES["gov-www"], ledger=ledger, since=date(2024, 1, 1))
        spider.open_run()
        list(spider.parse_column(resp(url, page, meta={"col": col, "page": 1})))
        spider.closed("finished")
        warnings.append(db.execute("SELECT layout_warning FROM sources WHERE id = 'gov-www'").fetchone()[0])
    assert warnings[0] is None
    # at once, naming the column, and still on the next empty run; gone once it yields again
    assert warnings[1] == warnings[2] == "版面可能已改变：栏目「部门动态」(col812266)（此前 1 篇） 本次没有找到文章"
    assert warnings[3] is None


def test_the_issuing_body_is_the_publisher_not_the_author(db):
    """信息来源/发布机构 on a government page (and an organisation in meta author) is the publisher."""
    url = "https://www.hangzhou.gov.cn/art/2024/3/18/art_1229063401_1883633.html"
    page = (
        "<html><head><meta charset='utf-8'><meta name='ArticleTitle' content='市林水局召开2024年全市林业水利工作会议'>"
        "<meta name='PubDate' content='2024-03-18 10:00'><meta name='author' content='市林水局'></head><body>"
        "<div class='article'><h1>市林水局召开2024年全市林业水利工作会议</h1>"
        "<p>发布日期:2024-03-18 访问次数: 发布机构:市林水局</p><div id='zoom'>"
        "<p>3月18日，市林水局召开2024年全市林业水利工作会议，部署全年重点任务，深化改革、强基固本。</p>"
        "<p>会议要求各区县抓好落实，确保各项目标任务按期完成。记者 王晓燕</p></div></div></body></html>"
    )
    spider = JcmsColumnSpider(source=SOURCES["gov-www"], ledger=CrawlLedger(db, "gov-www"), since=date(2024, 1, 1))
    req = Request(url, meta={"article_url": url, "list_title": None, "list_date": None, "pages": []})
    (item,) = list(spider.parse_article(resp(url, page, request=req)))
    assert item.publisher == "市林水局"
    assert item.author != "市林水局"
    article_id, _ = db_articles.store_article(db, item)
    row = db_articles.get_article(db, article_id)
    assert (row["publisher"], row["author"]) == ("市林水局", item.author)
    no_label = page.replace("发布机构:市林水局", "")
    (item,) = list(spider.parse_article(resp(url, no_label, request=req)))
    assert (item.publisher, item.author) == ("市林水局", "王晓燕")  # the meta author was an organisation
