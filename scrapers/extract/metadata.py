"""Fields: title, subtitle, kicker, publish time, 来源, author and editor, each found by trying its
methods in the order profiles.yaml gives (`fields:` of the profile, else of `generic`).

In: a `Page` (model.py) whose tree, meta tags and, for the byline fields, page lines, headline
window, body and trailer the other stages have filled. Out: the fields set on `Page.out` with the
method that found each in `Page.out.methods`.

Every method is a function registered here under (field, name). `fill` runs a field's methods in
order until one finds a value; the `REFINES` methods run even then, because they may add the
time printed under the headline to a date found (without a time, or in a meta tag) earlier.
"""

from __future__ import annotations

import re
from typing import Callable

from scrapers import dates
from scrapers.extract.clean import (
    clean_author,
    clean_person,
    clean_source,
    find_dates,
    first_date,
    search,
    url_date,
)
from scrapers.extract.model import ExtractionError, Page
from scrapers.extract.parse import first_css, plain_text, text
from scrapers.extract.title import page_title

# the fields found before the page is split into lines, then those found from its lines
HEAD_FIELDS = ("title", "subtitle", "kicker")
# editor first: an author never equals it; publisher last: it takes an organisation out of author
LINE_FIELDS = ("published", "source", "editor", "author", "publisher")

Step = Callable[[Page], None]
STEPS: dict[str, dict[str, Step]] = {f: {} for f in HEAD_FIELDS + LINE_FIELDS}
REFINES = {
    ("published", "profile_dateline"),
    ("published", "profile_trailer"),
    ("published", "dateline"),
}


def method(fields: str, name: str) -> Callable[[Step], Step]:
    """Register a function as method `name` of each of the space-separated `fields`."""

    def register(fn: Step) -> Step:
        for fld in fields.split():
            STEPS[fld][name] = fn
        return fn

    return register


def fill(p: Page, fields: tuple[str, ...]) -> None:
    """Try each field's methods in the profile's order until the field has a value."""
    for fld in fields:
        for name in p.rules.fields.get(fld, ()):
            fn = STEPS[fld].get(name)
            if fn is None:
                known = ", ".join(STEPS[fld])
                raise ExtractionError(f"profiles.yaml: unknown method {name!r} for field {fld!r} (known: {known})")
            if getattr(p.out, fld) is None or (fld, name) in REFINES:
                p.step = (fld, name)
                fn(p)


# ---------------------------------------------------------------------------- title, subtitle, kicker


@method("title", "profile_selector")
def _title_selector(p: Page) -> None:
    g = p.cfg.generic
    el, sel = first_css(p.root, p.rules.raw.get("title"))
    if el is not None and g["min_title_chars"] <= len(plain_text(el)) <= g["max_title_chars"]:
        p.put("title", plain_text(el), f"selector:{sel}")


@method("title subtitle", "enpproperty")
def _enp_text(p: Page) -> None:
    fld = p.step[0]
    p.put(fld, p.enp.get(fld), "enpproperty")


@method("title", "profile_meta")
def _title_meta(p: Page) -> None:
    for key in (p.rules.raw.get("meta") or {}).get("title", []):
        p.put("title", p.metas.get(key.lower()), f"meta:{key}")


@method("title", "page")
def _title_page(p: Page) -> None:
    title, how = page_title(p.root, p.metas, p.cfg, p.scan)
    if how:
        p.put("title", title, how)


@method("subtitle kicker", "profile_selector")
def _line_selector(p: Page) -> None:
    fld = p.step[0]
    el, sel = first_css(p.root, p.rules.raw.get(fld))
    if el is not None and plain_text(el) != p.out.title:
        p.put(fld, plain_text(el), f"selector:{sel}")


# ---------------------------------------------------------------------------- profile rules


def _clean(p: Page, fld: str, value: str | None) -> str | None:
    if fld == "source":
        return clean_source(value, p.cfg)
    if fld == "published":
        return dates.parse(value)
    return clean_person(value)


@method("published source author", "profile_meta")
def _profile_meta(p: Page) -> None:
    fld = p.step[0]
    for key in (p.rules.raw.get("meta") or {}).get(fld, []):
        p.put(fld, _clean(p, fld, p.metas.get(key.lower())), f"meta:{key}")


@method("published author", "enpproperty")
def _enp_byline(p: Page) -> None:
    fld = p.step[0]
    value = p.enp.get("date" if fld == "published" else fld)
    if value:
        p.put(fld, _clean(p, fld, value), "enpproperty")


def _profile_matches(p: Page, kind: str) -> list[dict[str, str | None]]:
    """Group dicts of the profile's dateline (headline window) or trailer regexes, line by line."""
    if kind not in p.matches:
        lines, pats = (p.window, p.rules.dateline) if kind == "dateline" else (p.trailer, p.rules.trailer)
        p.matches[kind] = [m.groupdict() for line in lines for pat in pats if (m := pat.search(line))]
    return p.matches[kind]


