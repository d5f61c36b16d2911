"""Field values: dates found in text or in the URL, and 来源/author/editor strings cleaned.

In: text lines (or a URL) and the generic rules. Out: ISO dates (+08:00) with whether a label
such as 发布时间 precedes them; a 来源 cut at site labels; a person's name without 记者, 编辑,
placeholders or media names; the first line matching a set of named-group regexes.
"""

from __future__ import annotations

import re
from typing import Iterable

from scrapers import dates
from scrapers.extract.config import Config
from scrapers.extract.parse import norm


def find_dates(s: str, cfg: Config) -> list[tuple[str, bool, int]]:
    """All acceptable dates in a text: (iso, preferred-context, position)."""
    out = []
    for pat in cfg.g_date:
        for m in pat.finditer(s):
            before = s[max(0, m.start() - 12) : m.start()]
            if cfg.reject_ctx.search(before):
                continue
            iso = dates.from_match(m)
            if iso:
                out.append((iso, bool(cfg.prefer_ctx.search(before)), m.start()))
    out.sort(key=lambda x: x[2])
    return out


def first_date(s: str, cfg: Config, labelled_only: bool = False) -> str | None:
    """The first labelled date in a text, else (unless labelled_only) the first date at all."""
    found = find_dates(s, cfg)
    pref = [f for f in found if f[1]]
    if labelled_only:
        found = pref
    return (pref or found)[0][0] if found else None


def url_date(url: str | None, cfg: Config) -> str | None:
    """The date written in an article URL (/2024-02/19/, /art/2024/5/11/, /t20240821_ ...)."""
    if not url:
        return None
    for pat in cfg.g_url_date:
        m = pat.search(url)
        if m:
            iso = dates.from_match(m)
            if iso:
                return iso
    return None


def clean_source(value: str | None, cfg: Config) -> str | None:
    """A 来源 value without its label, site labels after it, dates or punctuation; None if empty."""
    if not value:
        return None
    v = norm(value)
    v = re.sub(r"^(?:来源|稿源|信息来源|文章来源|来自|出处)\s*[:：]\s*", "", v)
    for stop in cfg.generic["source_stopwords"]:
        i = v.find(stop)
        if i > 0:
            v = v[:i]
    v = re.split(r"\s|(?:19|20)\d{2}[-年/.]\d{1,2}", v, maxsplit=1)[0]
    v = v.strip(" 　:：|,，;；()（）[]【】")
    if not v or len(v) > 40 or re.fullmatch(r"[\d\s:：\-/.年月日]+", v):
        return None
    return v


def clean_person(value: str | None) -> str | None:
    """A byline value without brackets, 校对/审核/摄 suffixes or a bare 记者/编辑; None if empty."""
    if not value:
        return None
    v = norm(value).strip(" 　:：|,，;；()（）[]【】/")
    v = re.sub(r"(?:_[A-Z]+\d*|校对|审核|摄影?)$", "", v).strip()
    if not v or len(v) > 30 or v in {"本报", "本网", "记者", "通讯员", "编辑"}:
        return None
    return v


def clean_author(value: str | None, cfg: Config) -> str | None:
    """Drop tokens that are verbs, placeholders or media names from a byline."""
    if not value:
        return None
    stop = set(cfg.generic["author_stopwords"])
    media = re.compile(cfg.generic["author_media_suffix"])
    tokens = [t for t in re.split(r"[\s、，,]+", value) if t]
    kept = [t for t in tokens if t not in stop and not media.search(t)]
    if not kept:
        return None
    sep = "、" if "、" in value else " "
    return sep.join(kept)


def search(patterns: Iterable[re.Pattern], lines: Iterable[str], group: str) -> tuple[str | None, str | None]:
    """(value of `group`, line) from the first line a pattern matches with that group set."""
    for line in lines:
        for pat in patterns:
            m = pat.search(line)
            if m and group in pat.groupindex and m.group(group):
                return m.group(group), line
    return None, None


def is_dateline(s: str, cfg: Config) -> bool:
    """A short line carrying a date and a byline/time word, not a sentence: the line under a headline."""
    return len(s) <= cfg.generic["dateline_max_chars"] and bool(
        any(p.search(s) for p in cfg.g_date)
        and re.search(r"来源|时间|日期|作者|编辑|记者|浏览|阅读|发布|\d{1,2}:\d{2}", s)
        and not re.search(r"[。！？]", s)
    )
