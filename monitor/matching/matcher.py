"""The matcher: a pure function of an article and the plan catalog.

One Aho-Corasick pass over the normalised title and body finds every alias, context word,
place name and indicator; relevance then needs (per plan) a report about the plan's city,
dated on or after the plan's watch date, with enough item evidence. Progress figures come
from monitor.matching.figures. Evidence offsets index the original `title + "\\n" + text`.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_left
from collections import defaultdict
from urllib.parse import urlsplit

import ahocorasick

from monitor.matching.catalog import Catalog, catalog_hash, load_catalog
from monitor.matching.figures import Hit, extract_progress
from monitor.matching.normalize import normalize, normalize_map

# Bump LOGIC_VERSION when matching logic changes; the catalog hash covers the YAML files.
LOGIC_VERSION = "1.3"
MATCHER_VERSION = f"{LOGIC_VERSION}+{catalog_hash()}"

# URL date shapes: /2024-01/31/, /2024/01/31/, /art/2025/4/23/, /2024/05-16/, /2023/0119/,
# /202206/t20220628_, 20241230A06; a bare /202206/ gives the month.
_URL_DATES = [
    re.compile(r"(?<!\d)(20\d\d)[-/_](\d{1,2})[-/_](\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(20\d\d)/(\d\d)(\d\d)(?!\d)"),
    re.compile(r"(?<!\d)(20\d\d)(\d\d)(\d\d)(?!\d)"),
]
_URL_MONTH = re.compile(r"(?<!\d)(20\d\d)[-/]?(\d\d)(?=/)")
_TEXT_DATE = re.compile(r"(?<!\d)(20\d\d)\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)年")


def _valid(y: str, m: str, d: str = "1") -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def parse_published(value) -> dt.date | None:
    """An ISO date/datetime (or date object) to a date; None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _TEXT_DATE.match(str(value).strip())
    return _valid(*m.groups()) if m else None


def infer_date(url: str | None) -> dt.date | None:
    """The publication date a URL encodes, if any."""
    if not url:
        return None
    path = urlsplit(url).path + "?" + (urlsplit(url).query or "")
    for pattern in _URL_DATES:
        for m in pattern.finditer(path):
            date = _valid(*m.groups())
            if date and 2000 < date.year < 2100:
                return date
    m = _URL_MONTH.search(path)
    if m:
        return _valid(m.group(1), m.group(2))
    return None


_KINDS = ("place", "wide", "theme", "loc", "notcity", "alias", "broad", "weak", "exclude", "indicator", "decoy")


class _DocIndex:
    """Position in normalised title + "\\n" + text -> position in the original title + "\\n" + text."""

    __slots__ = ("tmap", "xmap", "ntitle", "title")

    def __init__(self, tmap, xmap, ntitle: int, title: int):
        self.tmap, self.xmap, self.ntitle, self.title = tmap, xmap, ntitle, title

    def __getitem__(self, i: int) -> int:
        if i < self.ntitle:
            return self.tmap[i]
        if i == self.ntitle:
            return self.title
        return self.title + 1 + self.xmap[i - self.ntitle - 1]


def _occurrences(hay: str, term: str) -> list[int]:
    out, pos = [], hay.find(term)
    while pos >= 0:
        out.append(pos)
        pos = hay.find(term, pos + 1)
    return out


def _verbatim(cache: dict, term: str, s: int, norm: str, doc: str) -> int | None:
    """Where the hit at norm[s] sits in `doc` when the term appears there verbatim.

    If the original holds the term exactly as often as the normalised text, the i-th
    occurrences correspond; this spares building the full position map. None otherwise
    (Traditional text, quotes or full-width forms inside the term).
    """
    pair = cache.get(term, 0)
    if pair == 0:
        if any(term[:i] == term[-i:] for i in range(1, len(term))):
            in_norm = _occurrences(norm, term)  # occurrences may overlap: list them
            in_doc = _occurrences(doc, term)
            pair = (in_norm, in_doc) if len(in_norm) == len(in_doc) else None
        else:  # they cannot: str.count (in C) is exact
            pair = True if norm.count(term) == doc.count(term) else None
        cache[term] = pair
    if pair is None:
        return None
    if pair is True:
        if not norm.startswith(term, s):
            return None
        pos = -1
        for _ in range(norm.count(term, 0, s) + 1):  # the same occurrence in `doc`
            pos = doc.find(term, pos + 1)
        return pos
    k = bisect_left(pair[0], s)
    return pair[1][k] if k < len(pair[0]) and pair[0][k] == s else None


