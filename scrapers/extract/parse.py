"""Decode and parse: HTML bytes or text in, a marked lxml tree and the page's text lines out.

In: raw bytes (decoded with `scrapers.encoding.decode_html`, the Content-Type a hint) or text.
Out: the root of lxml's HTML tree (plain elements, comments dropped; about 2-3 ms a page, where
BeautifulSoup costs about ten times more), the <meta> tags and Founder's <!--enpproperty-->
fields; after `mark_blocks`, line breaks and link sentinels written into the tree once, so every
later text query (`lines`, `page_lines`, `text`) is one C-level serialisation instead of a walk.
"""

from __future__ import annotations

import re
from itertools import compress
from typing import Iterable

from lxml import etree

from scrapers.encoding import decode_html, decode_html_utf8
from scrapers.extract.config import css

BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th "
    "thead tr ul".split()
)
# link sentinels written into the tree by mark_blocks, counted per line, removed by norm()
# (noncharacters: XML-legal, never in real text; source newlines inside a <p> are just spaces)
LINK_ON, LINK_OFF, BREAK = "\ufdd0", "\ufdd1", "\ufdd2"
_LINK_SEG = re.compile(LINK_ON + "([^" + LINK_OFF + "]*)")
_LINK_SPAN = re.compile(LINK_ON + "[^" + LINK_OFF + "]*(?:" + LINK_OFF + "|$)")
# collect_ids=False: no table of id attributes (only XPath id() reads it; CSS #x is @id = "x"): ~1.5% of the parse
_HTML_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
_UTF8_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False, encoding="utf-8")
# control characters: libxml2 keeps some, and lxml then refuses any text edit on that node
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_CONTROL_CHARS = tuple(_CONTROL_BYTES.decode("ascii"))
# codecs in which a control character can only come from that same control byte (not utf-7 ...)
_BYTE_TRANSPARENT = frozenset({"utf-8", "utf-8-sig", "gb18030", "big5", "ascii", "latin-1", "iso8859-1", "cp1252"})
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_ENP = re.compile(r"<!--\s*enpproperty(.*?)/enpproperty\s*-->", re.S | re.I)
_ENP_FIELD = re.compile(r"<(\w+)>(.*?)</\1>", re.S)


def decode(html: str | bytes | bytearray | None, content_type: str | None) -> tuple[str, str]:
    """(text, encoding) of a page given as bytes (sniffed) or text ("unicode")."""
    if isinstance(html, (bytes, bytearray)):
        return decode_html(bytes(html), content_type)
    return html or "", "unicode"


def decode_utf8(html: str | bytes | bytearray | None, content_type: str | None) -> tuple[str, str, bytes | None]:
    """`decode`, and the bytes themselves when the text is exactly their UTF-8 decoding (for `parse`)."""
    if isinstance(html, (bytes, bytearray)):
        return decode_html_utf8(bytes(html), content_type)
    return html or "", "unicode", None


def may_have_controls(html: str | bytes | bytearray | None, encoding: str) -> bool:
    """False when the page's raw bytes (or its text, as given) prove it free of control characters.

    A C-speed scan per character: checking the text with the regex costs as much as a third of the parse
    (text is what the spiders pass).
    """
    if isinstance(html, str):
        return any(c in html for c in _CONTROL_CHARS)  # a fast find per character, no match found
    if not isinstance(html, (bytes, bytearray)):
        return True
    if encoding not in _BYTE_TRANSPARENT and not html.isascii():  # ASCII bytes were decoded as ASCII
        return True
    return any(b in html for b in _CONTROL_BYTES)  # memchr per byte value: faster than one translate


def _unlink(text: str) -> str:
    """Text without link sentinels, zero-width space and BOM as spaces (what str.split() misses)."""
    if LINK_ON in text or LINK_OFF in text:
        text = text.replace(LINK_ON, "").replace(LINK_OFF, "")
    if "\u200b" in text or "\ufeff" in text:
        text = text.replace("\u200b", " ").replace("\ufeff", " ")
    return text


