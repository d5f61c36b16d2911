"""Body: the article's text block found in a marked tree, cleaned into paragraphs.

In: the marked tree from parse.py, the profile's rules and the generic rules. Out: the body
element (profile `body` selector, else the text-density winner) and how it was found, the
page chrome (share bars, navigation, related lists ...) removed from the tree on the way, and
`body_lines`: the element's lines without noise, links, headline and date line.
"""

from __future__ import annotations

import functools
import re
from itertools import compress
from operator import itemgetter
from typing import Callable

from lxml import etree

from scrapers.extract.config import AnyOf, Config, Rules, css
from scrapers.extract.parse import (
    BREAK,
    LINK_OFF,
    LINK_ON,
    Scan,
    drop,
    first_css,
    line_texts,
    lines,
    norm,
    raw_text,
    split_lines,
    text,
)

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ALWAYS, _CHROME = 1, 2  # class/id verdicts of drop_chrome
_PUNCT = re.compile(r"[，。！？；：、“”,]")
# a <span> whose parent is one of these is inline text, not a paragraph (WeChat-style pages)
_INLINE_PARENTS = ("p", "span", "a", "li", "h1", "h2", "h3", "strong", "b", "font")


def _word_regex(words: tuple) -> re.Pattern:
    return re.compile(r"(?:^|[\s\-_:.\d])(?:" + "|".join(map(re.escape, words)) + r")(?=$|[\s\-_:.\d])")


@functools.lru_cache(maxsize=4)
def _chrome_verdict(subs: tuple, toks: tuple, keep: tuple, always: tuple) -> Callable[[str], int]:
    """class+id string -> ALWAYS (drop), CHROME (drop unless prose) or 0, remembered per string.

    Pages repeat a few dozen class names on hundreds of elements; each distinct one is looked at once.
    """
    sub_re, tok_re, keep_re = re.compile("|".join(map(re.escape, subs))), _word_regex(toks), _word_regex(keep)
    always_re = re.compile("|".join(map(re.escape, always)))
    # one search says whether any of the three can match (most class names name no chrome at all)
    any_re = re.compile("|".join(p.pattern for p in (always_re, sub_re, tok_re)))
    seen: dict[str, int] = {}

    def verdict(attrs: str) -> int:
        v = seen.get(attrs)
        if v is None:
            low = attrs.lower()
            if low != attrs:  # an upper-case letter: split camelCase first
                low = _CAMEL.sub(" ", attrs).lower()
            if not any_re.search(low):
                v = 0
            elif always_re.search(low):
                v = _ALWAYS
            elif (sub_re.search(low) or tok_re.search(low)) and not keep_re.search(low):
                v = _CHROME
            else:
                v = 0
            if len(seen) >= 100_000:
                seen.clear()
            seen[attrs] = v
        return v

    return verdict


def _chrome_in_scan(scan: Scan, protected: set[int], verdict: Callable[[str], int], g: dict) -> list[etree._Element]:
    """Chrome elements of <body> read from mark_blocks' list; the inside of a doomed element is skipped
    (it leaves with it), so nested chrome costs nothing."""
    # each distinct class/id string is judged once; only the elements it names chrome are visited
    verdicts = {a: verdict(a) for a in set(map(itemgetter(2), scan)) if a is not None}
    named = {a for a, v in verdicts.items() if v}
    doomed: list[etree._Element] = []
    n, free = len(scan), 1  # scan[0] is <body> itself, which //body//* leaves out
    for i in compress(range(n), map(named.__contains__, map(itemgetter(2), scan))):
        if i < free:  # inside a doomed element
            continue
        el, _, attrs = scan[i]
        if id(el) in protected:
            continue
        v = verdicts[attrs]
        if v == _ALWAYS or (v == _CHROME and not is_prose(el, g)):
            doomed.append(el)
            if len(el):
                # its subtree follows it in the list and ends at its last descendant: step over it
                last = el
                while len(last):
                    last = last[-1]
                j = i + 1
                while j < n and scan[j][0] is not last:
                    j += 1
                if j < n:
                    free = j + 1
    return doomed


