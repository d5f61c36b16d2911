"""The plan catalog: plans, items and targets read from `monitor/plans/*.yaml`, validated on load.

A plan file is data only (see monitor/plans/hangzhou-2024.yaml for every key); adding a plan
is adding a file. `monitor/matching/places.yaml` lists the other cities whose mentions compete with a
plan's city. Errors name the file, the item and the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.matching.normalize import normalize

PLANS_DIR = Path(__file__).resolve().parents[1] / "plans"
PLACES_FILE = Path(__file__).resolve().parent / "places.yaml"

ITEM_KINDS = {"group": None, "aim": None, "project": "group", "task": "aim"}
OUTPUT_KINDS = ("project", "task")
COMPARATORS = {">=": ">=", "≥": ">=", "=": "=", "<=": "<=", "≤": "<="}
PLAN_KEYS = ("id", "title", "city", "announced", "watch_from", "reform_count", "task_count", "districts", "items")
ITEM_KEYS = ("id", "kind", "title")
TARGET_KEYS = ("id", "item", "metric", "comparator", "value", "unit", "due", "figures")
TERM_KEYS = ("aliases", "broad", "weak", "context", "exclude")
PATTERN_LIST_KEYS = ("goal", "earlier", "cumulative", "delta", "year_start")


# libyaml's safe loader when built in: the same documents, parsed about ten times faster
# (process start-up of `hzwatch match --jsonl` is mostly catalog parsing).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str):
    """yaml.safe_load, with libyaml when available."""
    return yaml.load(text, Loader=_SAFE_LOADER)


class CatalogError(ValueError):
    """A plan file that cannot be used; the message names the file, the item and the key."""

    def __init__(self, path: Path | str, where: str, key: str, problem: str):
        self.path, self.where, self.key, self.problem = str(path), where, key, problem
        super().__init__(f"{path}: {where}: key '{key}': {problem}")


@dataclass
class Item:
    id: str
    plan_id: str
    kind: str
    title: str
    definition: str = ""
    parent: str | None = None
    position: int = 0
    aliases: list[str] = field(default_factory=list)  # normalised terms
    broad: list[str] = field(default_factory=list)  # count only beside a sibling item's evidence
    weak: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    relevance_weight: float = 1.0  # share of this item's evidence that counts toward relevance
    needs_alias: bool = False  # weak hits alone (a bare 人才) never list this item

    @property
    def reported(self) -> bool:
        """True for the level listed in match output (projects and tasks)."""
        return self.kind in OUTPUT_KINDS


@dataclass
class Target:
    id: str
    plan_id: str
    item: str
    metric: str
    comparator: str
    value: float
    unit: str
    due: dt.date
    indicator: list[str]
    decoys: list[str]
    units: list[str]
    period_required: bool
    responsible: list[str] = field(default_factory=list)  # 来源 names or site hosts of the bodies in charge


@dataclass
class Plan:
    id: str
    title: str
    city: str
    districts: list[str]
    bodies: list[str]
    announced: dt.date
    watch_from: dt.date
    reform_count: int
    task_count: int
    items: list[Item]
    targets: list[Target]
    path: Path
    source: dict = field(default_factory=dict)
    theme: list[str] = field(default_factory=list)
    theme_weight: float = 2.0
    locality: dict = field(default_factory=dict)  # normalised: names{term: weight}, hosts, …
    matching: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)  # patterns compiled under "_re"
    city_papers: list[str] = field(default_factory=list)  # 来源 names of the city's own paper(s)


@dataclass
class Catalog:
    plans: list[Plan]
    places: dict
    files: list[Path]
    hash: str

    @property
    def items(self) -> dict[str, Item]:
        return {i.id: i for p in self.plans for i in p.items}

    @property
    def targets(self) -> dict[str, Target]:
        return {t.id: t for p in self.plans for t in p.targets}


def plan_files() -> list[Path]:
    """Every bundled plan file."""
    return sorted(PLANS_DIR.glob("*.yaml"))


def load_catalog(paths: list[str | Path] | None = None) -> Catalog:
    """Load and validate plan files (None: every *.yaml in monitor/plans/)."""
    files = [Path(p) for p in paths] if paths else plan_files()
    if not files:
        raise CatalogError(PLANS_DIR, "catalog", "files", "no plan files found")
    places = _load_places(PLACES_FILE)
    plans: list[Plan] = []
    seen_items: dict[str, Path] = {}
    seen_targets: dict[str, Path] = {}
    digest = hashlib.sha256(PLACES_FILE.read_bytes())
    for path in files:
        try:
            raw_bytes = path.read_bytes()
        except OSError as exc:
            raise CatalogError(path, "file", "path", f"cannot read: {exc.strerror}") from exc
        digest.update(raw_bytes)
        plan = _load_plan(path, raw_bytes)
        for item in plan.items:
            if item.id in seen_items:
                raise CatalogError(path, f"item {item.id}", "id", f"duplicate id (also in {seen_items[item.id]})")
            seen_items[item.id] = path
        for target in plan.targets:
            if target.id in seen_targets or target.id in seen_items:
                raise CatalogError(path, f"target {target.id}", "id", "duplicate id")
            seen_targets[target.id] = path
        if any(p.id == plan.id for p in plans):
            raise CatalogError(path, f"plan {plan.id}", "id", "duplicate plan id")
        plans.append(plan)
    return Catalog(plans=plans, places=places, files=files, hash=digest.hexdigest()[:12])


def catalog_hash(paths: list[str | Path] | None = None) -> str:
    """Hash of the catalog files (plans + places) without parsing them."""
    files = [Path(p) for p in paths] if paths else plan_files()
    digest = hashlib.sha256(PLACES_FILE.read_bytes())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# ---------------------------------------------------------------- helpers


def _load_places(path: Path) -> dict:
    try:
        raw = _yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(path, "places", "file", str(exc).splitlines()[0]) from exc
    cities = {}
    for name, entry in (raw.get("cities") or {}).items():
        if not isinstance(entry, dict) or not entry.get("names"):
            raise CatalogError(path, f"city {name}", "names", "missing or empty")
        cities[name] = {
            "names": [normalize(n) for n in entry["names"]],
            "hosts": [h.lower() for h in entry.get("hosts") or []],
            "sources": [normalize(s) for s in entry.get("sources") or []],
        }
    return {
        "cities": cities,
        "province_terms": [normalize(t) for t in raw.get("province_terms") or []],
        "national_terms": [normalize(t) for t in raw.get("national_terms") or []],
    }


def _date(path: Path, where: str, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise CatalogError(path, where, key, f"not a date (YYYY-MM-DD): {value!r}") from None


def _terms(path: Path, where: str, key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CatalogError(path, where, key, "must be a list of strings")
    out = []
    for term in value:
        if not isinstance(term, (str, int)) or not str(term).strip():
            raise CatalogError(path, where, key, f"empty or non-string term: {term!r}")
        norm = normalize(str(term))
        if len(norm) < 2:
            raise CatalogError(path, where, key, f"term too short to match safely: {term!r}")
        out.append(norm)
    return out


def _compile(path: Path, where: str, key: str, pattern: Any) -> re.Pattern:
    try:
        return re.compile(str(pattern))
    except re.error as exc:
        raise CatalogError(path, where, key, f"bad pattern {pattern!r}: {exc}") from None


def _require(path: Path, where: str, data: dict, keys: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise CatalogError(path, where, "-", "must be a mapping")
    for key in keys:
        if data.get(key) in (None, "", []):
            raise CatalogError(path, where, key, "missing")


def _load_plan(path: Path, raw_bytes: bytes) -> Plan:
    try:
        raw = _yaml(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(path, "file", "yaml", str(exc).splitlines()[0]) from exc
    if not isinstance(raw, dict):
        raise CatalogError(path, "file", "yaml", "top level must be a mapping")
    where = f"plan {raw.get('id', '?')}"
    _require(path, where, raw, PLAN_KEYS)
    plan_id = str(raw["id"])
    for key in ("reform_count", "task_count"):
        if not isinstance(raw[key], int) or raw[key] < 0:
            raise CatalogError(path, where, key, "must be a non-negative integer")

    items = _load_items(path, plan_id, raw["items"])
    by_id = {i.id: i for i in items}
    _check_aliases(path, items)
    targets = _load_targets(path, plan_id, raw.get("targets") or [], by_id)

    theme = raw.get("theme") or {}
    loc = raw.get("locality") or {}
    districts = [str(d) for d in raw["districts"]]
    names: dict[str, float] = {normalize(str(raw["city"])): 1.0}
    for name in _terms(path, where, "locality.names", loc.get("names")):
        names[name] = 1.0
    for district in districts:
        full = normalize(district)
        names[full] = 1.0
        short = re.sub(r"[区县市]$", "", full)
        if len(short) >= 2:
            names.setdefault(short, 1.0)
    for term, weight in (loc.get("weights") or {}).items():
        if not isinstance(weight, (int, float)):
            raise CatalogError(path, where, f"locality.weights.{term}", "must be a number")
        names[normalize(str(term))] = float(weight)
    locality = {
        "names": names,
        "not_city": _terms(path, where, "locality.not_city", loc.get("not_city")),
        "hosts": [str(h).lower() for h in loc.get("hosts") or []],
        "sources": _terms(path, where, "locality.sources", loc.get("sources")),
        "deixis": _terms(path, where, "locality.deixis", loc.get("deixis")),
    }
    matching = dict(raw.get("matching") or {})
    figures = _load_figures(path, where, raw.get("figures") or {}, districts)
    return Plan(
        id=plan_id,
        title=str(raw["title"]),
        city=str(raw["city"]),
        districts=districts,
        bodies=[str(b) for b in raw.get("bodies") or []],
        announced=_date(path, where, "announced", raw["announced"]),
        watch_from=_date(path, where, "watch_from", raw["watch_from"]),
        reform_count=raw["reform_count"],
        task_count=raw["task_count"],
        items=items,
        targets=targets,
        path=path,
        source=dict(raw.get("source") or {}),
        theme=_terms(path, where, "theme.aliases", theme.get("aliases")),
        theme_weight=float(theme.get("weight", 2.0)),
        locality=locality,
        matching=matching,
        figures=figures,
        city_papers=_plain_list(path, where, "city_papers", raw.get("city_papers")),
    )


def _plain_list(path: Path, where: str, key: str, value: Any) -> list[str]:
    """An optional list of names kept as written (compared with stored 来源 and hosts, not matched)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(path, where, key, "must be a list of names")
    return [v.strip() for v in value]


