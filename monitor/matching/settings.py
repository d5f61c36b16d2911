"""A plan's settings blocks, parsed once at catalog load into frozen records.

`matching:` (with its `locality:` sub-block) becomes `MatchingSettings`, `figures:` becomes
`FigureRules` (its patterns compiled). Absent keys take the defaults below; an unknown key
(a misspelling) or a value of the wrong type is a `CatalogError` naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from db.text import normalize
from monitor.matching import checks
from monitor.matching.checks import Problems

_NEVER = r"(?!x)x"  # a pattern that matches nothing


@dataclass(frozen=True, slots=True)
class LocalitySettings:
    """`matching.locality`: how place mentions, the site and the 来源 line place an article."""

    title_bonus: float = 2.0  # a place named in the title counts this much more
    host_bonus: float = 3.0  # the site is the plan city's
    deixis_weight: float = 0.25  # per 我市/全市… on such a site
    source_bonus: float = 2.0  # the 来源 line or site name is the plan city's
    min_city: float = 1.0  # the plan city's least score
    min_share: float = 0.4  # plan city's share of all city mentions
    province_ratio: float = 2.0  # province-wide when province words outnumber city mentions this much


@dataclass(frozen=True, slots=True)
class MatchingSettings:
    """`matching`: evidence weights and thresholds."""

    title_weight: float = 2.0
    weak_weight: float = 0.5
    context_window: int = 80  # characters around a weak hit searched for a context term
    context_full: int = 2  # distinct context terms that give a weak hit full weight (0: never)
    item_min: float = 1.0  # an item is listed at this evidence weight
    relevance_min: float = 1.0  # total evidence needed for the article to be relevant
    candidate_min: float = 0.5  # below relevance_min, evidence that makes it a candidate (待确认)
    max_evidence_per_item: int = 5
    snippet_chars: int = 80  # an evidence passage reaches at most this far either side of the term
    locality: LocalitySettings = field(default_factory=LocalitySettings)


@dataclass(frozen=True, slots=True)
class Period:
    """One entry of `figures.periods`: a period marker and the date it sets."""

    pattern: re.Pattern
    as_of: str  # month_end | day | published | year_end | MM-DD
    same_year_only: bool = False
    year_offset: int = 0
    review_year: bool = False


@dataclass(frozen=True, slots=True)
class FigureRules:
    """`figures`: the wording progress figures are read by, compiled."""

    city_scope: re.Pattern  # any of the plan city's scope words
    other_scope: re.Pattern  # any other scope (districts too)
    rankings: re.Pattern  # a scope named only to rank (全国前列, 全省第一): not the figure's scope
    break_chars: str  # the sentence-break characters, each once
    max_gap: int
    goal: tuple[re.Pattern, ...]
    earlier: tuple[re.Pattern, ...]
    cumulative: tuple[re.Pattern, ...]
    delta: tuple[re.Pattern, ...]
    year_start: tuple[re.Pattern, ...]
    periods: tuple[Period, ...]
    review_months_after: int
    review_markers: tuple[re.Pattern, ...]
    review_end: tuple[re.Pattern, ...]
    review_end_next_year: tuple[re.Pattern, ...]
    review_any: re.Pattern  # any review marker (most texts have none)
    goal_or_earlier: re.Pattern  # any goal or earlier word: a clause is tested once


MATCHING_KEYS = tuple(f.name for f in fields(MatchingSettings))
LOCALITY_KEYS = tuple(f.name for f in fields(LocalitySettings))
FIGURES_KEYS = (
    "city_scope",
    "other_scope",
    "rankings",
    "max_gap",
    "sentence_breaks",
    "goal",
    "earlier",
    "cumulative",
    "delta",
    "year_start",
    "periods",
    "review",
)
PATTERN_LIST_KEYS = ("goal", "earlier", "cumulative", "delta", "year_start")
REVIEW_KEYS = ("months_after", "markers", "end", "end_next_year")
PERIOD_KEYS = tuple(f.name for f in fields(Period))
AS_OF_KINDS = ("month_end", "day", "published", "year_end")


def number(problems: Problems, where: str, key: str, value: Any, default: float | int) -> float | int:
    """`value` as the default's type (int or float); a wrong type is recorded and gives the default."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.add(where, key, f"must be a number, not {value!r}")
        return default
    if isinstance(default, float):
        return float(value)
    if not isinstance(value, int):
        problems.add(where, key, f"must be a whole number, not {value!r}")
        return default
    return value


def _numbers(problems: Problems, where: str, prefix: str, raw: dict, cls: type) -> dict[str, Any]:
    """The number-valued fields of `cls` present in `raw`, checked and converted."""
    return {
        f.name: number(problems, where, prefix + f.name, raw[f.name], f.default)
        for f in fields(cls)
        if f.name in raw and isinstance(f.default, (int, float))
    }


