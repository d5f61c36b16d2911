"""Commands for the long-running service: `run`, `status`, `alerts test|list|retry`."""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import TYPE_CHECKING

import click

from monitor.cli.options import db_option

if TYPE_CHECKING:
    import sqlite_utils

    from monitor.alerting.subscriptions import SubscriptionSet
    from monitor.service.schedules import SourceSchedule

subscriptions_option = click.option(
    "--subscriptions",
    "subscriptions_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Subscriptions YAML (or set HZWATCH_SUBSCRIPTIONS); see subscriptions.example.yaml.",
)


def load_subscriptions_or_fail(path: str | None) -> SubscriptionSet:
    from monitor.alerting.subscriptions import SubscriptionError, load_subscriptions, resolve_path

    try:
        return load_subscriptions(resolve_path(path))
    except SubscriptionError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@db_option
@subscriptions_option
@click.option("--no-serve", is_flag=True, help="Do not start Datasette alongside.")
@click.option("--no-crawl", is_flag=True, help="Do not crawl: only dispatch alerts (and serve).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Datasette host.")
@click.option("--port", default=8001, show_default=True, type=int, help="Datasette port.")
@click.option("--remap", multiple=True, metavar="HOST=URL", help="Passed to every crawl (replica sites).")
@click.option("--fast", is_flag=True, help="Passed to every crawl (no politeness delays; replicas only).")
@click.option("--sources", "only_sources", default="", help="Comma-separated source ids (default: all).")
@click.option(
    "--interval-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Multiply every source interval (e.g. 0.001 for tests).",
)
@click.option("--every", type=float, default=None, help="Crawl every source every N seconds (tests, demos).")
@click.option(
    "--crawl-timeout",
    type=float,
    default=1800,
    show_default=True,
    help="Seconds before a crawl is killed and recorded as timeout.",
)
@click.option("--max-crawls", type=int, default=2, show_default=True, help="Crawls running at once.")
@click.option(
    "--dispatch-every",
    type=float,
    default=None,
    help="Seconds between alert dispatch cycles (default from monitor/alerting/alerts.yaml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def run(
    db_path: str,
    subscriptions_path: str | None,
    no_serve: bool,
    no_crawl: bool,
    host: str,
    port: int,
    remap: tuple[str, ...],
    fast: bool,
    only_sources: str,
    interval_scale: float,
    every: float | None,
    crawl_timeout: float,
    max_crawls: int,
    dispatch_every: float | None,
    verbose: bool,
) -> None:
    """Run the service: crawl on schedule, match, alert, serve Datasette (Ctrl-C to stop)."""
    from monitor.cli.options import open_db
    from monitor.service.scheduler import RunOptions, ScheduleError, Service

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)
    # urllib3 logs request paths at DEBUG, and webhook tokens live in paths.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    subset = load_subscriptions_or_fail(subscriptions_path)
    open_db(db_path).close()  # fail early, in one line, on a bad path
    opts = RunOptions(
        db_path=db_path,
        subscriptions=subset,
        serve=not no_serve,
        host=host,
        port=port,
        remap=tuple(remap),
        fast=fast,
        only_sources=tuple(s.strip() for s in only_sources.split(",") if s.strip()),
        interval_scale=interval_scale,
        every=every,
        crawl_timeout=crawl_timeout,
        max_crawls=max_crawls,
        dispatch_every=dispatch_every,
        crawl=not no_crawl,
    )
    service = Service(opts)
    try:
        service.start()
    except ScheduleError as exc:
        service.shutdown()
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"hzwatch running: {len(service.sources)} source(s), "
        f"{len(subset.subscriptions)} subscription(s)"
        + ("" if no_serve else f", Datasette http://{host}:{port}")
        + "; Ctrl-C to stop",
        err=True,
    )
    try:
        service.wait()
    finally:
        service.shutdown()


def _local(value: str | dt.datetime | None, tz: dt.tzinfo) -> str:
    from db.status import parse_time

    t = parse_time(value) if isinstance(value, str) else value
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _due(due: dt.datetime | None, now: dt.datetime, tz: dt.tzinfo) -> str:
    if due is None:
        return "-"
    return "now (overdue)" if due <= now else _local(due, tz)


def _service_started(db_path: str) -> dt.datetime | None:
    """When the running service took the database's run lock (the lock file is written then)."""
    try:
        return dt.datetime.fromtimestamp(os.stat(f"{db_path}.run.lock").st_mtime, dt.timezone.utc)
    except OSError:
        return None


def _waiting_too_long(
    sched: SourceSchedule,
    started: dt.datetime | None,
    run: dict | None,
    up_since: dt.datetime | None,
    now: dt.datetime,
) -> str | None:
    """A note when a source has waited for its crawl longer than its interval (starved or stuck)."""
    if not sched.interval_seconds or (run and run["status"] == "running"):
        return None
    due = started + dt.timedelta(seconds=sched.interval_seconds) if started else None
    since = max(due, up_since) if due and up_since else due or up_since
    if since is None:
        return None
    waited = (now - since).total_seconds()
    if waited <= sched.interval_seconds:
        return None
    return f"已等待 {waited / 60:.0f} 分钟，超过抓取间隔（{sched.interval_seconds / 60:g} 分钟）"


