"""Template functions for the custom pages: run a canned query of metadata.yml, search articles (pages
hold no SQL of their own)."""

from __future__ import annotations

import sys
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


def monitored_database(datasette: Datasette) -> str | None:
    """The one database the site publishes (the first that is not Datasette's own)."""
    names = [name for name in datasette.databases if not name.startswith("_")]
    return names[0] if names else None


@hookimpl
def extra_template_vars(datasette: Datasette, request: Request | None) -> dict[str, Any]:
    db_name = monitored_database(datasette)

    async def sql(query: str, params: dict | None = None) -> list[dict]:
        result = await datasette.get_database(db_name).execute(query, params or {})
        return [dict(row) for row in result.rows]

    async def canned(name: str, params: dict | None = None) -> list[dict]:
        query = await datasette.get_canned_query(db_name, name, request.actor if request else None)
        if query is None:
            raise KeyError(f"no canned query {name!r} in metadata.yml")
        return await sql(query["sql"], params)

    async def search_articles(q: str, page: int | str | None = 1) -> dict[str, Any]:
        """One page of search results plus the total count."""
        offset = (max(int(page or 1), 1) - 1) * PAGE_SIZE

        def run(conn: sqlite3.Connection) -> tuple[int, list[dict]]:
            db = sqlite_utils.Database(conn)
            total, rows = search_db.search_page(db, q, PAGE_SIZE, offset)
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
            return total, rows

        total, rows = await datasette.get_database(db_name).execute_fn(run)
        terms = sorted(set((q or "").split()) | set(search_db.normalise(q).split()))
        return {"total": total, "rows": rows, "page_size": PAGE_SIZE, "offset": offset, "terms": terms}

    return {"hz_db": db_name, "canned": canned, "search_articles": search_articles}