def norm(text: str | None) -> str:
    """Collapse all whitespace (incl. U+3000, nbsp, zero-width space) to single spaces and strip."""
    if not text:
        return ""
    if BREAK in text:
        text = text.replace(BREAK, " ")
    # str.split() splits at exactly the characters the regex class \s matches (str.isspace)
    return " ".join(_unlink(text).split())


def raw_text(el: etree._Element) -> str:
    """Text of an element as lxml serialises it (no tail, not normalised).

    An element without children is its own text: read without setting up a serialisation (~10x faster).
    """
    if len(el):
        return etree.tostring(el, method="text", encoding="unicode", with_tail=False)
    return el.text or ""


def text(el: etree._Element) -> str:
    """Normalised text of an element (C-speed serialisation, no tail)."""
    return norm(raw_text(el))


def drop(el: etree._Element) -> None:
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


def parse(html: str, controls: bool = True, utf8: bytes | None = None) -> etree._Element | None:
    """Root of the page's tree, or None when there is nothing to parse.

    controls=False: the text is known to hold no control characters (see `may_have_controls`).
    utf8: the UTF-8 bytes html was decoded from, parsed instead of html when nothing is to be taken
    out of it (the same tree, and lxml need not re-encode the text for libxml2: ~15% of the parse).
    """
    # plain lxml elements: lxml.html's custom element lookup costs more than the parse
    decl = _XML_DECL.match(html)
    if decl:
        html = html[decl.end() :]
    if controls:
        html = _CONTROL.sub("", html)
    if not html or html.isspace():  # = not html.strip(), without copying the page
        return None
    source, parser = (utf8, _UTF8_PARSER) if utf8 is not None and not decl and not controls else (html, _HTML_PARSER)
    try:
        root = etree.fromstring(source, parser)
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


def drop_scripts(root: etree._Element) -> None:
    """Remove script, style, noscript, template elements and comments (keeping tails)."""
    for bad in list(root.iter("script", "style", "noscript", "template", etree.Comment)):
        if bad.getparent() is not None:
            drop(bad)


# <body> and its elements in document order: (element, tag, "class id" or None if it has neither)
Scan = list[tuple[etree._Element, str, "str | None"]]


def _mark(el: etree._Element, tag: str) -> None:
    """Marks of one element (mark_blocks' walk over <body>, the hot one, does the same inlined)."""
    if tag in BLOCK_TAGS:
        el.text = BREAK + (el.text or "")
        el.tail = BREAK + (el.tail or "")
    elif tag == "a":
        el.text = LINK_ON + (el.text or "")
        el.tail = LINK_OFF + (el.tail or "")
    elif tag == "br":
        el.tail = BREAK + (el.tail or "")


def _mark_all(top: etree._Element) -> None:
    """mark_blocks' marking of `top` and everything under it."""
    for el in top.iter(etree.Element):  # elements only, filtered in C (<head>, or a page without one <body>)
        _mark(el, el.tag)


def mark_blocks(root: etree._Element) -> Scan | None:
    """Write line breaks around block elements and sentinels around links into the tree.

    After this, any element's text serialised by lxml (in C) splits into the page's lines,
    and link text inside a line can be counted without walking the tree again in Python.
    The same walk lists <body> and its elements with their class/id (`Scan`), which the headline
    and chrome stages read instead of walking the tree again; None if the page has not exactly
    one <body> under its root (they then walk it themselves).
    """
    body = root.find("body")
    if body is None or sum(1 for _ in root.iter("body")) != 1:
        _mark_all(root)
        return None
    # outside <body>: the root and its other children (<head> ...); the order of marking does not matter
    _mark(root, root.tag)
    for top in root.iterchildren(etree.Element):
        if top is not body:
            _mark_all(top)
    scan: Scan = []
    add = scan.append
    for el in body.iter(etree.Element):  # = _mark_all(body), inlined, and the list of <body>'s elements
        tag = el.tag
        if tag in BLOCK_TAGS:
            el.text = BREAK + (el.text or "")
            el.tail = BREAK + (el.tail or "")
        elif tag == "a":
            el.text = LINK_ON + (el.text or "")
            el.tail = LINK_OFF + (el.tail or "")
        elif tag == "br":
            el.tail = BREAK + (el.tail or "")
        c, i = el.get(b"class"), el.get(b"id")  # bytes keys: lxml skips encoding the name (~15% of a get)
        add((el, tag, None if c is None and i is None else f"{c or ''} {i or ''}"))
    return scan


