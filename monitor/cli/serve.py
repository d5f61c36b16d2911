"""Commands that publish the database: `serve` (live, read-only), `publish` (a snapshot), `demo`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from monitor.cli.options import db_option, open_db

# Datasette's own publish targets plus `package` (a Docker image); see `datasette publish --help`.
# vercel and fly need the datasette-publish-vercel / datasette-publish-fly plugins installed.
PUBLISH_TARGETS = ["package", "cloudrun", "heroku", "vercel", "fly"]
NAME_OPTION = {"package": "--tag", "cloudrun": "--service", "heroku": "--name", "vercel": "--project", "fly": "--app"}
# Plugins the site needs wherever it is published; opencc/sqlite-utils for the vendored search code.
PUBLISH_INSTALL = ["datasette-dashboards", "sqlite-utils", "opencc", "openpyxl"]


def _prepare_search(db_path: str) -> dict:
    """Migrate the database, sync the plan catalog (a database a crawl filled has its matches but
    maybe no plan: the site would have nothing to show them under) and bring the search index up
    to date before serving it."""
    from db.catalog import sync_catalog
    from db.search import sync_index
    from monitor.matching.catalog import CatalogError, load_catalog

    db = open_db(db_path)
    try:
        try:
            sync_catalog(db, load_catalog())
        except CatalogError as exc:
            click.echo(f"warning: plan catalog not synced, the site shows the stored one: {exc}", err=True)
        return sync_index(db)
    finally:
        db.close()


def _run_datasette(argv: list[str]) -> None:
    """Become Datasette (exec): Ctrl-C and SIGTERM reach it directly and no child is orphaned."""
    from monitor.service.serve import datasette_env

    click.echo('Datasette starting; its URL follows ("Uvicorn running on …"); Ctrl-C to stop', err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(argv[0], argv, datasette_env())
    except OSError as exc:
        raise click.ClickException(f"cannot start Datasette: {exc}") from exc


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option(
    "--allow-sql/--no-allow-sql", default=False, show_default=True, help="Let visitors run arbitrary read-only SQL."
)
@click.option("--print-argv", is_flag=True, help="Print the Datasette command line and exit.")
def serve(db_path: str, host: str, port: int, allow_sql: bool, print_argv: bool) -> None:
    """Serve the live database with Datasette: read-only, Chinese site, search, dashboards, feeds."""
    from monitor.service.serve import ServeError, datasette_argv

    if not Path(db_path).exists():
        raise click.ClickException(f"database {db_path} does not exist; run `hzwatch init --db {db_path}` first")
    counts = _prepare_search(db_path)
    try:
        argv = datasette_argv(db_path, host=host, port=port, allow_sql=allow_sql)
    except ServeError as exc:
        raise click.ClickException(str(exc)) from exc
    if print_argv:
        click.echo(" ".join(argv))
        return
    if counts["indexed"] or counts["removed"]:
        click.echo(f"search index: {counts['indexed']} articles indexed, {counts['removed']} removed", err=True)
    _run_datasette(argv)


def snapshot(db_path: str, out_dir: Path) -> Path:
    """A consistent copy of the live database (SQLite backup API, safe while crawls write)."""
    from db.connection import snapshot as db_snapshot

    return db_snapshot(db_path, out_dir / Path(db_path).name)


def publish_plugins_dir(out_dir: Path) -> Path:
    """The plugins folder plus vendored copies of `db` (search, dates) and `monitor.reporting` (report)."""
    from monitor.service.serve import PLUGINS, REPO

    plugins = out_dir / "plugins"
    shutil.copytree(PLUGINS, plugins, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "db", plugins / "vendor" / "db", ignore=shutil.ignore_patterns("__pycache__"))
    # the report pages (plugins/report.py) render with monitor.reporting
    vendor_monitor = plugins / "vendor" / "monitor"
    shutil.copytree(
        REPO / "monitor" / "reporting", vendor_monitor / "reporting", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "monitor" / "__init__.py", vendor_monitor / "__init__.py")
    return plugins


def publish_argv(
    target: str, snapshot_path: Path, plugins_dir: Path, name: str | None, extra: tuple[str, ...]
) -> list[str]:
    """`datasette package|publish TARGET` for the snapshot with hzwatch's presentation."""
    from monitor.service.serve import SETTINGS, TEMPLATES, metadata_path

    argv = [sys.executable, "-m", "datasette"]
    argv += ["package"] if target == "package" else ["publish", target]
    argv += [
        str(snapshot_path),
        "--metadata",
        str(metadata_path(snapshot_path)),
        "--template-dir",
        str(TEMPLATES),
        "--plugins-dir",
        str(plugins_dir),
    ]
    for package in PUBLISH_INSTALL:
        argv += ["--install", package]
    if name:
        argv += [NAME_OPTION[target], name]
    # A published snapshot is immutable by nature: SQL time limit still applies, SQL stays off.
    argv += [
        "--extra-options",
        " ".join(f"--setting {k} {v}" for k, v in dict(SETTINGS, default_allow_sql="off").items()),
    ]
    return argv + list(extra)