def _load_items(path: Path, plan_id: str, raw_items: Any) -> list[Item]:
    if not isinstance(raw_items, list):
        raise CatalogError(path, f"plan {plan_id}", "items", "must be a list")
    items: list[Item] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_items):
        where = f"item {raw.get('id', f'#{position + 1}') if isinstance(raw, dict) else f'#{position + 1}'}"
        _require(path, where, raw, ITEM_KEYS)
        item_id = str(raw["id"])
        if item_id in seen:
            raise CatalogError(path, where, "id", "duplicate id")
        seen.add(item_id)
        kind = raw["kind"]
        if kind not in ITEM_KINDS:
            raise CatalogError(path, where, "kind", f"unknown kind {kind!r} (one of {', '.join(ITEM_KINDS)})")
        terms = {key: _terms(path, where, key, raw.get(key)) for key in TERM_KEYS}
        if terms["weak"] and not terms["context"]:
            raise CatalogError(path, where, "context", "weak terms need context terms")
        rw = raw.get("relevance_weight", 1.0)
        if not isinstance(rw, (int, float)) or not 0 <= rw <= 1:
            raise CatalogError(path, where, "relevance_weight", "must be a number from 0 to 1")
        needs_alias = raw.get("needs_alias", False)
        if not isinstance(needs_alias, bool):
            raise CatalogError(path, where, "needs_alias", "must be true or false")
        items.append(
            Item(
                id=item_id,
                plan_id=plan_id,
                kind=kind,
                title=str(raw["title"]),
                definition=str(raw.get("definition") or ""),
                parent=raw.get("parent"),
                position=position,
                relevance_weight=float(rw),
                needs_alias=needs_alias,
                **terms,
            )
        )
    by_id = {i.id: i for i in items}
    for item in items:
        want = ITEM_KINDS[item.kind]
        if want is None:
            if item.parent:
                raise CatalogError(path, f"item {item.id}", "parent", f"a {item.kind} has no parent")
            continue
        parent = by_id.get(item.parent or "")
        if parent is None:
            raise CatalogError(path, f"item {item.id}", "parent", f"unknown parent {item.parent!r}")
        if parent.kind != want:
            raise CatalogError(
                path, f"item {item.id}", "parent", f"parent {parent.id} is a {parent.kind}, expected a {want}"
            )
    return items


