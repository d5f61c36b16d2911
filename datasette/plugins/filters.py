"""Jinja filters for the custom pages: highlight terms in scraped text (escaped first), figures, evidence."""
import json
import re

from datasette import hookimpl
from markupsafe import Markup, escape


def _terms_pattern(terms):
    terms = sorted({t for t in (terms or []) if t and t.strip()}, key=len, reverse=True)
    if not terms:
        return None
    return re.compile("|".join(re.escape(t.strip()) for t in terms))


def highlight(text, terms):
    """Escaped text with every occurrence of any term wrapped in <mark>."""
    text = "" if text is None else str(text)
    if isinstance(terms, str):
        terms = terms.split()
    pattern = _terms_pattern(terms)
    if pattern is None:
        return Markup(escape(text))
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def snippet(text, terms, width=60):
    """A window of text around the first term found, highlighted and escaped."""
    text = "" if text is None else str(text)
    if isinstance(terms, str):
        terms = terms.split()
    pattern = _terms_pattern(terms)
    m = pattern.search(text) if pattern else None
    start = max((m.start() if m else 0) - width // 2, 0)
    piece = text[start:start + width * 2]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width * 2 < len(text) else ""
    return Markup(escape(prefix)) + highlight(piece, terms) + Markup(escape(suffix))


def paragraphs(text):
    """Split article text into paragraphs on blank lines or single newlines."""
    return [p.strip() for p in re.split(r"\n+", text or "") if p.strip()]


def num(value):
    """6000.0 -> 6000, 35.5 -> 35.5: figures as people write them."""
    if value is None:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.2f}".rstrip("0").rstrip(".")


def evidence_terms(evidence):
    """The matched terms in a matches.evidence JSON list."""
    try:
        entries = json.loads(evidence or "[]")
    except (TypeError, ValueError):
        return []
    terms = [e.get("term") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    return sorted({t for t in terms if isinstance(t, str) and t})


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["num"] = num
    env.filters["evidence_terms"] = evidence_terms
    env.filters["highlight"] = highlight
    env.filters["snippet"] = snippet
    env.filters["paragraphs"] = paragraphs
