"""E-paper day strategy (杭州日报/都市快报/每日商报): page_list -> article_list -> article_detail per day
(SITES.md §3). Incremental: every run re-checks the newest `recent_days` days; older days are read
once, newest first, at most `max_pages` days with an issue per run (the backfill bound), and the
next run resumes at the newest day not read yet. A day read (or found without an issue) is a
list_pages row, so an unchanged paper costs `recent_days` requests per run."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from datetime import date, timedelta
from urllib.parse import urljoin

import scrapy
from lxml import etree
from lxml import html as lxml_html
from scrapy.http import Response
from twisted.python.failure import Failure

from scrapers.spiders.base import ListItem, SourceSpider, _extract_mod

_YMD = re.compile(r"_(\d{8})(?:[A-Z]\d{2}|\.html)")
_SPACES = re.compile(r"\s+")


def _day_tree(text: str) -> etree._Element | None:
    """A day page's tree; None for an empty or non-HTML answer (no links)."""
    try:
        return lxml_html.fromstring(text)
    except (etree.ParserError, ValueError):
        return None


class EpaperDaySpider(SourceSpider):
    """One paper; every day in the range once, the re-check window on every run."""

    strategy = "epaper_day"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        paper = self.cfg.get("paper", "")
        self._paths = self._paths or (f"/{paper}/",)
        self._page_re = re.compile(self.cfg["page_link"]) if self.cfg.get("page_link") else None
        self._list_re = re.compile(self.cfg["list_link"]) if self.cfg.get("list_link") else None
        self.failed_days: set[str] = set()
        self._in_flight = 0  # backfill days asked and not answered yet
        self._window = int(self.cfg.get("backfill_window", 1))  # backfill days asked at once

    def day_url(self, day: date) -> str:
        iso = day.isoformat()  # YYYY-MM-DD: one formatting for the four fields (asked for every day walked)
        y, m, d = iso[:4], iso[5:7], iso[8:10]
        return self.cfg["day_url"].format(paper=self.cfg["paper"], y=y, m=m, d=d, ymd=y + m + d)

    def initial_requests(self) -> Iterator[scrapy.Request]:
        """The re-check window (the newest `recent_days` days, every run), then the backfill: the
        newest day not read yet, one day at a time (parse_day asks for the next one)."""
        recent = int(self.cfg.get("recent_days", 2))
        for n in range(recent):
            day = self.until - timedelta(days=n)
            if day >= self.since:
                yield self.day_request(day)
        self._backfill_from = self.until - timedelta(days=recent)
        self._issue_budget = self.max_pages
        yield from self.more_backfill()

    def more_backfill(self) -> Iterator[scrapy.Request]:
        """Ask for the next backfill days, up to the source's `backfill_window` at once."""
        while self._in_flight < self._window:
            nxt = self.next_backfill_day()
            if nxt is None:
                return
            self._in_flight += 1
            yield self.day_request(nxt, backfill=True)

    def day_request(self, day: date, backfill: bool = False) -> scrapy.Request:
        return scrapy.Request(
            self.day_url(day),
            callback=self.parse_day,
            errback=self.day_error,
            dont_filter=True,
            meta={"day": day.isoformat(), "conditional": True, "backfill": backfill},
        )

    def next_backfill_day(self) -> date | None:
        """The next older day of the backfill not read by an earlier run (None: the backfill is
        complete, or this run's budget of issue days is spent and the next run resumes here, or the
        days in flight may spend what is left of it).

        A day is asked only while the budget covers it even if every day in flight has an issue, so
        the days asked are those a walk of one day at a time would ask, in any answer order."""
        day = self._backfill_from
        while day >= self.since:
            if self.day_url(day) not in self.list_state:
                if self._issue_budget <= 0:
                    self.counters["capped"] += 1
                    return None
                if self._issue_budget - self._in_flight <= 0:
                    return None  # asked again when a day in flight is answered
                self._backfill_from = day - timedelta(days=1)
                return day
            day -= timedelta(days=1)
        self._backfill_from = day
        return None

    def continue_backfill(self, response: Response | scrapy.Request, had_issue: bool) -> Iterator[scrapy.Request]:
        """After a backfill day: count it against the budget if it had an issue, ask for the next."""
        if not response.meta.get("backfill"):
            return
        self._in_flight -= 1
        if had_issue:
            self._issue_budget -= 1
        yield from self.more_backfill()

    def day_error(self, failure: Failure) -> Iterator[scrapy.Request]:
        self.list_error(failure)
        if self.stop_reason is None:  # not when the site is unreachable: the crawl is ending
            yield from self.continue_backfill(failure.request, had_issue=False)

    def fail(self, url: str, reason: str, detail: str | None = None, transient: bool = False) -> None:
        m = _YMD.search(url)
        if m and transient:
            self.failed_days.add(m.group(1))
        super().fail(url, reason, detail, transient)

    def links(self, root: etree._Element | None, base: str, rx: re.Pattern | None) -> list[str]:
        """Allowed links of a parsed day page (None: it did not parse) whose path matches `rx`."""
        if rx is None or root is None:
            return []
        out = []
        for a in root.iter("a", "iframe", "area"):
            href = (a.get("href") or a.get("src") or "").strip()
            if href and rx.search(href.split("?")[0]):
                url = urljoin(base, href)
                if self.host_allowed(url) and url not in out:
                    out.append(url)
        return out

    def parse_day(self, response: Response) -> Iterator[scrapy.Request]:
        lists = yield from self.read_day(response)
        yield from self.continue_backfill(response, had_issue=bool(lists))

    def read_day(self, response: Response) -> Generator[scrapy.Request, None, list[str]]:
        """Requests for the day's article lists; returns the list URLs (empty: no issue or an error)."""
        if response.status in (404, 410):
            self.no_issue(response)
            return []
        text = self.page_text(response) if response.status == 200 else None
        if response.status == 200 and text is None:
            return []
        lists = []
        if text is not None:
            root = _day_tree(text) if self._page_re or self._list_re else None  # parsed once for both
            for url in self.links(root, response.url, self._page_re):
                a, b = self.cfg.get("page_to_list") or ["", ""]
                lists.append(url.replace(a, b) if a else url)
            lists += [u for u in self.links(root, response.url, self._list_re) if u not in lists]
            # the "404页面" answered with status 200 on days without an issue
            if not lists and _extract_mod().detect_error_page(text) == "not-found-page":
                self.no_issue(response)
                return []
        if not self.list_response_ok(response, text):
            return []
        self.count_found(len(lists))
        self.remember_list(response, len(lists), keep=True)
        for url in lists:
            yield scrapy.Request(
                url,
                callback=self.parse_article_list,
                errback=self.list_error,
                meta={"day": response.meta["day"], "conditional": True},
            )
        return lists

    def no_issue(self, response: Response) -> None:
        """A day without an issue: recorded, and remembered so an old empty day is not asked again."""
        self.counters["pages"] += 1
        self.fail(response.url, "no_issue", f"day {response.meta['day']}: HTTP {response.status}")
        self.new_list_state[response.url] = {"items_found": 0, "keep": True}

    def parse_article_list(self, response: Response) -> Iterator[scrapy.Request]:
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
            title = _SPACES.sub(" ", (a.get("title") or a.text_content() or "")).strip() or None
            items.append(ListItem(url, title, self.url_date(url)))
        self.remember_list(response, len(items))
        fresh, _ = self.new_items(items)
        yield from self.article_requests(fresh, referer=response.url)

    def closed(self, reason: str) -> None:
        for url, st in self.new_list_state.items():
            m = _YMD.search(url)
            if st.get("keep") and m and m.group(1) in self.failed_days:
                st["keep"] = False
        super().closed(reason)