def _check_aliases(path: Path, items: list[Item]) -> None:
    owner: dict[str, str] = {}
    for item in items:
        for key in ("aliases", "broad", "weak"):
            for term in getattr(item, key):
                if term in owner:
                    raise CatalogError(path, f"item {item.id}", key, f"duplicate alias {term!r} (also {owner[term]})")
                owner[term] = f"{item.id}.{key}"


def _load_targets(path: Path, plan_id: str, raw_targets: Any, items: dict[str, Item]) -> list[Target]:
    if not isinstance(raw_targets, list):
        raise CatalogError(path, f"plan {plan_id}", "targets", "must be a list")
    out = []
    for n, raw in enumerate(raw_targets):
        where = f"target {raw.get('id', f'#{n + 1}') if isinstance(raw, dict) else f'#{n + 1}'}"
        _require(path, where, raw, TARGET_KEYS)
        if raw["item"] not in items:
            raise CatalogError(path, where, "item", f"unknown parent item {raw['item']!r}")
        if raw["comparator"] not in COMPARATORS:
            raise CatalogError(path, where, "comparator", f"unknown comparator {raw['comparator']!r}")
        if not isinstance(raw["value"], (int, float)):
            raise CatalogError(path, where, "value", "must be a number")
        fig = raw["figures"]
        if not isinstance(fig, dict):
            raise CatalogError(path, where, "figures", "must be a mapping")
        indicator = _terms(path, where, "figures.indicator", fig.get("indicator"))
        units = [normalize(str(u)) for u in fig.get("units") or []]
        if not indicator:
            raise CatalogError(path, where, "figures.indicator", "missing")
        if not units:
            raise CatalogError(path, where, "figures.units", "missing")
        out.append(
            Target(
                id=str(raw["id"]),
                plan_id=plan_id,
                item=str(raw["item"]),
                metric=str(raw["metric"]),
                comparator=COMPARATORS[raw["comparator"]],
                value=float(raw["value"]),
                unit=normalize(str(raw["unit"])),
                due=_date(path, where, "due", raw["due"]),
                indicator=indicator,
                decoys=_terms(path, where, "figures.decoys", fig.get("decoys")),
                units=units,
                period_required=bool(fig.get("period_required", True)),
                responsible=_plain_list(path, where, "responsible", raw.get("responsible")),
            )
        )
    return out


