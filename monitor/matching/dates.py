"""Dates: when an article was published (its own date, its URL, or a date early in its text) and
whether it is news for a plan's watch period."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from monitor.matching.catalog import Plan

# URL date shapes: /2024-01/31/, /2024/01/31/, /art/2025/4/23/, /2024/05-16/, /2023/0119/,
# /202206/t20220628_, 20241230A06; a bare /202206/ gives the month.
_URL_DATES = [
    re.compile(r"(?<!\d)(20\d\d)[-/_](\d{1,2})[-/_](\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(20\d\d)/(\d\d)(\d\d)(?!\d)"),
    re.compile(r"(?<!\d)(20\d\d)(\d\d)(\d\d)(?!\d)"),
]
_URL_MONTH = re.compile(r"(?<!\d)(20\d\d)[-/]?(\d\d)(?=/)")
_TEXT_DATE = re.compile(r"(?<!\d)(20\d\d)\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})(?!\d)")
# A dateline stands on its own (a time, a line end, the 来源 after it) or follows 发布/日期/更新;
# "2022年12月15日，杭州召开…" in a feature's first lines is an event it recalls, not its date.
_DATELINE = re.compile(
    r"(?:(?:发布|日期|时间|更新于?)[:：\s]*)?(?<!\d)(20\d\d)\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})日?"
    r"(?=\s|$|\d{1,2}:\d\d|来源|作者|发布|[)|])"
)
# A year (not part of a longer number) before 年. The "no digit before it" test is a lookbehind
# after the four digits: a pattern that starts with 19|20 lets the regex engine skip ahead to a
# 1 or 2, where one that starts with a lookbehind tries every position (4x slower on a page).
_YEAR = re.compile(r"((?:19|20)\d\d)(?<!\d\d{4})年")


def _valid(y: str, m: str, d: str = "1") -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def parse_published(value: Any) -> dt.date | None:
    """An ISO date/datetime (or date object) to a date; None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _TEXT_DATE.match(str(value).strip())
    return _valid(*m.groups()) if m else None


def infer_date(url: str | None) -> dt.date | None:
    """The publication date a URL encodes, if any."""
    if not url:
        return None
    path = urlsplit(url).path + "?" + (urlsplit(url).query or "")
    for pattern in _URL_DATES:
        for m in pattern.finditer(path):
            date = _valid(*m.groups())
            if date and 2000 < date.year < 2100:
                return date
    m = _URL_MONTH.search(path)
    if m:
        return _valid(m.group(1), m.group(2))
    return None


def text_date(ntext: str) -> dt.date | None:
    """A date written near the start of the (normalised) text: the dateline of an undated page."""
    m = _DATELINE.search(ntext[:300])
    return _valid(*m.groups()) if m else None


def in_watch_period(plan: Plan, norm: str, title_end: int, published: dt.date | None, date_unknown: bool) -> bool:
    """Is the text news for the plan's watch period?

    `published`: the page's date or, failing that, a date early in its text; `date_unknown`:
    neither was found (the years the text names decide then).
    """
    date_ok = True
    if published is not None:
        date_ok = published >= plan.watch_from
    elif date_unknown:
        years = [int(y) for y in _YEAR.findall(norm)]
        date_ok = not years or max(years) >= plan.watch_from.year
    if not date_ok:
        return False
    # An old text re-posted later (an archive of the 2019 work report): a title year two or
    # more years before the watch date says when it is from, unless the text names a year
    # of the watch period (a January review of last year is still news).
    title_years = [int(y) for y in _YEAR.findall(norm[:title_end])]
    if title_years and max(title_years) <= plan.watch_from.year - 2:
        return max((int(y) for y in _YEAR.findall(norm[title_end:])), default=0) >= plan.watch_from.year
    # A review of a year before the plan ("2023年工作总结" published in January 2024) reports
    # that year's results; it is news about the plan only if it also speaks of the watch
    # period (a later year, or 今年 in it).
    if published is not None and title_years and min(title_years) < plan.watch_from.year:
        return _review_speaks_of_watch_period(plan, norm, title_end)
    return True


def _review_speaks_of_watch_period(plan: Plan, norm: str, title_end: int) -> bool:
    fig = plan.figures
    title = norm[:title_end]
    if not any(
        int(m.group("year")) < plan.watch_from.year
        for p in fig.review_markers
        if "year" in p.groupindex
        for m in p.finditer(title)
    ):
        return True
    body = norm[title_end:]
    return any(int(y) >= plan.watch_from.year for y in _YEAR.findall(body)) or any(
        p.search(body) for p in fig.review_end_next_year
    )
