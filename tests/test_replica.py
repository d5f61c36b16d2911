"""The replica sites behave like the real ones as SITES.md describes them (markup, paging, traps, log)."""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
import traceback
import urllib.parse
from urllib.parse import urljoin

from support_replica import fetch, start_replica_process
from support_wait import wait_until

from replica import badcases
from replica.model import Site

HZ = "https://hznews.hangzhou.com.cn"
WWW = "https://www.hangzhou.gov.cn"
CDATA_LI = re.compile(r"<record><!\[CDATA\[\s*(.*?)\s*\]\]></record>", re.S)
HREF = re.compile(r"""href=["']([^"']+)["']""")


def text(server, url, **kw):
    status, headers, body = fetch(server, url, **kw)
    return status, headers, body.decode("utf-8")


def arts(server, **match):
    return [a for a in server.articles() if all(a[k] == v for k, v in match.items())]


# ---- 杭州网 -------------------------------------------------------------------------------------------
def test_hznews_list_pages_links_and_pager(replica):
    status, headers, page = text(replica, f"{HZ}/chengshi/index.htm")
    assert status == 200
    links = HREF.findall(page)
    resolved = [urljoin(f"{HZ}/chengshi/index.htm", h) for h in links]
    # the three link forms of the real lists, all resolving into the channel's article URLs
    assert any(h.startswith("content/") for h in links)
    assert any(h.startswith("/chengshi/content/") for h in links)
    assert any(h.startswith(f"{HZ}/chengshi/content/") for h in links)
    truth = {a["url"] for a in arts(replica, family="hznews", where="chengshi")}
    listed = {u for u in resolved if re.match(rf"{HZ}/chengshi/content/\d{{4}}-\d{{2}}/\d{{2}}/content_\d+\.htm$", u)}
    assert len(listed) == 20 and listed <= truth
    assert 'href="index_1.htm"' in page and "共2页" in page
    assert (
        "https://news.hangzhou.com.cn/" in page
        and "https://z.hangzhou.com.cn/" in page
        and "https://www.zjol.com.cn/" in page
    )
    assert "127.0.0.1" not in page
    status, _, page2 = text(replica, f"{HZ}/chengshi/index_1.htm")
    listed2 = {urljoin(f"{HZ}/chengshi/index_1.htm", h) for h in HREF.findall(page2) if "content_" in h}
    listed2 = {u for u in listed2 if u.startswith(f"{HZ}/chengshi/")}
    assert status == 200 and listed | listed2 == truth and not listed & listed2
    assert fetch(replica, f"{HZ}/chengshi/index_2.htm")[0] == 404
    node_url = f"{HZ}/xinzheng/yaolan/node_15890.htm"
    status, _, node = text(replica, node_url)
    on_node = {urljoin(node_url, h) for h in HREF.findall(node) if "content_" in h and "hznews" in urljoin(node_url, h)}
    assert status == 200 and any(h.startswith("../content/") for h in HREF.findall(node))
    assert on_node and on_node <= {a["url"] for a in arts(replica, family="hznews", where="xinzheng")}


def test_hznews_article_markup_and_multipage(replica):
    a = next(x for x in arts(replica, family="hznews") if x["title"].startswith("聚焦“深化改革"))
    assert a["pages"] == 2
    assert re.search(r"/xinzheng/content/2024-02/19/content_(\d{7})\.htm$", a["url"])
    assert 8_660_000 <= int(a["url"].rsplit("_", 1)[1][:-4]) <= 8_860_000
    status, headers, page = text(replica, a["url"])
    assert status == 200 and "charset=utf-8" in page
    assert f"<title>{a['title']} - 时政_杭州网</title>" in page
    assert '<meta name="publishdate" content="2024-02-19 11:35:00" />' in page
    assert '<meta name="source" content="杭州日报" />' in page
    for chrome in ("设为首页", "新闻热线", "分享到:"):
        assert chrome in page
    assert re.search(r"2024-02-19 11:35:00 来源:<a[^>]*>杭州日报</a>", page)
    assert re.search(r"【来源:杭州日报\s+作者:郑晖\s+编辑:高婷婷】", page)
    stem = a["url"].rsplit("/", 1)[1][:-4]
    assert f'<li class="page-all"><a href="{stem}_0.htm">' in page and f'href="{stem}_2.htm"' in page
    p2 = text(replica, a["url"].replace(".htm", "_2.htm"))[2]
    full = text(replica, a["url"].replace(".htm", "_0.htm"))[2]

    def body(html):
        return re.findall(r"<p>(.*?)</p>", html.split("<!--enpcontent-->")[1].split("<!--/enpcontent-->")[0])

    assert body(page) and body(p2) and set(body(page)).isdisjoint(body(p2))
    assert body(full) == body(page) + body(p2)
    assert 'class="pages"' not in full


