"""The stages in order: one page (HTML, URL, profile) in, one `Extracted` out.

decode + parse + mark (parse.py) -> headline fields (metadata.py) -> page lines and body (body.py) ->
the headline's window and the trailer -> byline fields (metadata.py) -> error verdict (errors.py).
"""

from __future__ import annotations

from scrapers.extract.body import body_lines, find_body
from scrapers.extract.clean import find_dates, is_dateline
from scrapers.extract.config import load_config, profile_for_url, rules_for
from scrapers.extract.errors import detect_error_page
from scrapers.extract.metadata import HEAD_FIELDS, LINE_FIELDS, fill, ordered_methods
from scrapers.extract.model import Extracted, Page
from scrapers.extract.paging import links_in_tree
from scrapers.extract.parse import (
    decode_utf8,
    drop_scripts,
    enpproperty,
    mark_blocks,
    may_have_controls,
    metas,
    page_lines,
    parse,
)
from scrapers.extract.title import headline_above_body


def _body_start(lines: list[str], raw_body_lines: list[str], sentence_chars: str) -> int:
    """Index in the page lines of the body's first sentence (the page's end if not found)."""
    sent = set(sentence_chars)
    first_sentence = next((t for t in raw_body_lines if not sent.isdisjoint(t)), None)
    if first_sentence:
        for i, t in enumerate(lines):
            if t == first_sentence:
                return i
    return len(lines)


def _window_at(p: Page, i: int, lines: list[str], body_start: int) -> list[str]:
    """The headline line (without the headline) and the short lines after it, up to the body."""
    g = p.cfg.generic
    w = g["dateline_window"]
    end = i + 1 + w if body_start <= i else min(i + 1 + w, body_start + 1)
    # the title line itself may carry the date ("标题 2024-01-01 来源:...")
    first = [lines[i].replace(p.out.title, " ")]
    return first + [t for t in lines[i + 1 : end] if t and len(t) <= g["dateline_max_chars"]]


def _headline_window(p: Page, body_start: int) -> None:
    """Find the line that holds the headline; the date line sits right under it."""
    title = p.out.title
    if not title:
        return
    short = title[: max(6, min(len(title), 30))]
    exact = [i for i, t in enumerate(p.page_lines) if t == title]
    near = [i for i, t in enumerate(p.page_lines) if short in t and len(t) <= len(title) + 60]
    before = [i for i in exact or near if i <= body_start]
    if before:
        # the headline copy closest to the body whose next lines carry a date
        p.title_idx = before[-1]
        for i in reversed(before):
            if find_dates(" \n ".join(_window_at(p, i, p.plain_lines, body_start)), p.cfg):
                p.title_idx = i
                break
    elif exact or near:
        p.title_idx = (exact or near)[0]
    if p.title_idx is not None:
        p.window = _window_at(p, p.title_idx, p.page_lines, body_start)
        p.date_window = _window_at(p, p.title_idx, p.plain_lines, body_start)


def _trailer(p: Page, body_start: int, raw_body_len: int) -> None:
    """Bylines and 来源 printed after the body (trailer, or an info line under it)."""
    g = p.cfg.generic
    ahead, limit = g["trailer_lookahead"], g["dateline_max_chars"]
    after = p.page_lines[body_start : body_start + raw_body_len + ahead][-(ahead + 8) :]
    p.trailer = [t for t in after if len(t) <= limit]
    p.trailer += [t for t in p.page_lines if "【" in t and "来源" in t][:2]
    p.date_trailer = [t for t in p.plain_lines[body_start : body_start + len(after)] if len(t) <= limit]


def _read_lines(p: Page) -> None:
    """Split the page into lines, find the body, the headline's window and the trailer."""
    out, cfg = p.out, p.cfg
    body_el = p.root.find("body")
    # link text (related news, navigation) never carries the article's own date or byline:
    # mostly-link lines keep only their plain text
    p.page_lines, p.plain_lines = page_lines(body_el if body_el is not None else p.root)
    body_node, body_how, raw_body_lines, body_found = find_body(p.root, p.rules, cfg, p.scan)
    body_start = _body_start(p.page_lines, raw_body_lines, cfg.generic["sentence_chars"])
    # a <title> that is only the site/column name: the headline is the line above the body
    above = headline_above_body(out.title or "", out.methods.get("title"), p.page_lines, body_start, cfg)
    if above:
        out.title, out.methods["title"] = above, "line-above-body"
    _headline_window(p, body_start)
    drop_texts = {x for x in (out.title, out.subtitle, out.kicker) if x}
    drop_texts.update(t for t in p.window if is_dateline(t, cfg))
    p.body_lines = body_lines(body_node, p.rules, cfg, drop_texts, body_found) if body_node is not None else []
    out.body = "\n".join(p.body_lines)
    if body_how:
        out.methods["body"] = body_how
    _trailer(p, body_start, len(raw_body_lines))


def _verdict(p: Page) -> str | None:
    out = p.out
    error = detect_error_page(out, text=" ".join(p.page_lines)) if out.body or out.title else "empty-shell"
    if error is None and not out.body:
        error = "empty-shell"
    if error is None and not out.title:
        error = "no-title"  # a body without any headline is not an article we can store
    return error


def extract(
    html: str | bytes,
    url: str | None = None,
    profile: str | None = None,
    content_type: str | None = None,
    pager: bool = False,
    utf8: bytes | None = None,
) -> Extracted:
    """Extract one article.

    html: page text or raw bytes (bytes are decoded with `decode_html`, checking content_type);
    url: the article URL (chooses the profile, gives the last-resort date, resolves links);
    profile: a profiles.yaml name, overriding the URL choice; raises ExtractionError if unknown;
    pager: also fill `pager_links` (what `pager_links()` finds) from the tree parsed here (needs url);
    utf8: when html is text, the bytes it is exactly the UTF-8 decoding of (a spider has decoded the
    page already): checked for control characters and parsed instead of the text (lxml need not
    encode the text again for libxml2).
    """
    cfg = load_config()
    name = profile or profile_for_url(url)
    rules = rules_for(name)
    if isinstance(html, str) and utf8 is not None:
        page_text, encoding, raw = html, "utf-8", utf8
    else:
        page_text, encoding, utf8 = decode_utf8(html, content_type)
        raw = html
    out = Extracted(profile=name, url=url, encoding=encoding)
    root = parse(page_text, controls=may_have_controls(raw, encoding), utf8=utf8)
    if root is None:
        out.error = "empty-shell"
        return out
    if pager and url:
        out.pager_links = links_in_tree(root, url, rules)  # before drop_scripts, as pager_links() sees the page
    enp = enpproperty(page_text) if rules.raw.get("enpproperty") else {}
    p = Page(out=out, root=root, rules=rules, cfg=cfg, url=url, metas=metas(root), enp=enp)
    drop_scripts(root)
    p.scan = mark_blocks(root)  # head fields read the marked tree's text as it was (parse.plain_text)
    fill(p, HEAD_FIELDS)
    _read_lines(p)
    fill(p, LINE_FIELDS)
    out.methods = ordered_methods(p)
    out.error = _verdict(p)
    return out
