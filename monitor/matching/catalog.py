"""The plan catalog: plans, items and targets read from `monitor/plans/*.yaml`, validated on load.

A plan file is data only (see monitor/plans/hangzhou-2024.yaml for every key); adding a plan
is adding a file. `monitor/matching/places.yaml` lists the other cities whose mentions compete with a
plan's city. Errors name the file, the item and the key; loading goes on past a problem, so one
`CatalogError` lists every problem of every file (YAML syntax errors with their line and column).
The settings blocks (`matching:`, `figures:`) are parsed by monitor.matching.settings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.text import normalize
from monitor.matching import checks
from monitor.matching.checks import CatalogError, Problems
from monitor.matching.settings import (
    FigureRules,
    MatchingSettings,
    district_forms,
    number,
    parse_figures,
    parse_matching,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "Item",
    "Plan",
    "Target",
    "catalog_hash",
    "load_catalog",
    "plan_files",
    "plans_dir",
]

PLANS_DIR = Path(__file__).resolve().parents[1] / "plans"
# A catalog directory other than the bundled one (every command that loads the catalog reads it).
PLANS_ENV = "HZWATCH_PLANS"
PLACES_FILE = Path(__file__).resolve().parent / "places.yaml"

ITEM_KINDS = {"group": None, "aim": None, "project": "group", "task": "aim"}
OUTPUT_KINDS = ("project", "task")
COMPARATORS = {">=": ">=", "≥": ">=", "=": "=", "<=": "<=", "≤": "<="}
PLAN_KEYS = ("id", "title", "city", "announced", "watch_from", "reform_count", "task_count", "districts", "items")
ITEM_KEYS = ("id", "kind", "title")
TARGET_KEYS = ("id", "item", "metric", "comparator", "value", "unit", "due", "figures")
TERM_KEYS = ("aliases", "broad", "weak", "context", "exclude")
# Every key a plan file may hold at each level (anything else is a misspelling).
PLAN_ALL_KEYS = PLAN_KEYS + ("source", "theme", "bodies", "locality", "matching", "figures", "targets", "city_papers")
TARGET_ALL_KEYS = TARGET_KEYS + ("responsible",)
ITEM_ALL_KEYS = ITEM_KEYS + TERM_KEYS + ("definition", "parent", "relevance_weight", "needs_alias", "context_full")
TARGET_FIGURE_KEYS = ("indicator", "decoys", "units", "period_required")
THEME_KEYS = ("aliases", "weight")
LOCALITY_KEYS = ("names", "weights", "not_city", "hosts", "sources", "deixis")


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
    context_full: int | None = None  # overrides matching.context_full (0: weak hits never count fully)

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
    figures: FigureRules  # how progress figures are read
    source: dict = field(default_factory=dict)
    theme: list[str] = field(default_factory=list)
    theme_weight: float = 2.0
    locality: dict = field(default_factory=dict)  # normalised: names{term: weight}, hosts, …
    matching: MatchingSettings = field(default_factory=MatchingSettings)
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

    def plan_of(self, ref: str) -> str | None:
        """The id of the plan that holds an item or target id (or is that plan), if any."""
        for plan in self.plans:
            if ref == plan.id or any(i.id == ref for i in plan.items) or any(t.id == ref for t in plan.targets):
                return plan.id
        return None

    def only(self, plan_ids: list[str]) -> Catalog:
        """The same catalog restricted to some plans (an evaluation scores one plan's labels)."""
        unknown = sorted(set(plan_ids) - {p.id for p in self.plans})
        if unknown:
            raise CatalogError(self.files[0] if self.files else PLANS_DIR, "catalog", "plan", f"unknown plan {unknown}")
        plans = [p for p in self.plans if p.id in plan_ids]
        return Catalog(plans=plans, places=self.places, files=[p.path for p in plans], hash=self.hash)


def plans_dir() -> Path:
    """The catalog directory: $HZWATCH_PLANS when set, else the bundled monitor/plans/."""
    return Path(os.environ[PLANS_ENV]) if os.environ.get(PLANS_ENV) else PLANS_DIR


def plan_files() -> list[Path]:
    """Every plan file of the catalog directory."""
    return sorted(plans_dir().glob("*.yaml"))


def load_catalog(paths: list[str | Path] | None = None) -> Catalog:
    """Load and validate plan files (None: every *.yaml in monitor/plans/).

    Raises one CatalogError listing every problem found in every file.
    """
    files = [Path(p) for p in paths] if paths else plan_files()
    if not files:
        raise CatalogError(plans_dir(), "catalog", "files", "no plan files found")
    places = _load_places(PLACES_FILE)
    plans: list[Plan] = []
    errors: list[CatalogError] = []
    seen_items: dict[str, Path] = {}
    seen_targets: dict[str, Path] = {}
    digest = hashlib.sha256(PLACES_FILE.read_bytes())
    for path in files:
        problems = Problems(path)
        try:
            raw_bytes = path.read_bytes()
        except OSError as exc:
            problems.add("file", "path", f"cannot read: {exc.strerror}")
            errors += problems.errors
            continue
        digest.update(raw_bytes)
        plan = _load_plan(problems, path, raw_bytes)
        if plan is not None:
            _check_unique(problems, plan, plans, seen_items, seen_targets)
            plans.append(plan)
        errors += problems.errors
    if errors:
        raise CatalogError.combine(errors)
    return Catalog(plans=plans, places=places, files=files, hash=digest.hexdigest()[:12])


def catalog_hash(paths: list[str | Path] | None = None) -> str:
    """Hash of the catalog files (plans + places) without parsing them."""
    files = [Path(p) for p in paths] if paths else plan_files()
    digest = hashlib.sha256(PLACES_FILE.read_bytes())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _check_unique(
    problems: Problems, plan: Plan, plans: list[Plan], seen_items: dict[str, Path], seen_targets: dict[str, Path]
) -> None:
    """Item, target and plan ids must be unique across the whole catalog."""
    path = problems.path
    for item in plan.items:
        if item.id in seen_items:
            problems.add(f"item {item.id}", "id", f"duplicate id (also in {seen_items[item.id]})")
        seen_items[item.id] = path
    for target in plan.targets:
        if target.id in seen_targets or target.id in seen_items:
            also = seen_targets.get(target.id) or seen_items.get(target.id)
            problems.add(f"target {target.id}", "id", f"duplicate id (also in {also})")
        seen_targets[target.id] = path
    if any(p.id == plan.id for p in plans):
        problems.add(f"plan {plan.id}", "id", "duplicate plan id")


# ---------------------------------------------------------------- helpers


def _load_places(path: Path) -> dict:
    problems = Problems(path)
    try:
        raw = checks.parse_yaml(problems, path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise CatalogError(path, "places", "file", str(exc).splitlines()[0]) from exc
    problems.raise_any()
    cities = {}
    for name, entry in (raw.get("cities") or {}).items():
        if not isinstance(entry, dict) or not entry.get("names"):
            problems.add(f"city {name}", "names", "missing or empty")
            continue
        cities[name] = {
            "names": [normalize(n) for n in entry["names"]],
            "hosts": [h.lower() for h in entry.get("hosts") or []],
            "sources": [normalize(s) for s in entry.get("sources") or []],
        }
    problems.raise_any()
    return {
        "cities": cities,
        "province_terms": [normalize(t) for t in raw.get("province_terms") or []],
        "national_terms": [normalize(t) for t in raw.get("national_terms") or []],
    }


def _read_plan(problems: Problems, raw_bytes: bytes) -> dict | None:
    """The file's top-level mapping, or None with the problem recorded."""
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add("file", "yaml", f"not UTF-8: {exc}")
        return None
    raw = checks.parse_yaml(problems, text)
    if problems.errors:
        return None
    if not isinstance(raw, dict):
        problems.add("file", "yaml", "top level must be a mapping")
        return None
    return raw


def _counts(problems: Problems, where: str, raw: dict) -> None:
    for key in ("reform_count", "task_count"):
        if key in raw and raw[key] is not None and (not isinstance(raw[key], int) or raw[key] < 0):
            problems.add(where, key, "must be a non-negative integer")


def _load_plan(problems: Problems, path: Path, raw_bytes: bytes) -> Plan | None:
    """One plan file; None when it has any problem (all of them recorded in `problems`)."""
    raw = _read_plan(problems, raw_bytes)
    if raw is None:
        return None
    where = f"plan {raw.get('id', '?')}"
    checks.known_keys(problems, where, "", raw, PLAN_ALL_KEYS)
    checks.require(problems, where, raw, PLAN_KEYS)
    _counts(problems, where, raw)
    plan_id = str(raw.get("id"))
    items = _load_items(problems, plan_id, raw.get("items") or [])
    by_id = {i.id: i for i in items}
    _check_aliases(problems, items)
    targets = _load_targets(problems, plan_id, raw.get("targets") or [], by_id)
    raw_districts = raw.get("districts") or []
    districts = [str(d) for d in raw_districts] if isinstance(raw_districts, list) else []
    theme = checks.mapping(problems, where, "theme", raw.get("theme"))
    checks.known_keys(problems, where, "theme.", theme, THEME_KEYS)
    locality = _load_locality(problems, where, raw.get("locality"), str(raw.get("city")), districts)
    announced, watch_from = (
        checks.date(problems, where, k, raw[k]) if raw.get(k) else None for k in ("announced", "watch_from")
    )
    plan = Plan(
        id=plan_id,
        title=str(raw.get("title")),
        city=str(raw.get("city")),
        districts=districts,
        bodies=[str(b) for b in raw.get("bodies") or []],
        announced=announced,
        watch_from=watch_from,
        reform_count=raw.get("reform_count"),
        task_count=raw.get("task_count"),
        items=items,
        targets=targets,
        path=path,
        figures=parse_figures(problems, where, raw.get("figures"), districts),
        source=dict(checks.mapping(problems, where, "source", raw.get("source"))),
        theme=checks.terms(problems, where, "theme.aliases", theme.get("aliases")),
        theme_weight=float(number(problems, where, "theme.weight", theme.get("weight", 2.0), 2.0)),
        locality=locality,
        matching=parse_matching(problems, where, raw.get("matching")),
        city_papers=_names(problems, where, "city_papers", raw.get("city_papers")),
    )
    return None if problems.errors else plan


def _load_locality(problems: Problems, where: str, value: Any, city: str, districts: list[str]) -> dict:
    """The `locality:` block, normalised: names{term: weight}, not_city, hosts, sources, deixis."""
    loc = checks.mapping(problems, where, "locality", value)
    checks.known_keys(problems, where, "locality.", loc, LOCALITY_KEYS)
    names: dict[str, float] = {normalize(city): 1.0}
    for name in checks.terms(problems, where, "locality.names", loc.get("names")):
        names[name] = 1.0
    for name in district_forms(districts):
        names.setdefault(name, 1.0)
    weights = checks.mapping(problems, where, "locality.weights", loc.get("weights"))
    for term, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            problems.add(where, f"locality.weights.{term}", "must be a number")
            continue
        names[normalize(str(term))] = float(weight)
    return {
        "names": names,
        "not_city": checks.terms(problems, where, "locality.not_city", loc.get("not_city")),
        "hosts": [str(h).lower() for h in loc.get("hosts") or []],
        # A site or 来源 naming a district in full (拱墅区人民政府, 余杭区融媒体中心) is the city's too.
        "sources": checks.terms(problems, where, "locality.sources", loc.get("sources"))
        + [normalize(d) for d in districts],
        "deixis": checks.terms(problems, where, "locality.deixis", loc.get("deixis")),
    }


def _load_items(problems: Problems, plan_id: str, raw_items: Any) -> list[Item]:
    if not isinstance(raw_items, list):
        problems.add(f"plan {plan_id}", "items", "must be a list")
        return []
    items: list[Item] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_items):
        item = _load_item(problems, plan_id, position, raw)
        if item is None:
            continue
        if item.id in seen:
            problems.add(f"item {item.id}", "id", "duplicate id")
            continue
        seen.add(item.id)
        items.append(item)
    _check_parents(problems, items)
    return items


def _load_item(problems: Problems, plan_id: str, position: int, raw: Any) -> Item | None:
    """One item; None when it has no id (its other problems are recorded all the same)."""
    where = f"item {raw.get('id', f'#{position + 1}') if isinstance(raw, dict) else f'#{position + 1}'}"
    if not checks.require(problems, where, raw, ITEM_KEYS) and not (isinstance(raw, dict) and raw.get("id")):
        return None
    checks.known_keys(problems, where, "", raw, ITEM_ALL_KEYS)
    kind = raw.get("kind")
    if kind is not None and kind not in ITEM_KINDS:
        problems.add(where, "kind", f"unknown kind {kind!r} (one of {', '.join(ITEM_KINDS)})")
    terms = {key: checks.terms(problems, where, key, raw.get(key)) for key in TERM_KEYS}
    if terms["weak"] and not terms["context"]:
        problems.add(where, "context", "weak terms need context terms")
    rw = raw.get("relevance_weight", 1.0)
    if isinstance(rw, bool) or not isinstance(rw, (int, float)) or not 0 <= rw <= 1:
        problems.add(where, "relevance_weight", "must be a number from 0 to 1")
        rw = 1.0
    needs_alias = raw.get("needs_alias", False)
    if not isinstance(needs_alias, bool):
        problems.add(where, "needs_alias", "must be true or false")
    context_full = raw.get("context_full")
    if context_full is not None and (isinstance(context_full, bool) or not isinstance(context_full, int)):
        problems.add(where, "context_full", "must be a whole number")
        context_full = None
    return Item(
        id=str(raw["id"]),
        plan_id=plan_id,
        kind=kind,
        title=str(raw.get("title")),
        definition=str(raw.get("definition") or ""),
        parent=raw.get("parent"),
        position=position,
        relevance_weight=float(rw),
        needs_alias=needs_alias is True,
        context_full=context_full,
        **terms,
    )


def _check_parents(problems: Problems, items: list[Item]) -> None:
    """Projects hang under a group and tasks under an aim; groups and aims have no parent."""
    by_id = {i.id: i for i in items}
    for item in items:
        if item.kind not in ITEM_KINDS:
            continue  # recorded already
        want = ITEM_KINDS[item.kind]
        where = f"item {item.id}"
        if want is None:
            if item.parent:
                problems.add(where, "parent", f"a {item.kind} has no parent")
            continue
        parent = by_id.get(item.parent or "")
        if parent is None:
            problems.add(where, "parent", f"unknown parent {item.parent!r}")
        elif parent.kind != want:
            problems.add(where, "parent", f"parent {parent.id} is a {parent.kind}, expected a {want}")


def _check_aliases(problems: Problems, items: list[Item]) -> None:
    owner: dict[str, str] = {}
    for item in items:
        for key in ("aliases", "broad", "weak"):
            for term in getattr(item, key):
                if term in owner:
                    problems.add(f"item {item.id}", key, f"duplicate alias {term!r} (also {owner[term]})")
                    continue
                owner[term] = f"{item.id}.{key}"


def _load_targets(problems: Problems, plan_id: str, raw_targets: Any, items: dict[str, Item]) -> list[Target]:
    if not isinstance(raw_targets, list):
        problems.add(f"plan {plan_id}", "targets", "must be a list")
        return []
    targets = [_load_target(problems, plan_id, n, raw, items) for n, raw in enumerate(raw_targets)]
    return [t for t in targets if t is not None]


def _load_target(problems: Problems, plan_id: str, n: int, raw: Any, items: dict[str, Item]) -> Target | None:
    """One target; None when it has any problem (all of them recorded)."""
    where = f"target {raw.get('id', f'#{n + 1}') if isinstance(raw, dict) else f'#{n + 1}'}"
    before = len(problems.errors)
    if not checks.require(problems, where, raw, TARGET_KEYS):
        return None
    checks.known_keys(problems, where, "", raw, TARGET_ALL_KEYS)
    responsible = _names(problems, where, "responsible", raw.get("responsible"))
    if raw["item"] not in items:
        problems.add(where, "item", f"unknown parent item {raw['item']!r}")
    if raw["comparator"] not in COMPARATORS:
        problems.add(where, "comparator", f"unknown comparator {raw['comparator']!r}")
    if isinstance(raw["value"], bool) or not isinstance(raw["value"], (int, float)):
        problems.add(where, "value", "must be a number")
    fig = checks.mapping(problems, where, "figures", raw["figures"])
    checks.known_keys(problems, where, "figures.", fig, TARGET_FIGURE_KEYS)
    indicator = checks.terms(problems, where, "figures.indicator", fig.get("indicator"))
    units = [normalize(str(u)) for u in fig.get("units") or []]
    if not indicator:
        problems.add(where, "figures.indicator", "missing")
    if not units:
        problems.add(where, "figures.units", "missing")
    due = checks.date(problems, where, "due", raw["due"])
    decoys = checks.terms(problems, where, "figures.decoys", fig.get("decoys"))
    if len(problems.errors) > before:
        return None
    return Target(
        id=str(raw["id"]),
        plan_id=plan_id,
        item=str(raw["item"]),
        metric=str(raw["metric"]),
        comparator=COMPARATORS[raw["comparator"]],
        value=float(raw["value"]),
        unit=normalize(str(raw["unit"])),
        due=due,
        indicator=indicator,
        decoys=decoys,
        units=units,
        period_required=bool(fig.get("period_required", True)),
        responsible=responsible,
    )


def _names(problems: Problems, where: str, key: str, value: Any) -> list[str]:
    """An optional list of names kept as written (compared with stored 来源 and hosts, not matched)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(where, key, "must be a list of names")
        return []
    return [v.strip() for v in value]