# ---- 中国杭州 JCMS ------------------------------------------------------------------------------------
def _records(html: str) -> list[str]:
    return CDATA_LI.findall(html)


def test_gov_column_script_xml_traps_and_no_charset(replica):
    status, headers, page = text(replica, f"{WWW}/col/col812262/index.html")
    assert status == 200 and headers["Content-Type"] == "text/html"
    assert '<script type="text/xml"><datastore>' in page
    for key, value in (("webid", "149"), ("columnid", "812262"), ("unitid", "4832375")):
        assert f"{key}: '{value}'" in page
    recs = _records(page)
    assert len(recs) == 15 and all(r.startswith('<li class="clearfix"><a href=') for r in recs)
    assert "[置顶]" in recs[0] and "[置顶]" not in "".join(recs[1:])
    assert len(recs) != len(set(recs)), "the duplicate row of the real lists is missing"
    assert any("https://www.zjzwfw.gov.cn/" in r for r in recs)
    assert re.search(r"<span>\d{4}-\d{2}-\d{2}</span></li>$", recs[1])
    total = int(re.search(r"totalRecord: (\d+)", page).group(1))
    assert total == len(arts(replica, host="www.hangzhou.gov.cn", where="812262")) + 3  # + pinned, dup, external
    # the browser pager's own URL form: index.html?uid=UNIT&pageNum=N
    page2 = _records(text(replica, f"{WWW}/col/col812262/index.html?uid=4832375&pageNum=2")[2])
    proxy = _records(
        text(
            replica,
            f"{WWW}/module/jpage/dataproxy.jsp?startrecord=16&endrecord=30&perpage=15",
            data=b"webid=149&columnid=812262&unitid=4832375",
        )[2]
    )
    assert page2 == proxy and len(page2) == min(15, total - 15) and not set(page2) & set(recs)


