"""Multi-page articles (_2.htm, _0.htm = all pages): find the other pages, merge the results.

In: one page's HTML and URL (and profile), or its parsed tree (`extract(..., pager=True)` reads the
links from the tree it parsed anyway); later the `Extracted` of every page. Out: the absolute URLs
of the article's other pages, the all-pages URL first if linked; one `Extracted` with fields
from the first page that has them and the bodies joined without repeated lines.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from urllib.parse import urljoin

from lxml import etree

from scrapers.extract.config import Rules, css, load_config, profile_for_url
from scrapers.extract.model import Extracted, ExtractionError
from scrapers.extract.parse import decode, parse

_PAGE_SUFFIX = re.compile(r"(?:_\d{1,3})?\.s?html?$")
_PAGE_SUFFIX_WHOLE = re.compile(r"(?:_\d{1,3})?\.s?html?")
_PAGE_ENDS = (".htm", ".html", ".shtm", ".shtml")


def _without_url_breaks(href: str) -> str:
    """`href` without the tab, CR and LF characters urllib's URL parsing removes."""
    return href.replace("\t", "").replace("\r", "").replace("\n", "")


def _pager_hrefs(root: etree._Element, selectors: list[str] | None) -> list[str]:
    """hrefs of the profile's pager links, else of every link on the page."""
    hrefs: list[str] = []
    for sel in selectors or []:
        hrefs.extend(a.get("href") for a in css(sel)(root) if a.get("href"))
    if not hrefs:
        # generic: links to <stem>_N.htm of this same article
        hrefs = [a.get("href") for a in root.iter("a") if a.get("href")]
    return hrefs


def pager_links(html: str | bytes, url: str, profile: str | None = None) -> list[str]:
    """Absolute URLs of the other pages of a multi-page article; the all-pages (_0) URL, if linked, first."""
    cfg = load_config()
    name = profile or profile_for_url(url)
    rules = cfg.profiles.get(name) or cfg.profiles["generic"]
    if isinstance(html, (bytes, bytearray)):
        html, _ = decode(html, None)
    root = parse(html)
    if root is None:
        return []
    return links_in_tree(root, url, rules)


def links_in_tree(root: etree._Element, url: str, rules: Rules) -> list[str]:
    """`pager_links` of a page already parsed (before `drop_scripts`: a pager link may sit in <noscript>)."""
    # page numbers are short (_0, _2 ... _12); article ids are long, so content_8697001 stays whole
    stem = _PAGE_SUFFIX.sub("", url.split("?")[0].split("#")[0])

    def same_article(u: str) -> bool:
        # <stem> + page suffix, tested as prefix + fullmatch: no regex compiled per page
        return u.startswith(stem) and _PAGE_SUFFIX_WHOLE.fullmatch(u, len(stem)) is not None

    all_pages = re.compile(rules.raw["all_pages"]) if rules.raw.get("all_pages") else None
    # the last path segment of a page of this article starts with the stem's, and urljoin keeps an
    # href's last segment (minus the tabs and newlines it drops): an href without it is no page
    name = stem.rsplit("/", 1)[1] if "/" in stem else ""
    first, rest = [], []
    me = url.split("#")[0]
    for h in _pager_hrefs(root, rules.raw.get("pager")):
        h = h.strip()
        if not h.split("#")[0].endswith(_PAGE_ENDS):  # cannot name a page: skip before urljoin
            continue
        if name not in h and name not in _without_url_breaks(h):
            continue
        absu = urljoin(url, h).split("#")[0]
        if absu == me or not same_article(absu) or absu in first or absu in rest:
            continue
        (first if all_pages and all_pages.search(absu) else rest).append(absu)
    return first + rest


def merge_pages(pages: list[Extracted]) -> Extracted:
    """One article from its pages: fields from the first page that has them, bodies joined without repeats."""
    if not pages:
        raise ExtractionError("merge_pages needs at least one page")
    base = Extracted(**{k: v for k, v in asdict(pages[0]).items() if k != "methods"})
    base.methods = dict(pages[0].methods)
    for p in pages[1:]:
        for fld in ("title", "subtitle", "kicker", "published", "source", "author", "editor"):
            if getattr(base, fld) is None and getattr(p, fld) is not None:
                setattr(base, fld, getattr(p, fld))
                base.methods[fld] = p.methods.get(fld, "page")
    seen: set[str] = set()
    lines: list[str] = []
    for p in pages:
        for line in p.body.split("\n") if p.body else []:
            if line and line not in seen:
                seen.add(line)
                lines.append(line)
    base.body = "\n".join(lines)
    base.error = None if base.body else (pages[0].error or "empty-shell")
    if len(pages) > 1:
        base.methods["body"] = f"{base.methods.get('body', '?')}+merged:{len(pages)}"
    return base
