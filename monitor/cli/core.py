"""Commands for the database and the plan catalog: `init`, `plans`."""

from __future__ import annotations

import click

from monitor.cli.options import db_option, load_catalog_or_fail, open_db


@click.command()
@db_option
@click.option(
    "--plan",
    "plan_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Plan YAML file(s); default: every file in monitor/plans/ (or in $HZWATCH_PLANS).",
)
def init(db_path: str, plan_paths: tuple[str, ...]) -> None:
    """Create or upgrade the database and sync the plan catalog into it."""
    from db.catalog import sync_catalog

    db = open_db(db_path)
    catalog = load_catalog_or_fail(plan_paths)
    counts = sync_catalog(db, catalog)
    click.echo(f"database {db_path} ready; catalog synced: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


@click.group()
def plans() -> None:
    """Inspect and validate the plan catalog."""


@plans.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def plans_check(paths: tuple[str, ...]) -> None:
    """Validate plan YAML files (default: all bundled plans); report every problem, one a line."""
    from monitor.matching.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog(list(paths) or None)
    except CatalogError as exc:
        for error in exc.errors:
            click.echo(f"error  {error}", err=True)
        n = len(exc.errors)
        raise click.ClickException(f"{n} problem{'s' if n != 1 else ''} in the plan catalog") from exc
    for plan in catalog.plans:
        click.echo(f"ok  {plan.id}: {len(plan.items)} items, {len(plan.targets)} targets")