def plain_text(el: etree._Element) -> str:
    """Normalised text of an element of a marked tree as it was before marking (`text` before mark_blocks)."""
    raw = raw_text(el)
    if BREAK in raw:
        raw = raw.replace(BREAK, "")
    return norm(raw)


def lines(root: etree._Element | None) -> list[tuple[str, int]]:
    """Text lines of a marked element: (text, characters inside links)."""
    if root is None:
        return []
    return split_lines(raw_text(root))


def line_texts(raw: str) -> list[str]:
    """Normalised text of each BREAK-separated line of raw, empty ones included (aligned with raw.split(BREAK)).

    A long text has its whitespace collapsed in one C call (BREAK is not whitespace, so no run crosses
    a line end) and each line stripped, which equals collapsing each line on its own (done for short ones).
    """
    clean = _unlink(raw)
    if len(clean) < 1000:
        return [" ".join(x.split()) for x in clean.split(BREAK)]
    return list(map(str.strip, " ".join(clean.split()).split(BREAK)))


def split_lines(raw: str) -> list[tuple[str, int]]:
    """`lines` of an element's serialised text (when the caller has it already)."""
    texts = line_texts(raw)
    if LINK_ON not in raw and LINK_OFF not in raw:
        return [(t, 0) for t in texts if t]
    out = []
    for line, t in compress(zip(raw.split(BREAK), texts, strict=True), texts):  # the non-empty lines
        if LINK_ON in line or LINK_OFF in line:
            link = sum(len(seg.strip()) for seg in _LINK_SEG.findall(line))
            off = line.find(LINK_OFF)
            on = line.find(LINK_ON)
            if off != -1 and (on == -1 or off < on):  # the line began inside a link
                link += len(line[:off].strip())
            out.append((t, min(link, len(t))))
        else:
            out.append((t, 0))
    return out


def page_lines(root: etree._Element) -> tuple[list[str], list[str]]:
    """Lines of a marked page, and the same lines with mostly-link lines cut to their plain text."""
    raw = etree.tostring(root, method="text", encoding="unicode", with_tail=False)
    texts = line_texts(raw)
    full = [t for t in texts if t]
    plain = []
    for line, t in compress(zip(raw.split(BREAK), texts, strict=True), texts):  # the non-empty lines
        if LINK_ON in line or LINK_OFF in line:
            off, on = line.find(LINK_OFF), line.find(LINK_ON)
            rest = line[off + 1 :] if off != -1 and (on == -1 or off < on) else line
            rest = norm(_LINK_SPAN.sub(" ", rest))
            if len(rest) < len(t) * 0.5:
                t = rest
        plain.append(t)
    return full, plain


def first_css(root: etree._Element, selectors: Iterable[str] | None) -> tuple[etree._Element | None, str | None]:
    """First element matched by the first selector that matches one with text, and that selector."""
    for sel in selectors or []:
        for el in css(sel)(root):
            if text(el):
                return el, sel
    return None, None


def metas(root: etree._Element) -> dict[str, str]:
    """<meta name|property|itemprop|http-equiv> -> content (lower-cased keys, first one wins)."""
    found: dict[str, str] = {}
    for m in root.iter("meta"):
        key = m.get("name") or m.get("property") or m.get("itemprop") or m.get("http-equiv")
        content = m.get("content")
        if key and content and norm(content):
            found.setdefault(key.strip().lower(), norm(_TAGS.sub("", content)))
    return found


def enpproperty(html: str) -> dict[str, str]:
    """Fields of Founder's <!--enpproperty <title>..</title> ...--> comment (lower-cased keys)."""
    m = _ENP.search(html)
    if not m:
        return {}
    return {k.lower(): norm(v) for k, v in _ENP_FIELD.findall(m.group(1)) if norm(v)}
