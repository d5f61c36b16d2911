"""Options and helpers shared by every command group: the database option, opening the
database and loading the plan catalog with failures turned into one-line CLI errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import sqlite_utils

    from monitor.matching.catalog import Catalog

db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    envvar="HZWATCH_DB",
    default="hzwatch.db",
    show_default=True,
    help="SQLite database file (or set HZWATCH_DB).",
)


def open_db(db_path: str) -> sqlite_utils.Database:
    """Open and migrate the database, turning failures into one-line CLI errors."""
    from db import DatabaseError, connect

    try:
        return connect(db_path)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc


def load_catalog_or_fail(plan_paths: Iterable[str] = ()) -> Catalog:
    from monitor.matching.catalog import CatalogError
    from monitor.matching.catalog_cache import load

    try:
        return load(list(plan_paths) or None)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
