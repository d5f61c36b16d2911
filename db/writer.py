"""Crawl-time storage: `ArticleWriter` stores articles in batched transactions, `CrawlLedger`
keeps one source's crawl bookkeeping (run row, fetch failures, list-page validators, what is known).

Both are handed to the crawl from outside (by `monitor/service/crawl.py`): the spiders and the
item pipeline never open the database or import its modules themselves.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import sqlite_utils

from db import articles as db_articles
from db import runs as db_runs
from db import search as db_search
from db.figures import refresh_figures
from db.matches import save_match, verdict_columns
from db.records import Article, MatchResult

log = logging.getLogger(__name__)

# Commit after this many articles or this many seconds, whichever comes first. Each article with its
# match is one savepoint inside the batch, and the batch's search entries are written just before it
# commits, in the same transaction: a kill loses whole articles only (the next run walks every list
# and fetches them again, as they are not stored) and never leaves one half-written or unindexed; a
# commit per article cost ~0.4 ms of CPU plus an FTS segment each. The write lock is held at most
# about this long.
COMMIT_EVERY_ITEMS = 50
COMMIT_EVERY_SECONDS = 0.5


class ArticleWriter:
    """Stores articles (with their match and search entry) a batch at a time on one connection.

    Batches grow 1, 2, 4 … COMMIT_EVERY_ITEMS articles, so the first articles of a crawl are visible
    at once. `call_later(seconds, fn)`, when given (the crawl passes the reactor's), commits a batch
    that stops filling (slow sites, timeouts) so the write lock and the data do not wait.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        call_later: Callable[[float, Callable[[], None]], object] | None = None,
        max_items: int = COMMIT_EVERY_ITEMS,
        max_seconds: float = COMMIT_EVERY_SECONDS,
    ) -> None:
        self.db = db
        self._call_later = call_later
        self._max_items = max_items
        self._max_seconds = max_seconds
        self._limit = 1
        self._open: list[float] | None = None  # [articles in the open batch, its start (monotonic)]
        self._to_index: list[int] = []  # articles of the open batch to (re)index before it commits
        self._if_lost: list[Callable[[], None]] = []  # what to do for each article if the batch is lost

    # ------------------------------------------------------------------ one article
    @contextmanager
    def article(self) -> Iterator[None]:
        """One article's writes (store, match, index) as one savepoint inside the open batch.

        The batch's transaction is begun first: a savepoint opened outside a transaction would
        itself be the transaction, and commit every article on its own."""
        self._begin()
        try:
            with self.db.atomic():
                yield
        except BaseException:
            if self._open is not None and not self.db.conn.in_transaction:
                self._batch_lost()  # the error took the whole transaction with it
            raise

    def if_lost(self, then: Callable[[], None]) -> None:
        """Call `then` if the open batch is lost before it commits: an error that ends the whole
        transaction (SQLITE_FULL, an I/O error, a RAISE(ROLLBACK) trigger …) or a failed COMMIT takes
        the batch's earlier articles with it, and they must not pass for stored."""
        self._if_lost.append(then)

    def prepare(self, article: Article) -> db_articles.Prepared:
        """Normalise and hash one article and read its stored row, in the open batch (nothing written:
        `prepared.unchanged` tells whether it needs matching and storing at all)."""
        self._begin()
        return db_articles.prepare_article(self.db, article)

    def store(
        self, article: Article | db_articles.Prepared, result: MatchResult | None = None, version: str = ""
    ) -> tuple[int, str]:
        """Store one article (or one `prepare`d) in the open batch with its match (`result`; None:
        stored unmatched, for `hzwatch match --all`); returns (article id, new|updated|unchanged).

        The verdict goes into the article's one row write (db.articles.write_article), then its
        matches and figures (db.matches.save_match)."""
        prepared = self.prepare(article) if isinstance(article, Article) else article
        verdict = verdict_columns(result, version) if result is not None else None
        article_id, status = db_articles.write_article(self.db, prepared, verdict)
        if result is not None and status != db_articles.UNCHANGED:
            save_match(self.db, article_id, result, version, verdict_written=True)
        return article_id, status

    def index(self, article_id: int) -> None:
        """(Re)index the article in the search table when its batch commits, in the same transaction
        (all the batch's articles at once: FTS5 writes its pending terms at every savepoint)."""
        self._to_index.append(article_id)

    def done(self) -> None:
        """One article is complete: commit when the batch is full or old."""
        if self._open is None:
            return
        self._open[0] += 1
        if self._open[0] >= self._limit or time.monotonic() - self._open[1] >= self._max_seconds:
            self.commit()

    def commit(self) -> None:
        """Commit the open batch (and whatever else this connection wrote in it)."""
        if self._to_index:
            self._index_batch()
        if self._open is not None:
            self._open = None
            self._limit = min(2 * self._limit, self._max_items)
        if self.db.conn.in_transaction:
            try:
                self.db.conn.commit()
            except sqlite3.Error as exc:
                log.warning("batch not committed: %r", exc)
                if self.db.conn.in_transaction:
                    self.db.conn.rollback()
                self._batch_lost()
                return
        self._if_lost = []

    def _batch_lost(self) -> None:
        """The open batch was rolled back: its articles are not stored; say so for each."""
        lost, self._if_lost, self._to_index, self._open = self._if_lost, [], [], None
        for then in lost:
            try:
                then()
            except Exception as exc:  # noqa: BLE001 - one report failing must not stop the others
                log.warning("could not report an article lost with its batch: %r", exc)

    def finish(self) -> None:
        """Commit the open batch, then store the figures its matches changed (db/figures.py)."""
        self.commit()
        refresh_figures(self.db)

    def _index_batch(self) -> None:
        ids, self._to_index = self._to_index, []
        try:
            db_search.index_articles(self.db, ids)
        except Exception as exc:  # noqa: BLE001 - the articles stay stored; `hzwatch serve` (sync_index) indexes them
            log.warning("search index not updated for %d articles: %r", len(ids), exc)

    # ------------------------------------------------------------------ batching
    def _begin(self) -> None:
        """Open a write transaction for the next articles unless one is open (then they join it)."""
        if self._open is not None:
            return
        if not self.db.conn.in_transaction:  # (a transaction left open by other code joins the batch)
            # IMMEDIATE: take the write lock now (waiting out another writer), not at the first write
            self.db.execute("BEGIN IMMEDIATE")
        self._open = [0, time.monotonic()]
        if self._call_later is not None:
            self._call_later(self._max_seconds, self._commit_if_old)

    def join(self) -> None:
        """Let the next writes of this connection (crawl bookkeeping) join the open batch, opening one
        if none is: they are committed with it, at the latest `max_seconds` later (with call_later)."""
        self._begin()

    def _commit_if_old(self) -> None:
        if self._open is not None and time.monotonic() - self._open[1] >= self._max_seconds * 0.9:
            self.commit()


