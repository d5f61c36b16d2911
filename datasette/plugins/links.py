"""Link plan, article, item and target cells to the custom pages (/plan/{id}, /article/{id}, /item/{id} and
/target/{id}, which send the reader on to /plan/{plan}/item/{id} and /plan/{plan}/target/{id})."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from datasette import hookimpl

if TYPE_CHECKING:
    from datasette.app import Datasette

# column name -> custom page prefix, for any table or canned query that returns it
LINKED_COLUMNS = {"plan_id": "plan", "article_id": "article", "item_id": "item", "target_id": "target"}
TABLE_ID_PAGES = {"plans": "plan", "articles": "article", "items": "item", "targets": "target"}


@hookimpl
def render_cell(value: object, column: str, table: str | None, datasette: Datasette) -> Markup | None:
    if value is None or value == "":
        return None
    page = LINKED_COLUMNS.get(column)
    if page is None and column == "id" and table in TABLE_ID_PAGES:
        page = TABLE_ID_PAGES[table]
    if page is None:
        return None
    href = datasette.urls.path(f"/{page}/{value}")
    return Markup('<a href="{}">{}</a>').format(href, escape(str(value)))
