"""Behaviour shared by the generic spiders: article fetching, multi-page merging, incremental
list walking, failure recording and the run row. Site knowledge comes from the Source config.

The spider never opens the database: its crawl bookkeeping (what is known, failures, the run row)
goes through the `ledger` it is given (a `db.writer.CrawlLedger`, or None for a dry crawl), and the
articles it yields (`db.records.Article`) go to the item pipeline."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from twisted.python.failure import Failure

from db.clock import today_beijing
from db.records import Article
from scrapers.encoding import decode_html_utf8
from scrapers.spiders.failures import (
    RETRYABLE,
    TRANSIENT,
    failure_reason,
    not_html,
    reason_name,
    run_status,
    unreachable_message,
)
from scrapers.spiders.pages import ALL_VIEW as _ALL_VIEW
from scrapers.spiders.pages import numbered_pages

if TYPE_CHECKING:
    from db.writer import CrawlLedger
    from scrapers.extract import Extracted
    from scrapers.sources import Source

log = logging.getLogger(__name__)
# Share of U+FFFD above which a page counts as undecodable.
MAX_REPLACEMENT_SHARE = 0.02
# Failure reasons that say the list walk of this run was incomplete.
LIST_FAILURE_PREFIX = "list_"
RATE_LIMIT_RETRIES = 1
# request meta keys the spiders set themselves (copied when a request is asked again)
_OWN_META = frozenset(
    "list_idx page conditional col params start n column_url mode day article_url list_title list_date pages"
    " follow".split()
)


def _extract_mod():
    # scrapers.extract is owned by the extraction stage; imported lazily so spiders load without it
    from scrapers import extract

    return extract


class ListItem:
    """One link found on a list page."""

    __slots__ = ("url", "title", "date", "pinned")

    def __init__(self, url: str, title: str | None, date_: date | None, pinned: bool = False):
        self.url, self.title, self.date, self.pinned = url, title, date_, pinned

    def __repr__(self):
        return f"ListItem({self.url!r}, {self.title!r}, {self.date}, pinned={self.pinned})"


class SourceSpider(scrapy.Spider):
    """Base of the generic spiders; one instance crawls one source."""

    name = "hzwatch-source"
    strategy = ""

    def __init__(
        self,
        source: Source | None = None,
        ledger: CrawlLedger | None = None,
        since: date | None = None,
        until: date | None = None,
        max_pages: int | None = None,
        max_articles: int | None = None,
        run: bool = True,
        **kw,
    ):
        super().__init__(name=source.id if source else None, **kw)
        self.source = source
        self.cfg = source.config if source else {}
        if since is None:
            raise ValueError("a crawl needs its start date (the plans' earliest watch date)")
        self.ledger = ledger  # db.writer.CrawlLedger, or None: nothing is recorded
        self.since = since
        self.until = until or today_beijing()
        self.max_pages = max_pages or self.cfg.get("max_pages", 30)
        self.max_articles = max_articles
        self.allowed_hosts = {h.lower() for h in (source.allowed_hosts if source else [])}
        self.allowed_domains = sorted(self.allowed_hosts)
        self._article_re = re.compile(self.cfg["article_pattern"]) if self.cfg.get("article_pattern") else None
        self._date_re = re.compile(self.cfg["date_pattern"]) if self.cfg.get("date_pattern") else None
        self._canonical = [(re.compile(a), b) for a, b in self.cfg.get("canonical") or []]
        self._paths = tuple(self.cfg.get("article_paths") or ())
        self.counters: Counter = Counter()
        self.failures: Counter = Counter()
        self.scheduled: set[str] = set()
        self.list_state: dict[str, dict] = {}
        self.new_list_state: dict[str, dict] = {}
        self.items_found: int | None = None
        self.listing_complete = True
        self.transient_failure = False
        self.run_id: int | None = None
        self.record_run = run
        self.incremental = False
        self.empty_lists: list[str] = []  # lists whose first page yielded nothing where it used to
        self.stop_reason: str | None = None  # one plain line when the crawl ended early (unreachable site)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.initial_requests():
            yield request
        for request in self.retry_requests():
            yield request

    def retry_requests(self) -> Iterator[scrapy.Request]:
        """Articles that failed for a passing reason (timeout, 5xx …) before, fetched again directly
        (an incremental walk stops at the first list page with nothing new: it may never reach them);
        a failed page of a multi-page article (_2, _0 …) as its article, from the article's URL."""
        if self.ledger is None:
            return
        urls = []
        for url in map(self.canonical, self.ledger.pending_retries(RETRYABLE)):
            if self.host_allowed(url) and url not in self.scheduled and not self.article_is_known(url):
                self.scheduled.add(url)
                urls.append(url)
        self.counters["retried"] += len(urls)
        yield from self.article_requests([ListItem(u, None, None) for u in urls])

    def initial_requests(self) -> Iterable[scrapy.Request]:
        """The first requests of the strategy (list pages, days)."""
        return []

    # ------------------------------------------------------------------ run bookkeeping
    def open_run(self) -> None:
        """Read the list state and open the run row (the item pipeline calls this in open_spider)."""
        if self.ledger is None:
            return
        self.list_state = self.ledger.list_page_state()
        # Stop-at-nothing-new and 304s are only safe once a run has walked the lists completely.
        self.incremental = self.ledger.last_listing_complete()
        if not self.incremental:
            self.list_state = {u: {**s, "etag": None, "last_modified": None} for u, s in self.list_state.items()}
        if self.record_run:
            self.run_id = self.ledger.start_run()

    def closed(self, reason: str) -> None:
        """Close the run row: counters, failures, status; save list validators if the walk was whole."""
        if self.ledger is None or self.run_id is None:
            return
        complete = self.listing_complete and reason == "finished"
        self.ledger.save_list_pages(self.new_list_state, validators=complete and not self.transient_failure)
        failures = self.ledger.failures_by_reason()
        new, upd = self.counters["new"], self.counters["updated"]
        status = run_status(reason, failures, pages=self.counters["pages"], new=new)
        self.ledger.finish_run(
            status,
            pages_fetched=self.counters["pages"],
            new_articles=new,
            updated_articles=upd,
            failures=failures,
            error=self.stop_reason or (None if reason == "finished" else f"closed: {reason}"),
            listing_complete=complete and not self.counters["capped"],
        )
        named = f"版面可能已改变：{'、'.join(self.empty_lists)} 本次没有找到文章" if self.empty_lists else None
        warning = self.ledger.record_layout(self.items_found, int(self.cfg.get("layout_warn_after", 3)), named)
        if warning:
            log.warning("%s: %s", self.source.id, warning)

    def unreachable(self, host: str, reason: str, url: str, detail: str) -> None:
        """The site did not answer its first request (dns / connection / timeout): record why and end
        the crawl now (called by scrapers.middlewares.UnreachableSiteMiddleware)."""
        self.fail(url, LIST_FAILURE_PREFIX + reason, detail, transient=True)
        self.listing_complete = False
        self.stop_reason = unreachable_message(reason, host)
        log.warning("%s: %s", self.source.id if self.source else "?", self.stop_reason)
        engine = getattr(getattr(self, "crawler", None), "engine", None)
        if engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason="unreachable"))

    def fail(self, url: str, reason: str, detail: str | None = None, transient: bool = False) -> None:
        """Record a failed fetch (fetch_failures row) and count it."""
        self.failures[reason] += 1
        if transient:
            self.transient_failure = True
        if detail:
            detail = self.real_urls(detail, url)
        log.info("%s: %s %s %s", self.source.id if self.source else "?", reason, url, detail or "")
        if self.ledger is not None:
            self.ledger.record_failure(url, reason, detail)

    def real_urls(self, text: str, url: str) -> str:
        """`text` with replica addresses (--remap targets, e.g. in Twisted's timeout message) put back
        as the real host: stored details name the URLs the crawl meant, never 127.0.0.1."""
        remap = self._remap_pairs()
        if not remap or "://" not in text:
            return text
        scheme = urlsplit(url).scheme or "https"
        for host, base in remap:
            if base in text:
                text = text.replace(base, f"{scheme}://{host}")
        return text

    def _remap_pairs(self) -> list[tuple[str, str]]:
        pairs = getattr(self, "_remap_cache", None)
        if pairs is None:
            settings = getattr(self, "settings", None)
            mapping = settings.getdict("HZWATCH_REMAP") if settings is not None else {}
            # longest base first: one base may be a prefix of another
            pairs = sorted(((h, b.rstrip("/")) for h, b in mapping.items()), key=lambda p: -len(p[1]))
            self._remap_cache = pairs
        return pairs

    # ------------------------------------------------------------------ URLs
    def host_allowed(self, url: str) -> bool:
        return (urlsplit(url).hostname or "").lower() in self.allowed_hosts

    def canonical(self, url: str) -> str:
        """Article URL without fragment, with page variants (_2, _0, _ext) folded into the article."""
        url = url.split("#")[0].strip()
        if url.startswith("http://") and self.cfg.get("https", True):
            url = "https://" + url[len("http://") :]
        for rx, repl in self._canonical:
            url = rx.sub(repl, url)
        return url

    def is_article_url(self, url: str) -> bool:
        if not self.host_allowed(url) or self._article_re is None:
            return False
        path = urlsplit(url).path
        if self._paths and not path.startswith(self._paths):
            return False
        return bool(self._article_re.search(path))

    def url_date(self, url: str) -> date | None:
        if not self._date_re:
            return None
        m = self._date_re.search(url)
        if not m:
            return None
        try:
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        except (ValueError, IndexError):
            return None

    def article_is_known(self, url: str) -> bool:
        return self.ledger is not None and self.ledger.is_known(url)

    # ------------------------------------------------------------------ decoding
    def page_text(self, response: Response) -> str | None:
        return self.decoded_page(response)[0]

    def decoded_page(self, response: Response) -> tuple[str | None, bytes | None]:
        """The body decoded by looking at the bytes (a wrong charset header is common; None if undecodable),
        and the body itself when the text is exactly its UTF-8 decoding (`extract(…, utf8=…)` parses it)."""
        ctype = response.headers.get(b"Content-Type")
        text, _codec, utf8 = decode_html_utf8(response.body, ctype.decode("latin-1") if ctype else None)
        if text and text.count("\ufffd") > max(3, len(text) * MAX_REPLACEMENT_SHARE):
            self.fail(response.url, "decode_error", f"{text.count(chr(0xFFFD))} replacement characters")
            return None, None
        return text, utf8

    # ------------------------------------------------------------------ list handling
    def new_items(self, items: list[ListItem]) -> tuple[list[ListItem], bool]:
        """(items worth fetching, whether the page had anything new that is not pinned)."""
        fresh: list[ListItem] = []
        any_new = False
        candidates = [i for i in items if i.url not in self.scheduled]
        known = self.ledger.known_urls([i.url for i in candidates]) if self.ledger is not None else set()
        latest = self.until + timedelta(days=1)
        wanted = [i for i in candidates if i.url not in known and (not i.date or self.since <= i.date <= latest)]
        # one query for the page's URLs that failed for good, not one per URL
        gave_up = self.ledger.given_up_urls([i.url for i in wanted]) if self.ledger is not None and wanted else set()
        for it in wanted:
            if it.url in self.scheduled or it.url in gave_up:
                continue
            self.scheduled.add(it.url)
            fresh.append(it)
            if not it.pinned:
                any_new = True
        return fresh, any_new

    def all_older(self, items: list[ListItem]) -> bool:
        """True if every dated, unpinned item is older than `since` (backfill reached its end)."""
        dated = [i.date for i in items if i.date and not i.pinned]
        return bool(dated) and max(dated) < self.since

    def capped(self) -> bool:
        """True once --max-articles is reached: walking further lists is pointless."""
        return self.max_articles is not None and self.counters["article_requests"] >= self.max_articles

    def count_found(self, n: int) -> None:
        self.items_found = (self.items_found or 0) + n

    def first_page_yield(self, url: str, label: str, n: int) -> int:
        """Note what the first page of one list (a column, a channel) yielded. A list that yields
        nothing where it used to is named in the run's layout warning, and keeps its last count in
        list_pages, so the warning holds until the list yields again. Returns the count to store."""
        self.count_found(n)
        prev = (self.list_state.get(url) or {}).get("items_found")
        if n == 0 and prev:
            self.empty_lists.append(f"{label}（此前 {prev} 篇）")
            return prev
        return n

    def remember_list(self, response: Response, items_found: int, keep: bool = False) -> None:
        st = dict(response.meta.get("validators") or {})
        st["items_found"] = items_found
        st["keep"] = keep
        self.new_list_state[response.url] = st

    def list_text(self, response: Response) -> str | None:
        """The decoded text of a list page worth parsing; None (already recorded) for 304s, errors, error pages."""
        text = self.page_text(response) if response.status == 200 else None
        if response.status == 200 and text is None:
            self.listing_complete = False
            return None
        if not self.list_response_ok(response, text):
            return None
        return text  # None for other 2xx answers (204 …): nothing to parse

    def list_response_ok(self, response: Response, text: str | None = None) -> bool:
        """Common checks of a list page response; records failures. False: nothing to parse."""
        self.counters["pages"] += 1
        if response.status == 304:
            self.counters["not_modified"] += 1
            # unchanged: keep its validators
            old = self.list_state.get(response.url) or {}
            self.new_list_state[response.url] = {
                "etag": old.get("etag"),
                "last_modified": old.get("last_modified"),
                "items_found": old.get("items_found"),
            }
            return False
        if response.status >= 400:
            self.fail(response.url, f"{LIST_FAILURE_PREFIX}http_{response.status}", transient=response.status >= 500)
            self.listing_complete = False
            return False
        if text is not None:
            reason = _extract_mod().detect_error_page(text)
            if reason and reason != "empty-shell":
                retried = reason == "rate-limited" and self.retry_later(response)
                self.fail(
                    response.url,
                    f"{LIST_FAILURE_PREFIX}{reason_name(reason)}",
                    "retried after a pause" if retried else None,
                    transient=not retried,
                )
                if not retried:
                    self.listing_complete = False
                return False
        return True

    def retry_later(self, response: Response) -> bool:
        """Ask again once after a "访问过于频繁" page (the retry back-off middleware waits first)."""
        n = response.meta.get("rate_limit_retries", 0)
        engine = getattr(getattr(self, "crawler", None), "engine", None)
        if n >= RATE_LIMIT_RETRIES or engine is None:
            return False
        meta = {k: v for k, v in response.meta.items() if k in _OWN_META}
        meta.update(rate_limit_retries=n + 1, retry_times=n + 1)
        engine.crawl(response.request.replace(dont_filter=True, meta=meta))
        self.counters["rate_limit_retries"] += 1
        return True

    def list_error(self, failure: Failure) -> None:
        request = failure.request
        if failure.check(IgnoreRequest) and str(failure.value).startswith("recorded:"):
            self.listing_complete = False
            return
        self.counters["pages"] += 1
        self.listing_complete = False
        self.fail(request.url, LIST_FAILURE_PREFIX + failure_reason(failure), str(failure.value)[:200], transient=True)

    # ------------------------------------------------------------------ articles
    def article_requests(self, items: list[ListItem], referer: str | None = None) -> Iterator[scrapy.Request]:
        for it in items:
            if self.max_articles is not None and self.counters["article_requests"] >= self.max_articles:
                self.counters["capped"] += 1
                continue
            self.counters["article_requests"] += 1
            yield scrapy.Request(
                it.url,
                callback=self.parse_article,
                errback=self.article_error,
                priority=10,
                headers={"Referer": referer} if referer else None,
                meta={
                    "article_url": it.url,
                    "list_title": it.title,
                    "list_date": it.date.isoformat() if it.date else None,
                    "pages": [],
                },
            )

    def parse_article(self, response: Response) -> Iterator[scrapy.Request | Article]:
        """Extract an article page; follow its other pages; yield one item per article."""
        self.counters["pages"] += 1
        url = response.meta["article_url"]
        if response.status >= 400:
            self.fail(
                response.url, f"http_{response.status}", transient=response.status >= 500 or response.status == 429
            )
            return
        kind = not_html(response)
        if kind:
            self.fail(response.url, "not_html", kind)
            return
        text, utf8 = self.decoded_page(response)
        if text is None:
            return
        ex_mod = _extract_mod()
        first_page = not response.meta["pages"]
        try:
            # the first page's pager links come from the tree the extractor parses anyway
            ex = ex_mod.extract(text, url=response.url, profile=self.source.profile, pager=first_page, utf8=utf8)
        except Exception as exc:  # extraction bugs must not stop the crawl
            self.fail(response.url, "extract_error", repr(exc)[:300])
            return
        reason = ex.error or ex_mod.detect_error_page(ex)
        if reason:
            retried = reason == "rate-limited" and self.retry_later(response)
            self.fail(
                response.url,
                reason_name(reason),
                "retried after a pause" if retried else None,
                transient=reason == "rate-limited" and not retried,
            )
            return
        pages = response.meta["pages"] + [ex]
        if first_page:
            # other pages: the extractor's pager links, plus links to <article>_N.htm (the all-pages _0 view first)
            rest = [u for u in numbered_pages(text, response.url, ex.pager_links or []) if self.host_allowed(u)]
            if rest:
                all_view = [u for u in rest if _ALL_VIEW.search(u)]
                follow = all_view[:1] or rest
                response.meta["follow"] = follow
            else:
                response.meta["follow"] = []
        follow = list(response.meta.get("follow") or [])
        if follow:
            nxt = follow.pop(0)
            keep = {k: response.meta.get(k) for k in ("article_url", "list_title", "list_date")}
            yield scrapy.Request(
                nxt,
                callback=self.parse_article,
                errback=self.article_error,
                priority=20,
                dont_filter=True,
                headers={"Referer": response.url},
                meta={**keep, "pages": pages, "follow": follow},
            )
            return
        merged = ex_mod.merge_pages(pages) if len(pages) > 1 else ex
        yield self.make_item(url, merged, response)

    def make_item(self, url: str, ex: Extracted, response: Response) -> Article:
        published = ex.published
        if not published and response.meta.get("list_date"):
            published = response.meta["list_date"] + "T00:00:00+08:00"
        title = ex.title or response.meta.get("list_title")
        return Article(
            url=url,
            source_id=self.source.id,
            site=self.source.site,
            title=title or "",
            subtitle=ex.subtitle,
            published=published,
            source_name=ex.source,
            author=ex.author,
            editor=ex.editor,
            publisher=ex.publisher,
            body=ex.body or "",
            methods=dict(ex.methods or {}),
        )

    def article_error(self, failure: Failure) -> None:
        request = failure.request
        self.counters["pages"] += 1
        if failure.check(IgnoreRequest) and str(failure.value).startswith(("known article", "recorded:")):
            # known: not a fetch at all; recorded: the middleware already wrote the failure row
            if str(failure.value).startswith("known article"):
                self.counters["pages"] -= 1
            return
        reason = failure_reason(failure)
        self.fail(request.url, reason, str(failure.value)[:200], transient=reason in TRANSIENT)