def _add_time(p: Page, iso: str | None, how: str) -> None:
    """A date of the same day that has a time replaces a published date that has none."""
    cur = p.out.published
    if cur and iso and iso[:10] == cur[:10] and not dates.has_time(cur) and dates.has_time(iso):
        p.out.published = iso
        p.out.methods["published"] += "+" + how


@method("published source author editor", "profile_dateline")
@method("published source author editor", "profile_trailer")
def _profile_lines(p: Page) -> None:
    fld, name = p.step
    how = name.removeprefix("profile_")
    for i, gd in enumerate(_profile_matches(p, how)):
        p.match_idx = i
        if fld != "published":
            p.put(fld, _clean(p, fld, gd.get(fld)), how)
        elif gd.get("date"):
            iso = dates.parse(" ".join(x for x in (gd.get("date"), gd.get("time")) if x))
            _add_time(p, iso, how)
            p.put("published", iso, how)
    p.match_idx = 0


@method("source", "profile_url")
def _source_from_url(p: Page) -> None:
    src_url = p.rules.raw.get("source_from_url")
    if src_url and p.url:
        mm = re.search(src_url["pattern"], p.url)
        if mm and mm.group(1) in src_url["names"]:
            p.put("source", src_url["names"][mm.group(1)], "url")


@method("author", "profile_byline")
def _profile_byline(p: Page) -> None:
    if p.rules.author_patterns:
        v, _ = search(p.rules.author_patterns, p.body_lines[:3] + p.window, "author")
        p.put("author", clean_person(v), "byline")


# ---------------------------------------------------------------------------- generic: publish time


def _meta_list(p: Page, fld: str, keys: list[str]) -> None:
    """The first of these meta tags whose cleaned value is not empty."""
    for key in keys:
        value = _clean(p, fld, p.metas.get(key.lower()))
        if value:
            p.put(fld, value, f"meta:{key}")
            return


@method("published", "meta")
def _published_meta(p: Page) -> None:
    _meta_list(p, "published", p.cfg.generic["meta"]["published"])


@method("published", "meta_fallback")
def _published_meta_fallback(p: Page) -> None:
    _meta_list(p, "published", p.cfg.generic["meta"]["published_fallback"])


@method("published", "dateline")
def _published_dateline(p: Page) -> None:
    # the time printed under the headline is what readers (and labels) see; a meta tag
    # for the same day often carries a different (edit or index) time
    cur = p.out.published
    if cur is not None and not p.out.methods.get("published", "").startswith(("meta", "enpproperty")):
        return
    iso = first_date(" \n ".join(p.date_window), p.cfg)
    if iso is None:
        return
    if cur is None:
        p.put("published", iso, "dateline")
    elif iso[:10] == cur[:10] and dates.has_time(iso) and iso != cur:
        p.out.published = iso
        p.out.methods["published"] += "+dateline"


@method("published", "itemprop")
def _published_itemprop(p: Page) -> None:
    for key in p.cfg.generic["itemprop_date"]:
        for el in p.root.xpath(f'//*[@itemprop="{key}"]'):
            iso = dates.parse(el.get("content") or el.get("datetime") or text(el))
            if iso:
                p.put("published", iso, f"itemprop:{key}")
                return


@method("published", "time_element")
def _published_time_element(p: Page) -> None:
    for el in p.root.xpath("//time[@datetime]"):
        iso = dates.parse(el.get("datetime"))
        if iso:
            p.put("published", iso, "time-element")
            return


@method("published", "text")
def _published_text(p: Page) -> None:
    # first acceptable date in the page text before the body ends, outside link lists
    stop = len(p.page_lines)
    if p.body_lines:
        last = p.body_lines[-1]
        stop = next((i for i, t in enumerate(p.page_lines) if t == last), stop) + 1
    # (an e-paper prints the issue date just above the headline)
    start = max(0, (p.title_idx or 0) - 3)
    limit = p.cfg.generic["dateline_max_chars"]
    p.put("published", first_date(" \n ".join(t for t in p.plain_lines[start:stop] if len(t) <= limit), p.cfg), "text")


@method("published", "trailer")
def _published_trailer(p: Page) -> None:
    # after the body only a labelled date counts (发布时间/时间/日期), never a related-list date
    p.put("published", first_date(" \n ".join(p.date_trailer), p.cfg, labelled_only=True), "trailer")


@method("published", "time_class")
def _published_time_class(p: Page) -> None:
    for el in p.root.xpath(p.cfg.generic["time_class_xpath"])[:20]:
        t = text(el)
        if 6 <= len(t) <= 60:
            found = find_dates(t, p.cfg)
            if found:
                p.put("published", found[0][0], "time-class")
                return


