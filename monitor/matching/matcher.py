"""The matcher: a pure function of an article (`db.records.Article`) and the plan catalog,
giving a `db.records.MatchResult`.

One Aho-Corasick pass over the normalised title and body finds every alias, context word,
place name and indicator (monitor.matching.terms); relevance then needs (per plan) a report
about the plan's city (monitor.matching.locality), dated on or after the plan's watch date
(monitor.matching.dates), with enough item evidence. Progress figures come from
monitor.matching.figures. Evidence offsets index the original `title + "\\n" + body`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from db.records import Article, Evidence, Figure, MatchResult
from db.text import normalize, normalize_map
from monitor.matching.catalog import Catalog, Plan, catalog_hash, load_catalog
from monitor.matching.dates import in_watch_period, infer_date, parse_published, text_date
from monitor.matching.figures import Hit, extract_progress
from monitor.matching.locality import Locality
from monitor.matching.positions import DocIndex, overlaps, place_quote, place_term
from monitor.matching.settings import MatchingSettings
from monitor.matching.terms import Hits, TermIndex

__all__ = ["LOGIC_VERSION", "MATCHER_VERSION", "Matcher", "infer_date", "parse_published"]

# Bump LOGIC_VERSION when matching logic changes; the catalog hash covers the YAML files.
LOGIC_VERSION = "1.4"
MATCHER_VERSION = f"{LOGIC_VERSION}+{catalog_hash()}"


class _Text:
    """One article as the per-plan checks read it. (A plain slots class: Python 3.11 reads its
    fields faster than a NamedTuple's.)"""

    __slots__ = ("norm", "doc", "index", "title_end", "hits", "host", "source", "published", "date_unknown")

    def __init__(
        self,
        norm: str,  # normalised title + "\n" + body
        doc: str,  # original title + "\n" + body
        index: DocIndex,  # norm position -> doc position
        title_end: int,  # the title's length in norm
        hits: Hits,
        host: str,  # the URL's host, lower case
        source: str,  # normalised 来源 line and site name
        published: dt.date | None,  # the page's date or, failing that, one early in the text
        date_unknown: bool,  # neither was found
    ):
        self.norm, self.doc, self.index, self.title_end, self.hits = norm, doc, index, title_end, hits
        self.host, self.source, self.published, self.date_unknown = host, source, published, date_unknown


class _PlanMatch(NamedTuple):
    """The verdict for one plan (items, evidence and figures only when relevant)."""

    relevant: bool
    score: float
    items: Sequence[str] = ()
    evidence: Sequence[Evidence] = ()
    progress: Sequence[Figure] = ()
    candidate: bool = False  # not relevant, but plan evidence a reader should confirm (待确认)


class _Topical(NamedTuple):
    """An article's evidence for one plan's items and theme."""

    listed: list[str]  # items listed (in order of their evidence)
    evidence: dict[str, list[tuple[int, int, str]]]  # item -> kept hits (start, end, term)
    theme_hits: list[tuple[int, int, str]]
    topical: float  # weighted evidence
    pending: float  # weighted evidence of items not listed (below item_min, or broad words alone)


_NO_MATCH = _PlanMatch(False, 0.0)


def _mask_terms(plan: Plan) -> list[str]:
    """Names that contain a goal word (春雨计划 holds 计划): blanked before goal checks."""
    goal = plan.figures.goal_or_earlier
    return sorted(
        {t for i in plan.items for t in i.aliases + i.broad + i.weak if goal.search(t)}, key=len, reverse=True
    )


def _containment(plans: list[Plan]) -> dict[tuple[str, str], list[tuple[str, int, int]]]:
    """Terms inside another item's longer term (人才 in 顶尖人才, 人才分类评价): a hit there
    belongs to the longer term's item, so it is checked against that item's hits.

    Keyed by (longer term, its item): [(inner term's item, offset, length)]; a hit of the longer
    term at s owns the inner term's hit at s + offset.
    """
    contains: dict[tuple[str, str], list[tuple[str, int, int]]] = defaultdict(list)
    for plan in plans:
        terms = [(t, i.id) for i in plan.items for t in i.aliases + i.broad + i.weak]
        for a, ia in terms:
            for b, ib in terms:
                if a in b and ib != ia and a != b:
                    contains[(b, ib)] += [(ia, k, len(a)) for k in range(len(b) - len(a) + 1) if b.startswith(a, k)]
    return {k: v for k, v in contains.items() if v}


def _enough(plan: Plan) -> dict[str, float]:
    """An item's evidence weight past which the article's score is already full (relevance
    strength tops out at 2 x relevance_min): later hits need not be weighed."""
    rmin, imin = plan.matching.relevance_min, plan.matching.item_min
    return {
        i.id: max(imin, 2 * rmin / i.relevance_weight) if i.relevance_weight > 0 else float("inf") for i in plan.items
    }


def _plan_hits(pid: str, hits: Hits) -> tuple[dict[str, list[tuple[int, int]]], dict[str, list[tuple]]]:
    """This plan's exclude spans by item (sorted) and its alias/broad/weak hits by item, as
    (start, -end, term, kind): sorted, by start and longest first."""
    excludes: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for s, e, _t, p in hits["exclude"]:
        if p.plan == pid:
            excludes[p.ref].append((s, e))
    for spans in excludes.values():
        spans.sort()
    per_item: dict[str, list[tuple]] = defaultdict(list)
    for kind in ("alias", "broad", "weak"):
        for s, e, t, p in hits[kind]:
            if p.plan == pid:
                per_item[p.ref].append((s, -e, t, kind))
    return excludes, per_item


_BREAK_RES: dict[str, tuple[re.Pattern, re.Pattern]] = {}


def _break_res(breaks: str) -> tuple[re.Pattern, re.Pattern]:
    """(up to the last break character, the first break character) for a plan's `break_chars`."""
    res = _BREAK_RES.get(breaks)
    if res is None:
        cls = "[" + re.escape(breaks) + "]"
        res = _BREAK_RES[breaks] = (re.compile(".*" + cls, re.S), re.compile(cls))
    return res


def passage(doc: str, a: int, b: int, breaks: str, reach: int) -> str:
    """The sentence of `doc` that holds [a, b), its own 。 kept, at most `reach` characters either
    side of the term: the passage that speaks to the item, quoted. (One regex each way instead of
    a find per break character.)"""
    last, first = _break_res(breaks)
    before = last.match(doc, max(0, a - reach), a)  # greedy: ends just after the last break
    start = max(before.end() if before else 0, a - reach, 0)
    after = first.search(doc, b, b + reach)
    if after:
        k = after.start()
        end = k + (doc[k] != "\n")
    else:
        end = min(len(doc), b + reach)
    return doc[start:end].replace("\n", " ").strip()


# A plain http(s) URL's host (letters, digits, dots and dashes; no user part), read by one regex;
# any other URL goes through urlsplit, which gives the same answer for these at about 20x the cost.
_PLAIN_HOST = re.compile(r"(?i)https?://([a-z0-9.\-]+)(?::[0-9]*)?(?=[/?#]|\Z)")


def _host(url: str) -> str:
    """The URL's host, lower case ("" if none)."""
    m = _PLAIN_HOST.match(url)
    if m:
        return m.group(1).lower()
    return (urlsplit(url).hostname or "").lower()


class Matcher:
    """Links articles to plan items and targets; build once, call `match` per article."""

    def __init__(self, catalog: Catalog | None = None):
        self.catalog = catalog or load_catalog()
        self.version = f"{LOGIC_VERSION}+{self.catalog.hash}"
        plans = self.catalog.plans
        self._terms = TermIndex(self.catalog)
        self._locality = Locality(self.catalog.places, {plan.city for plan in plans})
        self._items = self.catalog.items
        self._mask_terms = {plan.id: _mask_terms(plan) for plan in plans}
        self._contains = _containment(plans)
        self._enough = {plan.id: _enough(plan) for plan in plans}
        # Context words by item; each item's regex is compiled when a weak hit first needs it (a
        # third of the catalog's start-up went to compiling all of them, most never used).
        self._context_words = {i.id: i.context for p in plans for i in p.items if i.context}
        self._context_re: dict[str, re.Pattern] = {}
        self._order = {plan.id: {i.id: i.position for i in plan.items} for plan in plans}
        self._context_full = {
            i.id: p.matching.context_full if i.context_full is None else i.context_full for p in plans for i in p.items
        }
        self._sources: dict[str, str] = {}

    # ------------------------------------------------------------ entry point
    def match(self, article: Article) -> MatchResult:
        """Match one article (url, site, title, published, body, source_name) against every plan."""
        text = self._read(article)
        result = MatchResult()
        best_score = 0.0
        pending: list[Evidence] = []
        for plan in self.catalog.plans:
            r = self._match_plan(plan, text)
            best_score = max(best_score, r.score)
            if r.relevant:
                result.relevant = True
                result.items += r.items
                result.progress += r.progress
                result.evidence += r.evidence
            elif r.candidate:
                pending += r.evidence
        if pending and not result.relevant:
            result.candidate = True
            result.evidence = pending
        result.score = best_score
        return result

    def _read(self, article: Article) -> _Text:
        """The article normalised and scanned, with its host, source and date."""
        title = article.title or ""
        body = article.body or ""
        ntitle, tmap = normalize_map(title)
        nbody, bmap = normalize_map(body)
        norm = ntitle + "\n" + nbody
        url = article.url or ""
        published = parse_published(article.published) or infer_date(url)
        date_text = text_date(nbody) if published is None else None
        return _Text(
            norm,
            title + "\n" + body,
            DocIndex(tmap, bmap, len(ntitle), len(title)),
            len(ntitle),
            self._terms.scan(norm),
            _host(url),
            self._source(article),
            published or date_text,
            published is None and date_text is None,
        )

    def _source(self, article: Article) -> str:
        """The 来源 line and the site's own name ("杭州日报 (hzdaily…)"): both say whose news it is."""
        source_raw = f"{article.source_name or ''} {article.site or ''}".strip()
        source = self._sources.get(source_raw)
        if source is None:  # site names repeat: normalise each once
            if len(self._sources) > 10_000:
                self._sources.clear()
            source = self._sources[source_raw] = normalize(source_raw)
        return source

    # ------------------------------------------------------------ per plan
    def _match_plan(self, plan: Plan, text: _Text) -> _PlanMatch:
        top = self._topical(plan, text)
        if top.topical <= 0 and top.pending <= 0:  # nothing about the plan: no need to place or date it
            return _NO_MATCH
        loc_ok, share = self._locality.judge(plan, text.hits, text.norm, text.title_end, text.host, text.source)
        date_ok = in_watch_period(plan, text.norm, text.title_end, text.published, text.date_unknown)
        m, order = plan.matching, self._order[plan.id].__getitem__
        strength = min(1.0, top.topical / (2 * m.relevance_min))
        score = round(strength * share * (1.0 if date_ok else 0.0), 3)
        if not (loc_ok and date_ok):
            return _PlanMatch(False, score)
        places: dict = {}  # terms found verbatim in the original (shared by evidence and quotes)
        if top.topical >= m.relevance_min and (top.listed or top.theme_hits):
            listed = sorted(top.listed, key=order)  # in the plan's order
            evidence = self._evidence(
                plan, text, places, [(plan.id, top.theme_hits)] + [(i, top.evidence[i]) for i in listed]
            )
            return _PlanMatch(True, score, listed, evidence, self._progress(plan, text, places))
        # Below the threshold with real plan evidence: a candidate (待确认) with that evidence.
        if top.topical + top.pending >= m.candidate_min and top.evidence:
            evidence = self._evidence(
                plan, text, places, [(i, top.evidence[i]) for i in sorted(top.evidence, key=order)]
            )
            return _PlanMatch(False, score, (), evidence, (), candidate=True)
        return _PlanMatch(False, score)

    def _topical(self, plan: Plan, text: _Text) -> _Topical:
        """The items the article gives evidence for, and its weighted evidence for the plan."""
        m = plan.matching
        pid = plan.id
        title_w, title_end = m.title_weight, text.title_end
        excludes, per_item = _plan_hits(pid, text.hits)
        owned = self._owned(per_item)
        items = self._items
        item_scores: dict[str, float] = {}
        item_evidence: dict[str, list] = {}
        broad_only: list[str] = []
        item_scores_broad: dict[str, float] = {}
        for item_id, ihits in per_item.items():
            ihits.sort()
            score, kept, any_alias, any_broad = self._weigh_item(plan, text, item_id, ihits, owned, excludes)
            if not kept or not (any_alias or any_broad or not items[item_id].needs_alias):
                continue
            if not any_alias and any_broad:
                broad_only.append(item_id)
                item_scores_broad[item_id] = score
            else:
                item_scores[item_id] = score
            item_evidence[item_id] = kept
        theme_hits = sorted((s, e, t) for s, e, t, p in text.hits["theme"] if p.plan == pid)
        theme_score = sum(plan.theme_weight * (title_w if s < title_end else 1.0) for s, _e, _t in theme_hits)
        item_min = m.item_min
        listed = [i for i, sc in item_scores.items() if sc >= item_min and items[i].reported]
        # Broad words (人才办, 高层次人才) support an item only in news about its aim, i.e.
        # beside a sibling item found on its own evidence.
        if broad_only:
            parents = {items[i].parent for i in listed}
            listed += [
                i
                for i in broad_only
                if items[i].parent in parents and item_scores_broad[i] >= item_min and items[i].reported
            ]
            for i in broad_only:
                item_scores[i] = item_scores_broad[i]
        topical = sum(item_scores[i] * items[i].relevance_weight for i in listed) + theme_score
        shown = set(listed)
        pending = sum(
            sc * items[i].relevance_weight for i, sc in item_scores.items() if i not in shown and items[i].reported
        )
        item_evidence = {i: ev for i, ev in item_evidence.items() if items[i].reported}
        return _Topical(listed, item_evidence, theme_hits, topical, pending)

    def _owned(self, per_item: dict[str, list[tuple]]) -> set[tuple[int, int, str]]:
        """(start, end, item) of hits inside another item's longer term."""
        owned: set = set()
        contains = self._contains
        if contains:
            for item_id, ihits in per_item.items():
                for s, _ne, t, _k in ihits:
                    inner = contains.get((t, item_id))
                    if inner:
                        owned.update((s + k, s + k + n, ia) for ia, k, n in inner)
        return owned

    def _weigh_item(
        self, plan: Plan, text: _Text, item_id: str, ihits: list[tuple], owned: set, excludes: dict
    ) -> tuple[float, list[tuple[int, int, str]], bool, bool]:
        """(score, kept hits, any alias hit, any broad hit) of one item's sorted hits."""
        m = plan.matching
        norm, title_end = text.norm, text.title_end
        title_w, cap = m.title_weight, m.max_evidence_per_item
        enough = self._enough[plan.id][item_id]
        excluded = excludes[item_id] if item_id in excludes else None
        score, kept, last_end, any_alias, any_broad = 0.0, [], -1, False, False
        for s, e, t, kind in ihits:
            e = -e
            if e <= last_end:  # nested alias of the same item (数谷 in 中国数谷)
                continue
            if owned and (s, e, item_id) in owned:
                continue
            if excluded is not None and overlaps(excluded, s, e):
                continue
            w = 1.0
            if kind == "weak":
                w = self._weak_weight(m, item_id, norm, s, e)
                if not w:
                    continue
            any_alias = any_alias or kind == "alias"
            any_broad = any_broad or kind == "broad"
            score += w * (title_w if s < title_end else 1.0)
            kept.append((s, e, t))
            last_end = e
            if any_alias and score >= enough and len(kept) >= cap:
                break  # more hits change neither score nor evidence
        return score, kept, any_alias, any_broad

    def _weak_weight(self, m: MatchingSettings, item_id: str, norm: str, s: int, e: int) -> float:
        """A weak hit's weight: none without a context term near it, `weak_weight` with one, full
        weight with `context_full` different ones (indirect wording the passage corroborates)."""
        ctx, window = self._context_re.get(item_id), m.context_window
        if ctx is None:
            ctx = self._context_re[item_id] = re.compile("|".join(re.escape(c) for c in self._context_words[item_id]))
        before, after = norm[max(0, s - window) : s], norm[e : e + window]
        if not (ctx.search(before) or ctx.search(after)):
            return 0.0
        full = self._context_full[item_id]
        if full and len(set(ctx.findall(before)) | set(ctx.findall(after))) >= full:
            return 1.0
        return m.weak_weight

    def _evidence(
        self, plan: Plan, text: _Text, places: dict, spans_by_item: list[tuple[str, list[tuple[int, int, str]]]]
    ) -> list[Evidence]:
        """Up to `max_evidence_per_item` phrases per item, placed in the original text."""
        snip, cap = plan.matching.snippet_chars, plan.matching.max_evidence_per_item
        norm, doc, index, breaks = text.norm, text.doc, text.index, plan.figures.break_chars
        out = []
        for item_id, spans in spans_by_item:
            for s, e, t in spans[:cap]:
                a, b = place_term(places, norm, doc, index, s, e, t)
                out.append(Evidence(item_id, t, a, b, passage(doc, a, b, breaks, snip)))
        return out

    def _progress(self, plan: Plan, text: _Text, places: dict) -> list[Figure]:
        """The plan's progress figures in the text, each with the sentence it came from."""
        pid, norm, published = plan.id, text.norm, text.published
        fhits = [
            Hit(s, e, p.ref if kind == "indicator" else None, t)
            for kind in ("indicator", "decoy")
            for s, e, t, p in text.hits[kind]
            if p.plan == pid
        ]
        if published is None or not any(h.target for h in fhits):
            return []
        out = []
        for found in extract_progress(norm, fhits, plan, published, self._mask_terms[pid]):
            s0, s1 = found.start, found.end
            if s1 < len(norm) and norm[s1] != "\n":
                s1 += 1  # keep the sentence's own 。！？；
            a, b = place_quote(places, norm, text.doc, text.index, s0, s1)
            out.append(Figure(found.target, found.value, found.unit, found.as_of, text.doc[a:b].strip()))
        return out