def _load_figures(path: Path, where: str, raw: dict, districts: list[str]) -> dict:
    if not isinstance(raw, dict):
        raise CatalogError(path, where, "figures", "must be a mapping")
    fig = {
        "city_scope": _terms(path, where, "figures.city_scope", raw.get("city_scope")),
        "other_scope": _terms(path, where, "figures.other_scope", raw.get("other_scope")),
        "max_gap": int(raw.get("max_gap", 40)),
        "sentence_breaks": str(raw.get("sentence_breaks", "。！？；;!?\n")),
    }
    # Districts (full and short forms) mark a sub-city scope for figures.
    for district in districts:
        full = normalize(district)
        fig["other_scope"].append(full)
        short = re.sub(r"[区县市]$", "", full)
        if len(short) >= 2:
            fig["other_scope"].append(short)
    compiled = {}
    for key in PATTERN_LIST_KEYS:
        patterns = raw.get(key) or []
        if not isinstance(patterns, list):
            raise CatalogError(path, where, f"figures.{key}", "must be a list of patterns")
        compiled[key] = [_compile(path, where, f"figures.{key}", p) for p in patterns]
    periods = []
    for n, entry in enumerate(raw.get("periods") or []):
        key = f"figures.periods[{n}]"
        if not isinstance(entry, dict) or "pattern" not in entry or "as_of" not in entry:
            raise CatalogError(path, where, key, "needs pattern and as_of")
        as_of = str(entry["as_of"])
        if as_of not in ("month_end", "day", "published", "year_end") and not re.fullmatch(r"\d\d-\d\d", as_of):
            raise CatalogError(path, where, f"{key}.as_of", f"unknown as_of {as_of!r}")
        offset = entry.get("year_offset", 0)
        if not isinstance(offset, int):
            raise CatalogError(path, where, f"{key}.year_offset", "must be an integer")
        periods.append(
            {
                "re": _compile(path, where, f"{key}.pattern", entry["pattern"]),
                "as_of": as_of,
                "same_year_only": bool(entry.get("same_year_only")),
                "year_offset": offset,
                "review_year": bool(entry.get("review_year")),
            }
        )
    compiled["periods"] = periods
    review = raw.get("review") or {}
    if not isinstance(review, dict):
        raise CatalogError(path, where, "figures.review", "must be a mapping")
    months = review.get("months_after", 3)
    if not isinstance(months, int) or not 0 <= months <= 11:
        raise CatalogError(path, where, "figures.review.months_after", "must be an integer 0-11")
    fig["review_months_after"] = months
    for key in ("markers", "end", "end_next_year"):
        patterns = review.get(key) or []
        if not isinstance(patterns, list):
            raise CatalogError(path, where, f"figures.review.{key}", "must be a list of patterns")
        compiled[f"review_{key}"] = [_compile(path, where, f"figures.review.{key}", p) for p in patterns]
    # One search tells whether a text has any review marker at all (most have none).
    compiled["review_any"] = re.compile(
        "|".join(f"(?:{re.sub(r'[(][?]P<[a-z_]+>', '(?:', p.pattern)})" for p in compiled["review_markers"])
        or r"(?!x)x"
    )
    # One alternation per check: a clause is tested once, not once per word.
    compiled["goal_or_earlier"] = re.compile(
        "|".join(f"(?:{p.pattern})" for p in compiled["goal"] + compiled["earlier"]) or r"(?!x)x"
    )
    for key in ("city_scope", "other_scope"):
        terms = sorted(set(fig[key]), key=len, reverse=True)
        compiled[key] = re.compile("|".join(re.escape(t) for t in terms) or r"(?!x)x")
    compiled["breaks"] = re.compile("[" + re.escape("".join(sorted(set(fig["sentence_breaks"])))) + "]")
    fig["_re"] = compiled
    return fig