@method("published", "url")
def _published_url(p: Page) -> None:
    p.put("published", url_date(p.url, p.cfg), "url")


# ---------------------------------------------------------------------------- generic: 来源, editor, author


@method("source", "dateline")
def _source_dateline(p: Page) -> None:
    v, _ = search(p.cfg.g_source, p.window, "source")
    p.put("source", clean_source(v, p.cfg), "dateline")


@method("source", "meta")
def _source_meta(p: Page) -> None:
    _meta_list(p, "source", p.cfg.generic["meta"]["source"])


@method("source", "trailer")
def _source_trailer(p: Page) -> None:
    v, _ = search(p.cfg.g_source, p.trailer, "source")
    p.put("source", clean_source(v, p.cfg), "trailer")


@method("editor", "trailer")
def _editor_trailer(p: Page) -> None:
    v, _ = search(p.cfg.g_editor, p.trailer + p.window, "editor")
    p.put("editor", clean_person(v), "trailer")


_EDITOR_LINE = re.compile(r"(?:责任编辑|责编|编辑)\s*[:：]?\s*\S+")


def _author_from(p: Page, lines: list[str], pats: list[re.Pattern], how: str) -> None:
    # editor lines also say 编辑; strip them so 编辑 X is never taken as the author
    v, _ = search(pats, [_EDITOR_LINE.sub(" ", t) for t in lines], "author")
    v = clean_author(clean_person(v), p.cfg)
    if v and v != p.out.editor:
        p.put("author", v, how)


@method("author", "dateline")
def _author_dateline(p: Page) -> None:
    _author_from(p, [t for t in p.window if "。" not in t], p.cfg.g_author, "dateline")


@method("author", "byline")
def _author_byline(p: Page) -> None:
    _author_from(p, p.body_lines[:2] + p.body_lines[-3:], p.cfg.g_byline, "byline")


@method("author", "trailer")
def _author_trailer(p: Page) -> None:
    _author_from(p, p.trailer, p.cfg.g_author, "trailer")


@method("author", "meta")
def _author_meta(p: Page) -> None:
    for key in p.cfg.generic["meta"]["author"]:
        p.put("author", clean_person(p.metas.get(key.lower())), f"meta:{key}")


# ---------------------------------------------------------------------------- publisher (发布机构)


@method("publisher", "label")
def _publisher_label(p: Page) -> None:
    """发布机构 / 发布单位 / 信息来源 … : an organisation named on a labelled line."""
    lines = p.window + p.trailer + p.page_lines[: p.cfg.generic["publisher_lines"]]
    for line in lines:
        for pat in p.cfg.g_publisher:
            for m in pat.finditer(line):
                if p.is_organisation(m.group("publisher")):
                    p.put("publisher", m.group("publisher"), "label")
                    return


# ---------------------------------------------------------------------------- listing order


# `methods` lists fields in the order the single-pass extractor this package replaced found them
# (and `hzwatch extract` prints them so): headline fields, body, what profile rules found (in
# this order), then what the generic rules found, field by field.
_PROFILE_RANK = {
    ("published", "profile_meta"): 0,
    ("published", "enpproperty"): 1,
    ("source", "profile_meta"): 2,
    ("author", "profile_meta"): 3,
    ("author", "enpproperty"): 4,
    ("*", "profile_dateline"): 5,
    ("*", "profile_trailer"): 6,
    ("source", "profile_url"): 7,
    ("author", "profile_byline"): 8,
}
_HEAD_RANK = {("subtitle", "profile_selector"): 1, ("kicker", "profile_selector"): 2, ("subtitle", "enpproperty"): 3}
_MATCH_FIELDS = ("published", "source", "author", "editor")  # set from one regex match in this order


def _rank(fld: str, found_by: tuple[tuple[str, str], int] | None) -> tuple[int, ...]:
    if fld == "body" or found_by is None:
        return (1,)
    step, idx = found_by
    if fld in HEAD_FIELDS:
        return (0, _HEAD_RANK.get(step, 0))
    rank = _PROFILE_RANK.get(step, _PROFILE_RANK.get(("*", step[1])))
    if rank is None:
        return (3, LINE_FIELDS.index(fld))
    return (2, rank, idx, _MATCH_FIELDS.index(fld) if fld in _MATCH_FIELDS else len(_MATCH_FIELDS))


def ordered_methods(p: Page) -> dict[str, str]:
    """`Page.out.methods` in the order of the fields' finding (see above)."""
    m = p.out.methods
    return {k: m[k] for k in sorted(m, key=lambda k: _rank(k, p.found_by.get(k)))}