def test_gov_dataproxy_pages_through_every_record(replica):
    form = (
        "col=1&appid=1&webid=149&path=/&columnid=812262&sourceContentType=1&unitid=4832375"
        "&webname=%E6%9D%AD%E5%B7%9E%E5%B8%82%E4%BA%BA%E6%B0%91%E6%94%BF%E5%BA%9C%E9%97%A8%E6%88%B7%E7%BD%91%E7%AB%99&permissiontype=0"
    )
    hdr = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    seen, start = [], 1
    while True:
        url = f"{WWW}/module/jpage/dataproxy.jsp?startrecord={start}&endrecord={start + 44}&perpage=15"
        status, headers, xml = text(replica, url, data=form.encode(), headers=hdr)
        assert status == 200 and "charset" not in headers["Content-Type"]
        total = int(re.search(r"<totalrecord>(\d+)</totalrecord>", xml).group(1))
        recs = _records(xml)
        if not recs:
            break
        seen += recs
        start += 45
    assert len(seen) == total
    urls = {urljoin(WWW + "/", HREF.search(r).group(1)) for r in seen}
    truth = {a["url"] for a in arts(replica, host="www.hangzhou.gov.cn", where="812262")}
    assert truth < urls
    assert any(re.search(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_812262_\d+\.html$", u) for u in urls)
    assert any(re.search(r"/col/col812262/art/\d{4}/art_[0-9a-f]{32}\.html$", u) for u in urls)
    # a request JCMS cannot validate gets an empty datastore, as on the real sites
    _, _, empty = text(
        replica,
        f"{WWW}/module/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15",
        data=form.replace("webid=149", "webid=1").encode(),
        headers=hdr,
    )
    assert "<record>" not in empty and "<totalrecord>" not in empty
    # GET with the form in the query string (gjj style) works too
    _, _, got = text(replica, f"{WWW}/module/jpage/dataproxy.jsp?startrecord=1&endrecord=15&perpage=15&{form}")
    assert len(_records(got)) == 15


def test_gov_row_variants(replica):
    hrss = _records(text(replica, "https://hrss.hangzhou.gov.cn/col/col1229782005/index.html")[2])
    assert re.match(
        r'<li><b>·</b><a href="[^"]+" target="_blank" title="[^"]+">.*</a><i>\d{4}-\d{2}-\d{2}</i></li>$', hrss[1]
    )
    assert any("zjhrss.gov.cn" in r for r in hrss)
    ab = _records(text(replica, f"{WWW}/col/col1229063385/index.html")[2])
    assert re.match(r'<a title="[^"]+" target="_blank" href="[^"]+">.*</a><b>\d{4}-\d{2}-\d{2}</b>$', ab[1])
    kj = _records(text(replica, "https://kj.hangzhou.gov.cn/col/col1693962/index.html")[2])
    assert '<span style="float:right;color:#999999;">' in kj[1]
    dot = _records(text(replica, f"{WWW}/col/col812255/index.html")[2])
    assert dot[1].startswith("·<a target='_blank' title='") and dot[1].endswith("<br>")
    for host, col in (("fgj", 1229404539), ("sgb", 1229346678), ("gzw", 1689580), ("data", 1229100001)):
        status, headers, page = text(replica, f"https://{host}.hangzhou.gov.cn/col/col{col}/index.html")
        assert status == 200 and headers["Content-Type"] == "text/html" and _records(page)


def test_gov_jpaas_json_api(replica):
    base = (
        f"{WWW}/api-gateway/jpaas-publish-server/front/page/build/unit?parseType=bulidstatic&webId=149&tplSetId=5"
        "&pageType=column&tagId=%E7%BB%84%E9%85%8D%E5%88%86%E7%B1%BBlist&editType=null&pageId=812266&paramJson="
    )
    pages, total = [], None
    for n in (1, 2, 3):
        status, _, body = text(replica, base + urllib.parse.quote(json.dumps({"pageNo": n, "pageSize": 10})))
        doc = json.loads(body)
        assert status == 200 and doc["success"] is True
        html = doc["data"]["html"]
        assert f"pageNo='{n}'" in html and "<ul class='ajax-ul'>" in html
        total = int(re.search(r"count='(\d+)'", html).group(1))
        pages.append(
            re.findall(
                r"<li class='cf border-line'><a class='fl' href='([^']+)'[^>]*>[^<]+</a>"
                r"<span class='fr'>(\d{4}-\d{2}-\d{2})</span></li>",
                html,
            )
        )
    assert len(pages[0]) == 10 and pages[0] != pages[1]
    assert sum(len(p) for p in pages) == total
    assert any(re.match(r"/col/col812266/art/20\d\d/art_[0-9a-f]{32}\.html$", h) for p in pages for h, _ in p)
    # hrss answers the same paramJson appended to the column page itself
    status, _, body = text(
        replica,
        "https://hrss.hangzhou.gov.cn/col/col1229782005/index.html?paramJson="
        + urllib.parse.quote('{"pageNo":1,"pageSize":5}'),
    )
    assert json.loads(body)["success"] and body.count("border-line") == 5


def test_gov_articles_both_generations(replica):
    old = next(a for a in arts(replica, host="www.hangzhou.gov.cn", where="1229063385") if "总部经济" in a["title"])
    assert re.search(r"/art/2024/7/3/art_1229063385_\d+\.html$", old["url"])
    status, headers, page = text(replica, old["url"])
    assert status == 200 and headers["Content-Type"] == "text/html"
    assert f'<meta name="ArticleTitle" content="{old["title"]}">' in page
    assert (
        '<meta name="PubDate" content="2024-07-03 10:30">' in page
        and '<meta name="ContentSource" content="市政府办公厅">' in page
    )
    assert '<table class="xxgkinfo"' in page and '<div class="article">' in page and '<div id="zoom">' in page
    assert re.search(r"时间：2024-07-03 10:30(&nbsp;)+来源：市政府办公厅(&nbsp;)+浏览次数：", page)
    new = next(
        a for a in arts(replica, host="www.hangzhou.gov.cn", where="812266") if "/col/col812266/art/" in a["url"]
    )
    status, headers, page = text(replica, new["url"])
    assert status == 200 and "charset" not in headers["Content-Type"]
    assert '<meta name="ArticleTitle"' in page and '<div class="article">' not in page and 'id="zoom"' not in page
    sgb = arts(replica, host="sgb.hangzhou.gov.cn")[0]
    assert re.search(r"发布日期:\d{4}-\d{2}-\d{2}访问次数:", text(replica, sgb["url"])[2])


def test_hrss_rate_limit_page_with_status_200(fresh_replica):
    url = "https://hrss.hangzhou.gov.cn/col/col1229782005/index.html"
    first, second, third = (fetch(fresh_replica, url) for _ in range(3))
    assert first[0] == second[0] == third[0] == 200
    assert "访问过于频繁" not in first[2].decode() and "访问过于频繁，请稍后再试" in second[2].decode()
    assert "<recordset>" in third[2].decode()
    fresh_replica.reset()  # clearing the log does not rearm the trap...
    assert "访问过于频繁" not in fetch(fresh_replica, url)[2].decode()
    fresh_replica.set_rate_limit(1)  # ...setting it does
    assert "访问过于频繁" in fetch(fresh_replica, url)[2].decode()
    fresh_replica.set_rate_limit(0)
    assert all("访问过于频繁" not in fetch(fresh_replica, url)[2].decode() for _ in range(3))


# ---- e-papers ---------------------------------------------------------------------------------------
def test_epaper_day_page_article_chain(replica):
    a = next(x for x in arts(replica, family="epaper") if x["title"] == "杭州为具身智能机器人立法 5月1日起施行")
    assert a["url"] == "https://hzdaily.hangzhou.com.cn/dskb/2026/03/29/article_detail_2_20260329A031.html"
    day = "https://hzdaily.hangzhou.com.cn/dskb/2026/03/29/"
    status, _, plist = text(replica, day + "page_list_20260329.html")
    m = re.findall(r'<a[^>]*href="([^"]+\.html)"[^>]*title="[^"]+"[^>]*>第([A-Z0-9]+)版：([^<]+)</a>', plist)
    assert status == 200 and ("page_detail_2_20260329A03.html", "A03", m[0][2]) in m or any(x[1] == "A03" for x in m)
    detail = text(replica, day + "page_detail_2_20260329A03.html")[2]
    assert 'src="article_list_2_20260329A03.html"' in detail and 'src="page_view_2_20260329A03.html"' in detail
    alist = text(replica, day + "article_list_2_20260329A03.html")[2]
    assert '<a href="article_detail_2_20260329A031.html" target="_parent">' in alist
    page = text(replica, a["url"])[2]
    assert "<title>杭州为具身智能机器人立法 5月1日起施行_都市快报</title>" in page
    assert "<h3>全国首部</h3>" in page and "<h1>杭州为具身智能机器人立法 5月1日起施行</h1>" in page
    assert '<p class="date">2026-03-29</p>' in page and '<div class="content">' in page
    assert "<p>\u3000\u3000" in page and "返回主页" in page


def test_epaper_missing_days(replica):
    issues = {ymd for (paper, ymd) in replica.site.issues if paper == "hzrb"}
    empty = [d for d in (f"202402{x:02d}" for x in range(1, 29)) if d not in issues]
    even = next(d for d in empty if int(d[-2:]) % 2 == 0)
    odd = next(d for d in empty if int(d[-2:]) % 2 == 1)
    for d, want in ((even, 404), (odd, 200)):
        status, _, page = text(
            replica, f"https://hzdaily.hangzhou.com.cn/hzrb/{d[:4]}/{d[4:6]}/{d[6:]}/page_list_{d}.html"
        )
        assert status == want and "<title>404页面</title>" in page


# ---- 浙江在线 --------------------------------------------------------------------------------------------
def test_zjol_list_and_encodings(replica):
    status, headers, page = text(replica, "https://zjnews.zjol.com.cn/zjnews/hznews/index.shtml")
    assert status == 200 and "您当前的位置" in page
    listed = re.findall(r'href="(/zjnews/hznews/\d{6}/t\d{8}_\d{8}\.shtml)"', page)
    assert listed
    z = arts(replica, family="zjol")
    gbk = [a for a in z if a["encoding"] == "gbk"]
    assert len(gbk) >= 2 and any(a["encoding"] == "utf-8" for a in z)
    wrong = 0
    for a in gbk:
        status, headers, body = fetch(replica, a["url"])
        assert b"charset=gb2312" in body and body.decode("gbk").count(a["title"]) >= 2
        try:
            body.decode("utf-8")
            raise AssertionError("GBK page decodes as UTF-8")
        except UnicodeDecodeError:
            pass
        wrong += headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Content-Type"] in ("text/html", "text/html; charset=utf-8")
    assert wrong == 1
    page = text(replica, next(a for a in z if "35岁以下大学生28.6万人" in a["title"])["url"])[2]
    assert re.search(r"2024年08月21日 11:49:52</span> 来源: <span[^>]*>杭州日报", page)


# ---- HTTP behaviour ---------------------------------------------------------------------------------
def test_conditional_requests_and_publish(fresh_replica):
    srv = fresh_replica
    url = f"{HZ}/jingji/index.htm"
    status, headers, body = fetch(srv, url)
    etag, lastmod = headers["ETag"], headers["Last-Modified"]
    assert fetch(srv, url, headers={"If-None-Match": etag})[0] == 304
    assert fetch(srv, url, headers={"If-Modified-Since": lastmod})[0] == 304
    gov = f"{WWW}/col/col812262/index.html"
    gov_etag = fetch(srv, gov)[1]["ETag"]
    before = len(srv.articles())
    new = srv.publish(4)
    assert len(new) == 4 and len(srv.articles()) == before + 4
    status, headers, body = fetch(srv, url, headers={"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    assert fetch(srv, url, headers={"If-Modified-Since": lastmod})[0] == 200
    assert fetch(srv, gov, headers={"If-None-Match": gov_etag})[0] == 304  # other lists untouched
    tops = {
        ch: urljoin(
            f"{HZ}/{ch}/index.htm",
            re.findall(r'<li><a href="([^"]+)" target="_blank" title=', fetch(srv, f"{HZ}/{ch}/index.htm")[2].decode())[
                0
            ],
        )
        for ch in ("xinzheng", "chengshi", "jingji", "shehui")
    }
    assert set(new) == set(tops.values()), "published articles must head their channel lists"
    for u in new:
        assert fetch(srv, u)[0] == 200
    for target in ("gov/www.hangzhou.gov.cn/812262", "zjol", "epaper/dskb"):
        (u,) = srv.publish(1, target)
        assert fetch(srv, u)[0] == 200, (target, u)
    assert fetch(srv, gov, headers={"If-None-Match": gov_etag})[0] == 200
    # over HTTP too
    req = urllib.request.Request(f"{srv.base_url}/__replica__/publish?n=2&target=hznews/shehui", data=b"")
    assert len(json.loads(urllib.request.urlopen(req).read())) == 2


def test_request_log_unknown_hosts_and_robots(replica):
    fetch(replica, "https://evil.example.com/collect.htm", headers={"User-Agent": "hzwatch-test"})
    fetch(replica, f"{HZ}/robots.txt")
    log = replica.requests()
    assert [e["status"] for e in log] == [404, 200]
    assert log[0]["host"] == "evil.example.com" and log[0]["path"] == "/collect.htm"
    assert log[0]["headers"]["User-Agent"] == "hzwatch-test"
    over_http = json.loads(urllib.request.urlopen(f"{replica.base_url}/__replica__/requests").read())
    assert over_http == log
    urllib.request.urlopen(urllib.request.Request(f"{replica.base_url}/__replica__/reset", data=b""))
    assert replica.requests() == []
    robots = fetch(replica, f"{WWW}/robots.txt")[2].decode()
    assert "Disallow: /module/download/" in robots and "Disallow: /\n" not in robots
    assert len(replica.remap_args()) == len(replica.hosts) >= 10
    assert all(r == f"{h}={replica.base_url}/{h}" for r, h in zip(replica.remap_args(), replica.hosts, strict=True))


def test_pages_carry_only_real_links(replica):
    urls = [
        f"{HZ}/shehui/index.htm",
        f"{WWW}/col/col812266/index.html",
        "https://zjnews.zjol.com.cn/zjnews/hznews/index.shtml",
    ]
    urls += [a["url"] for a in replica.articles()[::25]]
    for u in urls:
        assert b"127.0.0.1" not in fetch(replica, u)[2], u


# ---- bad-input corpus -------------------------------------------------------------------------------
SLOW = {"hang", "hang_after_headers", "trickle"}


def raw_get(srv, local_path: str, timeout: float = 5):
    """GET without following redirects or decoding; errors come back as the exception's name."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        conn.request("GET", local_path)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    except Exception as exc:  # broken transfers must break the client, not the server
        return type(exc).__name__, {}, b""
    finally:
        conn.close()


def test_badcase_corpus_served(fresh_replica):
    srv = fresh_replica
    corpus = badcases.corpus()
    cases = corpus["cases"]
    assert len(cases) >= 50 and len({c["path"] for c in cases}) == len(cases)
    assert {c["expect"] for c in cases} <= set(corpus["expect_values"])
    index = fetch(srv, f"{HZ}{corpus['list']}")[2].decode()
    assert all(f'href="{c["path"]}"' in index for c in cases)
    by_kind = {}
    for c in cases:
        if c["kind"] in SLOW:
            continue
        by_kind.setdefault(c["kind"], []).append((c, *raw_get(srv, f"/{corpus['host']}{c['path']}")))
    assert not [
        e
        for e in srv.requests()
        if e["status"] == 500 and e["path"] != next(c["path"] for c in cases if c.get("status") == 500)
    ], "a bad case crashed the replica"
    for c, status, headers, _body in by_kind["status"]:
        assert status == c["status"]
        if c.get("retry_after"):
            assert headers["Retry-After"] == str(c["retry_after"])
    gbk = next(r for r in by_kind["charset"] if r[0]["id"] == "bad002")
    assert (
        gbk[2]["Content-Type"] == "text/html; charset=utf-8" and gbk[3].decode("gbk").count("GBK页面错误声明UTF-8") >= 2
    )
    huge = by_kind["huge"][0]
    assert len(huge[3]) >= 20 * 1024 * 1024
    (loop,) = [r for r in by_kind["redirect"] if r[0]["to"] == "self"]
    assert loop[1] == 302 and loop[2]["Location"] == f"{HZ}{loop[0]['path']}"
    (pair,) = by_kind["redirect_pair"]
    assert raw_get(srv, f"/{corpus['host']}{pair[2]['Location']}")[1]["Location"] == pair[0]["path"]
    assert [r[1] for r in by_kind["short_body"] + by_kind["broken_chunked"]] == ["IncompleteRead", "IncompleteRead"]
    assert by_kind["reset"][0][1] in ("RemoteDisconnected", "ConnectionResetError")
    assert by_kind["binary"][0][2]["Content-Type"] == "image/png" and by_kind["binary"][0][3].startswith(b"\x89PNG")
    bomb = srv.requests()
    assert any(
        e["path"].endswith(by_kind["gzip_bomb"][0][0]["path"].rsplit("/", 1)[1]) and e["bytes"] < 2_000_000
        for e in bomb
    )
    soft = [r for r in by_kind["soft"] if r[0]["expect"] == "rate_limited"]
    assert all(r[1] == 200 and "访问过于频繁" in r[3].decode() for r in soft)


def _stalled_handlers() -> int:
    """Server threads (this process) now inside the hanging bad case (replica.badcases._stall)."""
    return sum(
        any(frame.f_code.co_name == "_stall" for frame, _ in traceback.walk_stack(top))
        for top in sys._current_frames().values()
    )


def test_hanging_case_does_not_block_the_server(fresh_replica):
    srv = fresh_replica
    hang = next(c for c in badcases.corpus()["cases"] if c["kind"] == "hang")
    results = {}

    def stall():
        try:
            fetch(srv, f"{HZ}{hang['path']}", timeout=1)
        except Exception as exc:
            results["hang"] = type(exc).__name__

    threads = [threading.Thread(target=stall) for _ in range(3)]
    for t in threads:
        t.start()
    wait_until(lambda: _stalled_handlers() >= 3, 10, "three requests stalled in the hanging case")
    # answered while three handlers hang (a blocked server would let this request time out)
    assert fetch(srv, f"{HZ}/xinzheng/index.htm", timeout=2)[0] == 200
    for t in threads:
        t.join()
    assert results["hang"] in ("TimeoutError", "URLError", "timeout", "RemoteDisconnected")


# ---- generator and CLI --------------------------------------------------------------------------------
def test_large_generator_is_deterministic():
    # (its speed is printed by benchmarks/bench_crawl.py, not timed here: a loaded machine failed it)
    a, b = Site(5000, seed=7), Site(5000, seed=7)

    def urls(s):
        return sorted(f"https://{x.host}{x.path}" for x in s.all_articles())

    assert urls(a) == urls(b) and len(urls(a)) > 5000
    assert urls(Site(200, seed=8)) != urls(Site(200, seed=7))
    assert sum(len(v) for v in a.hz_lists.values()) > 1500
    assert max(len(v) for v in a.col_lists.values()) > 200


def test_cli_prints_base_url_and_remap_then_serves():
    proc = start_replica_process(articles=30, seed=1)
    try:
        assert proc.base_url.startswith("http://127.0.0.1:")
        assert f"hznews.hangzhou.com.cn={proc.base_url}/hznews.hangzhou.com.cn" in proc.remap_args()
        status, _, body = fetch(proc, f"{HZ}/xinzheng/index.htm")
        assert status == 200 and "时政_杭州网" in body.decode()
        assert [e["path"] for e in proc.requests()] == ["/xinzheng/index.htm"]
        (new,) = proc.publish(1)
        assert fetch(proc, new)[0] == 200
    finally:
        proc.stop()
