"""Shared types of the extraction stages.

In: nothing (a leaf module). Out: `Extracted`, the result `extract()` hands to the spiders and the
CLI; `ExtractionError`, raised on bad input to the extractor; `Page`, the working state one
`extract()` call passes from stage to stage (parsed tree, page lines, headline window, trailer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml import etree

    from scrapers.extract.config import Config, Rules


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
    publisher: str | None = None  # the issuing body (发布机构, e.g. 市林水局): an organisation, never a person
    body: str = ""
    methods: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    error: str | None = None
    profile: str = "generic"
    url: str | None = None
    kicker: str | None = None  # 引题 (e-papers): the line printed above the headline
    # the other pages of a multi-page article (paging.links_in_tree), read from the tree this page was
    # parsed into; None unless `extract(..., pager=True)` asked for them
    pager_links: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Page:
    """One page on its way through the stages; every list is filled by the stage that owns it."""

    out: Extracted
    root: etree._Element
    rules: Rules
    cfg: Config
    url: str | None
    metas: dict[str, str]
    enp: dict[str, str]
    # <body>'s elements with their class/id, listed by the walk that marks the tree (parse.Scan)
    scan: list | None = None
    # parse/layout: the page's lines, and the same with mostly-link lines cut to their plain text
    page_lines: list[str] = field(default_factory=list)
    plain_lines: list[str] = field(default_factory=list)
    # headline window: the lines right under the headline (date line, 来源, 作者)
    title_idx: int | None = None
    window: list[str] = field(default_factory=list)
    date_window: list[str] = field(default_factory=list)
    # body and the short lines after it (【来源 作者 编辑】 trailers)
    body_lines: list[str] = field(default_factory=list)
    trailer: list[str] = field(default_factory=list)
    date_trailer: list[str] = field(default_factory=list)
    # profile dateline/trailer regex matches (group dicts), computed once, read by every field
    matches: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)
    # the (field, method) now running and the regex match it is on; per field, where it was found
    step: tuple[str, str] = ("", "")
    match_idx: int = 0
    found_by: dict[str, tuple[tuple[str, str], int]] = field(default_factory=dict)

    def is_organisation(self, value: str | None) -> bool:
        """市林水局, 市审管办, 区政府 …: the name of an organisation, not of a person."""
        return bool(value) and self.cfg.organisation.search(value) is not None

    def put(self, fld: str, value: str | None, how: str) -> None:
        """Set a field (and the method that found it) unless it already has a value. An organisation
        found as the author is the publisher (the author is only for people), and the author's
        other methods go on looking for a person."""
        if fld == "author" and self.is_organisation(value):
            fld, how = "publisher", f"author:{how}"
        if value and getattr(self.out, fld) is None:
            setattr(self.out, fld, value)
            self.out.methods[fld] = how
            self.found_by[fld] = (self.step, self.match_idx)