def drop_chrome(
    root: etree._Element, rules: Rules, cfg: Config, keep: etree._Element | None = None, scan: Scan | None = None
) -> None:
    """Remove the profile's `drop` selectors and elements whose class/id names page chrome.

    scan: the element list mark_blocks returned for this tree (else the tree is searched).
    """
    g = cfg.generic
    verdict = _chrome_verdict(
        tuple(g["drop_class_substrings"]),
        tuple(g["drop_class_tokens"]),
        tuple(g["keep_class_tokens"]),
        tuple(g["always_drop_class_substrings"]),
    )
    # the kept element and its ancestors, held so that their ids stay theirs while we compare
    kept = [keep, *keep.iterancestors()] if keep is not None else []
    protected = {id(a) for a in kept}
    doomed = []
    for sel in rules.raw.get("drop") or []:
        doomed.extend(css(sel)(root))
    if scan is not None:
        doomed.extend(_chrome_in_scan(scan, protected, verdict, g))
    else:
        for el in root.xpath("//body//*[@class or @id]"):
            if id(el) in protected:
                continue
            v = verdict(f"{el.get('class') or ''} {el.get('id') or ''}")
            if v == _ALWAYS or (v == _CHROME and not is_prose(el, g)):
                doomed.append(el)
    for el in doomed:
        if id(el) not in protected:
            drop(el)


def is_prose(el: etree._Element, g: dict) -> bool:
    """A container with many sentences and few links is article text, whatever its class says."""
    raw = raw_text(el)
    if len(raw) < g["prose_min_chars"] or len(_PUNCT.findall(raw)) < g["prose_min_punct"]:
        return False
    n, link = 0, 0
    for t, lk in split_lines(raw):  # = lines(el), from the text already serialised
        n += len(t)
        link += lk
    return n >= g["prose_min_chars"] and link <= n * 0.25


def _count(found: list[tuple[str, int]]) -> tuple[int, int]:
    """(visible characters, characters inside links) of an element's `lines`."""
    n, link = 0, 0
    for t, lk in found:
        n += len(t)
        link += lk
    return n, link


def _paragraph_text(el: etree._Element, tag: str, noise: AnyOf) -> str | None:
    """Text a <p> or paragraph-like <span> (tag) adds to its parent's score, or None."""
    if tag == "span":
        # WeChat-style pages: paragraphs are spans in sections, no <p>
        up = el.getparent()
        if up is None or up.tag in _INLINE_PARENTS:
            return None
    raw = raw_text(el)
    if len(raw) < 10:  # the lines' characters are a part of raw's
        return None
    if LINK_ON in raw or LINK_OFF in raw:
        found = split_lines(raw)  # = lines(el)
        texts = [t for t, _ in found]
        n = sum(map(len, texts))
        if n < 10 or sum(lk for _, lk in found) > n * 0.5:
            return None
    else:  # no link: split_lines without the link count
        texts = [t for t in line_texts(raw) if t]
        n = sum(map(len, texts))
        if n < 10:
            return None
    t = " ".join(texts)  # = text(el): the lines are its text split at the breaks
    if tag == "span" and n < 20:
        return None
    if noise.search(t):
        return None
    return t


def _direct_text(el: etree._Element, noise: AnyOf) -> str | None:
    """Text sitting directly in a div/td (paragraphs separated by <br>), or None if short."""
    raw = (el.text or "") + "".join([c.tail or "" for c in el if c.tag != "a"])
    if len(raw) < 20:
        return None
    # dropping noise lines only shortens the text: too short with them is too short without
    t = norm(raw)
    if len(t) < 20:
        return None
    parts = raw.split(BREAK)
    if any(noise.search(x) for x in parts if x and not x.isspace()):
        t = norm(" ".join(x for x in parts if not noise.search(x)))
    return t if len(t) >= 20 else None


def _density_scores(root: etree._Element, cfg: Config) -> dict[etree._Element, float]:
    scores: dict[etree._Element, float] = {}
    noise = cfg.noise_re
    for el in root.iter("p", "div", "td", "section", "article", "span"):
        tag = el.tag
        if tag == "p" or tag == "span":
            t = _paragraph_text(el, tag, noise)
            if t is None:
                continue
            parent = el.getparent()
            if parent is None:
                continue
        else:
            t, parent = _direct_text(el, noise), el
            if t is None:
                continue
        if next(el.iterancestors("a"), None) is not None:
            continue  # teaser text inside a link (live lists, recommendation cards)
        score = min(len(t), 300) / 10 + len(_PUNCT.findall(t)) + 1
        scores[parent] = scores.get(parent, 0) + score
        gp = parent.getparent()
        if gp is not None:
            scores[gp] = scores.get(gp, 0) + score / 2
    return scores


