"""Template functions for the custom pages: run a canned query of metadata.yml, search articles (pages
hold no SQL of their own)."""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datasette import hookimpl

# Repository checkout, or the copy of `db` that `hzwatch publish` puts beside the plugins.
sys.path += [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent / "vendor")]
import sqlite_utils  # noqa: E402

from db import search as search_db  # noqa: E402

if TYPE_CHECKING:
    import sqlite3

    from datasette.app import Datasette
    from datasette.utils.asgi import Request

PAGE_SIZE = 20
# Page reads (canned queries) are kept, for every read connection to share, until the database
# changes, at most CACHE_ENTRIES of them, each at most CACHE_SECONDS (some queries read the clock: due
# dates, failures of the last 7 days). A change is a commit by any other connection (a crawl, a
# review): each read connection's PRAGMA data_version moves when one happens, and the first of them to
# see it move starts a new generation, which no entry of an older one serves.
CACHE_ENTRIES = 256
CACHE_SECONDS = 60.0


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.seen: dict[int, tuple[Any, int]] = {}  # id(connection) -> (connection, its data_version)
        self.results: OrderedDict = OrderedDict()  # key -> (generation, monotonic time, rows)


_cache = _Cache()


def cached_rows(conn: sqlite3.Connection, sql: str, params: dict) -> list[dict]:
    """The rows of `sql`: from the shared cache unless the database changed since they were read."""
    version = conn.execute("PRAGMA data_version").fetchone()[0]
    key = (sql, tuple(sorted(params.items())))
    now = time.monotonic()
    with _cache.lock:
        last = _cache.seen.get(id(conn))
        if last is None or last[0] is not conn or last[1] != version:  # a commit since this one looked
            _cache.generation += 1
            _cache.results.clear()
            _cache.seen[id(conn)] = (conn, version)
        generation = _cache.generation
        hit = _cache.results.get(key)
        if hit is not None and hit[0] == generation and now - hit[1] < CACHE_SECONDS:
            _cache.results.move_to_end(key)
            return hit[2]
    cursor = conn.execute(sql, params)  # outside the lock: other pages go on meanwhile
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    with _cache.lock:
        # tagged with the generation it started in: if a commit was seen meanwhile, it serves no one
        _cache.results[key] = (generation, now, rows)
        if len(_cache.results) > CACHE_ENTRIES:
            _cache.results.popitem(last=False)
    return rows


def monitored_database(datasette: Datasette) -> str | None:
    """The one database the site publishes (the first that is not Datasette's own)."""
    names = [name for name in datasette.databases if not name.startswith("_")]
    return names[0] if names else None


@hookimpl
def extra_template_vars(datasette: Datasette, request: Request | None) -> dict[str, Any]:
    db_name = monitored_database(datasette)

    async def canned(name: str, params: dict | None = None) -> list[dict]:
        """A canned query's rows (cached until the database changes: see cached_rows). Our own
        queries, so no time limit: at a million articles the first read of an aggregate can take
        longer than the limit set for visitors' SQL."""
        query = await datasette.get_canned_query(db_name, name, request.actor if request else None)
        if query is None:
            raise KeyError(f"no canned query {name!r} in metadata.yml")
        rows = await datasette.get_database(db_name).execute_fn(
            lambda conn: cached_rows(conn, query["sql"], params or {})
        )
        return [dict(row) for row in rows]  # copies: a template may not change the cache

    async def search_articles(q: str, page: int | str | None = 1) -> dict[str, Any]:
        """One page of search results plus the number of stories (a lower bound when `capped`: then
        the results are the newest stored first, see db/search.py)."""
        offset = (max(int(page or 1), 1) - 1) * PAGE_SIZE

        def run(conn: sqlite3.Connection) -> tuple[int, bool, list[dict]]:
            db = sqlite_utils.Database(conn)
            total, capped, rows = search_db.search_page(db, q, PAGE_SIZE, offset)
            # Snippets come from the body as published (full-width punctuation kept); the highlight
            # filter finds the terms through their Simplified form.
            bodies = (
                {
                    r["id"]: r["body"]
                    for r in db.query(
                        "select id, body from articles where id in (%s)" % ",".join("?" * len(rows)),
                        [r["id"] for r in rows],
                    )
                }
                if rows
                else {}
            )
            for row in rows:
                row["snippet_text"] = bodies.get(row["id"]) or ""
            return total, capped, rows

        total, capped, rows = await datasette.get_database(db_name).execute_fn(run)
        terms = sorted(set((q or "").split()) | set(search_db.normalise(q).split()))
        more = len(rows) == PAGE_SIZE if capped else offset + len(rows) < total
        return {
            "total": total,
            "capped": capped,
            "hit_cap": search_db.HIT_CAP,
            "more": more,
            "rows": rows,
            "page_size": PAGE_SIZE,
            "offset": offset,
            "terms": terms,
        }

    return {
        "hz_db": db_name,
        "canned": canned,
        "search_articles": search_articles,
        "search_hit_cap": search_db.HIT_CAP,
    }
