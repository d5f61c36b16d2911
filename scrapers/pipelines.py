"""Item pipeline: store each article once (one transaction with its match and search index entry)."""
from __future__ import annotations

import logging

from db import articles as db_articles
from db import runs as db_runs

log = logging.getLogger(__name__)

_MATCHER = None          # (matcher, version, save_match) or False: loaded once per crawl process


def _load_matcher():
    """The plan matcher, built once per process; None when the catalog or matcher is unavailable."""
    global _MATCHER
    if _MATCHER is None:
        try:
            from db.matches import save_match
            from monitor.catalog import load_catalog
            from monitor.matcher import Matcher

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


def matcher_input(item: dict) -> dict:
    """The article dict the matcher expects."""
    return {"url": item["url"], "site": item.get("site"), "title": item.get("title"),
            "published": item.get("published"), "text": item.get("body"), "source": item.get("source_name")}


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

    def process_item(self, item):
        spider = self.crawler.spider
        if self.db is None:
            return item
        db = self.db
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
                        db_runs.record_failure(db, getattr(spider, "run_id", None), spider.name, item["url"],
                                               "match_error", repr(exc))
                if self.index:
                    self.index(db, article_id)
        spider.counters[status] += 1
        if getattr(spider, "run_id", None) and (spider.counters["new"] + spider.counters["updated"]) % 20 == 1:
            # progress visible while the crawl runs (and after a kill)
            db_runs.update_run(db, spider.run_id, new_articles=spider.counters["new"],
                               updated_articles=spider.counters["updated"], pages_fetched=spider.counters["pages"])
        return item
