"""Item pipeline: each article the spider yields is, when new or changed, matched against the plans
and stored with its verdict in one savepoint, and indexed for search with its batch
(`db.writer.ArticleWriter`).

Nothing here opens the database or builds a matcher: the crawl hands each spider its `writer`
(`db.writer.ArticleWriter`), its `ledger` (`db.writer.CrawlLedger`) and its `matcher` (anything
with `match(Article) -> MatchResult` and a `version`), see `monitor/service/crawl.py`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import DropItem

from db.records import Article, MatchResult

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from scrapers.spiders.base import SourceSpider

log = logging.getLogger(__name__)

UNCHANGED = "unchanged"
# Progress counters are written to the run row every this many new or updated articles (visible
# while the crawl runs, and after a kill).
PROGRESS_EVERY = 20


class StorePipeline:
    """Store articles; match and index the new and changed ones in the same savepoint."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler
        self.writer = self.matcher = self.ledger = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.writer = getattr(spider, "writer", None)
        self.matcher = getattr(spider, "matcher", None)
        self.ledger = getattr(spider, "ledger", None)
        spider.open_run()

    def close_spider(self) -> None:
        if self.writer is not None:
            self.writer.finish()

    def process_item(self, item: Article) -> Article:
        spider = self.crawler.spider
        if self.writer is None:
            return item
        try:
            with self.writer.article():  # one savepoint in the batch: the article and its match (indexed at commit)
                prepared = self.writer.prepare(item)
                if prepared.unchanged:
                    article_id, status = prepared.stored[0], UNCHANGED
                else:
                    result = self._match(spider, item)
                    version = self.matcher.version if self.matcher is not None else None
                    article_id, status = self.writer.store(prepared, result, version)
                    self.writer.index(article_id)
                item.id = article_id
        except Exception as exc:  # noqa: BLE001 - a storage error must not pass unrecorded (see store_failed)
            self.store_failed(spider, item, exc)
        self.writer.if_lost(lambda: self.store_lost(spider, item, status))
        spider.counters[status] += 1
        changed = spider.counters["new"] + spider.counters["updated"]
        if self.ledger is not None and changed % PROGRESS_EVERY == 1:
            self.ledger.update_progress(spider.counters["pages"], spider.counters["new"], spider.counters["updated"])
        self.writer.done()
        return item

    @staticmethod
    def store_failed(spider: SourceSpider, item: Article, exc: Exception) -> None:
        """The article was fetched but could not be stored (a locked or failing database …): record it
        as a passing failure, so this run does not count as a whole walk (its list pages are asked
        again) and later runs fetch the article again; then drop the item."""
        log.warning("%s: could not store %s: %r", spider.name, item.url, exc)
        spider.listing_complete = False  # the next run walks every list page, even if no row below is written
        try:
            spider.fail(item.url, "store_error", repr(exc)[:300], transient=True)
        except Exception as again:  # noqa: BLE001 - the failure row itself could not be written
            log.warning("%s: could not record the failure of %s: %r", spider.name, item.url, again)
        raise DropItem(f"not stored: {exc!r}") from exc

    @staticmethod
    def store_lost(spider: SourceSpider, item: Article, status: str) -> None:
        """The article was stored in a batch that was then rolled back (see ArticleWriter.if_lost):
        recorded as store_error like an article that could not be stored at all."""
        log.warning("%s: %s was rolled back with its batch", spider.name, item.url)
        spider.counters[status] -= 1
        spider.listing_complete = False
        spider.fail(item.url, "store_error", "rolled back with its batch", transient=True)

    def _match(self, spider: SourceSpider, article: Article) -> MatchResult | None:
        """Match one article before it is stored (its verdict is written with it); a matcher error
        stores it unmatched (for `hzwatch match --all`) and is recorded as a failure of this URL with
        the reason."""
        if self.matcher is None:
            return None
        try:
            return self.matcher.match(article)
        except Exception as exc:  # noqa: BLE001 - any matcher bug: record it, keep the article, go on
            log.warning("%s: match failed for %s: %r", spider.name, article.url, exc)
            if self.ledger is not None:
                self.ledger.record_failure(article.url, "match_error", repr(exc))
            return None
