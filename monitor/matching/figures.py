"""Progress figures: bind the quantities of a text to the plan's targets.

`extract_progress(...)` keeps only figures that report on a target: the target's indicator
wording, the plan city's scope and the target's period in the same sentence, and none of another
indicator, a district, an earlier year, a multi-year total or a goal. All wording (scopes, period
patterns, goal words) comes from the plan's `figures:` block (`settings.FigureRules`). Numbers
are read by monitor.matching.numbers (re-exported here).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from monitor.matching.numbers import Number, cn_to_number, parse_numbers, unit_scale
from monitor.matching.settings import FigureRules, Period

if TYPE_CHECKING:
    from monitor.matching.catalog import Plan, Target

__all__ = [
    "FoundFigure",
    "Hit",
    "Number",
    "cn_to_number",
    "extract_progress",
    "parse_numbers",
    "resolve_period",
    "review_regions",
    "unit_scale",
]


@dataclass(slots=True)
class Hit:
    """An indicator (or decoy) occurrence in the normalised text."""

    start: int
    end: int
    target: str | None  # None: a decoy (another indicator)
    term: str


class FoundFigure(NamedTuple):
    """A progress figure as found: the target's value and date, and the sentence it came from
    (`start`/`end` index the normalised text; the matcher turns them into a quote)."""

    target: str
    value: float  # int when whole
    unit: str
    as_of: str  # ISO date
    start: int
    end: int


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _small_int(s: str | None) -> int | None:
    if not s:
        return None
    v = int(s) if s.isdigit() else cn_to_number(s)
    return int(v) if v is not None else None


def _review_year(published: dt.date, year: str | None, months_after: int) -> int | None:
    """The year a review marker speaks of, when the publication date allows a review of it."""
    if year:
        reviewed = int(year)
    elif published.month == 12:
        reviewed = published.year
    elif published.month <= months_after:
        reviewed = published.year - 1
    else:
        return None
    after = (published.year - reviewed) * 12 + published.month - 12
    return reviewed if 0 <= after <= months_after else None


def _review_end(norm: str, fig: FigureRules, start: int, year: int, ends: list, published: dt.date) -> int:
    """Where the review opened at `start` ends: a later year, a forward-looking word, or 今年."""
    end = len(norm)
    for pos, y in ends:
        if pos > start and (y is None or y > year) and pos < end:
            end = pos
    if published.year > year:
        for p in fig.review_end_next_year:
            m = p.search(norm, start)
            if m and m.start() < end:
                end = m.start()
    return end


def review_regions(norm: str, fig: FigureRules, published: dt.date | None) -> list[tuple[int, int, int]]:
    """Spans of `norm` that review a finished year: [(start, end, year)].

    A review marker (2024年工作回顾, 过去一年, …答卷) opens a span when the text was published
    from that year's December to `months_after` months into the next year; the span runs to the
    next mention of a later year, a forward-looking word, or (published the next year) 今年.
    """
    if published is None or not fig.review_any.search(norm):
        return []
    out = []
    for p in fig.review_markers:
        for m in p.finditer(norm):
            year = _review_year(published, m.groupdict().get("year"), fig.review_months_after)
            if year is not None:
                out.append((m.start(), year))
    if not out:
        return []
    ends = []
    for p in fig.review_end:
        for m in p.finditer(norm):
            y = m.groupdict().get("year")
            ends.append((m.start(), int(y) if y else None))
    return [(start, _review_end(norm, fig, start, year, ends, published), year) for start, year in sorted(out)]


def _reviewed_year(regions: list[tuple[int, int, int]], pos: int) -> int | None:
    year = None
    for start, end, y in regions:
        if start <= pos < end:
            year = y
    return year


def _period_date(kind: str, year: int, g: dict, published: dt.date | None) -> dt.date | None:
    """The date a period marker of `kind` sets in `year`; None: unknown. Raises on a bad date."""
    if kind == "day":
        return dt.date(year, _small_int(g["month"]), _small_int(g["day"]))
    if kind == "month_end":
        return _month_end(year, _small_int(g["month"]))
    if kind == "published":
        return published
    if kind == "year_end":
        return dt.date(year, 12, 31)
    return dt.date(year, int(kind[:2]), int(kind[3:]))


def resolve_period(
    context: str, fig: FigureRules, published: dt.date | None, due: dt.date, review_year: int | None = None
) -> tuple[dt.date | str, str] | None:
    """(as_of, kind) from the last period marker in `context`, or None when there is none/unknown.

    `review_year`: the context sits in a review of that year (全年 then means that year).
    """
    # Periods are listed most specific first (截至6月底 before 今年): the first that matches wins,
    # at its last occurrence.
    best: tuple[re.Match, Period] | None = None
    for period in fig.periods:
        for m in period.pattern.finditer(context):
            best = (m, period)
        if best:
            break
    if best is None:
        return None
    m, period = best
    g = m.groupdict()
    year = int(g["year"]) if g.get("year") else (published.year if published else None)
    if not g.get("year") and review_year is not None and period.review_year:
        year = review_year
    if year is None:
        return "unknown", period.as_of
    year += period.year_offset  # 去年 in a 2025 article is 2024
    if period.same_year_only and year != due.year:
        return "other-year", period.as_of
    kind = period.as_of
    try:
        as_of = _period_date(kind, year, g, published)
    except (TypeError, ValueError):
        return "unknown", kind
    return (as_of, kind) if as_of is not None else ("unknown", kind)


def _scope_ok(text: str, fig: FigureRules) -> bool | None:
    """True: the plan city is the last scope named; False: a district/sub-city is; None: neither."""
    city = sub = -1
    for m in fig.city_scope.finditer(text):
        city = m.start()
    ranks = [r.span() for r in fig.rankings.finditer(text)]
    for m in fig.other_scope.finditer(text):
        if not any(a <= m.start() < b for a, b in ranks):
            sub = m.start()
    if city < 0 and sub < 0:
        return None
    return city > sub


def _any(patterns: tuple[re.Pattern, ...], text: str) -> bool:
    return any(p.search(text) for p in patterns)


def _year_start(fig: FigureRules, text: str, due: dt.date) -> bool:
    for p in fig.year_start:
        for m in p.finditer(text):
            year = m.groupdict().get("year")
            if year is None or int(year) == due.year:
                return True
    return False


def _cumulative(fig: FigureRules, text: str, due: dt.date) -> bool:
    for p in fig.cumulative:
        for m in p.finditer(text):
            year = re.match(r"(?:19|20)\d\d", m.group())
            if year and int(year.group()) >= due.year:
                continue  # 2024年以来: this year, not multi-year
            return True
    return False


def _distinct_hits(hits: list[Hit]) -> list[Hit]:
    """Hits by start, longest first, without nested ones (保障性住房 inside 配售型保障性住房 is not
    a decoy) or the same indicator worded twice."""
    kept: list[Hit] = []
    for h in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
        if kept and h.start < kept[-1].end and (h.end <= kept[-1].end or h.target == kept[-1].target):
            continue
        kept.append(h)
    return kept


def extract_progress(
    norm: str, hits: list[Hit], plan: Plan, published: dt.date | None, mask_terms: list[str]
) -> list[FoundFigure]:
    """Progress figures in `norm` for the plan's targets; each with the sentence span it came from.

    `hits` are indicator and decoy occurrences (from the matcher's single pass); `mask_terms`
    are item aliases (春雨计划 …) blanked before looking for goal words such as 计划.
    """
    reader = _ProgressReader(norm, plan, published, mask_terms, _distinct_hits(hits))
    out: list[FoundFigure] = []
    seen: set[tuple] = set()
    for n, hit in enumerate(reader.kept):
        if hit.target is None:
            continue
        found = reader.read(n, hit)
        if found is None:
            continue
        key = (found.target, found.value, found.as_of)
        if key not in seen:
            seen.add(key)
            out.append(found)
    return out


class _ProgressReader:
    """Reads the figure after each indicator hit of one text (review spans found on first need)."""

    __slots__ = ("norm", "plan", "fig", "targets", "published", "mask_terms", "kept", "sentences", "regions", "read_")

    def __init__(self, norm: str, plan: Plan, published: dt.date | None, mask_terms: list[str], kept: list[Hit]):
        self.norm, self.plan, self.fig = norm, plan, plan.figures
        self.targets = {t.id: t for t in plan.targets}
        self.published, self.mask_terms, self.kept = published, mask_terms, kept
        self.sentences = _Sentences(norm, self.fig.break_chars)
        self.regions: list[tuple[int, int, int]] | None = None
        self.read_: set[tuple] = set()  # sentences already read for a target

    def read(self, n: int, hit: Hit) -> FoundFigure | None:
        """The figure the n-th kept hit (an indicator) reports, if any."""
        norm, fig, kept = self.norm, self.fig, self.kept
        target = self.targets[hit.target]
        s0, s1 = self.sentences.around(hit.start)
        limit = min(s1, hit.end + fig.max_gap)
        later = n + 1 < len(kept) and kept[n + 1].start < limit
        window_end = kept[n + 1].start if later else limit
        # Everything below reads only this sentence, the one before it in the paragraph, the
        # review year and (in a review) the scope named before: a sentence repeated verbatim
        # (pages that print a summary twice) gives the same answer, so it is read once.
        p0 = self.sentences.around(s0 - 2)[0] if s0 >= 2 and norm[s0 - 1] != "\n" else s0
        if self.regions is None:
            self.regions = review_regions(norm, fig, self.published)
        reviewed = _reviewed_year(self.regions, s0) if self.regions else None
        doc_scope = _scope_ok(norm[:s0], fig) if reviewed is not None else None
        key = (hit.target, norm[p0:s1], hit.start - p0, window_end - p0, reviewed, doc_scope)
        if key in self.read_:
            return None
        self.read_.add(key)
        number = self._number(n, hit, target, s0, s1, window_end)
        if number is None:
            return None
        context = self._context(s0, p0, number.start, reviewed, doc_scope, target)
        if context is None:
            return None
        as_of = self._as_of(context, s0, p0, number.start, reviewed, target)
        if as_of is None:
            return None
        mult, _base = unit_scale(target.unit)
        value = number.value / mult
        value = int(value) if float(value).is_integer() else round(value, 4)
        return FoundFigure(target.id, value, target.unit, as_of.isoformat(), s0, s1)

    def _number(self, n: int, hit: Hit, target: Target, s0: int, s1: int, window_end: int) -> Number | None:
        """The target's figure after the hit: the first in the window, or by position after 分别."""
        norm = self.norm
        number = _first_number(norm, hit.end, window_end, target)
        if number is not None and "分别" in norm[hit.end : number.start]:
            number = None  # "A、B分别达x、y": position decides
        if number is None and "分别" in norm[hit.end : s1]:
            number = _respectively(norm, self.kept, n, s0, s1, target)
        if number is None or _any(self.fig.delta, norm[hit.end : number.start]):
            return None  # none, or a change (增长…) rather than a level
        return number

    def _context(
        self, s0: int, p0: int, end: int, reviewed: int | None, doc_scope: bool | None, target: Target
    ) -> tuple[str, bool] | None:
        """(context, is the clause itself) when the plan city's scope holds and no goal, other year or
        total taints it; None otherwise."""
        norm, fig = self.norm, self.fig
        clause = norm[s0:end]
        scope = _scope_ok(clause, fig)
        context = (clause, True)
        if scope is None:  # subject in the previous sentence of the paragraph
            scope = _scope_ok(norm[p0:s0], fig) if p0 < s0 else None
            if scope is not None:
                context = (norm[p0:end], False)
        if scope is None and reviewed is not None:
            # A year review speaks for one body throughout: the scope it last named (全市…)
            # holds across paragraphs. Elsewhere a new paragraph needs its own scope.
            scope = doc_scope
        if not scope or not _clean(context[0], fig, self.mask_terms, target.due):
            return None
        return context

    def _as_of(
        self, context: tuple[str, bool], s0: int, p0: int, end: int, reviewed: int | None, target: Target
    ) -> dt.date | None:
        """The date the figure stands at, from the period named (or the review, or the publication
        date); None when it is not a result for the target's year."""
        fig, published = self.fig, self.published
        text, is_clause = context
        period = resolve_period(text, fig, published, target.due, reviewed)
        if period is None and reviewed is None and p0 < s0 and is_clause:
            # No period of its own: the paragraph's previous sentence may set it (上半年，…。
            # 全市新引进…). It must then pass the same checks (no goal, other year, total).
            wider = self.norm[p0:end]
            if _clean(wider, fig, self.mask_terms, target.due):
                period = resolve_period(wider, fig, published, target.due, reviewed)
                if period is not None:
                    text = wider
        if "累计" in text and not _year_start(fig, text, target.due):
            return None  # a running total needs "今年以来"-style start
        as_of = _period_as_of(period, text, reviewed, published, target)
        if as_of is None or as_of.year != target.due.year or (published and (as_of - published).days > 31):
            return None
        return as_of


def _period_as_of(
    period: tuple[dt.date | str, str] | None,
    context: str,
    reviewed: int | None,
    published: dt.date | None,
    target: Target,
) -> dt.date | None:
    if period is None:
        if reviewed is not None:  # a review's unmarked figure: that year's result
            return min(dt.date(reviewed, 12, 31), published)
        if target.period_required or published is None:
            return None
        return published
    as_of, kind = period
    if not isinstance(as_of, dt.date):
        return None
    if kind in ("year_end",) and published and published < as_of:
        if "已" not in context and reviewed is None:
            return None  # 今年…6000套 before year-end is the plan, not a result
        as_of = published
    return as_of


def _clean(context: str, fig: FigureRules, mask_terms: list[str], due: dt.date) -> bool:
    """No goal or earlier-period word, no multi-year total, no year but the target's."""
    masked = context
    for term in mask_terms:
        if term in masked:
            masked = masked.replace(term, "\u3000" * len(term))
    if fig.goal_or_earlier.search(masked):
        return False
    if _cumulative(fig, context, due):
        return False
    years = {int(y) for y in re.findall(r"((?:19|20)\d\d)年", context)}
    return not (years - {due.year})


class _Sentences:
    """Sentence spans of a text, found once: `around(pos)` -> (start, end) without the break."""

    def __init__(self, norm: str, break_chars: str):
        # str.find per break character: several times faster than a regex character class scan.
        breaks = []
        for c in break_chars:
            pos = norm.find(c)
            while pos >= 0:
                breaks.append(pos)
                pos = norm.find(c, pos + 1)
        breaks.sort()
        self.breaks = breaks
        self.length = len(norm)

    def around(self, pos: int) -> tuple[int, int]:
        k = bisect_left(self.breaks, pos)
        start = self.breaks[k - 1] + 1 if k > 0 else 0
        end = self.breaks[k] if k < len(self.breaks) else self.length
        return start, end


def _accepts(number: Number, target: Target) -> bool:
    mult, base = unit_scale(target.unit)
    if not number.unit:  # 大学生35.2万: a 万 count of the target's own unit
        return number.scaled and mult > 1
    return number.unit in target.units or (number.unit == base)


def _first_number(norm: str, start: int, end: int, target: Target) -> Number | None:
    if end <= start:
        return None
    for number in parse_numbers(norm[start:end]):
        if _accepts(number, target):
            number.start += start
            number.end += start
            return number
    return None


def _respectively(norm: str, kept: list[Hit], n: int, s0: int, s1: int, target: Target) -> Number | None:
    """'A、B分别达92%、95%': the i-th indicator before 分别 takes the i-th figure after it."""
    pos = norm.find("分别", kept[n].end, s1)
    if pos < 0:
        return None
    run = [h for h in kept if s0 <= h.start and h.end <= pos]
    # Only the indicators listed together: drop any followed by its own figure.
    run = [
        h
        for k, h in enumerate(run)
        if not any(x.unit for x in parse_numbers(norm[h.end : run[k + 1].start if k + 1 < len(run) else pos]))
    ]
    if kept[n] not in run:
        return None
    numbers = [x for x in parse_numbers(norm[pos:s1]) if x.unit]
    idx = run.index(kept[n])
    if len(numbers) < len(run) or not _accepts(numbers[idx], target):
        return None
    number = numbers[idx]
    number.start += pos
    number.end += pos
    return number
