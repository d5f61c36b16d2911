"""E-paper day strategy (杭州日报/都市快报/每日商报): page_list -> article_list -> article_detail per day,
newest day first, from `until` back to `since` (SITES.md §3)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urljoin

import scrapy
from lxml import etree
from lxml import html as lxml_html

from scrapers.spiders.base import ListItem, SourceSpider, _extract_mod

_YMD = re.compile(r"_(\d{8})(?:[A-Z]\d{2}|\.html)")


class EpaperDaySpider(SourceSpider):
    """One paper; every day in the range once, recent days on every run."""

    strategy = "epaper_day"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        paper = self.cfg.get("paper", "")
        self._paths = self._paths or (f"/{paper}/",)
        self._page_re = re.compile(self.cfg["page_link"]) if self.cfg.get("page_link") else None
        self._list_re = re.compile(self.cfg["list_link"]) if self.cfg.get("list_link") else None
        self.failed_days: set[str] = set()

    def day_url(self, day: date) -> str:
        return self.cfg["day_url"].format(
            paper=self.cfg["paper"], y=f"{day:%Y}", m=f"{day:%m}", d=f"{day:%d}", ymd=f"{day:%Y%m%d}"
        )

    def initial_requests(self):
        recent = int(self.cfg.get("recent_days", 2))
        day, n = self.until, 0
        while day >= self.since:
            url = self.day_url(day)
            done_before = url in self.list_state and (self.until - day).days >= recent
            if not done_before:
                if n >= self.max_pages:
                    self.counters["capped"] += 1
                    break
                n += 1
                yield scrapy.Request(
                    url,
                    callback=self.parse_day,
                    errback=self.list_error,
                    dont_filter=True,
                    meta={"day": day.isoformat(), "conditional": True},
                )
            day -= timedelta(days=1)

    def fail(self, url, reason, detail=None, transient=False):
        m = _YMD.search(url)
        if m and transient:
            self.failed_days.add(m.group(1))
        super().fail(url, reason, detail, transient)

    def links(self, text: str, base: str, rx: re.Pattern | None) -> list[str]:
        if rx is None:
            return []
        try:
            root = lxml_html.fromstring(text)
        except (etree.ParserError, ValueError):  # an empty or non-HTML answer: no links
            return []
        out = []
        for a in root.iter("a", "iframe", "area"):
            href = (a.get("href") or a.get("src") or "").strip()
            if href and rx.search(href.split("?")[0]):
                url = urljoin(base, href)
                if self.host_allowed(url) and url not in out:
                    out.append(url)
        return out

    def parse_day(self, response):
        if response.status in (404, 410):
            self.no_issue(response)
            return
        text = self.page_text(response) if response.status == 200 else None
        if response.status == 200 and text is None:
            return
        lists = []
        if text is not None:
            for url in self.links(text, response.url, self._page_re):
                a, b = self.cfg.get("page_to_list") or ["", ""]
                lists.append(url.replace(a, b) if a else url)
            lists += [u for u in self.links(text, response.url, self._list_re) if u not in lists]
            # the "404页面" answered with status 200 on days without an issue
            if not lists and _extract_mod().detect_error_page(text) == "not-found-page":
                self.no_issue(response)
                return
        if not self.list_response_ok(response, text):
            return
        self.count_found(len(lists))
        self.remember_list(response, len(lists), keep=True)
        for url in lists:
            yield scrapy.Request(
                url,
                callback=self.parse_article_list,
                errback=self.list_error,
                meta={"day": response.meta["day"], "conditional": True},
            )

    def no_issue(self, response) -> None:
        """A day without an issue: recorded, and remembered so an old empty day is not asked again."""
        self.counters["pages"] += 1
        self.fail(response.url, "no_issue", f"day {response.meta['day']}: HTTP {response.status}")
        self.new_list_state[response.url] = {"items_found": 0, "keep": True}

    def parse_article_list(self, response):
        text = self.page_text(response) if response.status == 200 else None
        if response.status == 200 and text is None:
            return
        if not self.list_response_ok(response, text):
            return
        items = []
        try:
            root = lxml_html.fromstring(text)
            anchors = list(root.iter("a"))
        except (etree.ParserError, ValueError):  # an empty or non-HTML answer: no links
            anchors = []
        for a in anchors:
            href = (a.get("href") or "").strip()
            if not href:
                continue
            url = urljoin(response.url, href)
            if not self.is_article_url(url):
                continue
            url = self.canonical(url)
            if any(i.url == url for i in items):
                continue
            title = re.sub(r"\s+", " ", (a.get("title") or a.text_content() or "")).strip() or None
            items.append(ListItem(url, title, self.url_date(url)))
        self.remember_list(response, len(items))
        fresh, _ = self.new_items(items)
        yield from self.article_requests(fresh, referer=response.url)

    def closed(self, reason):
        for url, st in self.new_list_state.items():
            m = _YMD.search(url)
            if st.get("keep") and m and m.group(1) in self.failed_days:
                st["keep"] = False
        super().closed(reason)
