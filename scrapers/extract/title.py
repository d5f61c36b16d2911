"""Headline: the <title> tag checked against the page's meta tags and headings.

In: the parsed (not yet marked) tree, its meta tags, the generic rules; after the body is found,
the page lines and where the body starts. Out: (headline, method) from the page's own evidence
(`page_title`, the generic `title` method of metadata.py); `strip_site_suffix` for <title>
texts; and `headline_above_body`, the line above the body when <title> names only the site.
"""

from __future__ import annotations

import functools
import re
from operator import itemgetter
from typing import Callable

from lxml import etree

from scrapers.extract.config import Config, load_config
from scrapers.extract.parse import Scan, norm, plain_text

_DASHES = re.compile(r"[—–－-]+")


def _split_last(t: str, seps: list[str]) -> tuple[int, str] | None:
    """Position and separator of the last title separator in t."""
    best = None
    for sep in seps:
        i = t.rfind(sep)
        if i > 0 and (best is None or i > best[0]):
            best = (i, sep)
    return best


def strip_site_suffix(title: str, cfg: Config | None = None) -> str:
    """Remove trailing (or leading) site/column names from a <title> text."""
    cfg = cfg or load_config()
    g = cfg.generic
    limit = g["max_site_suffix_chars"]
    seps = [s for s in g["title_separators"] if s != " "]
    t = norm(title)
    changed = True
    while changed:
        changed = False
        best = _split_last(t, seps)
        if best:
            i, sep = best
            head, tail = t[:i].strip(), t[i + len(sep) :].strip()
            if len(head) >= g["min_title_chars"] and len(tail) <= limit and len(tail) < len(head):
                t, changed = head, True
                continue
            # 站名-标题 (mobile e-paper): a short site name in front
            for sep2 in seps:
                j = t.find(sep2)
                if 0 < j <= 10 and cfg.site_hint.search(t[:j].strip()) and len(t) - j > 8:
                    t, changed = t[j + len(sep2) :].strip(), True
                    break
            if changed:
                continue
        i = t.rfind(" ")
        if i > 0:
            head, tail = t[:i].strip(), t[i + 1 :].strip()
            if len(tail) <= 12 and cfg.site_hint.search(tail) and len(head) >= g["min_title_chars"]:
                t, changed = head, True
    return t


def _dash_key(s: str) -> str:
    """Comparison key: <title> often writes a headline's —— as a plain hyphen."""
    return _DASHES.sub("-", s)


@functools.lru_cache(maxsize=4)
def _word_test(words: tuple[str, ...]) -> Callable[[str], bool]:
    """ "class id" string -> contains a title word, remembered per string (pages repeat them)."""
    seen: dict[str, bool] = {}

    def has_word(attrs: str) -> bool:
        v = seen.get(attrs)
        if v is None:
            v = len(attrs) > 1 and any(w in attrs for w in words)
            if len(seen) >= 100_000:
                seen.clear()
            seen[attrs] = v
        return v

    return has_word


def _walk_headings(scope: etree._Element, tags: set[str], words: tuple[str, ...]) -> list[etree._Element]:
    found = []
    for el in scope.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag in tags:
            found.append(el)
            continue
        attrs = (el.get("class") or "") + " " + (el.get("id") or "")
        if len(attrs) > 1 and any(w in attrs for w in words):
            found.append(el)
        if len(found) >= 200:
            break
    return found


def _heading_elements(root: etree._Element, g: dict, scan: Scan | None = None) -> list[etree._Element]:
    """Headline-like elements in the body: title_tags, or class/id containing a title word (max 200)."""
    tags, words = set(g["title_tags"]), tuple(g["title_class_words"])
    if scan is None:
        body = root.find("body")
        return _walk_headings(body if body is not None else root, tags, words)
    has_word = _word_test(words)
    # each distinct class/id string is tested once; the pass over the page's elements only looks it up
    hits = {a for a in set(map(itemgetter(2), scan)) if a is not None and has_word(a)}
    found = [el for el, tag, attrs in scan if tag in tags or attrs in hits]
    if len(found) < 200:
        return found
    found = []
    for el, tag, attrs in scan:  # the cap as _walk_headings counts it
        if tag in tags:
            found.append(el)
            continue
        if attrs in hits:
            found.append(el)
        if len(found) >= 200:
            break
    return found


