"""Load and validate scrapers/sources.yaml: defaults <- cms entry <- source entry."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import yaml

SOURCES_FILE = Path(__file__).resolve().parent / "sources.yaml"
PROFILES_FILE = Path(__file__).resolve().parent / "profiles.yaml"
STRATEGIES = ("channel_list", "jcms_column", "epaper_day")
# Keys every strategy needs once defaults and cms are merged in.
REQUIRED = {
    "channel_list": ("lists", "article_pattern"),
    "jcms_column": ("columns", "column_url", "article_pattern"),
    "epaper_day": ("paper", "day_url", "page_link", "list_link", "article_pattern"),
}
REGEX_KEYS = ("article_pattern", "date_pattern", "page_link", "list_link")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CRON = re.compile(r"^\S+(\s+\S+){4}$")
# Raises SourceConfigError for (key, problem) of the source being validated.
_Bad = Callable[[str, str], NoReturn]


class SourceConfigError(ValueError):
    """A bad sources.yaml entry; the message names file, source and key."""

    def __init__(self, file: str | Path, source: str | None, key: str | None, problem: str):
        self.file, self.source, self.key, self.problem = str(file), source, key, problem
        where = f"{self.file}"
        if source:
            where += f": source {source!r}"
        if key:
            where += f", key {key!r}"
        super().__init__(f"{where}: {problem}")


@dataclass
class Source:
    """One crawlable source with its merged configuration."""

    id: str
    name: str
    city: str
    strategy: str
    profile: str | None
    site: str
    allowed_hosts: list[str]
    interval_minutes: int | None
    interval_cron: str | None
    config: dict = field(repr=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    @property
    def verified(self) -> bool:
        """False when its URLs/ids are documented nowhere public (taken from a replica, guessed)."""
        return self.config.get("verified", True) is not False

    @property
    def enabled(self) -> bool:
        """Crawled by default (`hzwatch crawl` with no ids, `hzwatch run`)? Default: when verified."""
        return bool(self.config.get("enabled", self.verified))

    @property
    def politeness(self) -> dict:
        return self.config.get("politeness") or {}


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _profile_names() -> set[str] | None:
    try:
        data = yaml.safe_load(PROFILES_FILE.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    return set((data.get("profiles") or {}).keys()) | {"generic"}


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def load_sources(path: str | Path | None = None) -> list[Source]:
    """Parse, merge and validate a sources file; raise SourceConfigError on the first problem."""
    path = Path(path) if path else SOURCES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceConfigError(path, None, None, f"cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SourceConfigError(path, None, None, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SourceConfigError(path, None, "sources", "the file needs a 'sources:' list")
    defaults = data.get("defaults") or {}
    cms_all = data.get("cms") or {}
    if not isinstance(defaults, dict) or not isinstance(cms_all, dict):
        raise SourceConfigError(path, None, "defaults/cms", "must be mappings")
    profiles = _profile_names()
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(data["sources"]):
        if not isinstance(raw, dict):
            raise SourceConfigError(path, f"#{i + 1}", None, "each source must be a mapping")
        sid = raw.get("id")
        label = str(sid) if sid else f"#{i + 1}"
        if not sid or not isinstance(sid, str) or not _ID.match(sid):
            raise SourceConfigError(path, label, "id", "needs an id of lowercase letters, digits, '-' or '_'")
        if sid in seen:
            raise SourceConfigError(path, sid, "id", "duplicate source id")
        seen.add(sid)
        cms_name = raw.get("cms")
        if cms_name is not None and cms_name not in cms_all:
            raise SourceConfigError(path, sid, "cms", f"unknown cms {cms_name!r} (known: {', '.join(cms_all)})")
        cfg = _merge(_merge(defaults, cms_all.get(cms_name) or {}), raw)
        out.append(_validate(path, sid, cfg, profiles))
    return out


def _validate(path: Path, sid: str, cfg: dict, profiles: set[str] | None) -> Source:
    def bad(key: str, problem: str) -> NoReturn:
        raise SourceConfigError(path, sid, key, problem)

    strategy, profile = _check_basics(cfg, profiles, bad)
    _check_regexes(cfg, bad)
    minutes, cron = _interval(cfg.get("interval"), bad)
    _check_numbers(cfg, bad)
    site = _STRATEGY_SITE[strategy](cfg, bad)
    if not site or "/" in site:
        bad("site", f"not a host name: {site!r}")
    allowed = cfg.get("allowed_hosts") or [site]
    if not isinstance(allowed, list) or not all(isinstance(h, str) and h for h in allowed):
        bad("allowed_hosts", "must be a list of host names")
    cfg["site"] = site
    cfg["allowed_hosts"] = allowed
    return Source(
        id=sid,
        name=cfg["name"],
        city=cfg["city"],
        strategy=strategy,
        profile=profile,
        site=site,
        allowed_hosts=allowed,
        interval_minutes=minutes,
        interval_cron=cron,
        config=cfg,
    )


def _check_basics(cfg: dict, profiles: set[str] | None, bad: _Bad) -> tuple[str, str | None]:
    """Name, city, a known strategy with its required keys, a known profile."""
    for key in ("name", "city", "strategy"):
        if not cfg.get(key) or not isinstance(cfg[key], str):
            bad(key, "missing or not a string")
    strategy = cfg["strategy"]
    if strategy not in STRATEGIES:
        bad("strategy", f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    for key in REQUIRED[strategy]:
        if not cfg.get(key):
            bad(key, f"required for strategy {strategy}")
    profile = cfg.get("profile")
    if profile is not None and profiles is not None and profile not in profiles:
        bad("profile", f"unknown extraction profile {profile!r} (not in profiles.yaml)")
    return strategy, profile


def _check_regexes(cfg: dict, bad: _Bad) -> None:
    for key in REGEX_KEYS:
        if cfg.get(key) is not None:
            try:
                re.compile(cfg[key])
            except re.error as exc:
                bad(key, f"bad regex: {exc}")
    for j, pair in enumerate(cfg.get("canonical") or []):
        if not (isinstance(pair, list) and len(pair) == 2):
            bad(f"canonical[{j}]", "must be [regex, replacement]")
        try:
            re.compile(pair[0])
        except re.error as exc:
            bad(f"canonical[{j}]", f"bad regex: {exc}")


def _interval(interval: object, bad: _Bad) -> tuple[int | None, str | None]:
    """(minutes, cron) from the `interval` key: minutes or a 5-field cron string."""
    if isinstance(interval, bool) or interval is None:
        bad("interval", "needs minutes (a positive integer) or a 5-field cron string")
    elif isinstance(interval, int):
        if interval <= 0:
            bad("interval", "minutes must be positive")
        return interval, None
    elif isinstance(interval, str) and _CRON.match(interval.strip()):
        return None, interval.strip()
    bad("interval", f"{interval!r} is neither minutes nor a 5-field cron string")
    return None, None


def _check_numbers(cfg: dict, bad: _Bad) -> None:
    pol = cfg.get("politeness") or {}
    if not isinstance(pol, dict):
        bad("politeness", "must be a mapping")
    for key, typ in (("delay", (int, float)), ("concurrency", int)):
        if key in pol and (not isinstance(pol[key], typ) or isinstance(pol[key], bool) or pol[key] < 0):
            bad(f"politeness.{key}", "must be a non-negative number")
    for key in ("max_pages", "layout_warn_after"):
        if key in cfg and (not isinstance(cfg[key], int) or cfg[key] <= 0):
            bad(key, "must be a positive integer")
    for key in ("verified", "enabled"):
        if key in cfg and not isinstance(cfg[key], bool):
            bad(key, "must be true or false")


def _channel_list_site(cfg: dict, bad: _Bad) -> str:
    for j, lst in enumerate(cfg["lists"]):
        if not isinstance(lst, dict) or not str(lst.get("url", "")).startswith(("http://", "https://")):
            bad(f"lists[{j}].url", "each list needs an absolute http(s) url")
        if lst.get("page") and "{n}" not in lst["page"]:
            bad(f"lists[{j}].page", "page pattern needs {n}")
    return cfg.get("site") or _host(cfg["lists"][0]["url"])


def _jcms_column_site(cfg: dict, bad: _Bad) -> str:
    if not cfg.get("site"):
        bad("site", "jcms_column sources need the site host")
    for j, col in enumerate(cfg["columns"]):
        if not isinstance(col, dict) or not str(col.get("col", "")).isdigit():
            bad(f"columns[{j}].col", "each column needs a numeric col id")
        if col.get("api", "xml") not in ("xml", "jpaas"):
            bad(f"columns[{j}].api", "api must be xml or jpaas")
        if col.get("paging", "dataproxy") not in ("dataproxy", "param_json"):
            bad(f"columns[{j}].paging", "paging must be dataproxy or param_json")
    if "{col}" not in cfg["column_url"]:
        bad("column_url", "needs {col}")
    return cfg["site"]


def _epaper_day_site(cfg: dict, bad: _Bad) -> str:
    if not re.match(r"^[a-z0-9]+$", str(cfg["paper"])):
        bad("paper", "paper code must be lowercase letters/digits")
    if "{ymd}" not in cfg["day_url"]:
        bad("day_url", "needs {ymd}")
    return cfg.get("site") or _host(cfg["day_url"].replace("{paper}", "x"))


# Each strategy's own checks; returns the site host.
_STRATEGY_SITE = {
    "channel_list": _channel_list_site,
    "jcms_column": _jcms_column_site,
    "epaper_day": _epaper_day_site,
}


def get_sources(ids: Sequence[str] | None = None, path: str | Path | None = None) -> list[Source]:
    """Sources by id (every enabled one if none given); unknown ids raise SourceConfigError. A
    disabled source is crawled only when named."""
    sources = load_sources(path)
    if not ids:
        return [s for s in sources if s.enabled]
    by_id = {s.id: s for s in sources}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise SourceConfigError(path or SOURCES_FILE, missing[0], None, f"no such source (known: {', '.join(by_id)})")
    return [by_id[i] for i in ids]
