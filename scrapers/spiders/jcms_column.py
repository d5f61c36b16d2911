"""Hanweb (大汉) JCMS column strategy: first page as XML records inside <script type="text/xml">,
further pages from dataproxy.jsp (parameters read from the pager script), or the newer jpaas
JSON list API; both article URL generations (SITES.md §2.1–2.5)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from urllib.parse import urlencode, urljoin

import scrapy
from lxml import etree
from lxml import html as lxml_html
from scrapy.http import Response

from scrapers.spiders.base import ListItem, SourceSpider
from scrapers.spiders.jpaas import UnitCall, read_unit_call

_DATASTORE = re.compile(r"<script[^>]*type=[\"']text/xml[\"'][^>]*>(.*?)</script>", re.S | re.I)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})")
# jpaas fragment: <div ... count='2902' pageNo='1' pageSize='10'>
_JP_COUNT = re.compile(r"\bcount\s*=\s*[\"'](\d+)[\"']")
# pager script keys of the old JCMS (jpage) and of jpaas unit loaders
_PAGER_KEYS = {
    "perpage": r"perPage\s*[:=]\s*['\"]?(\d+)",
    "total": r"totalRecord\s*[:=]\s*['\"]?(\d+)",
    "webid": r"\bwebid\s*[:=]\s*['\"]?(\d+)",
    "columnid": r"\bcolumnid\s*[:=]\s*['\"]?(\d+)",
    "unitid": r"\bunitid\s*[:=]\s*['\"]?(\d+)",
    "webname": r"\bwebname\s*[:=]\s*['\"]([^'\"]*)['\"]",
    "proxy": r"proxyUrl\s*[:=]\s*['\"]([^'\"]+)['\"]",
}


def pager_params(text: str) -> dict:
    """webid/columnid/unitid/perpage/total/webname from the column page's jpage script."""
    out = {}
    for key, rx in _PAGER_KEYS.items():
        m = re.search(rx, text, re.I)
        if m:
            out[key] = m.group(1)
    return out