def _candidates(root: etree._Element, metas: dict[str, str], g: dict, scan: Scan | None) -> list[tuple[str, str]]:
    """Headline candidates: title meta tags, then headings of a plausible length."""
    lo, hi = g["min_title_chars"], g["max_title_chars"]
    cands: list[tuple[str, str]] = []
    for key in g["title_meta"]:
        v = metas.get(key.lower())
        if v:
            cands.append((v, f"meta:{key}"))
    for el in _heading_elements(root, g, scan):
        txt = plain_text(el)
        if lo <= len(txt) <= hi:
            cands.append((txt, f"selector:{el.tag}"))
    return cands


def _best_in_head_title(cands: list[tuple[str, str]], head_title: str, stripped: str, lo: int) -> tuple | None:
    """The longest candidate contained in <title> (headings win ties), as (score, text, how)."""
    best: tuple[int, str, str] | None = None
    if not head_title:
        return None
    head_key = _dash_key(head_title)
    for txt, how in cands:
        if txt == head_title and stripped != head_title and how.startswith("meta"):
            txt = stripped
        if _dash_key(txt) in head_key and len(txt) >= lo:
            score = len(txt) + (1 if how.startswith("selector") else 0)
            if best is None or score > best[0]:
                best = (score, txt, how)
    return best


def _completes_truncated(txt: str, how: str, stripped: str, cfg: Config) -> bool:
    """A heading that starts like a (possibly cut short) <title> and is its full headline."""
    return (
        how.startswith("selector")
        and len(stripped) >= 6
        and (stripped.endswith(("...", "…", "..")) or len(stripped) >= cfg.generic["truncated_title_chars"])
        and txt.startswith(stripped[: max(6, len(stripped) - 3)])
        and len(txt) <= len(stripped) + 30
        and not any(p.search(txt) for p in cfg.g_date)
        and not re.search(r"来源|作者|编辑|发布", txt[len(stripped) - 3 :])
    )


def page_title(
    root: etree._Element, metas: dict[str, str], cfg: Config, scan: Scan | None = None
) -> tuple[str | None, str | None]:
    """(headline, method) from <title>, title meta tags and headings; (None, None) if none.

    root may be marked (mark_blocks); scan is then the element list that marking returned.
    """
    g = cfg.generic
    head_title = ""
    t = next(root.iterdescendants("title"), None)  # = root.find(".//title"), without ElementPath
    if t is not None:
        head_title = plain_text(t)
    stripped = strip_site_suffix(head_title, cfg) if head_title else ""
    cands = _candidates(root, metas, g, scan)
    best = _best_in_head_title(cands, head_title, stripped, g["min_title_chars"])
    if best and len(best[1]) >= min(len(stripped), 8) * 0.5:
        return best[1], best[2]
    # <title> truncated: a heading that starts like it is the full headline
    if stripped:
        for txt, how in cands:
            if _completes_truncated(txt, how, stripped, cfg):
                return txt, how
        return stripped, "title-tag"
    for txt, how in cands:
        return txt, how
    return None, None


def looks_like_headline(s: str, cfg: Config) -> bool:
    """A short line that could be a headline: no sentence end, no date, no breadcrumb."""
    g = cfg.generic
    if not g["min_title_chars"] <= len(s) <= g["max_title_chars"]:
        return False
    if re.search(r"[。；]$|>|»|首页|当前位置|您的位置|所在位置", s):
        return False
    if any(p.search(s) for p in cfg.g_date) or cfg.noise_re.search(s):
        return False
    return True


def headline_above_body(title: str, how: str | None, page_lines: list[str], body_start: int, cfg: Config) -> str | None:
    """The headline, when <title> holds only the site/column name: the line above the body."""
    g = cfg.generic
    if not (
        how == "title-tag"
        and body_start < len(page_lines)
        and (len(title) <= g["site_title_max_chars"] or cfg.site_hint.search(title))
    ):
        return None
    near = page_lines[max(0, body_start - g["headline_lookback"]) : body_start]
    if title in near:
        return None
    for t in reversed(near):
        if looks_like_headline(t, cfg):
            return t
    return None
