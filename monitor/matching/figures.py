"""Numbers and progress figures: parse Chinese/Arabic quantities, bind them to plan targets.

`parse_numbers(text)` finds quantities with their units (六千套, 1.2万套, 百分之九十, 35万名以上,
超3000套, 3000-4000套). `extract_progress(...)` keeps only figures that report on a target: the
target's indicator wording, the plan city's scope and the target's period in the same sentence,
and none of another indicator, a district, an earlier year, a multi-year total or a goal.
All wording (scopes, period patterns, goal words) comes from the plan's `figures:` block.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from bisect import bisect_left
from dataclasses import dataclass

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_MULTIPLIER = {"千": 1_000, "万": 10_000, "亿": 100_000_000}

_AR = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CN = r"[零〇一二两三四五六七八九十百千万亿点]+"
# Units, longest first, including ones no target uses (人次, 岁) so they are not misread as 人.
_UNITS = [
    "万平方米",
    "平方米",
    "个百分点",
    "百分点",
    "万人次",
    "人次",
    "套(间)",
    "周岁",
    "万套",
    "万名",
    "万人",
    "万户",
    "万个",
    "万元",
    "亿元",
    "元",
    "套",
    "间",
    "名",
    "人",
    "位",
    "户",
    "个",
    "岁",
    "所",
    "家",
    "项",
    "%",
    "成",
]
_NUMBER = re.compile(
    r"(?P<pre>超过|超|逾|近|约|不少于|不低于)?"
    rf"(?:百分之(?P<pct>{_AR}|{_CN})|(?P<a>{_AR})(?P<amul>[千万亿](?![元平]))?|(?P<c>{_CN}))"
    rf"(?:(?:-|—|–|~|～|至|到)(?P<b>{_AR}|{_CN})(?P<bmul>[千万亿](?![元平]))?)?"
    r"(?P<suf>多|余)?"
    r"(?P<unit>" + "|".join(re.escape(u) for u in _UNITS) + r")?"
    r"(?P<suf2>以上|多)?"
)
_HAS_CN_DIGIT = re.compile(r"[零〇一二两三四五六七八九]")


@dataclass
class Number:
    value: float  # lower bound, in the unit's base (万/亿 applied): 1.2万套 -> 12000 套
    unit: str  # '%', '套', '名', … ('' when none)
    start: int
    end: int
    qualifier: str = ""  # '>=' (超/以上/多), '~' (约/近), 'range'
    upper: float | None = None
    scaled: bool = False  # written with 万/亿 (35.2万): a count even without a unit word


def cn_to_number(s: str) -> float | None:
    """Chinese numeral to a number: 六千 -> 6000, 三十五万 -> 350000, 九十二点三 -> 92.3."""
    if not s:
        return None
    if "点" in s and s[-1] in _CN_BIG:  # 三十五点六万
        head = cn_to_number(s[:-1])
        return head * _CN_BIG[s[-1]] if head is not None else None
    if "点" in s:
        whole, _, frac = s.partition("点")
        if not frac or any(c not in _CN_DIGITS for c in frac):
            return None
        head = cn_to_number(whole) if whole else 0
        if head is None:
            return None
        return float(f"{int(head)}.{''.join(str(_CN_DIGITS[c]) for c in frac)}")
    if all(c in _CN_DIGITS for c in s):  # 二〇二四 style
        return float("".join(str(_CN_DIGITS[c]) for c in s)) if len(s) > 1 else float(_CN_DIGITS[s])
    total, section, digit = 0, 0, None
    for c in s:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[c]
            digit = None
        elif c in _CN_BIG:
            section += digit or 0
            if section == 0:
                return None
            total = (total + section) * _CN_BIG[c] if c == "亿" else total + section * _CN_BIG[c]
            section, digit = 0, None
        else:
            return None
    return float(total + section + (digit or 0))


def _value(text: str | None, mul: str | None) -> float | None:
    if not text:
        return None
    if text[0].isdigit():
        v = float(text.replace(",", ""))
    else:
        v = cn_to_number(text)
        if v is None:
            return None
    return v * _MULTIPLIER[mul] if mul else v


_ANY_DIGIT = re.compile(r"[\d零〇一二两三四五六七八九十百千万亿]")


def parse_numbers(text: str) -> list[Number]:
    """Every quantity in `text` with its unit; bare Chinese numerals without a unit are words (一网通办)."""
    out = []
    if not _ANY_DIGIT.search(text):
        return out
    for m in _NUMBER.finditer(text):
        g = m.groupdict()
        unit = g["unit"] or ""
        if g["pct"] is not None:
            value, unit = _value(g["pct"], None), "%"
        elif g["a"] is not None:
            value = _value(g["a"], g["amul"])
        else:
            if not unit or not (_HAS_CN_DIGIT.search(g["c"]) or g["c"][0] == "十"):
                continue  # 十名 is ten; 百/千/万 alone are words
            value = _value(g["c"], None)
        if value is None:
            continue
        upper = _value(g["b"], g["bmul"] or g["amul"]) if g["b"] else None
        if upper is not None and g["b"] and g["a"] and not g["amul"] and g["bmul"]:
            value *= _MULTIPLIER[g["bmul"]]  # 30-35万名: both ends in 万
        if unit.startswith("万") and len(unit) > 1:
            value *= 10_000
            upper = upper * 10_000 if upper is not None else None
            unit = unit[1:]
        elif unit == "亿元":
            value *= 100_000_000
            unit = "元"
        elif unit == "成":  # 九成 = 90%
            value *= 10
            upper = upper * 10 if upper is not None else None
            unit = "%"
        qualifier = ""
        if upper is not None:
            qualifier = "range"
        elif g["pre"] in ("超过", "超", "逾", "不少于", "不低于") or g["suf"] or g["suf2"]:
            qualifier = ">="
        elif g["pre"] in ("近", "约"):
            qualifier = "~"
        start = m.start("pct") - 3 if g["pct"] is not None else m.start()
        out.append(
            Number(
                value=round(value, 6),
                unit=unit,
                start=max(start, m.start()),
                end=m.end(),
                qualifier=qualifier,
                upper=upper,
                scaled=bool(g["amul"] in ("万", "亿") or (g["c"] and g["c"][-1] in "万亿")),
            )
        )
    return out


def unit_scale(unit: str) -> tuple[float, str]:
    """A target unit as (multiplier, base): '万名' -> (10000, '名'), '%' -> (1, '%')."""
    if len(unit) > 1 and unit[0] in _MULTIPLIER:
        return float(_MULTIPLIER[unit[0]]), unit[1:]
    return 1.0, unit


# ------------------------------------------------------------------ progress


@dataclass
class Hit:
    start: int
    end: int
    target: str | None  # None: a decoy (another indicator)
    term: str


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _small_int(s: str | None) -> int | None:
    if not s:
        return None
    v = int(s) if s.isdigit() else cn_to_number(s)
    return int(v) if v is not None else None


def review_regions(norm: str, fig: dict, published: dt.date | None) -> list[tuple[int, int, int]]:
    """Spans of `norm` that review a finished year: [(start, end, year)].

    A review marker (2024年工作回顾, 过去一年, …答卷) opens a span when the text was published
    from that year's December to `months_after` months into the next year; the span runs to the
    next mention of a later year, a forward-looking word, or (published the next year) 今年.
    """
    rx = fig["_re"]
    if published is None or not rx["review_any"].search(norm):
        return []
    out = []
    for p in rx.get("review_markers", ()):
        for m in p.finditer(norm):
            y = m.groupdict().get("year")
            if y:
                year = int(y)
            elif published.month == 12:
                year = published.year
            elif published.month <= fig.get("review_months_after", 3):
                year = published.year - 1
            else:
                continue
            after = (published.year - year) * 12 + published.month - 12
            if not 0 <= after <= fig.get("review_months_after", 3):
                continue
            out.append((m.start(), year))
    if not out:
        return []
    ends = []
    for p in rx.get("review_end", ()):
        for m in p.finditer(norm):
            y = m.groupdict().get("year")
            ends.append((m.start(), int(y) if y else None))
    regions = []
    for start, year in sorted(out):
        end = len(norm)
        for pos, y in ends:
            if pos > start and (y is None or y > year) and pos < end:
                end = pos
        if published.year > year:
            for p in rx.get("review_end_next_year", ()):
                m = p.search(norm, start)
                if m and m.start() < end:
                    end = m.start()
        regions.append((start, end, year))
    return regions


def _reviewed_year(regions, pos: int) -> int | None:
    year = None
    for start, end, y in regions:
        if start <= pos < end:
            year = y
    return year


def resolve_period(context: str, fig: dict, published: dt.date | None, due: dt.date, review_year: int | None = None):
    """(as_of, kind) from the last period marker in `context`, or None when there is none/unknown.

    `review_year`: the context sits in a review of that year (全年 then means that year).
    """
    # Periods are listed most specific first (截至6月底 before 今年): the first that matches wins,
    # at its last occurrence.
    best = None
    for period in fig["_re"]["periods"]:
        for m in period["re"].finditer(context):
            best = (m, period)
        if best:
            break
    if best is None:
        return None
    m, period = best
    g = m.groupdict()
    year = int(g["year"]) if g.get("year") else (published.year if published else None)
    if not g.get("year") and review_year is not None and period.get("review_year"):
        year = review_year
    if year is None:
        return "unknown", period["as_of"]
    year += period["year_offset"]  # 去年 in a 2025 article is 2024
    if period["same_year_only"] and year != due.year:
        return "other-year", period["as_of"]
    kind = period["as_of"]
    try:
        if kind == "day":
            as_of = dt.date(year, _small_int(g["month"]), _small_int(g["day"]))
        elif kind == "month_end":
            as_of = _month_end(year, _small_int(g["month"]))
        elif kind == "published":
            if published is None:
                return "unknown", kind
            as_of = published
        elif kind == "year_end":
            as_of = dt.date(year, 12, 31)
        else:
            as_of = dt.date(year, int(kind[:2]), int(kind[3:]))
    except (TypeError, ValueError):
        return "unknown", kind
    return as_of, kind


def _scope_ok(text: str, fig: dict) -> bool | None:
    """True: the plan city is the last scope named; False: a district/sub-city is; None: neither."""
    city = sub = -1
    for m in fig["_re"]["city_scope"].finditer(text):
        city = m.start()
    for m in fig["_re"]["other_scope"].finditer(text):
        sub = m.start()
    if city < 0 and sub < 0:
        return None
    return city > sub


def _any(patterns, text: str) -> bool:
    return any(p.search(text) for p in patterns)


def _year_start(fig: dict, text: str, due: dt.date) -> bool:
    for p in fig["_re"]["year_start"]:
        for m in p.finditer(text):
            year = m.groupdict().get("year")
            if year is None or int(year) == due.year:
                return True
    return False


def _cumulative(fig: dict, text: str, due: dt.date) -> bool:
    for p in fig["_re"]["cumulative"]:
        for m in p.finditer(text):
            year = re.match(r"(?:19|20)\d\d", m.group())
            if year and int(year.group()) >= due.year:
                continue  # 2024年以来: this year, not multi-year
            return True
    return False


def extract_progress(norm: str, hits: list[Hit], plan, published: dt.date | None, mask_terms: list[str]) -> list[dict]:
    """Progress figures in `norm` for the plan's targets; each with the sentence span it came from.

    `hits` are indicator and decoy occurrences (from the matcher's single pass); `mask_terms`
    are item aliases (春雨计划 …) blanked before looking for goal words such as 计划.
    """
    fig = plan.figures
    targets = {t.id: t for t in plan.targets}
    hits = sorted(hits, key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[Hit] = []
    for h in hits:  # 保障性住房 inside 配售型保障性住房 is not a decoy
        if kept and h.start < kept[-1].end and (h.end <= kept[-1].end or h.target == kept[-1].target):
            continue  # nested, or the same indicator worded twice
        kept.append(h)
    out, seen = [], set()
    regions = None  # review spans, found on first need
    read: set[tuple] = set()  # sentences already read for a target
    sentences = _Sentences(norm, fig["_re"]["breaks"])
    for n, hit in enumerate(kept):
        if hit.target is None:
            continue
        target = targets[hit.target]
        s0, s1 = sentences.around(hit.start)
        limit = min(s1, hit.end + fig["max_gap"])
        later = n + 1 < len(kept) and kept[n + 1].start < limit
        window_end = kept[n + 1].start if later else limit
        # Everything below reads only this sentence, the one before it in the paragraph, the
        # review year and (in a review) the scope named before: a sentence repeated verbatim
        # (pages that print a summary twice) gives the same answer, so it is read once.
        p0 = sentences.around(s0 - 2)[0] if s0 >= 2 and norm[s0 - 1] != "\n" else s0
        if regions is None:
            regions = review_regions(norm, fig, published)
        reviewed = _reviewed_year(regions, s0) if regions else None
        doc_scope = _scope_ok(norm[:s0], fig) if reviewed is not None else None
        key = (hit.target, norm[p0:s1], hit.start - p0, window_end - p0, reviewed, doc_scope)
        if key in read:
            continue
        read.add(key)
        number = _first_number(norm, hit.end, window_end, target)
        if number is not None and "分别" in norm[hit.end : number.start]:
            number = None  # "A、B分别达x、y": position decides
        if number is None and "分别" in norm[hit.end : s1]:
            number = _respectively(norm, kept, n, s0, s1, target)
        if number is None:
            continue
        between = norm[hit.end : number.start]
        if _any(fig["_re"]["delta"], between):
            continue
        clause = norm[s0 : number.start]
        scope = _scope_ok(clause, fig)
        context = clause
        if scope is None:  # subject in the previous sentence of the paragraph
            scope = _scope_ok(norm[p0:s0], fig) if p0 < s0 else None
            if scope is not None:
                context = norm[p0 : number.start]
        if scope is None and reviewed is not None:
            # A year review speaks for one body throughout: the scope it last named (全市…)
            # holds across paragraphs. Elsewhere a new paragraph needs its own scope.
            scope = doc_scope
        if not scope:
            continue
        if not _clean(context, fig, mask_terms, target.due):
            continue
        period = resolve_period(context, fig, published, target.due, reviewed)
        if period is None and reviewed is None and p0 < s0 and context is clause:
            # No period of its own: the paragraph's previous sentence may set it (上半年，…。
            # 全市新引进…). It must then pass the same checks (no goal, other year, total).
            wider = norm[p0 : number.start]
            if _clean(wider, fig, mask_terms, target.due):
                period = resolve_period(wider, fig, published, target.due, reviewed)
                if period is not None:
                    context = wider
        if "累计" in context and not _year_start(fig, context, target.due):
            continue  # a running total needs "今年以来"-style start
        if period is None:
            if reviewed is not None:  # a review's unmarked figure: that year's result
                as_of = min(dt.date(reviewed, 12, 31), published)
            elif target.period_required or published is None:
                continue
            else:
                as_of = published
        else:
            as_of, kind = period
            if not isinstance(as_of, dt.date):
                continue
            if kind in ("year_end",) and published and published < as_of:
                if "已" not in context and reviewed is None:
                    continue  # 今年…6000套 before year-end is the plan, not a result
                as_of = published
        if as_of.year != target.due.year or (published and (as_of - published).days > 31):
            continue
        mult, _base = unit_scale(target.unit)
        value = number.value / mult
        value = int(value) if float(value).is_integer() else round(value, 4)
        key = (target.id, value, as_of)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {"target": target.id, "value": value, "unit": target.unit, "as_of": as_of.isoformat(), "_span": (s0, s1)}
        )
    return out


def _clean(context: str, fig: dict, mask_terms: list[str], due: dt.date) -> bool:
    """No goal or earlier-period word, no multi-year total, no year but the target's."""
    masked = context
    for term in mask_terms:
        if term in masked:
            masked = masked.replace(term, "\u3000" * len(term))
    if fig["_re"]["goal_or_earlier"].search(masked):
        return False
    if _cumulative(fig, context, due):
        return False
    years = {int(y) for y in re.findall(r"((?:19|20)\d\d)年", context)}
    return not (years - {due.year})


class _Sentences:
    """Sentence spans of a text, found once: `around(pos)` -> (start, end) without the break."""

    def __init__(self, norm: str, pattern: re.Pattern):
        self.breaks = [m.start() for m in pattern.finditer(norm)]
        self.length = len(norm)

    def around(self, pos: int) -> tuple[int, int]:
        k = bisect_left(self.breaks, pos)
        start = self.breaks[k - 1] + 1 if k > 0 else 0
        end = self.breaks[k] if k < len(self.breaks) else self.length
        return start, end


def _accepts(number: Number, target) -> bool:
    mult, base = unit_scale(target.unit)
    if not number.unit:  # 大学生35.2万: a 万 count of the target's own unit
        return number.scaled and mult > 1
    return number.unit in target.units or (number.unit == base)


def _first_number(norm: str, start: int, end: int, target) -> Number | None:
    if end <= start:
        return None
    for number in parse_numbers(norm[start:end]):
        if _accepts(number, target):
            number.start += start
            number.end += start
            return number
    return None


def _respectively(norm: str, kept: list[Hit], n: int, s0: int, s1: int, target) -> Number | None:
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
