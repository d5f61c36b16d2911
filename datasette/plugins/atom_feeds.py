"""Atom feeds (`.atom`) for the feed_* canned queries, declared in metadata.yml under `hzwatch-feeds`.

`/feeds/matches.atom`, `/feeds/plan.atom?plan=hangzhou-2026`, `/feeds/item.atom?item=R03`,
`/feeds/target.atom?target=…` redirect to the feed of whatever database is served, so those
addresses work for any database file name.

Every feed is a valid Atom document, an empty one too (no entries); a feed for an item or target
that does not exist answers 404 (the query's `exists_sql` in metadata finds nothing); each entry is
dated by its article (`atom_updated`). Registered last, so it is the `.atom` renderer even where
datasette-atom is installed (that one answers 500 on an empty feed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from datasette.utils.asgi import Response

from datasette import hookimpl

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

REQUIRED = {"atom_id", "atom_title", "atom_updated"}


def _entry(row: dict) -> str:
    parts = [
        "  <entry>",
        f"    <id>{escape(str(row['atom_id']))}</id>",
        f"    <title>{escape(str(row['atom_title'] or ''))}</title>",
        f"    <updated>{escape(str(row['atom_updated']))}</updated>",
    ]
    if row.get("atom_link"):
        parts.append(f"    <link href={quoteattr(str(row['atom_link']))}/>")
    if row.get("atom_content"):
        parts.append(f'    <content type="text">{escape(str(row["atom_content"]))}</content>')
    parts.append("  </entry>")
    return "\n".join(parts)


def atom_document(url: str, title: str, rows: list[dict]) -> str:
    """The feed: entries newest first; <updated> is the newest entry's (now when there is none)."""
    rows = [r for r in rows if r.get("atom_updated")]
    stamps = [str(r["atom_updated"]) for r in rows]
    updated = max(stamps) if stamps else dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    head = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">',
        f"  <id>{escape(url)}</id>",
        f"  <title>{escape(title)}</title>",
        f"  <updated>{escape(updated)}</updated>",
        f'  <link href={quoteattr(url)} rel="self"/>',
        "  <author><name>hzwatch</name></author>",
        "  <generator>hzwatch</generator>",
    ]
    return "\n".join(head + [_entry(r) for r in rows] + ["</feed>", ""])


def _text(message: str, status: int) -> dict:
    # A dict, not a Response: Datasette keeps a dict's status_code (it overrides a Response's).
    return {"body": message, "status_code": status, "content_type": "text/plain; charset=utf-8"}


async def render_atom(
    datasette: Datasette,
    request: Request,
    columns: list[str],
    rows: Sequence[Sequence[Any]],
    database: str,
    query_name: str | None,
) -> dict:
    if not REQUIRED.issubset(columns):
        return _text("此查询不能输出 Atom 订阅（缺少 atom_id、atom_title、atom_updated 列）", 400)
    feeds = datasette.plugin_config("hzwatch-feeds", database=database) or {}
    check = (feeds.get(query_name) or {}).get("exists_sql")
    if check:
        params = {key: request.args.get(key, "") for key in (feeds[query_name].get("params") or [])}
        found = await datasette.get_database(database).execute(check, params)
        if not found.rows:
            wanted = "、".join(f"{k}={v}" for k, v in params.items())
            return _text(f"没有这个订阅对象：{wanted}", 404)
    queries = (datasette.metadata("queries", database=database) or {}) if query_name else {}
    title = (queries.get(query_name) or {}).get("title") or query_name or "hzwatch"
    body = atom_document(request.url, title, [dict(zip(columns, row, strict=True)) for row in rows])
    return {"body": body, "status_code": 200, "content_type": "application/atom+xml; charset=utf-8"}


def can_render_atom(columns: list[str]) -> bool:
    return REQUIRED.issubset(columns)


@hookimpl(trylast=True)
def register_output_renderer(datasette: Datasette) -> dict:
    return {"extension": "atom", "render": render_atom, "can_render": can_render_atom}


async def feed_redirect(datasette: Datasette, request: Request) -> Response:
    names = [name for name in datasette.databases if not name.startswith("_")]
    if not names:
        return Response.text("没有可订阅的数据库", status=404)
    name = request.url_vars["name"]
    query = f"?{request.query_string}" if request.query_string else ""
    return Response.redirect(datasette.urls.database(names[0]) + f"/feed_{name}.atom{query}")


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Any]]]:
    return [(r"^/feeds/(?P<name>matches|plan|item|target)\.atom$", feed_redirect)]
