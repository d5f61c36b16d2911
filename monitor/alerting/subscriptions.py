"""Alert subscriptions: a YAML file of who gets what, interpreted here (URLs come only from env vars)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULTS_FILE = Path(__file__).with_name("alerts.yaml")
ENV_FILE = "HZWATCH_SUBSCRIPTIONS"
MODES = ("immediate", "digest")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FILTER_KEYS = {"plans", "items", "targets", "min_score", "sources", "only_with_progress"}
_SUB_KEYS = {"name", "urls_env", "mode", "cron", "filters", "backfill", "candidates"}


class SubscriptionError(Exception):
    """A subscriptions file that cannot be used."""


@dataclass(frozen=True)
class Filters:
    plans: tuple[str, ...] = ()  # plan ids: a story linked to any item of one of them
    items: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    min_score: float | None = None
    sources: tuple[str, ...] = ()
    only_with_progress: bool = False


@dataclass(frozen=True)
class Subscription:
    name: str
    urls_env: tuple[str, ...]
    mode: str = "immediate"
    cron: str | None = None
    filters: Filters = field(default_factory=Filters)
    backfill: bool = False
    candidates: bool = False  # also alert candidates (待确认: plan evidence below the threshold)

    def urls(self) -> dict[str, str | None]:
        """Env var name -> its Apprise URL(s), None when unset (read at send time, never stored)."""
        return {name: (os.environ.get(name) or None) for name in self.urls_env}


@dataclass(frozen=True)
class SubscriptionSet:
    subscriptions: tuple[Subscription, ...]
    delivery: dict
    messages: dict
    path: str | None = None

    def get(self, name: str) -> Subscription:
        for sub in self.subscriptions:
            if sub.name == name:
                return sub
        known = ", ".join(s.name for s in self.subscriptions) or "none"
        raise SubscriptionError(f"no subscription named {name!r} (known: {known})")


def defaults() -> dict:
    """The bundled delivery defaults and message templates."""
    with open(DEFAULTS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def resolve_path(path: str | os.PathLike | None) -> str | None:
    """The subscriptions file from the flag, else $HZWATCH_SUBSCRIPTIONS, else None."""
    return str(path) if path else (os.environ.get(ENV_FILE) or None)


def load_subscriptions(path: str | os.PathLike | None) -> SubscriptionSet:
    """Load and validate a subscriptions file; no file means no subscriptions."""
    base = defaults()
    delivery, messages = dict(base["delivery"]), dict(base["messages"])
    if not path:
        return SubscriptionSet((), delivery, messages, None)
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SubscriptionError(f"cannot read subscriptions file {p}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SubscriptionError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict):
        raise SubscriptionError(f"{p}: expected a mapping with a 'subscriptions' list")
    over = data.get("delivery") or {}
    if not isinstance(over, dict) or set(over) - set(delivery):
        raise SubscriptionError(
            f"{p}: unknown delivery setting(s): {', '.join(sorted(set(over) - set(delivery)))}"
            if isinstance(over, dict)
            else f"{p}: 'delivery' must be a mapping"
        )
    delivery.update(over)
    raw = data.get("subscriptions") or []
    if not isinstance(raw, list):
        raise SubscriptionError(f"{p}: 'subscriptions' must be a list")
    subs, seen = [], set()
    for n, entry in enumerate(raw, 1):
        sub = _parse(entry, f"{p}: subscription #{n}")
        if sub.name in seen:
            raise SubscriptionError(f"{p}: duplicate subscription name {sub.name!r}")
        seen.add(sub.name)
        subs.append(sub)
    return SubscriptionSet(tuple(subs), delivery, messages, str(p))


def _parse(entry: object, where: str) -> Subscription:
    if not isinstance(entry, dict):
        raise SubscriptionError(f"{where}: expected a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SubscriptionError(f"{where}: 'name' is required")
    where = f"{where} ({name})"
    if set(entry) - _SUB_KEYS:
        raise SubscriptionError(f"{where}: unknown key(s): {', '.join(sorted(set(entry) - _SUB_KEYS))}")
    envs = entry.get("urls_env")
    if isinstance(envs, str):
        envs = [envs]
    if isinstance(envs, list) and any("://" in str(e) for e in envs):
        # Never echo the value: it may be a secret pasted in by mistake.
        raise SubscriptionError(f"{where}: urls_env lists environment variable NAMES, not URLs")
    if not envs or not all(isinstance(e, str) and _ENV_NAME.match(e) for e in envs):
        raise SubscriptionError(f"{where}: 'urls_env' must list environment variable names")
    mode = entry.get("mode", "immediate")
    if mode not in MODES:
        raise SubscriptionError(f"{where}: mode must be one of {', '.join(MODES)}")
    cron = entry.get("cron")
    if mode == "digest":
        if not isinstance(cron, str):
            raise SubscriptionError(f"{where}: a digest needs a 'cron' (e.g. \"0 9 * * *\")")
        try:
            from apscheduler.triggers.cron import CronTrigger

            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            raise SubscriptionError(f"{where}: bad cron {cron!r}: {exc}") from exc
    f = entry.get("filters") or {}
    if not isinstance(f, dict) or set(f) - _FILTER_KEYS:
        raise SubscriptionError(
            f"{where}: unknown filter(s): {', '.join(sorted(set(f) - _FILTER_KEYS)) if isinstance(f, dict) else f}"
        )
    min_score = f.get("min_score")
    if min_score is not None and not isinstance(min_score, (int, float)):
        raise SubscriptionError(f"{where}: min_score must be a number")
    filters = Filters(
        plans=_str_tuple(f.get("plans"), where, "plans"),
        items=_str_tuple(f.get("items"), where, "items"),
        targets=_str_tuple(f.get("targets"), where, "targets"),
        min_score=float(min_score) if min_score is not None else None,
        sources=_str_tuple(f.get("sources"), where, "sources"),
        only_with_progress=bool(f.get("only_with_progress", False)),
    )
    return Subscription(
        name=name.strip(),
        urls_env=tuple(envs),
        mode=mode,
        cron=cron,
        filters=filters,
        backfill=bool(entry.get("backfill", False)),
        candidates=_flag(entry.get("candidates", False), where, "candidates"),
    )


def _flag(value: object, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise SubscriptionError(f"{where}: '{key}' must be true or false")
    return value


def _str_tuple(value: object, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise SubscriptionError(f"{where}: '{key}' must be a list of ids")
    return tuple(str(v) for v in value)


def accepts(
    sub: Subscription, article: dict, matches: list[dict], progress: list[dict], item_ancestors: dict[str, set[str]]
) -> bool:
    """Does an article (with its matches and progress rows) pass the subscription's filters?

    `item_ancestors` maps an item to its ancestors and its plan's id (db.alerts.item_ancestors).
    """
    if not matches:
        return False
    f = sub.filters
    if f.sources and article.get("source_id") not in f.sources:
        return False
    if f.min_score is not None:
        score = article.get("score")
        if score is None:
            score = max((m.get("score") or 0) for m in matches)
        if score < f.min_score:
            return False
    if f.plans and not any(item_ancestors.get(m["item_id"], set()) & set(f.plans) for m in matches):
        return False
    if f.items:
        wanted = set(f.items)
        hit = any(({m["item_id"]} | item_ancestors.get(m["item_id"], set())) & wanted for m in matches)
        if not hit:
            return False
    if f.targets and not any(p["target_id"] in f.targets for p in progress):
        return False
    if f.only_with_progress and not progress:
        return False
    return True