class JcmsColumnSpider(SourceSpider):
    """Walk JCMS columns: column page -> dataproxy.jsp / jpaas pages; fetch unknown articles."""

    strategy = "jcms_column"

    def initial_requests(self) -> Iterator[scrapy.Request]:
        for col in self.cfg["columns"]:
            url = f"https://{self.source.site}" + self.cfg["column_url"].format(col=col["col"])
            yield scrapy.Request(
                url,
                callback=self.parse_column,
                errback=self.list_error,
                dont_filter=True,
                meta={"col": col, "page": 1, "conditional": True},
            )

    # ------------------------------------------------------------------ record parsing
    def parse_records(self, fragments: list[str], base_url: str) -> tuple[list[ListItem], int, int]:
        """(article items, records seen, external/other links skipped) from record HTML fragments."""
        items: dict[str, ListItem] = {}
        marker = self.cfg.get("pinned_marker") or "置顶"
        seen = skipped = 0
        for frag in fragments:
            try:
                root = lxml_html.fragment_fromstring(frag, create_parent="div")
            except (etree.ParserError, ValueError):  # an empty or non-HTML answer: no links
                continue
            for li in _rows(root):
                a = next(
                    (
                        x
                        for x in li.iter("a")
                        if (x.get("href") or "").strip() and not x.get("href").lower().endswith(".pdf")
                    ),
                    None,
                )
                if a is None:
                    continue
                seen += 1
                url = urljoin(base_url, a.get("href").strip())
                if not self.is_article_url(url):
                    skipped += 1
                    continue
                url = self.canonical(url)
                title = (a.get("title") or a.text_content() or "").strip()
                row_text = li.text_content() if li is not a else title
                pinned = marker in title or marker in row_text
                title = re.sub(rf"^[\[【(（]?\s*{marker}\s*[\]】)）]?\s*", "", title) or None
                d = self.url_date(url) or _row_date(row_text) or _row_date(_tail_text(a))
                if url in items:
                    continue  # duplicate row
                items[url] = ListItem(url, title, d, pinned)
        return list(items.values()), seen, skipped

    # ------------------------------------------------------------------ callbacks
    def pagenum_request(self, column_url: str, col: dict, params: dict, page: int) -> scrapy.Request:
        """Browser pagination (index.html?uid=UNIT&pageNum=N): the fallback when dataproxy.jsp answers empty."""
        base = column_url.split("?")[0]
        url = base + "?" + urlencode({"uid": params.get("unitid", ""), "pageNum": page})
        return scrapy.Request(
            url,
            callback=self.parse_column,
            errback=self.list_error,
            dont_filter=True,
            headers={"Referer": base},
            meta={
                "col": col,
                "page": page,
                "mode": "pagenum",
                "params": params,
                "column_url": base,
                "conditional": True,
            },
        )

    def parse_column(self, response: Response) -> Iterator[scrapy.Request]:
        col, page = response.meta["col"], response.meta["page"]
        text = self.list_text(response)
        if text is None:
            return
        call = read_unit_call(text, response.url)
        store = _DATASTORE.search(text)
        if col.get("api") == "jpaas" or (call and not store):
            frags = [_jpaas_fragment(text, self.cfg.get("jpaas_units") or ())]
            mode = "jpaas"
        else:
            frags = _RECORD.findall(store.group(1)) if store else []
            mode = "xml"
        column_url = response.meta.get("column_url") or response.url
        items, seen, _skipped = self.parse_records(frags, column_url)
        found = len(items)
        if page == 1:
            label = f"栏目「{col.get('name') or col['col']}」(col{col['col']})"
            found = self.first_page_yield(response.url, label, len(items))
        self.remember_list(response, found)
        yield from self.handle_page(items, column_url)
        if response.meta.get("mode") == "pagenum":
            params = response.meta["params"]
            per = int(params.get("perpage") or 15)
            total = int(params.get("total") or 0)
            if frags and (not total or page * per < total) and self.more_pages(items, page):
                yield self.pagenum_request(column_url, col, params, page + 1)
            return
        if not self.more_pages(items, 1):
            return
        if mode == "jpaas":
            if call is None:
                self.fail(response.url, "list_no_pager_params", "no jpaas unit request in the column page")
                return
            yield self.jpaas_request(response.url, col, call, 2)
        elif col.get("paging") == "param_json":
            # newer Hanweb sites (hrss): the column page itself answers ?paramJson={"pageNo":N,...} with JSON
            params = pager_params(text)
            total = int(params.get("total") or 0)
            if not total or len(frags) < total:
                yield self.param_json_request(response.url, col, params, 2)
        else:
            params = pager_params(text)
            if not {"webid", "columnid"} <= params.keys():
                self.fail(response.url, "list_no_pager_params", "no webid/columnid in the column page")
                return
            total = int(params.get("total") or 0)
            if total and len(frags) >= total:
                return
            yield self.dataproxy_request(response.url, col, params, len(frags) + 1, page=2)

    def handle_page(self, items: list[ListItem], referer: str) -> Iterator[scrapy.Request]:
        fresh, any_new = self.new_items(items)
        self._last_any_new = any_new
        yield from self.article_requests(fresh, referer=referer)

    def more_pages(self, items: list[ListItem], page: int) -> bool:
        if not items:
            return False
        if self.incremental and not self._last_any_new:
            return False
        if self.all_older(items) or self.capped():
            return False
        return page < self.max_pages

    def dataproxy_request(self, column_url: str, col: dict, params: dict, start: int, page: int) -> scrapy.FormRequest:
        per = int(params.get("perpage") or 15)
        n = int(self.cfg.get("records_per_request") or 3 * per)
        proxy = params.get("proxy") or self.cfg.get("dataproxy")
        url = (
            urljoin(column_url, proxy)
            + "?"
            + urlencode({"startrecord": start, "endrecord": start + n - 1, "perpage": per})
        )
        form = {
            "col": "1",
            "appid": "1",
            "webid": params["webid"],
            "path": "/",
            "columnid": params["columnid"],
            "sourceContentType": "1",
            "unitid": params.get("unitid", ""),
            "webname": params.get("webname", ""),
            "permissiontype": "0",
        }
        return scrapy.FormRequest(
            url,
            formdata=form,
            callback=self.parse_dataproxy,
            errback=self.list_error,
            dont_filter=True,
            headers={"Referer": column_url, "X-Requested-With": "XMLHttpRequest"},
            meta={"col": col, "params": params, "start": start, "n": n, "page": page, "column_url": column_url},
        )

    def parse_dataproxy(self, response: Response) -> Iterator[scrapy.Request]:
        meta = response.meta
        text = self.list_text(response)
        if text is None:
            return
        frags = _RECORD.findall(text)
        m = _TOTAL.search(text)
        total = int(m.group(1)) if m else 0
        if not frags and not total:
            # Some Hanweb sites answer non-browser dataproxy requests with an empty datastore
            # (SITES.md §2.4): walk the browser pages instead.
            params = meta["params"]
            per = int(params.get("perpage") or 15)
            self.counters["dataproxy_fallback"] += 1
            yield self.pagenum_request(meta["column_url"], meta["col"], params, (meta["start"] - 1) // per + 1)
            return
        items, seen, _ = self.parse_records(frags, meta["column_url"])
        yield from self.handle_page(items, meta["column_url"])
        end = meta["start"] + meta["n"] - 1
        if not frags or (total and end >= total) or not self.more_pages(items, meta["page"]):
            return
        yield self.dataproxy_request(meta["column_url"], meta["col"], meta["params"], end + 1, meta["page"] + 1)

    def jpaas_request(self, column_url: str, col: dict, call: UnitCall, page: int) -> scrapy.Request:
        size = int(call.params.get("pageSize") or 10)
        if not call.params.get("pageId"):
            call.params["pageId"] = str(col["col"])
        method, url, headers, body = call.request_args(page, size)
        return scrapy.Request(
            url,
            method=method,
            body=body,
            callback=self.parse_jpaas,
            errback=self.list_error,
            dont_filter=True,
            headers={"Referer": column_url, "X-Requested-With": "XMLHttpRequest", **headers},
            meta={"col": col, "params": call, "page": page, "column_url": column_url, "conditional": method == "GET"},
        )

    def param_json_request(self, column_url: str, col: dict, params: dict, page: int) -> scrapy.Request:
        size = int(params.get("perpage") or 15)
        query = {"paramJson": json.dumps({"pageNo": page, "pageSize": size}, separators=(",", ":"))}
        jp = {"pageSize": str(size), "mode": "param_json"}
        return scrapy.Request(
            column_url.split("?")[0] + "?" + urlencode(query),
            callback=self.parse_jpaas,
            errback=self.list_error,
            dont_filter=True,
            headers={"Referer": column_url},
            meta={"col": col, "params": jp, "page": page, "column_url": column_url.split("?")[0], "conditional": True},
        )

    def parse_jpaas(self, response: Response) -> Iterator[scrapy.Request]:
        meta = response.meta
        if not self.list_response_ok(response):
            return
        text = self.page_text(response)
        try:
            data = json.loads(text or "")
            frag = (data.get("data") or {}).get("html") or ""
            ok = data.get("success", True)
        except (ValueError, AttributeError):
            ok, frag = False, ""
        if not ok:
            from scrapers.spiders.base import _extract_mod
            from scrapers.spiders.failures import reason_name

            reason = _extract_mod().detect_error_page(text or "") if not frag else None
            name = reason_name(reason) if reason and reason != "empty-shell" else "bad_json"
            self.fail(response.url, f"list_{name}", (text or "")[:200], transient=True)
            self.listing_complete = False
            return
        items, seen, _ = self.parse_records([frag], meta["column_url"])
        self.remember_list(response, len(items))
        yield from self.handle_page(items, meta["column_url"])
        m = _JP_COUNT.search(frag)
        total = int(m.group(1)) if m else 0
        call = meta["params"]
        size = int((call.params if isinstance(call, UnitCall) else call).get("pageSize") or 10)
        if not seen or (total and meta["page"] * size >= total) or not self.more_pages(items, meta["page"]):
            return
        if not isinstance(call, UnitCall):  # hrss: paramJson on the column page itself
            yield self.param_json_request(meta["column_url"], meta["col"], {"perpage": size}, meta["page"] + 1)
        else:
            yield self.jpaas_request(meta["column_url"], meta["col"], meta["params"], meta["page"] + 1)


def _jpaas_fragment(text: str, unit_xpaths: Iterable[str]) -> str:
    """The list unit of a jpaas column page (first of the source's `jpaas_units` XPaths), else the whole page."""
    try:
        root = lxml_html.fromstring(text)
    except (etree.ParserError, ValueError):  # not HTML: keep the text as it is
        return text
    units = next((found for found in (root.xpath(x) for x in unit_xpaths) if found), [])
    return "".join(lxml_html.tostring(u, encoding="unicode") for u in units) if units else text


def _rows(root: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Row elements of a record fragment: <li>s if any, else the fragment itself split by <a>."""
    lis = root.xpath(".//li")
    if lis:
        return lis
    return [a for a in root.iter("a")]


def _tail_text(a: lxml_html.HtmlElement) -> str:
    """Text right after a link (the <b>/<span>/<i> date of 'a + date' rows)."""
    parts = [a.tail or ""]
    nxt = a.getnext()
    if nxt is not None:
        parts.append(nxt.text_content() or "")
    return " ".join(parts)


def _row_date(text: str | None) -> date | None:
    m = _DATE.search(text or "")
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