def parse_matching(problems: Problems, where: str, value: Any) -> MatchingSettings:
    """The `matching:` block (None: every default)."""
    raw = checks.mapping(problems, where, "matching", value)
    checks.known_keys(problems, where, "matching.", raw, MATCHING_KEYS)
    loc = checks.mapping(problems, where, "matching.locality", raw.get("locality"))
    checks.known_keys(problems, where, "matching.locality.", loc, LOCALITY_KEYS)
    locality = LocalitySettings(**_numbers(problems, where, "matching.locality.", loc, LocalitySettings))
    return MatchingSettings(**_numbers(problems, where, "matching.", raw, MatchingSettings), locality=locality)


def _alternation(patterns: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns) or _NEVER)


def _scope(terms: list[str]) -> re.Pattern:
    ordered = sorted(set(terms), key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in ordered) or _NEVER)


def district_forms(districts: list[str]) -> list[str]:
    """Each district's normalised full name and, when two characters or more remain, its short
    form without 区/县/市."""
    out = []
    for district in districts:
        full = normalize(district)
        out.append(full)
        short = re.sub(r"[区县市]$", "", full)
        if len(short) >= 2:
            out.append(short)
    return out


def _period(problems: Problems, where: str, n: int, entry: Any) -> Period | None:
    key = f"figures.periods[{n}]"
    if not isinstance(entry, dict) or "pattern" not in entry or "as_of" not in entry:
        problems.add(where, key, "needs pattern and as_of")
        return None
    checks.known_keys(problems, where, f"{key}.", entry, PERIOD_KEYS)
    as_of = str(entry["as_of"])
    ok = True
    if as_of not in AS_OF_KINDS and not re.fullmatch(r"\d\d-\d\d", as_of):
        problems.add(where, f"{key}.as_of", f"unknown as_of {as_of!r}")
        ok = False
    offset = entry.get("year_offset", 0)
    if not isinstance(offset, int):
        problems.add(where, f"{key}.year_offset", "must be an integer")
        ok = False
    pattern = checks.compile_pattern(problems, where, f"{key}.pattern", entry["pattern"])
    if pattern is None or not ok:
        return None
    return Period(
        pattern=pattern,
        as_of=as_of,
        same_year_only=bool(entry.get("same_year_only")),
        year_offset=offset,
        review_year=bool(entry.get("review_year")),
    )


def _review(problems: Problems, where: str, value: Any) -> dict[str, Any]:
    review = checks.mapping(problems, where, "figures.review", value)
    checks.known_keys(problems, where, "figures.review.", review, REVIEW_KEYS)
    months = review.get("months_after", 3)
    if not isinstance(months, int) or not 0 <= months <= 11:
        problems.add(where, "figures.review.months_after", "must be an integer 0-11")
        months = 3
    out: dict[str, Any] = {"review_months_after": months}
    for key in ("markers", "end", "end_next_year"):
        out[f"review_{key}"] = checks.patterns(problems, where, f"figures.review.{key}", review.get(key))
    # One search tells whether a text has any review marker at all (most have none).
    out["review_any"] = _alternation([re.sub(r"[(][?]P<[a-z_]+>", "(?:", p.pattern) for p in out["review_markers"]])
    return out


def parse_figures(problems: Problems, where: str, value: Any, districts: list[str]) -> FigureRules:
    """The `figures:` block; districts (full and short forms) mark a sub-city scope for figures."""
    raw = checks.mapping(problems, where, "figures", value)
    checks.known_keys(problems, where, "figures.", raw, FIGURES_KEYS)
    city_scope = checks.terms(problems, where, "figures.city_scope", raw.get("city_scope"))
    other_scope = checks.terms(problems, where, "figures.other_scope", raw.get("other_scope"))
    lists = {key: checks.patterns(problems, where, f"figures.{key}", raw.get(key)) for key in PATTERN_LIST_KEYS}
    rankings = checks.patterns(problems, where, "figures.rankings", raw.get("rankings"))
    raw_periods = raw.get("periods") or []
    if not isinstance(raw_periods, list):
        problems.add(where, "figures.periods", "must be a list")
        raw_periods = []
    periods = [_period(problems, where, n, entry) for n, entry in enumerate(raw_periods)]
    breaks = str(raw.get("sentence_breaks", "。！？；;!?\n"))
    return FigureRules(
        city_scope=_scope(city_scope),
        other_scope=_scope(other_scope + district_forms(districts)),
        rankings=_alternation([p.pattern for p in rankings]),
        break_chars="".join(sorted(set(breaks))),
        max_gap=int(number(problems, where, "figures.max_gap", raw.get("max_gap", 40), 40)),
        periods=tuple(p for p in periods if p is not None),
        goal_or_earlier=_alternation([p.pattern for p in lists["goal"] + lists["earlier"]]),
        **lists,
        **_review(problems, where, raw.get("review")),
    )
