"""Commands for crawling: `crawl` and `sources` (check, list)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

import click

from monitor.cli.options import db_option

if TYPE_CHECKING:
    import sqlite_utils

    from monitor.matching.matcher import Matcher
    from scrapers.sources import Source


def _load_sources(ids: Iterable[str] = (), path: str | None = None) -> list[Source]:
    from scrapers.sources import SourceConfigError, get_sources

    try:
        return get_sources(list(ids), path)
    except SourceConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command()
@click.argument("source_ids", nargs=-1, metavar="[SOURCE]...")
@db_option
@click.option(
    "--since",
    callback=_date,
    default=None,
    help="Backfill back to this date (YYYY-MM-DD); older articles are not fetched. "
    "Default: the earliest watch date of the plans (monitor/plans/*.yaml).",
)
@click.option("--until", callback=_date, default=None, help="Newest day to crawl (e-papers; default today).")
@click.option(
    "--remap",
    multiple=True,
    metavar="HOST=URL",
    help="Fetch HOST from URL instead (e.g. a local replica); stored URLs stay real. Repeatable.",
)
@click.option("--fast", is_flag=True, help="No politeness delays or AutoThrottle (replicas, tests, benchmarks).")
@click.option(
    "--max-pages",
    type=click.IntRange(1),
    default=None,
    help="List pages per list (e-paper: days) per run; caps a first-run backfill.",
)
@click.option("--max-articles", type=click.IntRange(0), default=None, help="Articles fetched per source and run.")
@click.option(
    "--sources-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Sources YAML (default: scrapers/sources.yaml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Scrapy log at INFO level.")
def crawl(
    source_ids: tuple[str, ...],
    db_path: str,
    since: date | None,
    until: date | None,
    remap: tuple[str, ...],
    fast: bool,
    max_pages: int | None,
    max_articles: int | None,
    sources_file: str | None,
    verbose: bool,
) -> None:
    """Crawl sources (default: all) once and store new articles; one summary line per source."""
    from monitor.cli.options import open_db
    from monitor.service.crawl import run_crawl
    from scrapers.middlewares import parse_remap

    try:
        mapping = parse_remap(remap)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--remap") from None
    sources = _load_sources(source_ids, sources_file)
    db = open_db(db_path)
    matcher = _plan_matcher(db)
    if since is None:
        if matcher is None:
            raise click.UsageError("the plans could not be loaded, so --since DATE is needed")
        since = min(plan.watch_from for plan in matcher.catalog.plans)
    results = run_crawl(
        sources,
        db,
        matcher=matcher,
        since=since,
        until=until,
        remap=mapping,
        fast=fast,
        max_pages=max_pages,
        max_articles=max_articles,
        log_level="INFO" if verbose else None,
    )
    for r in results:
        click.echo(r.summary())
    if results and all(r.status in ("failed", "not-run") for r in results):
        sys.exit(1)


def _plan_matcher(db: sqlite_utils.Database) -> Matcher | None:
    """The plans synced into the database and a matcher over them; None (with a warning) when a
    plan file is broken: the crawl then stores articles unmatched, for `hzwatch match --all`."""
    from db.catalog import sync_catalog
    from monitor.matching.catalog import CatalogError, load_catalog
    from monitor.matching.matcher import Matcher

    try:
        catalog = load_catalog()
    except CatalogError as exc:
        click.echo(f"warning: plans not loaded, articles are stored unmatched: {exc}", err=True)
        return None
    sync_catalog(db, catalog)
    return Matcher(catalog)


@click.group()
def sources() -> None:
    """Inspect and validate the crawl sources (scrapers/sources.yaml)."""


@sources.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def sources_check(path: str | None) -> None:
    """Validate a sources file (default: the bundled one) and list its sources."""
    from scrapers.sources import SOURCES_FILE, SourceConfigError, load_sources

    try:
        srcs = load_sources(path)
    except SourceConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    for s in srcs:
        every = f"every {s.interval_minutes} min" if s.interval_minutes else f"cron '{s.interval_cron}'"
        state = "ok " if s.enabled else "off"
        click.echo(f"{state} {s.id:<10} {s.strategy:<13} {s.profile or 'generic':<15} {s.site:<26} {every}  {s.name}")
    click.echo(f"{len(srcs)} sources valid in {path or SOURCES_FILE}")
    for s in srcs:
        if not s.verified:
            click.echo(
                f"unverified: {s.id} ({s.name}): its ids are documented nowhere public; "
                + ("crawled only when named" if not s.enabled else "enabled anyway (enabled: true)")
            )


@sources.command("list")
@db_option
def sources_list(db_path: str) -> None:
    """List sources with their last run and any layout warning (from the database)."""
    import os

    from scrapers.sources import load_sources

    srcs = load_sources()  # every source, disabled ones too
    rows = {}
    if os.path.exists(db_path):
        from db.status import source_overview
        from monitor.cli.options import open_db

        rows = source_overview(open_db(db_path))
    for s in srcs:
        r = rows.get(s.id) or {}
        last = f"last run {r['status']} {r['started']} (+{r['new_articles']})" if r.get("status") else "never run"
        warn = f"  ! {r['layout_warning']}" if r.get("layout_warning") else ""
        off = "" if s.enabled else "  (disabled: unverified)" if not s.verified else "  (disabled)"
        click.echo(f"{s.id:<10} {s.name}  [{s.strategy}, {s.site}]  {last}{warn}{off}")
