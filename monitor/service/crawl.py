"""Run one crawl of the given sources in a CrawlerProcess (one crawl per process: the reactor
cannot restart, so the scheduler starts `hzwatch crawl` as a subprocess).

This is where the stages are wired together: each spider gets the database writer and its
source's ledger (`db/writer.py`) and the plan matcher (`monitor/matching`), so that `scrapers/`
itself depends on none of them."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from db import runs as db_runs
from db.status import layout_warning
from db.writer import ArticleWriter, CrawlLedger
from scrapers import settings as crawl_settings
from scrapers.spiders import spider_for

if TYPE_CHECKING:
    import sqlite_utils

    from monitor.matching.matcher import Matcher
    from scrapers.sources import Source
    from scrapers.spiders.base import SourceSpider


@dataclass
class SourceResult:
    """What one source's run did (from its runs row)."""

    source_id: str
    run_id: int | None
    status: str
    pages_fetched: int
    new_articles: int
    updated_articles: int
    failures: dict
    seconds: float
    layout_warning: str | None = None
    error: str | None = None

    def summary(self) -> str:
        fails = ", ".join(f"{k} {v}" for k, v in sorted(self.failures.items()))
        if not fails:
            # "none" only when the run really ended well; otherwise say how it ended
            fails = "none" if self.status == "ok" else (self.error or f"none recorded, run {self.status}")
        reason = f" ({self.error})" if self.error and self.status != "ok" else ""
        line = (
            f"{self.source_id}: {self.status}{reason}; {self.pages_fetched} pages, {self.new_articles} new, "
            f"{self.updated_articles} updated articles; failures: {fails}; {self.seconds:.1f}s"
        )
        if self.layout_warning:
            line += f"; WARNING {self.layout_warning}"
        return line


# Young objects per collection (Python's default: 700): Scrapy, Twisted and lxml allocate thousands
# per response, and at 700 the collector ran ~1,100 times per 2,000-article crawl, promoting
# objects into the older generations it then scanned again (GC was ~8% of the crawl's CPU).
GC_YOUNG_THRESHOLD = 20_000


def _collect_less() -> None:
    """Fewer garbage collections for the rest of this process (one crawl per process): what exists
    now (modules, configuration, the plan catalog) lives to its end and is no longer scanned, and the
    youngest generation is collected every GC_YOUNG_THRESHOLD allocations instead of 700."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def run_crawl(
    sources: Sequence[Source],
    db: sqlite_utils.Database,
    *,
    since: date,
    matcher: Matcher | None = None,
    until: date | None = None,
    remap: dict | None = None,
    fast: bool = False,
    max_pages: int | None = None,
    max_articles: int | None = None,
    log_level: str | None = None,
) -> list[SourceResult]:
    """Crawl `sources` (Source objects) into `db` concurrently, back to `since`, matching new and
    changed articles with `matcher` (None: stored unmatched); return one result per source."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.log import configure_logging

    db_runs.sync_sources(db, sources)
    base = crawl_settings.build(None, fast=fast, remap=remap)
    if log_level:
        base["LOG_LEVEL"] = log_level
    process = CrawlerProcess(base)
    configure_logging({"LOG_LEVEL": base["LOG_LEVEL"]}, install_root_handler=True)
    logging.getLogger("scrapy").setLevel(base["LOG_LEVEL"])
    # the spiders' per-page info lines (a failure each) are dropped at the logger when the level hides
    # them, instead of being formatted into records the handler then drops
    logging.getLogger("scrapers").setLevel(base["LOG_LEVEL"])
    writer = ArticleWriter(db, call_later=_call_later)
    crawlers = []
    started = time.monotonic()
    for src in sources:
        s = crawl_settings.build(src, fast=fast, remap=remap)
        if log_level:
            s["LOG_LEVEL"] = log_level
        cls = spider_for(src)
        crawler = process.create_crawler(_with_settings(cls, s, src.id))
        crawlers.append((src, crawler))
        process.crawl(
            crawler,
            source=src,
            ledger=CrawlLedger(db, src.id, writer=writer),
            writer=writer,
            matcher=matcher,
            since=since,
            until=until,
            max_pages=max_pages,
            max_articles=max_articles,
        )
    _collect_less()
    process.start()
    writer.finish()  # nothing written in the crawl stays uncommitted; its figures stored
    elapsed = time.monotonic() - started
    results = []
    for src, crawler in crawlers:
        spider = crawler.spider
        run_id = getattr(spider, "run_id", None)
        row = db_runs.get_run(db, run_id) if run_id else None
        warn = layout_warning(db, src.id)
        seconds = elapsed
        if row and row.get("ended"):
            from datetime import datetime

            seconds = (datetime.fromisoformat(row["ended"]) - datetime.fromisoformat(row["started"])).total_seconds()
        results.append(
            SourceResult(
                src.id,
                run_id,
                (row or {}).get("status") or "not-run",
                (row or {}).get("pages_fetched") or 0,
                (row or {}).get("new_articles") or 0,
                (row or {}).get("updated_articles") or 0,
                (row or {}).get("failures") or {},
                seconds,
                warn,
                (row or {}).get("error"),
            )
        )
    return results


def _call_later(seconds: float, fn: Callable[[], object]) -> None:
    """Run `fn` on the crawl's reactor after `seconds` (imported here: Scrapy installs the reactor)."""
    from twisted.internet import reactor

    reactor.callLater(seconds, fn)


def _with_settings(cls: type[SourceSpider], settings: dict, source_id: str) -> type[SourceSpider]:
    """A subclass of the strategy spider carrying one source's settings (per-crawler politeness)."""
    name = f"{cls.__name__}_{source_id.replace('-', '_')}"
    return type(name, (cls,), {"custom_settings": settings, "name": source_id})