class CrawlLedger:
    """One source's crawl bookkeeping: the run row, failures, list-page state, known URLs."""

    def __init__(self, db: sqlite_utils.Database, source_id: str, writer: ArticleWriter | None = None) -> None:
        self.db = db
        self.source_id = source_id
        self.run_id: int | None = None
        # the crawl's writer (same connection): failure rows join its open batch instead of being
        # committed one by one (an e-paper backfill records ~1,000 days without an issue per paper)
        self.writer = writer

    # ------------------------------------------------------------------ reads
    def list_page_state(self) -> dict[str, dict]:
        return db_runs.list_page_state(self.db, self.source_id)

    def last_listing_complete(self) -> bool:
        """Did the last finished run walk the lists completely (so stop-at-nothing-new is safe)?"""
        last = db_runs.last_finished_run(self.db, self.source_id)
        return bool(last and last.get("listing_complete"))

    def is_known(self, url: str) -> bool:
        """Stored already, or failed permanently often enough to leave alone."""
        return db_articles.is_known(self.db, url) or db_runs.given_up(self.db, url)

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        return db_articles.known_urls(self.db, urls)

    def given_up(self, url: str) -> bool:
        return db_runs.given_up(self.db, url)

    def pending_retries(self, reasons: Iterable[str]) -> list[str]:
        """Articles of this source whose fetch failed for a passing reason lately: fetch them again."""
        return db_runs.pending_retries(self.db, self.source_id, sorted(reasons))

    def given_up_urls(self, urls: Iterable[str]) -> set[str]:
        """The subset of `urls` that `given_up` is true of."""
        return db_runs.given_up_urls(self.db, urls)

    def failures_by_reason(self) -> dict[str, int]:
        return db_runs.failures_by_reason(self.db, self.run_id) if self.run_id else {}

    # ------------------------------------------------------------------ writes
    def start_run(self) -> int:
        self.run_id = db_runs.start_run(self.db, self.source_id)
        return self.run_id

    def record_failure(self, url: str, reason: str, detail: str | None = None) -> None:
        """One fetch_failures row; with a writer, committed with its batch (within its time limit)."""
        if self.writer is not None:
            self.writer.join()
        db_runs.record_failure(self.db, self.run_id, self.source_id, url, reason, detail)

    def update_progress(self, pages: int, new: int, updated: int) -> None:
        if self.run_id:
            db_runs.update_run(self.db, self.run_id, new_articles=new, updated_articles=updated, pages_fetched=pages)

    def save_list_pages(self, pages: dict[str, dict], validators: bool = True) -> None:
        """Store the list pages' state; without `validators` (the walk was not whole) only the pages
        marked `keep` (e-paper days …), with no ETag / Last-Modified: the next run re-reads the lists."""
        if not validators:
            pages = {u: {**s, "etag": None, "last_modified": None} for u, s in pages.items() if s.get("keep")}
        db_runs.save_list_pages(self.db, self.source_id, pages)

    def finish_run(self, status: str, **fields: object) -> None:
        if self.run_id:
            db_runs.finish_run(self.db, self.run_id, status, **fields)

    def record_layout(self, items_found: int | None, threshold: int, named: str | None = None) -> str | None:
        if not self.run_id:
            return None
        return db_runs.record_layout(self.db, self.source_id, self.run_id, items_found, threshold, named)
