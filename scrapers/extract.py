"""Article extraction: a pure function of HTML, URL and a CMS profile (scrapers/profiles.yaml).

`extract(html, url)` returns an `Extracted` with title, subtitle, publish time (+08:00), 来源,
author, editor, clean body text and, per field, the method that found it. Profile rules are
tried first; every field still missing falls back to the generic rules (meta tags, the line
under the headline, the 【来源 作者 编辑】 trailer, text density, the URL's date).

`Extracted.error` is None for an article, else one reason: the error-page reasons configured in
profiles.yaml (not-found-page, rate-limited, access-denied, empty-shell) or no-title.
`pager_links` + `merge_pages` turn a multi-page article (_2.htm, _0.htm) into one.

Parsing uses lxml's HTML parser with plain elements (about 2-3 ms a page); BeautifulSoup costs
about ten times more. Block boundaries and link spans are written into the tree once as marker
characters, so every later text query is one C-level serialisation instead of a Python walk.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urljoin

import yaml
from lxml import etree
from lxml.cssselect import CSSSelector

from scrapers import dates
from scrapers.encoding import decode_html

PROFILES_PATH = Path(__file__).with_name("profiles.yaml")

BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th "
    "thead tr ul".split()
)
_WS = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
# link sentinels written into the tree by _mark_blocks, counted per line, removed by norm()
# (noncharacters: XML-legal, never in real text; source newlines inside a <p> are just spaces)
_LINK_ON, _LINK_OFF, _BREAK = "\ufdd0", "\ufdd1", "\ufdd2"
_LINK_SEG = re.compile(_LINK_ON + "([^" + _LINK_OFF + "]*)")
_UNMARK = {ord(_LINK_ON): None, ord(_LINK_OFF): None, ord(_BREAK): " "}
_HTML_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True)
# control characters: libxml2 keeps some, and lxml then refuses any text edit on that node
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ENP = re.compile(r"<!--\s*enpproperty(.*?)/enpproperty\s*-->", re.S | re.I)
_ENP_FIELD = re.compile(r"<(\w+)>(.*?)</\1>", re.S)
_PUNCT = re.compile(r"[，。！？；：、“”,]")


class ExtractionError(ValueError):
    """Bad input to the extractor (unknown profile, unreadable profiles file)."""


@dataclass
class Extracted:
    title: str | None = None
    subtitle: str | None = None
    published: str | None = None
    source: str | None = None
    author: str | None = None
    editor: str | None = None
    body: str = ""
    methods: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    error: str | None = None
    profile: str = "generic"
    url: str | None = None
    kicker: str | None = None  # 引题 (e-papers): the line printed above the headline

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------- configuration


def _compile_list(patterns: Iterable[str] | None) -> list[re.Pattern]:
    return [re.compile(p) for p in (patterns or [])]


@functools.lru_cache(maxsize=256)
def _css(selector: str) -> CSSSelector:
    return CSSSelector(selector)


@dataclass
class _Rules:
    """A profile merged with compiled regexes."""

    name: str
    raw: dict
    url_patterns: list[re.Pattern]
    dateline: list[re.Pattern]
    trailer: list[re.Pattern]
    author_patterns: list[re.Pattern]
    noise_lines: list[re.Pattern]


@dataclass
class _Config:
    profiles: dict[str, _Rules]
    generic: dict
    g_date: list[re.Pattern]
    g_url_date: list[re.Pattern]
    g_source: list[re.Pattern]
    g_author: list[re.Pattern]
    g_editor: list[re.Pattern]
    g_byline: list[re.Pattern]
    g_noise: list[re.Pattern]
    noise_re: re.Pattern
    inline_noise: re.Pattern
    reject_ctx: re.Pattern
    prefer_ctx: re.Pattern
    site_hint: re.Pattern
    errors: dict
    article_min_chars: int


@functools.lru_cache(maxsize=4)
def load_config(path: str | None = None) -> _Config:
    """Load and compile profiles.yaml (cached)."""
    p = Path(path) if path else PROFILES_PATH
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ExtractionError(f"cannot read extraction profiles {p}: {exc}") from exc
    g = data["generic"]
    profiles = {}
    for name, raw in (data.get("profiles") or {}).items():
        profiles[name] = _Rules(
            name=name,
            raw=raw,
            url_patterns=_compile_list(raw.get("url_patterns")),
            dateline=_compile_list(raw.get("dateline")),
            trailer=_compile_list(raw.get("trailer")),
            author_patterns=_compile_list(raw.get("author_patterns")),
            noise_lines=_compile_list(raw.get("noise_lines")),
        )
    profiles["generic"] = _Rules("generic", {}, [], [], [], [], [])
    errors = {}
    for reason, spec in (data.get("errors") or {}).items():
        if not isinstance(spec, dict):
            continue
        errors[reason] = {
            "title": _compile_list(spec.get("title")),
            "text": _compile_list(spec.get("text")),
            "max_text_chars": spec.get("max_text_chars", 1000),
            "min_body_chars": spec.get("min_body_chars"),
        }
    return _Config(
        profiles=profiles,
        generic=g,
        g_date=_compile_list(g["date_patterns"]),
        g_url_date=_compile_list(g["url_date_patterns"]),
        g_source=_compile_list(g["source_patterns"]),
        g_author=_compile_list(g["author_patterns"]),
        g_editor=_compile_list(g["editor_patterns"]),
        g_byline=_compile_list(g["byline_patterns"]),
        g_noise=_compile_list(g["noise_lines"]),
        noise_re=re.compile("|".join(f"(?:{p})" for p in g["noise_lines"])),
        inline_noise=re.compile("|".join(f"(?:{p})" for p in g["inline_noise"])),
        reject_ctx=re.compile(g["date_reject_context"]),
        prefer_ctx=re.compile(g["date_prefer_context"]),
        site_hint=re.compile(g["site_name_hint"]),
        errors=errors,
        article_min_chars=int((data.get("errors") or {}).get("article_min_chars", 200)),
    )


def profile_names() -> list[str]:
    """Names of all profiles, generic last."""
    return list(load_config().profiles)


def profile_for_url(url: str | None) -> str:
    """Profile whose url_patterns match the URL, else "generic"."""
    if url:
        for name, rules in load_config().profiles.items():
            if any(p.search(url) for p in rules.url_patterns):
                return name
    return "generic"


# ---------------------------------------------------------------------------- text helpers


def norm(text: str | None) -> str:
    """Collapse all whitespace (incl. U+3000, nbsp) to single spaces and strip."""
    if not text:
        return ""
    if _LINK_ON in text or _LINK_OFF in text or _BREAK in text:
        text = text.translate(_UNMARK)
    return _WS.sub(" ", text).strip()


def _text(el: etree._Element) -> str:
    """Normalised text of an element (C-speed serialisation, no tail)."""
    return norm(etree.tostring(el, method="text", encoding="unicode", with_tail=False))


def _drop(el: etree._Element) -> None:
    """Remove an element but keep its tail text."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _parse(text: str) -> etree._Element | None:
    # plain lxml elements: lxml.html's custom element lookup costs more than the parse
    text = _CONTROL.sub("", _XML_DECL.sub("", text, count=1))
    if not text.strip():
        return None
    try:
        root = etree.fromstring(text, _HTML_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    # markup after </html> (a second <html>...) ends up in sibling roots: fold it into <body>
    extra = [s for s in root.itersiblings() if isinstance(s.tag, str)]
    if extra:
        body = root.find("body")
        body = root if body is None else body
        for sib in extra:
            src = sib.find("body")
            for child in list(sib if src is None else src):
                body.append(child)
    return root


def _mark_blocks(root: etree._Element) -> None:
    """Write line breaks around block elements and sentinels around links into the tree.

    After this, any element's text serialised by lxml (in C) splits into the page's lines,
    and link text inside a line can be counted without walking the tree again in Python.
    """
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag in BLOCK_TAGS:
            el.text = _BREAK + (el.text or "")
            el.tail = _BREAK + (el.tail or "")
        elif tag == "br":
            el.tail = _BREAK + (el.tail or "")
        elif tag == "a":
            el.text = _LINK_ON + (el.text or "")
            el.tail = _LINK_OFF + (el.tail or "")


def _lines(root: etree._Element | None) -> list[tuple[str, int]]:
    """Text lines of a marked element: (text, characters inside links)."""
    if root is None:
        return []
    raw = etree.tostring(root, method="text", encoding="unicode", with_tail=False)
    out = []
    for line in raw.split(_BREAK):
        if not line or line.isspace():
            continue
        if _LINK_ON in line or _LINK_OFF in line:
            link = sum(len(seg.strip()) for seg in _LINK_SEG.findall(line))
            off = line.find(_LINK_OFF)
            on = line.find(_LINK_ON)
            if off != -1 and (on == -1 or off < on):  # the line began inside a link
                link += len(line[:off].strip())
            text = norm(line)
            if text:
                out.append((text, min(link, len(text))))
        else:
            text = norm(line)
            if text:
                out.append((text, 0))
    return out


_LINK_SPAN = re.compile(_LINK_ON + "[^" + _LINK_OFF + "]*(?:" + _LINK_OFF + "|$)")


def _page_lines(root: etree._Element) -> tuple[list[str], list[str]]:
    """Lines of a marked page, and the same lines with mostly-link lines cut to their plain text."""
    raw = etree.tostring(root, method="text", encoding="unicode", with_tail=False)
    full, plain = [], []
    for line in raw.split(_BREAK):
        if not line or line.isspace():
            continue
        text = norm(line)
        if not text:
            continue
        full.append(text)
        if _LINK_ON in line or _LINK_OFF in line:
            off, on = line.find(_LINK_OFF), line.find(_LINK_ON)
            rest = line[off + 1 :] if off != -1 and (on == -1 or off < on) else line
            rest = norm(_LINK_SPAN.sub(" ", rest))
            if len(rest) < len(text) * 0.5:
                text = rest
        plain.append(text)
    return full, plain


def _first_css(root: etree._Element, selectors: Iterable[str]) -> tuple[etree._Element | None, str | None]:
    for sel in selectors or []:
        try:
            found = _css(sel)(root)
        except Exception:  # a bad selector in YAML must not kill extraction
            continue
        for el in found:
            if _text(el):
                return el, sel
    return None, None


def _meta(root: etree._Element) -> dict[str, str]:
    metas: dict[str, str] = {}
    for m in root.iter("meta"):
        key = m.get("name") or m.get("property") or m.get("itemprop") or m.get("http-equiv")
        content = m.get("content")
        if key and content and norm(content):
            metas.setdefault(key.strip().lower(), norm(_TAGS.sub("", content)))
    return metas


def _enpproperty(text: str) -> dict[str, str]:
    m = _ENP.search(text)
    if not m:
        return {}
    return {k.lower(): norm(v) for k, v in _ENP_FIELD.findall(m.group(1)) if norm(v)}


# ---------------------------------------------------------------------------- title


def strip_site_suffix(title: str, cfg: _Config | None = None) -> str:
    """Remove trailing (or leading) site/column names from a <title> text."""
    cfg = cfg or load_config()
    g = cfg.generic
    limit = g["max_site_suffix_chars"]
    seps = [s for s in g["title_separators"] if s != " "]
    t = norm(title)
    changed = True
    while changed:
        changed = False
        best = None
        for sep in seps:
            i = t.rfind(sep)
            if i > 0 and (best is None or i > best[0]):
                best = (i, sep)
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


_DASHES = re.compile(r"[—–－-]+")


def _dash_key(text: str) -> str:
    """Comparison key: <title> often writes a headline's —— as a plain hyphen."""
    return _DASHES.sub("-", text)


def _title(root, metas, enp, rules: _Rules, cfg: _Config) -> tuple[str | None, str | None]:
    g = cfg.generic
    lo, hi = g["min_title_chars"], g["max_title_chars"]
    el, sel = _first_css(root, rules.raw.get("title"))
    if el is not None and lo <= len(_text(el)) <= hi:
        return _text(el), f"selector:{sel}"
    if enp.get("title"):
        return enp["title"], "enpproperty"
    for key in (rules.raw.get("meta") or {}).get("title", []):
        if metas.get(key.lower()):
            return metas[key.lower()], f"meta:{key}"

    head_title = ""
    t = root.find(".//title")
    if t is not None:
        head_title = _text(t)
    stripped = strip_site_suffix(head_title, cfg) if head_title else ""

    cands: list[tuple[str, str]] = []
    for key in g["title_meta"]:
        v = metas.get(key.lower())
        if v:
            cands.append((v, f"meta:{key}"))
    body = root.find("body")
    scope = body if body is not None else root
    tags = set(g["title_tags"])
    words = tuple(g["title_class_words"])
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
    for el in found:
        txt = _text(el)
        if lo <= len(txt) <= hi:
            cands.append((txt, f"selector:{el.tag}"))

    best: tuple[int, str, str] | None = None
    for txt, how in cands:
        if not head_title:
            break
        if txt == head_title and stripped != head_title and how.startswith("meta"):
            txt = stripped
        if _dash_key(txt) in _dash_key(head_title) and len(txt) >= lo:
            score = len(txt) + (1 if how.startswith("selector") else 0)
            if best is None or score > best[0]:
                best = (score, txt, how)
    if best and len(best[1]) >= min(len(stripped), 8) * 0.5:
        return best[1], best[2]
    # <title> truncated: a heading that starts like it is the full headline
    if stripped:
        for txt, how in cands:
            if (
                how.startswith("selector")
                and len(stripped) >= 6
                and (stripped.endswith(("...", "…", "..")) or len(stripped) >= g["truncated_title_chars"])
                and txt.startswith(stripped[: max(6, len(stripped) - 3)])
                and len(txt) <= len(stripped) + 30
                and not any(p.search(txt) for p in cfg.g_date)
                and not re.search(r"来源|作者|编辑|发布", txt[len(stripped) - 3 :])
            ):
                return txt, how
        return stripped, "title-tag"
    for txt, how in cands:
        return txt, how
    return None, None


# ---------------------------------------------------------------------------- dates, bylines


def _find_dates(text: str, cfg: _Config) -> list[tuple[str, bool, int]]:
    """All acceptable dates in a text: (iso, preferred-context, position)."""
    out = []
    for pat in cfg.g_date:
        for m in pat.finditer(text):
            before = text[max(0, m.start() - 12) : m.start()]
            if cfg.reject_ctx.search(before):
                continue
            iso = dates.from_match(m)
            if iso:
                out.append((iso, bool(cfg.prefer_ctx.search(before)), m.start()))
    out.sort(key=lambda x: x[2])
    return out


def _url_date(url: str | None, cfg: _Config) -> str | None:
    if not url:
        return None
    for pat in cfg.g_url_date:
        m = pat.search(url)
        if m:
            iso = dates.from_match(m)
            if iso:
                return iso
    return None


def _clean_source(value: str | None, cfg: _Config) -> str | None:
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


def _clean_person(value: str | None) -> str | None:
    if not value:
        return None
    v = norm(value).strip(" 　:：|,，;；()（）[]【】/")
    v = re.sub(r"(?:_[A-Z]+\d*|校对|审核|摄影?)$", "", v).strip()
    if not v or len(v) > 30 or v in {"本报", "本网", "记者", "通讯员", "编辑"}:
        return None
    return v


def _clean_author(value: str | None, cfg: _Config) -> str | None:
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


def _search(patterns: Iterable[re.Pattern], lines: Iterable[str], group: str) -> tuple[str | None, str | None]:
    for line in lines:
        for pat in patterns:
            m = pat.search(line)
            if m and group in pat.groupindex and m.group(group):
                return m.group(group), line
    return None, None


# ---------------------------------------------------------------------------- body


@functools.lru_cache(maxsize=4)
def _chrome_regexes(subs: tuple, toks: tuple, keep: tuple) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    word = lambda ws: re.compile(r"(?:^|[\s\-_:.\d])(?:" + "|".join(map(re.escape, ws)) + r")(?=$|[\s\-_:.\d])")
    return re.compile("|".join(map(re.escape, subs))), word(toks), word(keep)


def _drop_chrome(root: etree._Element, rules: _Rules, cfg: _Config, keep: etree._Element | None = None) -> None:
    g = cfg.generic
    subs, toks, keeps = _chrome_regexes(
        tuple(g["drop_class_substrings"]), tuple(g["drop_class_tokens"]), tuple(g["keep_class_tokens"])
    )
    protected = set()
    if keep is not None:
        protected = {id(a) for a in keep.iterancestors()} | {id(keep)}
    doomed = []
    for sel in rules.raw.get("drop") or []:
        try:
            doomed.extend(_css(sel)(root))
        except Exception:
            continue
    always = re.compile("|".join(map(re.escape, g["always_drop_class_substrings"])))
    for el in root.xpath("//body//*[@class or @id]"):
        if id(el) in protected:
            continue
        attrs = f"{el.get('class') or ''} {el.get('id') or ''}"
        low = _CAMEL.sub(" ", attrs).lower()
        if always.search(low):
            doomed.append(el)
        elif (subs.search(low) or toks.search(low)) and not keeps.search(low) and not _is_prose(el, g):
            doomed.append(el)
    for el in doomed:
        if id(el) not in protected:
            _drop(el)


def _is_prose(el: etree._Element, g: dict) -> bool:
    """A container with many sentences and few links is article text, whatever its class says."""
    text = etree.tostring(el, method="text", encoding="unicode", with_tail=False)
    if len(text) < g["prose_min_chars"] or len(_PUNCT.findall(text)) < g["prose_min_punct"]:
        return False
    n, link = _text_links(el)
    return n >= g["prose_min_chars"] and link <= n * 0.25


def _text_links(el: etree._Element) -> tuple[int, int]:
    """(visible characters, characters inside links) of a marked element."""
    n, link = 0, 0
    for t, lk in _lines(el):
        n += len(t)
        link += lk
    return n, link


def _density_body(root: etree._Element, cfg: _Config) -> etree._Element | None:
    """Element holding the most sentence-like, link-free text (readability-style scoring)."""
    scores: dict[etree._Element, float] = {}
    noise = cfg.noise_re
    for el in root.iter("p", "div", "td", "section", "article", "span"):
        if el.tag in ("p", "span"):
            if el.tag == "span":
                # WeChat-style pages: paragraphs are spans in sections, no <p>
                up = el.getparent()
                if up is None or up.tag in ("p", "span", "a", "li", "h1", "h2", "h3", "strong", "b", "font"):
                    continue
            n, link = _text_links(el)
            if n < 10 or link > n * 0.5:
                continue
            text = _text(el)
            if el.tag == "span" and n < 20:
                continue
            if noise.search(text):
                continue
            parent = el.getparent()
        else:
            # text sitting directly in a div/td (paragraphs separated by <br>)
            raw = (el.text or "") + "".join((c.tail or "") for c in el if c.tag != "a")
            if len(raw) < 20:
                continue
            text = norm(" ".join(t for t in raw.split(_BREAK) if not noise.search(t)))
            if len(text) < 20:
                continue
            parent = el
        if parent is None:
            continue
        if next(el.iterancestors("a"), None) is not None:
            continue  # teaser text inside a link (live lists, recommendation cards)
        score = min(len(text), 300) / 10 + len(_PUNCT.findall(text)) + 1
        scores[parent] = scores.get(parent, 0) + score
        gp = parent.getparent()
        if gp is not None:
            scores[gp] = scores.get(gp, 0) + score / 2
    best, best_score = None, 0.0
    for el, s in scores.items():
        if el.tag == "html" or s <= best_score:
            continue
        # penalise link-heavy containers (navigation, related lists)
        n, link = _text_links(el)
        s2 = s * (1 - min(link / (n or 1), 1.0))
        if s2 > best_score:
            best, best_score = el, s2
    return best


@functools.lru_cache(maxsize=32)
def _combined_noise_for(name: str, patterns: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _combined_noise(cfg: _Config, rules: _Rules) -> re.Pattern:
    """One regex for the generic and the profile's noise lines (one search per line, not thirty)."""
    if not rules.noise_lines:
        return cfg.noise_re
    return _combined_noise_for(
        rules.name, tuple(cfg.generic["noise_lines"]) + tuple(rules.raw.get("noise_lines") or ())
    )


def _body_lines(el: etree._Element, rules: _Rules, cfg: _Config, drop_texts: set[str]) -> list[str]:
    g = cfg.generic
    noise = _combined_noise(cfg, rules)
    max_ld = g["max_link_density"]
    lines = []
    for text, link in _lines(el):
        if len(text) < g["min_paragraph_chars"]:
            continue
        if text in drop_texts:
            continue
        if link and link > len(text) * max_ld:
            continue
        if noise.search(text):
            continue
        text = cfg.inline_noise.sub("", text).strip()
        if text:
            lines.append(text)
    # from the first to the last sentence: chrome rarely ends with sentence punctuation
    sent = set(g["sentence_chars"])
    idx = [i for i, t in enumerate(lines) if any(c in sent for c in t)]
    if idx:
        first, last = idx[0], idx[-1]
        # a lede broken by <br> may end its first line with a comma
        starts = [i for i, t in enumerate(lines[:first]) if len(t) >= 4 and t.endswith(("，", ","))]
        if starts:
            first = starts[0]
        # a long first paragraph without a full stop is still text (lede without punctuation)
        while first > 0 and len(lines[first - 1]) >= 40:
            first -= 1
        lines = lines[first : last + 1]
    # drop consecutive duplicates (same paragraph in print/mobile copies)
    out: list[str] = []
    for t in lines:
        if not out or out[-1] != t:
            out.append(t)
    return out


def _index_of(lines: list[str], line: str) -> int | None:
    for i, t in enumerate(lines):
        if t == line:
            return i
    return None


def _looks_like_headline(text: str, cfg: _Config) -> bool:
    """A short line that could be a headline: no sentence end, no date, no breadcrumb."""
    g = cfg.generic
    if not g["min_title_chars"] <= len(text) <= g["max_title_chars"]:
        return False
    if re.search(r"[。；]$|>|»|首页|当前位置|您的位置|所在位置", text):
        return False
    if any(p.search(text) for p in cfg.g_date) or any(p.search(text) for p in cfg.g_noise):
        return False
    return True


def _is_dateline(text: str, cfg: _Config) -> bool:
    return len(text) <= cfg.generic["dateline_max_chars"] and bool(
        any(p.search(text) for p in cfg.g_date)
        and re.search(r"来源|时间|日期|作者|编辑|记者|浏览|阅读|发布|\d{1,2}:\d{2}", text)
        and not re.search(r"[。！？]", text)
    )


# ---------------------------------------------------------------------------- error pages


def detect_error_page(
    page: "str | Extracted", title: str | None = None, body: str | None = None, text: str | None = None
) -> str | None:
    """Reason string if the page is an error page (404 served as 200, rate limit, empty shell), else None.

    page: raw HTML, plain text, or an Extracted (then `text` may carry the page's full visible text).
    """
    cfg = load_config()
    if isinstance(page, Extracted):
        title = page.title if title is None else title
        body = page.body if body is None else body
        text = body or "" if text is None else text
    else:
        root = _parse(page) if "<" in (page or "") else None
        if root is not None:
            t = root.find(".//title")
            if title is None and t is not None:
                title = _text(t)
            for bad in root.iter("script", "style", "noscript"):
                _drop(bad)
            b = root.find("body")
            text = _text(b if b is not None else root)
        else:
            text = norm(page)
        if body is None:
            body = text
    title = norm(title)
    text = norm(text)
    if len(norm(body)) >= cfg.article_min_chars:
        return None  # a page with a real body is an article, whatever it talks about
    for reason, spec in cfg.errors.items():
        if spec["min_body_chars"] is not None:
            if len(norm(body)) < spec["min_body_chars"]:
                return reason
            continue
        if title and any(p.search(title) for p in spec["title"]):
            return reason
        if len(text) <= spec["max_text_chars"] and any(p.search(text) for p in spec["text"]):
            return reason
    return None


# ---------------------------------------------------------------------------- main entry


def extract(
    html: str | bytes,
    url: str | None = None,
    profile: str | None = None,
    content_type: str | None = None,
) -> Extracted:
    """Extract one article.

    html: page text or raw bytes (bytes are decoded with `decode_html`, checking content_type);
    url: the article URL (chooses the profile, gives the last-resort date, resolves links);
    profile: a profiles.yaml name, overriding the URL choice; raises ExtractionError if unknown.
    """
    cfg = load_config()
    name = profile or profile_for_url(url)
    if name not in cfg.profiles:
        raise ExtractionError(f"unknown extraction profile {name!r} (known: {', '.join(cfg.profiles)})")
    rules = cfg.profiles[name]
    if isinstance(html, (bytes, bytearray)):
        text, encoding = decode_html(bytes(html), content_type)
    else:
        text, encoding = html or "", "unicode"
    out = Extracted(profile=name, url=url, encoding=encoding)
    root = _parse(text)
    if root is None:
        out.error = "empty-shell"
        return out
    m = out.methods
    metas = _meta(root)
    enp = _enpproperty(text) if rules.raw.get("enpproperty") else {}
    for bad in list(root.iter("script", "style", "noscript", "template", etree.Comment)):
        if bad.getparent() is not None:
            _drop(bad)

    # --- title, subtitle, kicker
    out.title, how = _title(root, metas, enp, rules, cfg)
    if how:
        m["title"] = how
    g = cfg.generic
    for fld, sels in (("subtitle", rules.raw.get("subtitle")), ("kicker", rules.raw.get("kicker"))):
        el, sel = _first_css(root, sels)
        if el is not None and _text(el) != out.title:
            setattr(out, fld, _text(el))
            m[fld] = f"selector:{sel}"
    if out.subtitle is None and enp.get("subtitle"):
        out.subtitle, m["subtitle"] = enp["subtitle"], "enpproperty"

    # --- lines of the whole page; the date line sits right under the headline
    _mark_blocks(root)
    body_el = root.find("body")
    # link text (related news, navigation) never carries the article's own date or byline:
    # mostly-link lines keep only their plain text
    page_lines, plain_lines = _page_lines(body_el if body_el is not None else root)
    # --- body element: profile selector first, else text density
    body_node, body_how = None, None
    el, sel = _first_css(root, rules.raw.get("body"))
    if el is not None and len(_text(el)) >= g["min_body_chars"]:
        body_node, body_how = el, f"selector:{sel}"
    raw_body_lines = [t for t, _ in _lines(body_node)] if body_node is not None else []
    _drop_chrome(root, rules, cfg, keep=body_node)
    for bad in list(root.iter(*g["drop_tags"])):
        if bad is body_node or bad.getparent() is None:
            continue
        if body_node is not None and any(a is bad for a in body_node.iterancestors()):
            continue
        # some CMSs wrap the whole article in a <form>
        if bad.tag in g["drop_tags_unless_prose"] and _is_prose(bad, g):
            continue
        _drop(bad)
    if body_node is None:
        body_node = _density_body(root, cfg)
        body_how = "density" if body_node is not None else None
        raw_body_lines = [t for t, _ in _lines(body_node)] if body_node is not None else []
    sent = set(g["sentence_chars"])
    first_sentence = next((t for t in raw_body_lines if any(c in sent for c in t)), None)
    body_start = _index_of(page_lines, first_sentence) if first_sentence else None
    if body_start is None:
        body_start = len(page_lines)

    # --- a <title> that is only the site/column name: the headline is the line above the body
    if (
        m.get("title") == "title-tag"
        and body_start < len(page_lines)
        and (len(out.title) <= g["site_title_max_chars"] or cfg.site_hint.search(out.title))
    ):
        near = page_lines[max(0, body_start - g["headline_lookback"]) : body_start]
        if out.title not in near:
            for t in reversed(near):
                if _looks_like_headline(t, cfg):
                    out.title, m["title"] = t, "line-above-body"
                    break

    # --- the line that holds the headline; the date line sits right under it
    window: list[str] = []
    date_window: list[str] = []
    title_idx = None
    if out.title:
        short = out.title[: max(6, min(len(out.title), 30))]
        exact = [i for i, t in enumerate(page_lines) if t == out.title]
        near = [i for i, t in enumerate(page_lines) if short in t and len(t) <= len(out.title) + 60]
        before = [i for i in exact or near if i <= body_start]
        w = g["dateline_window"]

        def window_at(i: int, lines: list[str]) -> list[str]:
            end = i + 1 + w if body_start <= i else min(i + 1 + w, body_start + 1)
            # the title line itself may carry the date ("标题 2024-01-01 来源:...")
            first = [lines[i].replace(out.title, " ")]
            return first + [t for t in lines[i + 1 : end] if t and len(t) <= g["dateline_max_chars"]]

        if before:
            # the headline copy closest to the body whose next lines carry a date
            title_idx = before[-1]
            for i in reversed(before):
                if _find_dates(" \n ".join(window_at(i, plain_lines)), cfg):
                    title_idx = i
                    break
        elif exact or near:
            title_idx = (exact or near)[0]
        if title_idx is not None:
            window = window_at(title_idx, page_lines)
            date_window = window_at(title_idx, plain_lines)

    drop_texts = {x for x in (out.title, out.subtitle, out.kicker) if x}
    drop_texts.update(t for t in window if _is_dateline(t, cfg))
    body_lines = _body_lines(body_node, rules, cfg, drop_texts) if body_node is not None else []
    out.body = "\n".join(body_lines)
    if body_how:
        m["body"] = body_how
    # bylines and 来源 printed after the body (trailer, or an info line under it)
    after = page_lines[body_start : body_start + len(raw_body_lines) + g["trailer_lookahead"]][
        -(g["trailer_lookahead"] + 8) :
    ]
    trailer = [t for t in after if len(t) <= g["dateline_max_chars"]]
    trailer += [t for t in page_lines if "【" in t and "来源" in t][:2]
    date_trailer = [t for t in plain_lines[body_start : body_start + len(after)] if len(t) <= g["dateline_max_chars"]]

    # --- profile-specific publish time / bylines
    def put(fld: str, value: str | None, how: str) -> None:
        if value and getattr(out, fld) is None:
            setattr(out, fld, value)
            m[fld] = how

    pmeta = rules.raw.get("meta") or {}
    for key in pmeta.get("published", []):
        put("published", dates.parse(metas.get(key.lower())), f"meta:{key}")
    if enp.get("date"):
        put("published", dates.parse(enp["date"]), "enpproperty")
    for fld in ("source", "author"):
        for key in pmeta.get(fld, []):
            put(
                fld,
                _clean_source(metas.get(key.lower()), cfg)
                if fld == "source"
                else _clean_person(metas.get(key.lower())),
                f"meta:{key}",
            )
    if enp.get("author"):
        put("author", _clean_person(enp["author"]), "enpproperty")
    for lines, pats, how in ((window, rules.dateline, "dateline"), (trailer, rules.trailer, "trailer")):
        for line in lines:
            for pat in pats:
                mm = pat.search(line)
                if not mm:
                    continue
                gd = mm.groupdict()
                if gd.get("date"):
                    iso = dates.parse(" ".join(x for x in (gd.get("date"), gd.get("time")) if x))
                    if (
                        out.published
                        and iso
                        and iso[:10] == out.published[:10]
                        and not dates.has_time(out.published)
                        and dates.has_time(iso)
                    ):
                        out.published, m["published"] = iso, m["published"] + "+" + how
                    put("published", iso, how)
                put("source", _clean_source(gd.get("source"), cfg), how)
                put("author", _clean_person(gd.get("author")), how)
                put("editor", _clean_person(gd.get("editor")), how)
    src_url = rules.raw.get("source_from_url")
    if src_url and url:
        mm = re.search(src_url["pattern"], url)
        if mm and mm.group(1) in src_url["names"]:
            put("source", src_url["names"][mm.group(1)], "url")
    if rules.author_patterns:
        v, _ = _search(rules.author_patterns, body_lines[:3] + window, "author")
        put("author", _clean_person(v), "byline")

    # --- generic fallbacks, field by field
    if out.published is None:
        for key in g["meta"]["published"]:
            iso = dates.parse(metas.get(key.lower()))
            if iso:
                put("published", iso, f"meta:{key}")
                break
    if out.published is None or m.get("published", "").startswith(("meta", "enpproperty")):
        # the time printed under the headline is what readers (and labels) see; a meta tag
        # for the same day often carries a different (edit or index) time
        found = _find_dates(" \n ".join(date_window), cfg)
        if found:
            pref = [f for f in found if f[1]]
            iso = (pref or found)[0][0]
            if out.published is None:
                put("published", iso, "dateline")
            elif iso[:10] == out.published[:10] and dates.has_time(iso) and iso != out.published:
                out.published, m["published"] = iso, m["published"] + "+dateline"
    if out.published is None:
        for key in g["itemprop_date"]:
            for el in root.xpath(f'//*[@itemprop="{key}"]'):
                iso = dates.parse(el.get("content") or el.get("datetime") or _text(el))
                if iso:
                    put("published", iso, f"itemprop:{key}")
                    break
    if out.published is None:
        for el in root.xpath("//time[@datetime]"):
            iso = dates.parse(el.get("datetime"))
            if iso:
                put("published", iso, "time-element")
                break
    if out.published is None:
        # first acceptable date in the page text before the body ends, outside link lists
        stop = len(page_lines)
        if body_lines:
            last = body_lines[-1]
            stop = next((i for i, t in enumerate(page_lines) if t == last), stop) + 1
        # (an e-paper prints the issue date just above the headline)
        start = max(0, (title_idx or 0) - 3)
        found = _find_dates(" \n ".join(t for t in plain_lines[start:stop] if len(t) <= g["dateline_max_chars"]), cfg)
        if found:
            pref = [f for f in found if f[1]]
            put("published", (pref or found)[0][0], "text")
    if out.published is None:
        # after the body only a labelled date counts (发布时间/时间/日期), never a related-list date
        pref = [f for f in _find_dates(" \n ".join(date_trailer), cfg) if f[1]]
        if pref:
            put("published", pref[0][0], "trailer")
    if out.published is None:
        for el in root.xpath(g["time_class_xpath"])[:20]:
            t = _text(el)
            if 6 <= len(t) <= 60:
                found = _find_dates(t, cfg)
                if found:
                    put("published", found[0][0], "time-class")
                    break
    if out.published is None:
        for key in g["meta"]["published_fallback"]:
            iso = dates.parse(metas.get(key.lower()))
            if iso:
                put("published", iso, f"meta:{key}")
                break
    if out.published is None:
        put("published", _url_date(url, cfg), "url")

    if out.source is None:
        v, _ = _search(cfg.g_source, window, "source")
        put("source", _clean_source(v, cfg), "dateline")
    if out.source is None:
        for key in g["meta"]["source"]:
            v = _clean_source(metas.get(key.lower()), cfg)
            if v:
                put("source", v, f"meta:{key}")
                break
    if out.source is None:
        v, _ = _search(cfg.g_source, trailer, "source")
        put("source", _clean_source(v, cfg), "trailer")

    if out.editor is None:
        v, _ = _search(cfg.g_editor, trailer + window, "editor")
        put("editor", _clean_person(v), "trailer")
    if out.author is None:
        # editor lines also say 编辑; strip them so 编辑 X is never taken as the author
        unedit = lambda ls: [re.sub(r"(?:责任编辑|责编|编辑)\s*[:：]?\s*\S+", " ", t) for t in ls]
        for lines, pats, how in (
            ([t for t in window if "。" not in t], cfg.g_author, "dateline"),
            (body_lines[:2] + body_lines[-3:], cfg.g_byline, "byline"),
            (trailer, cfg.g_author, "trailer"),
        ):
            v, _ = _search(pats, unedit(lines), "author")
            v = _clean_author(_clean_person(v), cfg)
            if v and v != out.editor:
                put("author", v, how)
                break
    if out.author is None:
        for key in g["meta"]["author"]:
            put("author", _clean_person(metas.get(key.lower())), f"meta:{key}")

    out.error = detect_error_page(out, text=" ".join(page_lines)) if out.body or out.title else "empty-shell"
    if out.error is None and not out.body:
        out.error = "empty-shell"
    if out.error is None and not out.title:
        out.error = "no-title"  # a body without any headline is not an article we can store
    return out


# ---------------------------------------------------------------------------- multi-page articles


def pager_links(html: str | bytes, url: str, profile: str | None = None) -> list[str]:
    """Absolute URLs of the other pages of a multi-page article; the all-pages (_0) URL, if linked, first."""
    cfg = load_config()
    name = profile or profile_for_url(url)
    rules = cfg.profiles.get(name) or cfg.profiles["generic"]
    if isinstance(html, (bytes, bytearray)):
        html, _ = decode_html(bytes(html), None)
    root = _parse(html)
    if root is None:
        return []
    # page numbers are short (_0, _2 ... _12); article ids are long, so content_8697001 stays whole
    stem = _PAGE_SUFFIX.sub("", url.split("?")[0].split("#")[0])
    # <stem> + page suffix, tested as prefix + fullmatch: no regex compiled per page
    same_article = lambda u: u.startswith(stem) and _PAGE_SUFFIX_WHOLE.fullmatch(u, len(stem)) is not None
    all_pages = re.compile(rules.raw["all_pages"]) if rules.raw.get("all_pages") else None
    hrefs: list[str] = []
    for sel in rules.raw.get("pager") or []:
        try:
            hrefs.extend(a.get("href") for a in _css(sel)(root) if a.get("href"))
        except Exception:
            continue
    if not hrefs:
        # generic: links to <stem>_N.htm of this same article
        hrefs = [a.get("href") for a in root.iter("a") if a.get("href")]
    first, rest = [], []
    me = url.split("#")[0]
    for h in hrefs:
        if not h.strip().split("#")[0].endswith(_PAGE_ENDS):  # cannot name a page: skip before urljoin
            continue
        absu = urljoin(url, h.strip()).split("#")[0]
        if absu == me or not same_article(absu) or absu in first or absu in rest:
            continue
        (first if all_pages and all_pages.search(absu) else rest).append(absu)
    return first + rest


_PAGE_SUFFIX = re.compile(r"(?:_\d{1,3})?\.s?html?$")
_PAGE_SUFFIX_WHOLE = re.compile(r"(?:_\d{1,3})?\.s?html?")
_PAGE_ENDS = (".htm", ".html", ".shtm", ".shtml")


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
