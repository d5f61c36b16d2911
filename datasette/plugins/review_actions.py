"""Review writes and pages: POST a correction or an undo (reviewers only), the review queue and
the audit of every correction (anyone may read them). All writes go through db/reviews.py."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from datasette.utils.asgi import Response
from markupsafe import escape

from datasette import hookimpl

sys.path += [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent / "vendor")]
import sqlite_utils  # noqa: E402

from db import connection, review_lists, reviews  # noqa: E402

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.database import Database
    from datasette.utils.asgi import Request

T = TypeVar("T")

PAGE = 100
TEXT_FIELDS = ["kind", "action", "item_id", "target_id", "unit", "as_of", "new_unit", "new_as_of", "quote", "reason"]


def monitored_database(datasette: Datasette) -> Database:
    names = [name for name in datasette.databases if not name.startswith("_")]
    return datasette.get_database(names[0])


def back_to(value: str | None, default: str) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else default


def number(value: str | None) -> float | None:
    text = (value or "").strip().replace(",", "")
    try:
        return float(text) if text else None
    except ValueError as exc:
        raise reviews.ReviewError(f"不是数字：{text[:40]}") from exc


async def reviewer_or_refuse(datasette: Datasette, request: Request) -> str | None:
    """The signed-in reviewer's name, or None (the caller answers 403)."""
    if request.method != "POST":
        return None
    if not await datasette.permission_allowed(request.actor, "hz-review", default=False):
        return None
    return request.actor["id"]


def refused(message: str = "只有已登录的审阅人可以修改", status: int = 403) -> Response:
    return Response.html(f"<!DOCTYPE html><meta charset=utf-8><p>{escape(message)}</p>", status=status)


async def write(datasette: Datasette, fn: Callable[[sqlite_utils.Database], T]) -> T:
    return await monitored_database(datasette).execute_write_fn(lambda conn: fn(connection.Database(conn)))


async def review_article(datasette: Datasette, request: Request) -> Response:
    name = await reviewer_or_refuse(datasette, request)
    if name is None:
        return refused()
    form = await request.post_vars()
    article_id = int(request.url_vars["id"])
    try:
        fields = {key: (form.get(key) or "").strip() or None for key in TEXT_FIELDS}
        review = reviews.Review(
            article_id=article_id,
            value=number(form.get("value")),
            new_value=number(form.get("new_value")),
            **fields,
        )
        if form.get("confirm_links") and (review.kind, review.action) == ("relevance", "relevant"):
            await write(datasette, lambda db: reviews.confirm_candidate(db, article_id, name, review.reason))
        else:
            await write(datasette, lambda db: reviews.record(db, review, name))
    except reviews.ReviewError as exc:
        return refused(str(exc), status=400)
    return Response.redirect(back_to(form.get("next"), f"/article/{article_id}#hz-review"))


async def undo_review(datasette: Datasette, request: Request) -> Response:
    name = await reviewer_or_refuse(datasette, request)
    if name is None:
        return refused()
    form = await request.post_vars()
    try:
        await write(datasette, lambda db: reviews.undo(db, int(request.url_vars["id"]), name))
    except reviews.ReviewError as exc:
        return refused(str(exc), status=400)
    return Response.redirect(back_to(form.get("next"), "/-/review/audit"))


async def read(datasette: Datasette, fn: Callable[[sqlite_utils.Database], T]) -> T:
    return await monitored_database(datasette).execute_fn(lambda conn: fn(sqlite_utils.Database(conn)))


def page_number(request: Request) -> int:
    try:
        return max(int(request.args.get("page") or 1), 1)
    except ValueError:
        return 1


async def queue_page(datasette: Datasette, request: Request) -> Response:
    page = page_number(request)
    kind = request.args.get("kind")
    rows = await read(datasette, lambda db: review_lists.queue(db, PAGE, (page - 1) * PAGE, kind))
    counts = await read(datasette, review_lists.queue_counts)
    here = "/-/review" + (f"?kind={kind}" if kind in review_lists.KINDS else "")
    context = {"rows": rows, "counts": counts, "page": page, "page_size": PAGE, "kind": kind, "here": here}
    return Response.html(await datasette.render_template("review_queue.html", context, request=request))


async def audit_page(datasette: Datasette, request: Request) -> Response:
    page = page_number(request)
    rows = await read(datasette, lambda db: review_lists.audit(db, PAGE, (page - 1) * PAGE))
    total = await read(datasette, review_lists.count_reviews)
    context = {"rows": rows, "total": total, "page": page, "page_size": PAGE}
    return Response.html(await datasette.render_template("review_audit.html", context, request=request))


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Any]]]:
    return [
        (r"^/-/review/article/(?P<id>\d+)$", review_article),
        (r"^/-/review/undo/(?P<id>\d+)$", undo_review),
        (r"^/-/review$", queue_page),
        (r"^/-/review/audit$", audit_page),
    ]
