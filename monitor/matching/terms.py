"""The term index: every alias, context word, place name and indicator of the catalog in one
Aho-Corasick automaton, so that one pass over a normalised text finds them all.

`TermIndex(catalog).scan(norm)` gives the hits by kind: {kind: [(start, end, term, payload)]}.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ahocorasick_rs import AhoCorasick, Implementation, MatchKind

if TYPE_CHECKING:
    from monitor.matching.catalog import Catalog, Plan

KINDS = ("place", "wide", "theme", "loc", "notcity", "alias", "broad", "weak", "exclude", "indicator", "decoy")


class Payload:
    """What one term stands for: its kind and, by kind, the plan, item or target, weight and
    city it belongs to. (A plain slots class: no generated code to compile at start-up, and
    Python 3.11 reads its fields faster than a NamedTuple's.)"""

    __slots__ = ("kind", "plan", "ref", "weight", "city")

    def __init__(
        self,
        kind: str,  # one of KINDS
        plan: str | None = None,  # plan id (None for place and wide)
        ref: str | None = None,  # item id (alias, broad, weak, exclude) or target id (indicator, decoy)
        weight: float = 1.0,  # a locality name's weight (loc)
        city: str | None = None,  # the city a place or locality name means
    ):
        self.kind, self.plan, self.ref, self.weight, self.city = kind, plan, ref, weight, city

    def __repr__(self) -> str:
        return f"Payload({self.kind!r}, {self.plan!r}, {self.ref!r}, {self.weight!r}, {self.city!r})"


# One hit: (start, end, term, payload), offsets in the normalised title + "\n" + text. Plain
# tuples (building a NamedTuple per hit costs measurably in the scan); read by unpacking.
Hit = tuple[int, int, str, Payload]
Hits = dict[str, list[Hit]]


def _place_payloads(catalog: Catalog, payloads: dict[str, list[Payload]]) -> None:
    """Other cities' names and 来源 names, and province- and nation-wide words."""
    places = catalog.places
    plan_cities = {p.city for p in catalog.plans}
    for city, entry in places["cities"].items():
        if city in plan_cities:
            continue  # counted through that plan's own "loc" names
        for name in entry["names"]:
            payloads[name].append(Payload("place", city=city))
        for src in entry["sources"]:
            payloads[src].append(Payload("place", city=city))
    for term in places["province_terms"] + places["national_terms"]:
        payloads[term].append(Payload("wide"))


def _plan_payloads(plan: Plan, payloads: dict[str, list[Payload]]) -> None:
    """A plan's theme words, locality names, item terms and target indicators."""
    pid = plan.id
    for term in plan.theme:
        payloads[term].append(Payload("theme", pid))
    for term, weight in plan.locality["names"].items():
        payloads[term].append(Payload("loc", pid, weight=weight, city=plan.city))
    for term in plan.locality["not_city"]:
        payloads[term].append(Payload("notcity", pid))
    for item in plan.items:
        for kind, terms, weight in (("alias", item.aliases, 1.0), ("broad", item.broad, 1.0), ("weak", item.weak, 0.0)):
            for term in terms:
                payloads[term].append(Payload(kind, pid, item.id, weight))
        for term in item.exclude:
            payloads[term].append(Payload("exclude", pid, item.id))
    for target in plan.targets:
        for term in target.indicator:
            payloads[term].append(Payload("indicator", pid, target.id))
        for term in target.decoys:
            payloads[term].append(Payload("decoy", pid, target.id))


class TermIndex:
    """Every term of the catalog in one automaton; `scan` finds all of them in one pass."""

    def __init__(self, catalog: Catalog):
        payloads: dict[str, list[Payload]] = defaultdict(list)
        _place_payloads(catalog, payloads)
        for plan in catalog.plans:
            _plan_payloads(plan, payloads)
        # Per term (by its index in the automaton): (length, term, ((kind, payloads), ...)).
        self._values: list[tuple[int, str, tuple]] = []
        for term, plist in payloads.items():
            groups = defaultdict(list)
            for p in plist:
                groups[p.kind].append(p)
            self._values.append((len(term), term, tuple((k, tuple(v)) for k, v in groups.items())))
        # A DFA (ahocorasick_rs, Rust) hands back every overlapping match of a text in one call,
        # as character offsets: no Python work per step and no byte-to-character counting.
        self._auto = AhoCorasick(
            [v[1] for v in self._values], matchkind=MatchKind.Standard, implementation=Implementation.DFA
        )

    def scan(self, norm: str) -> Hits:
        """Every term occurrence in `norm`, by kind: {kind: [(start, end, term, payload)]}."""
        hits: Hits = {kind: [] for kind in KINDS}
        # Matches come in order of their end; they are gathered per term first (one append per
        # match), then spread to their kinds a term at a time (repeated terms are the bulk).
        ends_by_term: dict[int, list[int]] = {}
        get = ends_by_term.get
        for index, _start, end in self._auto.find_matches_as_indexes(norm, overlapping=True):
            ends = get(index)
            if ends is None:
                ends_by_term[index] = [end]
            else:
                ends.append(end)
        values = self._values
        for index, ends in ends_by_term.items():
            n, term, groups = values[index]
            for kind, plist in groups:
                bucket = hits[kind]
                for p in plist:
                    bucket += [(e - n, e, term, p) for e in ends]
        return hits
