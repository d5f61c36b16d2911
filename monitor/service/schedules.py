"""Source schedules for the service: each source's interval or cron (after --sources, --every,
--interval-scale), its APScheduler trigger, misfire grace and when it is next due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from db.clock import TIMEZONE_NAME
from monitor.alerting.subscriptions import SubscriptionSet

TIMEZONE = TIMEZONE_NAME


class ScheduleError(Exception):
    """A source whose schedule cannot be understood."""


@dataclass(frozen=True)
class SourceSchedule:
    id: str
    name: str
    interval_seconds: float | None = None
    cron: str | None = None


@dataclass
class RunOptions:
    db_path: str
    subscriptions: SubscriptionSet
    serve: bool = True
    host: str = "127.0.0.1"
    port: int = 8001
    remap: tuple[str, ...] = ()
    fast: bool = False
    only_sources: tuple[str, ...] = ()
    interval_scale: float = 1.0
    every: float | None = None
    crawl_timeout: float = 1800.0
    max_crawls: int = 2
    dispatch_every: float | None = None
    crawl: bool = True
    crawl_argv_extra: tuple[str, ...] = field(default_factory=tuple)


# -- sources -----------------------------------------------------------------------------


def _get(obj: object, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _seconds(value: object) -> float:
    """An interval from sources.yaml: minutes as a number, or '90s', '30m', '2h', '1d'."""
    if isinstance(value, (int, float)):
        return float(value) * 60
    text = str(value).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text) * 60


def schedules(sources: Iterable[object], opts: RunOptions) -> list[SourceSchedule]:
    """Each source's schedule, after --sources, --every and --interval-scale."""
    out = []
    for src in sources:
        sid = str(_get(src, "id"))
        if opts.only_sources and sid not in opts.only_sources:
            continue
        name = str(_get(src, "name") or sid)
        cron = _get(src, "cron", "interval_cron")
        interval = _get(src, "interval_seconds")
        if interval is None and (minutes := _get(src, "interval_minutes")) is not None:
            interval = float(minutes) * 60
        if interval is None and (raw := _get(src, "interval")) is not None:
            if isinstance(raw, dt.timedelta):
                interval = raw.total_seconds()
            else:
                try:
                    interval = _seconds(raw)
                except ValueError as exc:
                    raise ScheduleError(f"source {sid}: bad interval {raw!r}") from exc
        if opts.every:
            out.append(SourceSchedule(sid, name, interval_seconds=float(opts.every)))
        elif cron and interval is None:
            out.append(SourceSchedule(sid, name, cron=str(cron)))
        elif interval:
            out.append(SourceSchedule(sid, name, interval_seconds=float(interval) * opts.interval_scale))
        else:
            raise ScheduleError(f"source {sid}: needs an interval or a cron")
    missing = set(opts.only_sources) - {s.id for s in out}
    if missing:
        raise ScheduleError(f"unknown source(s): {', '.join(sorted(missing))}")
    return out


def load_source_schedules(opts: RunOptions) -> list[SourceSchedule]:
    from scrapers.sources import SourceConfigError, load_sources

    try:
        # a disabled source (e.g. verified: false) is scheduled only when --sources names it
        return schedules([s for s in load_sources() if s.enabled or s.id in opts.only_sources], opts)
    except SourceConfigError as exc:
        raise ScheduleError(str(exc)) from exc


def trigger_for(s: SourceSchedule) -> CronTrigger | IntervalTrigger:
    """APScheduler trigger: interval with jitter (about a tenth, at most 5 min), or a cron."""
    if s.cron:
        return CronTrigger.from_crontab(s.cron, timezone=TIMEZONE)
    jitter = min(s.interval_seconds * 0.1, 300)
    return IntervalTrigger(seconds=s.interval_seconds, timezone=TIMEZONE, jitter=jitter or None)


def misfire_grace(s: SourceSchedule) -> int:
    """A late run still runs if it is less than half an interval late (cron: 10 minutes)."""
    if s.cron:
        return 600
    return max(1, int(s.interval_seconds / 2))


def first_run_time(s: SourceSchedule, last: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """Overdue (or never run): now, once. Otherwise when the next run falls due after the last one."""
    if last is None:
        return now
    if s.cron:
        due = CronTrigger.from_crontab(s.cron, timezone=TIMEZONE).get_next_fire_time(None, last)
        return now if due is None or due <= now else due
    due = last + dt.timedelta(seconds=s.interval_seconds)
    return now if due <= now else due


def next_due(s: SourceSchedule, last: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When the service will next crawl this source (for `hzwatch status`)."""
    return first_run_time(s, last, now)


def last_fire_before(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The cron trigger's latest fire time at or before `now` (within the last 8 days), else None."""
    last, t = None, trigger.get_next_fire_time(None, now - dt.timedelta(days=8))
    while t is not None and t <= now:
        last = t
        t = trigger.get_next_fire_time(t, t + dt.timedelta(seconds=1))
    return last
