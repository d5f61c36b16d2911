"""The typed records every stage hands to the next, with one name per field everywhere.

`Article` is born in `scrapers/extract` (or read from a labelled JSON file), stored by `db/`,
matched by `monitor/matching` and shown by the pages; its field names are the `articles` table's
column names. `MatchResult` (with its `Evidence` and `Figure`) is what the matcher returns for
one article and what `db.matches.save_match` stores.

This module imports nothing of the project: every stage may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Article:
    """One article as extracted from a page, stored in `articles` and read by the matcher."""

    url: str
    title: str = ""
    body: str = ""
    published: str | None = None  # ISO date or datetime (+08:00) as the page states it
    site: str | None = None  # the site's own name, e.g. "杭州日报 (hzdaily.hangzhou.com.cn)"
    source_id: str | None = None  # the crawl source (scrapers/sources.yaml) it came from
    source_name: str | None = None  # the 来源 line: whose report it is
    subtitle: str | None = None
    author: str | None = None
    editor: str | None = None
    publisher: str | None = None  # the issuing body (发布机构, e.g. 市林水局); author is only for people
    methods: dict[str, str] = field(default_factory=dict)  # how each field was found
    id: int | None = None  # the database row id, once stored

    @classmethod
    def from_labelled(cls, data: dict[str, Any]) -> Article:
        """An article from the labelled-article JSON shape (`text` for the body, `source` for 来源)."""
        return cls(
            url=str(data.get("url") or ""),
            title=str(data.get("title") or ""),
            body=str(data.get("text") or ""),
            published=data.get("published"),
            site=data.get("site"),
            source_name=data.get("source"),
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """One phrase that links an article to a plan item (offsets index `title + "\\n" + body`)."""

    item: str
    term: str
    start: int
    end: int
    snippet: str

    def to_json(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict (a recursive deep copy) cost 7% of `hzwatch match --jsonl`.
        return {"item": self.item, "term": self.term, "start": self.start, "end": self.end, "snippet": self.snippet}


@dataclass(frozen=True, slots=True)
class Figure:
    """One progress figure for a target, with the sentence it came from."""

    target: str
    value: float
    unit: str
    as_of: str | None
    quote: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "value": self.value, "unit": self.unit, "as_of": self.as_of, "quote": self.quote}


@dataclass(slots=True)
class MatchResult:
    """The matcher's verdict on one article."""

    relevant: bool = False
    score: float = 0.0
    items: list[str] = field(default_factory=list)  # plan items (groups, reform projects, tasks)
    progress: list[Figure] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    # Not relevant, but with real plan evidence (in `evidence`) below the threshold: a candidate
    # (待确认) a reader should confirm. Its items are not linked: `items` stays empty; its evidence is
    # stored in articles.candidate, listed on the item page and in the review queue, where a person's
    # confirmation makes it relevant with those items.
    candidate: bool = False

    @property
    def targets(self) -> list[str]:
        return sorted({f.target for f in self.progress})

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (`../shared/eval/README.md`): `projects` holds every linked
        item, reform projects and work tasks alike; `items` says the same under the database's name."""
        return {
            "relevant": self.relevant,
            "candidate": self.candidate,
            "score": self.score,
            "projects": list(self.items),
            "items": list(self.items),
            "targets": self.targets,
            "progress": [f.to_json() for f in self.progress],
            "evidence": [e.to_json() for e in self.evidence],
        }
