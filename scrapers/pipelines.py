"""Item pipeline: store each article once (one savepoint with its match and search index entry),
committing a few dozen articles at a time."""

from __future__ import annotations

import logging
import time

from db import articles as db_articles
from db import runs as db_runs
from db.records import Article

log = logging.getLogger(__name__)

# Commit after this many articles or this many seconds, whichever comes first. Each article with its
# match and index entry is one savepoint inside the batch, so a kill loses whole articles only (the
# next run fetches them again, as they are not stored) and never leaves one half-written; a commit per
# article cost ~0.4 ms of CPU plus an FTS segment each. The write lock is held at most about this long.
COMMIT_EVERY_ITEMS = 50
COMMIT_EVERY_SECONDS = 0.5

_MATCHER = None  # (matcher, version, save_match) or False: loaded once per crawl process


def _load_matcher():
    """The plan matcher, built once per process; None when the catalog or matcher is unavailable."""
    global _MATCHER
    if _MATCHER is None:
        try:
            from db.matches import save_match
            from monitor.matching.catalog import load_catalog
            from monitor.matching.matcher import Matcher

            m = Matcher(load_catalog())
            _MATCHER = (m, m.version, save_match)
        except Exception as exc:  # a broken plan file must not stop the crawl: articles wait for `hzwatch match`
            log.warning("matcher unavailable, articles stored unmatched: %s", exc)
            _MATCHER = False
    return _MATCHER or None


def _indexer():
    try:
        from db.search import index_article
    except ImportError:
        return None
    return index_article


def matcher_input(item: dict) -> Article:
    """The Article the matcher reads."""
    return Article(
        url=item["url"],
        site=item.get("site"),
        title=item.get("title") or "",
        published=item.get("published"),
        body=item.get("body") or "",
        source_name=item.get("source_name"),
    )


class StorePipeline:
    """Store articles; match and index the new and changed ones in the same transaction."""

    def __init__(self, crawler=None):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        spider = self.crawler.spider
        self.db = getattr(spider, "db", None)
        self.matcher = _load_matcher() if self.db is not None else None
        self.index = _indexer()

    def close_spider(self):
        if self.db is not None:
            commit_batch(self.db)

    def process_item(self, item):
        spider = self.crawler.spider
        if self.db is None:
            return item
        db = self.db
        _begin_batch(db)
        with db.atomic():
            article_id, status = db_articles.store_article(db, item)
            if status != db_articles.UNCHANGED:
                if self.matcher:
                    matcher, version, save_match = self.matcher
                    try:
                        with db.atomic():  # savepoint: a matcher error leaves the article unmatched, not lost
                            save_match(db, article_id, matcher.match(matcher_input(item)), version)
                    except Exception as exc:
                        log.warning("%s: match failed for %s: %r", spider.name, item["url"], exc)
                        db_runs.record_failure(
                            db, getattr(spider, "run_id", None), spider.name, item["url"], "match_error", repr(exc)
                        )
                if self.index:
                    self.index(db, article_id)
        spider.counters[status] += 1
        if getattr(spider, "run_id", None) and (spider.counters["new"] + spider.counters["updated"]) % 20 == 1:
            # progress visible while the crawl runs (and after a kill)
            db_runs.update_run(
                db,
                spider.run_id,
                new_articles=spider.counters["new"],
                updated_articles=spider.counters["updated"],
                pages_fetched=spider.counters["pages"],
            )
        _end_item(db)
        return item


_BATCHES: dict[int, list] = {}  # id(db) -> [articles in the open batch, its start (monotonic)]
# Batch sizes grow 1, 2, 4 … COMMIT_EVERY_ITEMS: the first articles of a crawl are visible at once.
_BATCH_LIMIT: dict[int, int] = {}


def _begin_batch(db) -> None:
    """Open a write transaction for the next articles unless one is open (then they join it)."""
    if id(db) in _BATCHES:
        return
    if not db.conn.in_transaction:  # (a transaction left open by other code joins the batch)
        # IMMEDIATE: take the write lock now (waiting out another writer), not at the first write after reads
        db.execute("BEGIN IMMEDIATE")
    _BATCHES[id(db)] = [0, time.monotonic()]
    try:
        from twisted.internet import reactor

        # commits a batch that stops filling (slow sites, timeouts) so the lock and data don't wait
        reactor.callLater(COMMIT_EVERY_SECONDS, _commit_if_old, db)
    except Exception:  # no running reactor (direct use): the item count and close_spider commit
        pass


def _end_item(db) -> None:
    state = _BATCHES.get(id(db))
    if state is None:
        return
    state[0] += 1
    if state[0] >= _BATCH_LIMIT.get(id(db), 1) or time.monotonic() - state[1] >= COMMIT_EVERY_SECONDS:
        commit_batch(db)


def _commit_if_old(db) -> None:
    state = _BATCHES.get(id(db))
    if state is not None and time.monotonic() - state[1] >= COMMIT_EVERY_SECONDS * 0.9:
        commit_batch(db)


def commit_batch(db) -> None:
    """Commit the open batch (and whatever else this connection wrote in it)."""
    if _BATCHES.pop(id(db), None) is not None:
        _BATCH_LIMIT[id(db)] = min(2 * _BATCH_LIMIT.get(id(db), 1), COMMIT_EVERY_ITEMS)
    if db.conn.in_transaction:
        db.conn.commit()