def _overlaps(spans: list[tuple[int, int]], s: int, e: int) -> bool:
    """Does any of the sorted `spans` overlap [s, e)? (Spans are short terms.)"""
    k = bisect_left(spans, (e,))  # spans starting before e
    while k > 0:
        k -= 1
        xs, xe = spans[k]
        if xe > s:
            return True
        if xs < s - 64:  # no term is this long
            return False
    return False


# bytes.translate table: UTF-8 continuation bytes -> 0, every other byte -> 1.
_LEAD_BYTES = bytes(0 if 0x80 <= i <= 0xBF else 1 for i in range(256))


def _anchored(cache: dict, norm: str, doc: str, s0: int, s1: int) -> tuple[int | None, int | None]:
    """Where norm[s0:s1] sits in `doc`, from a few characters at each end found verbatim.

    Sparing the position map for most quotes; (None, None) when either end is not verbatim
    (a full-width comma, a quote mark or Traditional characters there).
    """
    if s1 - s0 < 2:
        return None, None
    for k in (4, 2):
        k = min(k, (s1 - s0) // 2)
        a = _verbatim(cache, norm[s0 : s0 + k], s0, norm, doc)
        b = _verbatim(cache, norm[s1 - k : s1], s1 - k, norm, doc) if a is not None else None
        if a is not None and b is not None and a < b + k:
            return a, b + k
    return None, None


def _host_match(host: str, fragment: str) -> bool:
    if "." in fragment:
        return host == fragment or host.endswith("." + fragment)
    return fragment in host


class Matcher:
    """Links articles to plan items and targets; build once, call `match` per article."""

    def __init__(self, catalog: Catalog | None = None):
        self.catalog = catalog or load_catalog()
        self.version = f"{LOGIC_VERSION}+{self.catalog.hash}"
        self._auto = ahocorasick.Automaton()
        payloads: dict[str, list[tuple]] = defaultdict(list)
        places = self.catalog.places
        plan_cities = {p.city for p in self.catalog.plans}
        self._place_hosts = {}
        for city, entry in places["cities"].items():
            self._place_hosts[city] = entry
            if city in plan_cities:
                continue  # counted through that plan's own "loc" names
            for name in entry["names"]:
                payloads[name].append(("place", city))
            for src in entry["sources"]:
                payloads[src].append(("place", city))
        for term in places["province_terms"] + places["national_terms"]:
            payloads[term].append(("wide",))
        self._mask_terms = {}
        for plan in self.catalog.plans:
            pid = plan.id
            for term in plan.theme:
                payloads[term].append(("theme", pid))
            for term, weight in plan.locality["names"].items():
                payloads[term].append(("loc", pid, weight, plan.city))
            for term in plan.locality["not_city"]:
                payloads[term].append(("notcity", pid))
            for item in plan.items:
                for term in item.aliases:
                    payloads[term].append(("alias", pid, item.id, 1.0))
                for term in item.broad:
                    payloads[term].append(("broad", pid, item.id, 1.0))
                for term in item.weak:
                    payloads[term].append(("weak", pid, item.id, 0.0))
                for term in item.exclude:
                    payloads[term].append(("exclude", pid, item.id))
            for target in plan.targets:
                for term in target.indicator:
                    payloads[term].append(("indicator", pid, target.id))
                for term in target.decoys:
                    payloads[term].append(("decoy", pid, target.id))
            # Names that contain a goal word (春雨计划 holds 计划) are blanked before goal checks.
            goal = plan.figures["_re"]["goal_or_earlier"]
            self._mask_terms[pid] = sorted(
                {t for i in plan.items for t in i.aliases + i.broad + i.weak if goal.search(t)}, key=len, reverse=True
            )
        self._plan_cities = plan_cities
        self._items = self.catalog.items
        # Terms inside another item's longer term (人才 in 顶尖人才, 人才分类评价): a hit there
        # belongs to the longer term's item, so it is checked against that item's hits.
        # Keyed by the longer term: [(inner term's item, offset, length)]; a hit of the longer
        # term at s owns the inner term's hit at s + offset.
        self._contains: dict[tuple[str, str], list[tuple[str, int, int]]] = defaultdict(list)
        for plan in self.catalog.plans:
            terms = [(t, i.id) for i in plan.items for t in i.aliases + i.broad + i.weak]
            for a, ia in terms:
                for b, ib in terms:
                    if a in b and ib != ia and a != b:
                        self._contains[(b, ib)] += [
                            (ia, k, len(a)) for k in range(len(b) - len(a) + 1) if b.startswith(a, k)
                        ]
        self._contains = {k: v for k, v in self._contains.items() if v}
        # An item's evidence weight past which the article's score is already full
        # (relevance strength tops out at 2 x relevance_min): later hits need not be weighed.
        self._enough = {}
        for plan in self.catalog.plans:
            rmin = float(plan.matching.get("relevance_min", 2.0))
            imin = float(plan.matching.get("item_min", 1.0))
            self._enough[plan.id] = {
                i.id: max(imin, 2 * rmin / i.relevance_weight) if i.relevance_weight > 0 else float("inf")
                for i in plan.items
            }
        self._context_re = {
            i.id: re.compile("|".join(re.escape(c) for c in i.context))
            for p in self.catalog.plans
            for i in p.items
            if i.context
        }
        self._contexts = {i.id: i.context for p in self.catalog.plans for i in p.items}
        self._host_city: dict[tuple[str, str], str | None] = {}
        self._source_city: dict[tuple[str, str], str | None] = {}
        self._sources: dict[str, str] = {}
        # Keys are UTF-8 bytes spelled as latin-1 characters: pyahocorasick scans a node's
        # children linearly, and a few hundred distinct first characters made every step slow;
        # as bytes the fan-out is small (measured 3x faster). UTF-8 is self-synchronising, so a
        # key can only match at a character boundary.
        for term, plist in payloads.items():
            key = term.encode("utf-8").decode("latin-1")
            groups = defaultdict(list)
            for p in plist:
                groups[p[0]].append(p)
            self._auto.add_word(key, (len(term), term, tuple((k, tuple(v)) for k, v in groups.items())))
        self._auto.make_automaton()

    # ------------------------------------------------------------ entry point
    def match(self, article: dict) -> dict:
        """Match one article (url, site, title, published, text, source) against every plan."""
        title = article.get("title") or ""
        text = article.get("text") or ""
        ntitle, tmap = normalize_map(title)
        ntext, xmap = normalize_map(text)
        norm = ntitle + "\n" + ntext
        index = _DocIndex(tmap, xmap, len(ntitle), len(title))
        doc = title + "\n" + text
        title_end = len(ntitle)

        hits: dict[str, list] = {kind: [] for kind in _KINDS}  # kind -> [(start, end, term, payload)]
        data = norm.encode("utf-8")
        raw = data.decode("latin-1")
        # Character count up to a byte offset = lead bytes before it: continuation bytes
        # (0x80-0xBF) become 0 and the rest 1, then bytes.count does the counting in C.
        leads = None if len(data) == len(norm) else data.translate(_LEAD_BYTES)
        # Hits come in order of their end; they are gathered per term first (one append per
        # hit), then spread to their kinds a term at a time (repeated terms are the bulk).
        ends_by_term: dict[str, list] = {}
        get = ends_by_term.get
        if leads is None:
            for end, value in self._auto.iter(raw):
                ends = get(value[1])
                if ends is None:
                    ends_by_term[value[1]] = [value, end + 1]
                else:
                    ends.append(end + 1)
        else:
            last_byte = last_char = 0
            count = leads.count
            for end, value in self._auto.iter(raw):
                end += 1
                if end > last_byte:  # characters up to this end, incrementally
                    last_char += count(1, last_byte, end)
                    last_byte = end
                ends = get(value[1])
                if ends is None:
                    ends_by_term[value[1]] = [value, last_char]
                else:
                    ends.append(last_char)
        for value, *ends in ends_by_term.values():
            n, term, groups = value
            for kind, plist in groups:
                bucket = hits[kind]
                for p in plist:
                    bucket += [(e - n, e, term, p) for e in ends]

        url = article.get("url") or ""
        host = (urlsplit(url).hostname or "").lower()
        # The 来源 line and the site's own name ("杭州日报 (hzdaily…)") both say whose news it is.
        source_raw = " ".join(str(article.get(k) or "") for k in ("source", "site")).strip()
        source = self._sources.get(source_raw)
        if source is None:  # site names repeat: normalise each once
            if len(self._sources) > 10_000:
                self._sources.clear()
            source = self._sources[source_raw] = normalize(source_raw)
        published = parse_published(article.get("published")) or infer_date(url)
        date_text = None
        if published is None:
            m = _TEXT_DATE.search(ntext[:300])
            date_text = _valid(*m.groups()) if m else None

        result = {"relevant": False, "score": 0.0, "projects": [], "targets": [], "progress": [], "evidence": []}
        best_score = 0.0
        for plan in self.catalog.plans:
            r = self._match_plan(
                plan,
                hits,
                norm,
                index,
                doc,
                title_end,
                host,
                source,
                published or date_text,
                published is None and date_text is None,
            )
            best_score = max(best_score, r["score"])
            if r["relevant"]:
                result["relevant"] = True
                result["projects"] += r["projects"]
                result["progress"] += r["progress"]
                result["evidence"] += r["evidence"]
        result["score"] = best_score
        result["targets"] = sorted({p["target"] for p in result["progress"]})
        return result

    # ------------------------------------------------------------ per plan
    def _match_plan(self, plan, hits, norm, index, doc, title_end, host, source, published, date_unknown) -> dict:
        m = plan.matching
        pid = plan.id
        title_w = float(m.get("title_weight", 2.0))
        out = {"relevant": False, "score": 0.0, "projects": [], "progress": [], "evidence": []}

        # --- topical evidence
        excludes = defaultdict(list)
        for s, e, _t, p in hits["exclude"]:
            if p[1] == pid:
                excludes[p[2]].append((s, e))
        for spans in excludes.values():
            spans.sort()
        per_item = defaultdict(list)
        for kind in ("alias", "broad", "weak"):
            for s, e, t, p in hits[kind]:
                if p[1] == pid:
                    per_item[p[2]].append((s, -e, t, kind))  # sorts by start, longest first
        owned = set()  # (start, end, item) of hits inside another item's longer term
        contains = self._contains
        if contains:
            for item_id, ihits in per_item.items():
                for s, _ne, t, _k in ihits:
                    inner = contains.get((t, item_id))
                    if inner:
                        owned.update((s + k, s + k + n, ia) for ia, k, n in inner)
        window = int(m.get("context_window", 80))
        weak_w = float(m.get("weak_weight", 0.5))
        cap = int(m.get("max_evidence_per_item", 5))
        enough = self._enough[pid]
        item_scores: dict[str, float] = {}
        item_evidence: dict[str, list] = {}
        broad_only: list[str] = []
        item_scores_broad: dict[str, float] = {}
        for item_id, ihits in per_item.items():
            ihits.sort()
            score, kept, last_end, any_alias, any_broad = 0.0, [], -1, False, False
            for s, e, t, kind in ihits:
                e = -e
                if e <= last_end:  # nested alias of the same item (数谷 in 中国数谷)
                    continue
                if owned and (s, e, item_id) in owned:
                    continue
                if item_id in excludes and _overlaps(excludes[item_id], s, e):
                    continue
                w = 1.0
                if kind == "weak":
                    ctx = self._context_re[item_id]
                    if not (ctx.search(norm, max(0, s - window), s) or ctx.search(norm, e, e + window)):
                        continue
                    w = weak_w
                any_alias = any_alias or kind == "alias"
                any_broad = any_broad or kind == "broad"
                score += w * (title_w if s < title_end else 1.0)
                kept.append((s, e, t))
                last_end = e
                if any_alias and score >= enough[item_id] and len(kept) >= cap:
                    break  # more hits change neither score nor evidence
            if not kept or not (any_alias or any_broad or not self._items[item_id].needs_alias):
                continue
            if not any_alias and any_broad:
                broad_only.append(item_id)
                item_scores_broad[item_id] = score
                item_evidence[item_id] = kept
            else:
                item_scores[item_id] = score
                item_evidence[item_id] = kept
        theme_hits = sorted((s, e, t) for s, e, t, p in hits["theme"] if p[1] == pid)
        theme_score = sum(plan.theme_weight * (title_w if s < title_end else 1.0) for s, _e, _t in theme_hits)
        items = self._items
        item_min = float(m.get("item_min", 1.0))
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

        # --- locality
        if topical <= 0:  # nothing about the plan: no need to place or date it
            return out
        loc_ok, share = self._locality(plan, hits, norm, title_end, host, source)
        # --- date
        date_ok = True
        if published is not None:
            date_ok = published >= plan.watch_from
        elif date_unknown:
            years = [int(y) for y in _YEAR.findall(norm)]
            date_ok = not years or max(years) >= plan.watch_from.year
        # An old text re-posted later (an archive of the 2019 work report): a title year two or
        # more years before the watch date says when it is from, unless the text names a year
        # of the watch period (a January review of last year is still news).
        title_years = [int(y) for y in _YEAR.findall(norm[:title_end])]
        if date_ok and title_years and max(title_years) <= plan.watch_from.year - 2:
            date_ok = max((int(y) for y in _YEAR.findall(norm[title_end:])), default=0) >= plan.watch_from.year
        # A review of a year before the plan ("2023年工作总结" published in January 2024) reports
        # that year's results; it is news about the plan only if it also speaks of the watch
        # period (a later year, or 今年 in it).
        elif date_ok and published is not None and title_years and min(title_years) < plan.watch_from.year:
            rx = plan.figures["_re"]
            title = norm[:title_end]
            if any(
                int(m.group("year")) < plan.watch_from.year
                for p in rx["review_markers"]
                if "year" in p.groupindex
                for m in p.finditer(title)
            ):
                body = norm[title_end:]
                date_ok = any(int(y) >= plan.watch_from.year for y in _YEAR.findall(body)) or any(
                    p.search(body) for p in rx["review_end_next_year"]
                )

        relevance_min = float(m.get("relevance_min", 2.0))
        strength = min(1.0, topical / (2 * relevance_min))
        out["score"] = round(strength * share * (1.0 if date_ok else 0.0), 3)
        if not (loc_ok and date_ok and topical >= relevance_min and (listed or theme_hits)):
            return out
        out["relevant"] = True
        order = {i.id: i.position for i in plan.items}
        listed.sort(key=lambda i: order[i])
        out["projects"] = listed

        # --- evidence
        snip = int(m.get("snippet_chars", 30))
        places: dict[str, tuple[list[int], list[int]] | None] = {}
        for item_id, spans in [(pid, theme_hits)] + [(i, item_evidence[i]) for i in listed]:
            for s, e, t in spans[:cap]:
                a = _verbatim(places, t, s, norm, doc)
                if a is None:
                    a, b = _anchored(places, norm, doc, s, e)
                    if a is None:
                        a, b = index[s], index[e - 1] + 1
                else:
                    b = a + len(t)
                out["evidence"].append(
                    {
                        "item": item_id,
                        "term": t,
                        "start": a,
                        "end": b,
                        "snippet": doc[max(0, a - snip) : b + snip].replace("\n", " ").strip(),
                    }
                )

        # --- progress
        fhits = [
            Hit(s, e, p[2] if p[0] == "indicator" else None, t)
            for kind in ("indicator", "decoy")
            for s, e, t, p in hits[kind]
            if p[1] == pid
        ]
        if any(h.target for h in fhits) and published is not None:
            for fig in extract_progress(norm, fhits, plan, published, self._mask_terms[pid]):
                s0, s1 = fig.pop("_span")
                if s1 < len(norm) and norm[s1] != "\n":
                    s1 += 1  # keep the sentence's own 。！？；
                a, b = _anchored(places, norm, doc, s0, s1)
                if a is None:
                    a, b = index[s0], index[max(s0, s1 - 1)] + 1
                fig["quote"] = doc[a:b].strip()
                out["progress"].append(fig)
        return out

    def _locality(self, plan, hits, norm, title_end, host, source) -> tuple[bool, float]:
        """Is this the plan city's news? Returns (ok, plan city's share of place mentions)."""
        lm = plan.matching.get("locality", {})
        title_bonus = float(lm.get("title_bonus", 2.0))
        pid = plan.id
        not_city = [(s, e) for s, e, _t, p in hits["notcity"] if p[1] == pid]
        spans = []
        for s, e, _t, p in hits["loc"]:
            if p[1] == pid:
                if not not_city or not any(s < ne and ns < e for ns, ne in not_city):
                    spans.append((s, -e, plan.city, p[2]))
            elif p[3] != plan.city:
                spans.append((s, -e, p[3], 1.0))  # another plan's city competes with this one
        for s, e, _t, p in hits["place"]:
            spans.append((s, -e, p[1], 1.0))
        spans.sort()  # by start, longest first
        scores: dict[str, float] = defaultdict(float)
        title_places = set()
        last_end = -1
        for s, e, city, w in spans:
            e = -e
            if e <= last_end:  # 杭州 inside 杭州市, 宁波 inside 宁波日报
                continue
            last_end = e
            if s < title_end:
                title_places.add(city)
                w *= title_bonus
            scores[city] += w
        key = (pid, host)
        if key not in self._host_city:
            host_city = None
            if host and any(_host_match(host, h) for h in plan.locality["hosts"]):
                host_city = plan.city
            elif host:
                for city, entry in self._place_hosts.items():
                    if city != plan.city and any(_host_match(host, h) for h in entry["hosts"]):
                        host_city = city
                        break
            if len(self._host_city) > 10_000:
                self._host_city.clear()
            self._host_city[key] = host_city
        host_city = self._host_city[key]
        if host_city:
            scores[host_city] += float(lm.get("host_bonus", 3.0))
            deixis = sum(norm.count(t) for t in plan.locality["deixis"])
            scores[host_city] += deixis * float(lm.get("deixis_weight", 0.25))
        if source:
            skey = (pid, source)
            if skey not in self._source_city:  # sites and 来源 names repeat: look up once
                source_city = None
                if any(s in source for s in plan.locality["sources"]) or plan.city in source:
                    source_city = plan.city
                else:
                    for city, entry in self._place_hosts.items():
                        if city != plan.city and any(s in source for s in entry["sources"] + entry["names"]):
                            source_city = city
                            break
                if len(self._source_city) > 10_000:
                    self._source_city.clear()
                self._source_city[skey] = source_city
            source_city = self._source_city[skey]
            if source_city:
                scores[source_city] += float(lm.get("source_bonus", 2.0))
        own = scores.pop(plan.city, 0.0)
        others = sum(scores.values())
        top_other = max(scores.values(), default=0.0)
        share = own / (own + others) if own + others else 0.0
        wide = len(hits["wide"])
        ok = (
            own >= float(lm.get("min_city", 1.0))
            and own >= top_other
            and share >= float(lm.get("min_share", 0.4))
            and wide < float(lm.get("province_ratio", 2.0)) * own
        )
        if title_places and plan.city not in title_places:
            ok = False  # the headline is about another city
        return ok, share
