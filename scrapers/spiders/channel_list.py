"""Channel-list strategy (Founder lists of 杭州网, TRS lists of 浙江在线): numbered list pages of article links."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

import scrapy
from lxml import html as lxml_html
from scrapy.http import Response

from scrapers.spiders.base import ListItem, SourceSpider


def page_url(lst: dict, page: int) -> str | None:
    """URL of page `page` (1-based) of a list entry, or None if the list has one page."""
    if page == 1:
        return lst["url"]
    if not lst.get("page"):
        return None
    return urljoin(lst["url"], lst["page"].format(n=int(lst.get("first", 1)) + page - 2))


class ChannelListSpider(SourceSpider):
    """Walk each list page by page; fetch unknown article links; stop when a page brings nothing new."""

    strategy = "channel_list"

    def initial_requests(self) -> Iterator[scrapy.Request]:
        for i in range(len(self.cfg["lists"])):
            yield self.list_request(i, 1)

    def list_request(self, idx: int, page: int) -> scrapy.Request | None:
        url = page_url(self.cfg["lists"][idx], page)
        if url is None:
            return None
        return scrapy.Request(
            url,
            callback=self.parse_list,
            errback=self.list_error,
            dont_filter=True,
            meta={"list_idx": idx, "page": page, "conditional": True},
        )

    def list_items(self, text: str, base_url: str) -> list[ListItem]:
        """Article links of a list page, in page order, once each (title from @title, else the text)."""
        try:
            root = lxml_html.fromstring(text)
        except (ValueError, Exception):
            return []
        out: dict[str, ListItem] = {}
        for a in root.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                continue
            url = urljoin(base_url, href)
            if not self.is_article_url(url):
                continue
            url = self.canonical(url)
            title = (a.get("title") or a.text_content() or "").strip() or None
            if url in out:
                if title and not out[url].title:
                    out[url].title = title
                continue
            out[url] = ListItem(url, title, self.url_date(url))
        return list(out.values())

    def parse_list(self, response: Response) -> Iterator[scrapy.Request]:
        idx, page = response.meta["list_idx"], response.meta["page"]
        if response.status == 404 and page > 1:
            self.counters["pages"] += 1
            return  # past the last page
        text = self.list_text(response)
        if text is None:
            return
        items = self.list_items(text, response.url)
        found = len(items)
        if page == 1:
            found = self.first_page_yield(response.url, f"列表 {response.url}", len(items))
        self.remember_list(response, found)
        fresh, any_new = self.new_items(items)
        yield from self.article_requests(fresh, referer=response.url)
        if not items:
            return
        if self.incremental and not any_new:
            return
        if self.all_older(items) or self.capped():
            return
        if page >= self.max_pages:
            return
        nxt = self.list_request(idx, page + 1)
        if nxt is not None:
            yield nxt