@click.command(context_settings={"ignore_unknown_options": True})
@db_option
@click.option(
    "--to",
    "target",
    type=click.Choice(PUBLISH_TARGETS),
    default="package",
    show_default=True,
    help="`package` builds a Docker image; the others deploy with that provider's CLI.",
)
@click.option("--name", default=None, help="Image tag (package) or service/app name.")
@click.option("--dry-run", is_flag=True, help="Prepare the snapshot and print the command only.")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def publish(db_path: str, target: str, name: str | None, dry_run: bool, extra: tuple[str, ...]) -> None:
    """Publish a read-only snapshot of the database with `datasette package` or `datasette publish`.

    Extra arguments go to Datasette, e.g. `hzwatch publish --to cloudrun -- --region asia-east1`.
    """
    if not Path(db_path).exists():
        raise click.ClickException(f"database {db_path} does not exist")
    _prepare_search(db_path)
    out_dir = Path(tempfile.mkdtemp(prefix="hzwatch-publish-"))
    snap = snapshot(db_path, out_dir)
    argv = publish_argv(target, snap, publish_plugins_dir(out_dir), name, tuple(extra))
    click.echo(" ".join(argv))
    if dry_run:
        click.echo(f"snapshot and plugins prepared in {out_dir}", err=True)
        return
    try:
        code = subprocess.call(argv)
    except OSError as exc:
        raise click.ClickException(f"cannot run datasette: {exc}") from exc
    if code:
        raise click.ClickException(
            f"datasette {'package' if target == 'package' else 'publish'} failed "
            f"(status {code}); is {'docker' if target == 'package' else target + ' CLI'} installed?"
        )


@click.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default="hzwatch-demo.db",
    show_default=True,
    help="Demo database (created fresh; never your real one).",
)
@click.option("--port", default=8001, show_default=True, type=int, help="Datasette port (0 picks a free one).")
@click.option("--articles", default=None, type=int, help="Generated replica articles (default: replica's).")
@click.option("--no-serve", is_flag=True, help="Build the demo database, then stop.")
def demo(db_path: str, port: int, articles: int | None, no_serve: bool) -> None:
    """Newcomer's tour: serve the bundled site replicas, crawl and match them, open Datasette. No network."""
    from db.catalog import sync_catalog
    from monitor.cli.options import load_catalog_or_fail
    from replica import server as replica_server

    for suffix in ("", "-wal", "-shm"):
        Path(db_path + suffix).unlink(missing_ok=True)
    db = open_db(db_path)
    sync_catalog(db, load_catalog_or_fail())
    db.close()

    replica = replica_server.start(articles=articles, hang_seconds=1.0)
    click.echo(f"replica of the Hangzhou sites on {replica.base_url}", err=True)
    remap = [arg for r in replica.remap_args() for arg in ("--remap", r)]
    started = time.monotonic()
    try:
        # One crawl of every source; the crawl pipeline matches and indexes each article it stores.
        code = subprocess.call(
            [sys.executable, "-m", "monitor.cli", "crawl", "--db", db_path, *remap, "--fast"], stdin=subprocess.DEVNULL
        )
    finally:
        replica.stop()
    if code:
        click.echo(f"crawl exited with status {code}; serving what was stored", err=True)
    # Safety net: articles stored while the matcher was unavailable get matched now.
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "match", "--all", "--db", db_path], capture_output=True, text=True
    )
    if done.returncode:
        raise click.ClickException(f"matching failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    _prepare_search(db_path)
    db = open_db(db_path)
    from db.status import story_summary

    s = story_summary(db)
    db.close()
    click.echo(
        f"demo database {db_path}: {s['articles']} articles from {s['sources']} sources = {s['stories']} stories "
        f"(syndicated copies together); relevant to the plans: {s['relevant_stories']} stories "
        f"({s['relevant_articles']} articles); search index: {s['indexed']} of {s['articles']} articles; "
        f"targets: {s['targets_with_figure']} of {s['targets']} with a credible latest figure, "
        f"{s['figures']} figures of which {s['doubtful']} 存疑; in {time.monotonic() - started:.0f} s",
        err=True,
    )
    if no_serve:
        return
    from monitor.service.serve import datasette_argv

    _run_datasette(datasette_argv(db_path, port=port))
