"""The supervision report on the site: /plan/{id}/report.html (printable) and /plan/{id}/report.xlsx,
?as_of=YYYY-MM-DD, made by monitor.reporting (the same code as `hzwatch report`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from datasette import Response, hookimpl

if TYPE_CHECKING:
    import sqlite3

    from datasette.app import Datasette
    from datasette.utils.asgi import Request

    from monitor.reporting import Report

# Repository checkout, or the copies of `db` and `monitor/reporting` that `hzwatch publish` vendors.
sys.path += [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent / "vendor")]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def report_page(datasette: Datasette, request: Request) -> Response:
    import sqlite_utils

    from monitor.reporting import ReportError, build_report, render_html, render_xlsx

    names = [name for name in datasette.databases if not name.startswith("_")]
    if not names:
        return Response.text("没有数据库", status=404)
    plan_id, fmt = request.url_vars["plan"], request.url_vars["fmt"]

    def make(conn: sqlite3.Connection) -> Report:
        return build_report(sqlite_utils.Database(conn), plan_id, request.args.get("as_of") or None)

    try:
        made = await datasette.get_database(names[0]).execute_fn(make)
    except ReportError as exc:
        return Response.text(str(exc), status=404 if "没有这个计划" in str(exc) else 400)
    if fmt == "xlsx":
        name = quote(f"{plan_id}-报告-{made.as_of}.xlsx")
        headers = {"content-disposition": f"attachment; filename*=UTF-8''{name}"}
        return Response(render_xlsx(made), content_type=XLSX, headers=headers)
    base = datasette.absolute_url(request, datasette.urls.path("/")).rstrip("/")
    return Response.html(render_html(made, base_url=base))


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Any]]]:
    return [(r"^/plan/(?P<plan>[^/]+)/report\.(?P<fmt>html|xlsx)$", report_page)]
