"""Jinja filters for the custom pages: highlight terms in scraped text (escaped first), figures, evidence."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from datasette import hookimpl

# Repository checkout, or the copy of `db` that `hzwatch publish` puts beside the plugins.
sys.path += [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent / "vendor")]
from db.clock import chinese_time  # noqa: E402

if TYPE_CHECKING:
    import jinja2

_T2S = None


def _simplified(text: str) -> str:
    """Traditional -> Simplified, character for character (opencc t2s); short texts (titles, terms:
    the same ones on every rendering of a list page) are kept."""
    return _simplified_short(text) if len(text) <= 200 else _convert(text)


@functools.lru_cache(maxsize=8192)
def _simplified_short(text: str) -> str:
    return _convert(text)


def _convert(text: str) -> str:
    global _T2S
    if _T2S is None:
        import opencc

        _T2S = opencc.OpenCC("t2s")
    return _T2S.convert(text)


def _terms_pattern(terms: Iterable[str | None] | None) -> re.Pattern[str] | None:
    return _pattern_of(tuple(sorted({t.strip() for t in (terms or []) if t and t.strip()})))


@functools.lru_cache(maxsize=1024)
def _pattern_of(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    # Kept: a list page highlights the same few terms in every row (OpenCC and re.compile per row
    # were a third of an item page's rendering at 100 rows).
    found = set(terms) | {_simplified(t) for t in terms}
    if not found:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(found, key=len, reverse=True)))


def _spans(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Where the terms occur; looked up in the Simplified form so 數谷 is marked for 数谷."""
    simplified = _simplified(text)
    # t2s maps almost every character one to one; if lengths differ, offsets would not line up.
    source = simplified if len(simplified) == len(text) else text
    return [m.span() for m in pattern.finditer(source)]


def highlight(text: object, terms: str | Iterable[str] | None) -> Markup:
    """Escaped text with every occurrence of any term wrapped in <mark>."""
    text = "" if text is None else str(text)
    if isinstance(terms, str):
        terms = terms.split()
    pattern = _terms_pattern(terms)
    if pattern is None:
        return Markup(escape(text))
    out, last = [], 0
    for start, end in _spans(text, pattern):
        out.append(escape(text[last:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


def has_term(text: object, term: str) -> bool:
    """True if term occurs in text (directly or in its Simplified form)."""
    pattern = _terms_pattern([term])
    return bool(text) and pattern is not None and bool(_spans(str(text), pattern))


def snippet(text: object, terms: str | Iterable[str] | None, width: int = 60) -> Markup:
    """A window of text around the first term found, highlighted and escaped."""
    text = "" if text is None else str(text)
    if isinstance(terms, str):
        terms = terms.split()
    pattern = _terms_pattern(terms)
    spans = _spans(text, pattern) if pattern else []
    start = max((spans[0][0] if spans else 0) - width // 2, 0)
    piece = text[start : start + width * 2]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width * 2 < len(text) else ""
    return Markup(escape(prefix)) + highlight(piece, terms) + Markup(escape(suffix))


def paragraphs(text: str | None) -> list[str]:
    """Split article text into paragraphs on blank lines or single newlines."""
    return [p.strip() for p in re.split(r"\n+", text or "") if p.strip()]


def num(value: object) -> str:
    """6000.0 -> 6000, 35.5 -> 35.5: figures as people write them."""
    if value is None:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.2f}".rstrip("0").rstrip(".")


def evidence_terms(evidence: str | bytes | None) -> list[str]:
    """The matched terms in a matches.evidence JSON list."""
    try:
        entries = json.loads(evidence or "[]")
    except (TypeError, ValueError):
        return []
    terms = [e.get("term") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    return sorted({t for t in terms if isinstance(t, str) and t})


@hookimpl
def prepare_jinja2_environment(env: jinja2.Environment) -> None:
    env.filters["num"] = num
    env.filters["cn_time"] = chinese_time
    env.filters["has_term"] = has_term
    env.filters["evidence_terms"] = evidence_terms
    env.filters["highlight"] = highlight
    env.filters["snippet"] = snippet
    env.filters["paragraphs"] = paragraphs