def density_body(root: etree._Element, cfg: Config) -> tuple[etree._Element | None, list[tuple[str, int]]]:
    """Element holding the most sentence-like, link-free text (readability-style scoring), and its `lines`."""
    best, best_score, best_lines = None, 0.0, []
    for el, s in _density_scores(root, cfg).items():
        if el.tag == "html" or s <= best_score:
            continue
        # penalise link-heavy containers (navigation, related lists)
        found = lines(el)
        n, link = _count(found)
        s2 = s * (1 - min(link / (n or 1), 1.0))
        if s2 > best_score:
            best, best_score, best_lines = el, s2, found
    return best, best_lines


def _drop_tags(root: etree._Element, body_node: etree._Element | None, g: dict) -> None:
    """Remove drop_tags elements (iframe, form, nav ...) outside the chosen body."""
    for bad in list(root.iter(*g["drop_tags"])):
        if bad is body_node or bad.getparent() is None:
            continue
        if body_node is not None and any(a is bad for a in body_node.iterancestors()):
            continue
        # some CMSs wrap the whole article in a <form>
        if bad.tag in g["drop_tags_unless_prose"] and is_prose(bad, g):
            continue
        drop(bad)


def find_body(
    root: etree._Element, rules: Rules, cfg: Config, scan: Scan | None = None
) -> tuple[etree._Element | None, str | None, list[str], list[tuple[str, int]] | None]:
    """(body element, how it was found, its raw lines, its `lines` as the tree now stands or None);
    removes page chrome from the tree on the way.

    The profile's `body` selectors are tried on the whole page; text density only after the chrome
    is gone. The raw lines of a selector body are taken before any chrome inside it is removed
    (its `lines` are then None: they changed, and `body_lines` reads them again).
    """
    g = cfg.generic
    body_node, body_how = None, None
    el, sel = first_css(root, rules.raw.get("body"))
    if el is not None and len(text(el)) >= g["min_body_chars"]:
        body_node, body_how = el, f"selector:{sel}"
    raw_body_lines = [t for t, _ in lines(body_node)] if body_node is not None else []
    drop_chrome(root, rules, cfg, keep=body_node, scan=scan)
    _drop_tags(root, body_node, g)
    if body_node is not None:
        return body_node, body_how, raw_body_lines, None
    body_node, found = density_body(root, cfg)
    if body_node is None:
        return None, None, [], None
    return body_node, "density", [t for t, _ in found], found


@functools.lru_cache(maxsize=32)
def _combined_noise_for(name: str, patterns: tuple[str, ...]) -> AnyOf:
    return AnyOf(patterns)


def _combined_noise(cfg: Config, rules: Rules) -> AnyOf:
    """One test for the generic and the profile's noise lines (one or two searches per line, not thirty)."""
    if not rules.noise_lines:
        return cfg.noise_re
    return _combined_noise_for(
        rules.name, tuple(cfg.generic["noise_lines"]) + tuple(rules.raw.get("noise_lines") or ())
    )


def _sentence_span(found: list[str], sent: set[str]) -> list[str]:
    """From the first to the last sentence: chrome rarely ends with sentence punctuation."""
    idx = [i for i, t in enumerate(found) if not sent.isdisjoint(t)]
    if not idx:
        return found
    first, last = idx[0], idx[-1]
    # a lede broken by <br> may end its first line with a comma
    starts = [i for i, t in enumerate(found[:first]) if len(t) >= 4 and t.endswith(("，", ","))]
    if starts:
        first = starts[0]
    # a long first paragraph without a full stop is still text (lede without punctuation)
    while first > 0 and len(found[first - 1]) >= 40:
        first -= 1
    return found[first : last + 1]


def body_lines(
    el: etree._Element, rules: Rules, cfg: Config, drop_texts: set[str], found: list[tuple[str, int]] | None = None
) -> list[str]:
    """The body element's paragraphs: no noise lines, link lists, headline or date line.

    found: the element's `lines` if the caller has them (as find_body returns them), else read here.
    """
    g = cfg.generic
    noise = _combined_noise(cfg, rules)
    max_ld = g["max_link_density"]
    kept = []
    for t, link in lines(el) if found is None else found:
        if len(t) < g["min_paragraph_chars"]:
            continue
        if t in drop_texts:
            continue
        if link and link > len(t) * max_ld:
            continue
        if noise.search(t):
            continue
        t = cfg.inline_noise.sub("", t).strip()
        if t:
            kept.append(t)
    kept = _sentence_span(kept, set(g["sentence_chars"]))
    # drop consecutive duplicates (same paragraph in print/mobile copies)
    out: list[str] = []
    for t in kept:
        if not out or out[-1] != t:
            out.append(t)
    return out