@click.command()
@db_option
@click.option("--interval-scale", type=float, default=1.0, hidden=True)
def status(db_path: str, interval_scale: float) -> None:
    """Each source's last run, result, next run and layout warnings; pending and failed alerts."""
    from db import status as st
    from db.clock import BEIJING
    from monitor.alerting.subscriptions import SubscriptionSet
    from monitor.cli.options import open_db
    from monitor.service.processes import service_pid
    from monitor.service.scheduler import RunOptions, ScheduleError, load_source_schedules, next_due

    tz = BEIJING
    db = open_db(db_path)
    last = st.last_runs(db)
    rows = st.source_rows(db)
    try:
        scheds = {
            s.id: s
            for s in load_source_schedules(
                RunOptions(db_path=db_path, subscriptions=SubscriptionSet((), {}, {}), interval_scale=interval_scale)
            )
        }
    except (ImportError, ScheduleError) as exc:
        click.echo(f"(sources.yaml not readable: {exc})", err=True)
        scheds = {}
    now = dt.datetime.now(tz)
    pid = service_pid(db_path)
    up_since = _service_started(db_path) if pid else None
    ids = sorted(set(scheds) | set(last) | set(rows))
    click.echo(f"{'source':<22} {'last run (Asia/Shanghai)':<24} {'result':<8} {'new':>4} {'next due':<19}  notes")
    for sid in ids:
        run = last.get(sid)
        started = st.parse_time(run["started"]) if run else None
        due = next_due(scheds[sid], started, now) if sid in scheds else None
        notes = []
        src = rows.get(sid) or {}
        if src.get("layout_warning"):
            notes.append(f"layout: {src['layout_warning']}")
        if run and run.get("error") and run["status"] not in ("ok",):
            notes.append(str(run["error"])[:80])
        if sid not in scheds:
            notes.append("not in sources.yaml")
        elif pid and (late := _waiting_too_long(scheds[sid], started, run, up_since, now)):
            notes.insert(0, late)
        click.echo(
            f"{sid:<22} {_local(started, tz) if run else 'never':<24} {run['status'] if run else '-':<8} "
            f"{(run.get('new_articles') or 0) if run else 0:>4} {_due(due, now, tz):<19}  " + "; ".join(notes)
        )
    click.echo(f"service: running (pid {pid})" if pid else "service: not running")
    counts = st.outbox_counts(db)
    click.echo(
        "alerts: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("pending", "sending", "failed", "sent", "withdrawn"))
    )
    for line in _alert_trouble(db):
        click.echo(line)


def _alert_trouble(db: sqlite_utils.Database) -> list[str]:
    """Lines on alerts that failed for good or wait longer than delivery.queued_warn_minutes."""
    from db.alerts import queue_health
    from monitor.alerting.subscriptions import defaults

    minutes = float(defaults()["delivery"]["queued_warn_minutes"])
    health = queue_health(db, minutes)
    out = []
    if health["old"]:
        out.append(
            f"告警积压：{health['old']} 条排队超过 {minutes:g} 分钟（最早 {health['oldest']}，订阅 {health['subs']}）"
            + (f"：{health['error'][:100]}" if health["error"] else "")
        )
    if health["failed"]:
        out.append(
            f"告警失败：{health['failed']} 条未能投递（hzwatch alerts list --status failed；hzwatch alerts retry）"
        )
    return out


@click.group()
def alerts() -> None:
    """Alert subscriptions and the outbox."""


@alerts.command("test")
@subscriptions_option
@click.argument("name")
def alerts_test(subscriptions_path: str | None, name: str) -> None:
    """Send a test message to every endpoint of subscription NAME."""
    from monitor.alerting.alerts import send_test
    from monitor.alerting.subscriptions import SubscriptionError

    subset = load_subscriptions_or_fail(subscriptions_path)
    try:
        results = send_test(subset, name)
    except SubscriptionError as exc:
        raise click.ClickException(str(exc)) from exc
    for env_name, error in results.items():
        click.echo(f"{'ok    ' if error is None else 'FAILED'} {env_name}" + (f": {error}" if error else ""))
    if any(results.values()):
        raise click.ClickException(f"{sum(1 for e in results.values() if e)} endpoint(s) failed")


@alerts.command("list")
@db_option
@click.option(
    "--status", "status_", type=click.Choice(["pending", "sending", "sent", "failed", "withdrawn"]), default=None
)
@click.option("--limit", type=int, default=50, show_default=True)
def alerts_list(db_path: str, status_: str | None, limit: int) -> None:
    """Show the outbox, newest first."""
    from db.alerts import list_outbox
    from monitor.cli.options import open_db

    rows = list_outbox(open_db(db_path), status_, limit)
    if not rows:
        click.echo("outbox empty" + (f" (status {status_})" if status_ else ""))
        return
    for r in rows:
        when = r["sent_at"] or r["next_attempt"] or r["created_at"]
        click.echo(
            f"{r['id']:>5} {r['status']:<8} {r['attempts']:>2}x {r['subscription']:<18} "
            f"story {r['story_id']:<6} article {r['article_id']:<6} {when or '':<29} "
            f"{(r['title'] or '')[:40]}" + (f"  [{r['last_error'][:80]}]" if r["last_error"] else "")
        )


@alerts.command("retry")
@db_option
@click.option("--subscription", default=None, help="Only this subscription.")
def alerts_retry(db_path: str, subscription: str | None) -> None:
    """Put alerts marked failed back in the queue (e.g. after fixing an endpoint)."""
    from db.alerts import retry_failed
    from monitor.cli.options import open_db

    click.echo(f"{retry_failed(open_db(db_path), subscription)} alert(s) queued again")
