"""The keyword baseline the matcher is measured against: any plan keyword present makes an article
relevant, and its items are those whose alias appears.

Keywords are the plan's theme wording and every item alias (`monitor/plans/*.yaml`), found in the
same normalised text the matcher reads; no place, date, context or figure rules. It answers the
question "is the matcher worth more than a keyword search?" on the same labelled corpus.
"""

from __future__ import annotations

from db.records import Article, MatchResult
from db.text import normalize
from monitor.matching.catalog import Catalog, load_catalog
from monitor.matching.terms import TermIndex


class KeywordBaseline:
    """A matcher-shaped keyword search: `match(article)` gives relevance and items, nothing else."""

    def __init__(self, catalog: Catalog | None = None):
        self.catalog = catalog or load_catalog()
        self.version = f"keyword+{self.catalog.hash}"
        self._terms = TermIndex(self.catalog)
        self._reported = {i.id for i in self.catalog.items.values() if i.reported}

    def match(self, article: Article) -> MatchResult:
        hits = self._terms.scan(normalize(article.title or "") + "\n" + normalize(article.body or ""))
        items = {p.ref for _s, _e, _t, p in hits["alias"] if p.ref in self._reported}
        relevant = bool(items or hits["theme"])
        return MatchResult(relevant=relevant, score=1.0 if relevant else 0.0, items=sorted(items))
