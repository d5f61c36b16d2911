"""The site's home page (/) from index.html, without Datasette's index view: that view reads every
table's columns, keys and full-text setup on each request (about 40 tables: 100-300 ms at a million
articles, on every visit) for a table list the home page does not show. /.json stays Datasette's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from datasette.utils.asgi import Response

from datasette import hookimpl

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request


async def home(datasette: Datasette, request: Request) -> Response:
    context = {"metadata": datasette.metadata()}
    return Response.html(await datasette.render_template("index.html", context, request=request))


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Any]]]:
    return [(r"^/$", home)]
