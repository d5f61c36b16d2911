"""scrapers/spiders/jpaas.py: every plausible form of a jpaas column page's list request is read
(literal or variable parameters, quotes, $.ajax/$.get/$.post/fetch, GET, form or JSON bodies), and
the request the spider makes from it is answered by the replica's jpaas API with the column's rows."""

from __future__ import annotations

import json
import urllib.request
from datetime import date

import pytest
import scrapy
from scrapy.http import HtmlResponse, Request

import db as dbmod
from db.writer import CrawlLedger
from scrapers.sources import load_sources
from scrapers.spiders import JcmsColumnSpider
from scrapers.spiders.jpaas import read_unit_call

API = "/api-gateway/jpaas-publish-server/front/page/build/unit"
PAGE = "https://www.hangzhou.gov.cn/col/col812266/index.html"
ROW = (
    "<div class='list-main'><div count='23' pageNo='1'><ul class='ajax-ul'><li class='cf border-line'>"
    "<a class='fl' href='/col/col812266/art/2025/art_0123456789abcdef0123456789abcdef.html'>部门动态一</a>"
    "<span class='fr'>2025-02-01</span></li></ul></div></div>"
)

# (name, script, method, body kind, paging)
VARIANTS = [
    (
        "literal-object-single-quotes",
        f"var jpaasUnit = {{ url: '{API}', webId: '149', tplSetId: '5', pageId: '812266', pageSize: 10 }};"
        "function loadPage(n){ $.get(jpaasUnit.url, $.extend({}, jpaasUnit, {paramJson: JSON.stringify("
        "{pageNo: n, pageSize: jpaasUnit.pageSize})})); }",
        "GET",
        "query",
        "paramJson",
    ),
    (
        "ajax-double-quotes-quoted-keys",
        f'$.ajax({{"url": "{API}", "type": "GET", "data": {{"parseType": "bulidstatic", "webId": "149", '
        '"tplSetId": "5", "pageType": "column", "pageId": "812266", '
        '"paramJson": "{\\"pageNo\\":1,\\"pageSize\\":10}"}}});',
        "GET",
        "query",
        "paramJson",
    ),
    (
        "variables",
        f'var apiUrl = "{API}"; var siteId = "149"; let tpl = 5; const columnId = \'812266\'; var size = 10;'
        "var webId = siteId;"
        "$.get(apiUrl, {webId: webId, tplSetId: tpl, pageId: columnId, paramJson: JSON.stringify("
        "{pageNo: 1, pageSize: size})});",
        "GET",
        "query",
        "paramJson",
    ),
    (
        "config-members-fetch-json-post",
        "var cfg = {wid: 149, tpl: '5', col: \"812266\"};"
        f"fetch('{API}', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},"
        " body: JSON.stringify({webId: cfg.wid, tplSetId: cfg.tpl, pageId: cfg.col, pageNo: 1, pageSize: 10})});",
        "POST",
        "json",
        "flat",
    ),
    (
        "query-string-concatenation-post-form",
        "var siteId = 149, colId = '812266'; var tplSetId = \"5\";"
        f'$.ajax({{url: "{API}?parseType=bulidstatic&webId=" + siteId + "&tplSetId=" + tplSetId'
        ' + "&pageType=column&pageId=" + colId, type: "post", data: {paramJson: p}});',
        "POST",
        "form",
        "paramJson",
    ),
    (
        "dollar-post-literal",
        f"$.post(\"{API}\", {{'webId': '149', 'tplSetId': '5', 'pageId': '812266', 'paramJson': q}}, render);",
        "POST",
        "form",
        "paramJson",
    ),
]


@pytest.mark.parametrize("name,script,method,body,paging", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_every_form_of_the_unit_request_is_read(name, script, method, body, paging):
    call = read_unit_call(f"<html><body>{ROW}<script>{script}</script></body></html>", PAGE)
    assert call is not None, name
    assert call.url == "https://www.hangzhou.gov.cn" + API
    assert call.params["webId"] == "149" and call.params["pageId"] == "812266", call.params
    assert call.params["tplSetId"] == "5"
    assert (call.method, call.body, call.paging) == (method, body, paging)


def test_a_page_without_a_jpaas_call_says_so():
    assert read_unit_call("<script>var webId = 3;$.get('/module/jpage/dataproxy.jsp')</script>", PAGE) is None
    assert read_unit_call(f"<script src='{API}'></script>", PAGE) is None


@pytest.mark.parametrize("name,script,method,body,paging", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_the_spider_asks_page_two_the_way_the_page_does_and_the_replica_answers(
    name, script, method, body, paging, tmp_path, replica
):
    source = next(s for s in load_sources() if s.id == "gov-www")
    spider = JcmsColumnSpider(
        source=source, ledger=CrawlLedger(dbmod.connect(tmp_path / "t.db"), "gov-www"), since=date(2024, 1, 1)
    )
    html = f"<html><body>{ROW}<script>{script}</script></body></html>"
    meta = {"col": {"col": 812266, "name": "部门动态"}, "page": 1}
    resp = HtmlResponse(
        PAGE, body=html.encode(), request=Request(PAGE, meta=meta), headers={"Content-Type": "text/html"}
    )
    out = [r for r in spider.parse_column(resp) if isinstance(r, scrapy.Request)]
    api = [r for r in out if API in r.url]
    assert len(api) == 1, [r.url for r in out]
    req = api[0]
    assert req.method == method
    sent = urllib.request.Request(
        replica.url(req.url),
        data=req.body or None,
        method=req.method,
        headers={k.decode(): v[0].decode() for k, v in req.headers.items()},
    )
    with urllib.request.urlopen(sent, timeout=10) as r:
        answer = json.loads(r.read())
    assert answer["success"] is True and "/col/col812266/art/" in answer["data"]["html"], answer
    assert "pageNo='2'" in answer["data"]["html"] or 'pageNo="2"' in answer["data"]["html"]
