"""Error pages: is a page served with status 200 really an article?

In: raw HTML, plain text or an `Extracted` (with the page's visible text), and the `errors:`
rules of profiles.yaml. Out: a reason (not-found-page, rate-limited, access-denied, empty-shell),
or None for an article. `ExtractionError` (bad input to the extractor) is raised, not returned.
"""

from __future__ import annotations

from scrapers.extract.config import load_config
from scrapers.extract.model import Extracted, ExtractionError
from scrapers.extract.parse import drop, norm, parse, text

__all__ = ["ExtractionError", "detect_error_page"]


def _title_and_text(page: str) -> tuple[str | None, str]:
    """<title> and visible body text of raw HTML, or (None, the text) for plain text."""
    root = parse(page) if "<" in (page or "") else None
    if root is None:
        return None, norm(page)
    t = root.find(".//title")
    title = text(t) if t is not None else None
    for bad in root.iter("script", "style", "noscript"):
        drop(bad)
    b = root.find("body")
    return title, text(b if b is not None else root)


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
        page_title, text = _title_and_text(page)
        if title is None:
            title = page_title
        if body is None:
            body = text
    if len(norm(body)) >= cfg.article_min_chars:
        return None  # a page with a real body is an article, whatever it talks about
    title = norm(title)
    text = norm(text)
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
