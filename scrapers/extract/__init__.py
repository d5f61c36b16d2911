"""Article extraction: a pure function of HTML, URL and a CMS profile (scrapers/profiles.yaml).

In: a page (text or bytes, with its Content-Type), its URL, optionally a profile name.
Out: `extract()` returns an `Extracted` with title, subtitle, kicker, publish time (+08:00),
来源, author, editor, clean body text and, per field, the method that found it; `error` is None
for an article, else one reason (the error-page reasons of profiles.yaml, or no-title).
`pager_links` + `merge_pages` turn a multi-page article (_2.htm, _0.htm) into one.

Stages, one module each: parse (decode, lxml tree, page lines), title (headline), body (body
element and its paragraphs), clean (dates, 来源 and name values), metadata (every field's
methods, tried in the order profiles.yaml gives under `fields:`), errors (error pages), paging
(multi-page articles); pipeline runs them in order, config loads profiles.yaml, model holds the
shared types.
"""

from scrapers.extract.config import PROFILES_PATH, load_config, profile_for_url, profile_names
from scrapers.extract.errors import detect_error_page
from scrapers.extract.model import Extracted, ExtractionError
from scrapers.extract.paging import merge_pages, pager_links
from scrapers.extract.parse import BLOCK_TAGS, norm
from scrapers.extract.pipeline import extract
from scrapers.extract.title import strip_site_suffix

__all__ = [
    "BLOCK_TAGS",
    "PROFILES_PATH",
    "ExtractionError",
    "Extracted",
    "detect_error_page",
    "extract",
    "load_config",
    "merge_pages",
    "norm",
    "pager_links",
    "profile_for_url",
    "profile_names",
    "strip_site_suffix",
]
