"""Locality: is an article the plan city's news?

Place names found in the text (the plan's own names and other cities' from places.yaml), the
site's host, the 来源 line or site name, and "this city" words on the city's own sites each give
a city points (`matching.locality` settings); the plan city must lead, hold enough of a share,
outweigh province- and nation-wide wording, and not lose the headline to another city.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.matching.catalog import Plan
    from monitor.matching.settings import LocalitySettings
    from monitor.matching.terms import Hits

_CACHE_MAX = 10_000  # hosts and sources repeat: each is looked up once (per plan) up to this many


def host_match(host: str, fragment: str) -> bool:
    if "." in fragment:
        return host == fragment or host.endswith("." + fragment)
    return fragment in host


class Locality:
    """Places articles; build once per catalog (it caches host and source lookups)."""

    def __init__(self, places: dict, plan_cities: set[str] | None = None):
        self._place_hosts: dict[str, dict] = dict(places["cities"])
        # The cities of the catalog's plans (None: not known, so always look for rival plans'
        # names): when every plan is about one city, no plan's names compete with another's.
        self._plan_cities = plan_cities
        self._host_city: dict[tuple[str, str], str | None] = {}
        self._source_city: dict[tuple[str, str], str | None] = {}

    def judge(self, plan: Plan, hits: Hits, norm: str, title_end: int, host: str, source: str) -> tuple[bool, float]:
        """Is this the plan city's news? Returns (ok, plan city's share of place mentions)."""
        settings = plan.matching.locality
        rivals = self._plan_cities is None or bool(self._plan_cities - {plan.city})
        scores, title_places = _mentions(plan, hits, title_end, settings.title_bonus, rivals)
        host_city = self._host_city_of(plan, host)
        if host_city:
            scores[host_city] += settings.host_bonus
            deixis = sum(norm.count(t) for t in plan.locality["deixis"])
            scores[host_city] += deixis * settings.deixis_weight
        if source:
            source_city = self._source_city_of(plan, source)
            if source_city:
                scores[source_city] += settings.source_bonus
        return _verdict(plan, scores, title_places, len(hits["wide"]), settings)

    def _host_city_of(self, plan: Plan, host: str) -> str | None:
        key = (plan.id, host)
        if key not in self._host_city:
            host_city = None
            if host and any(host_match(host, h) for h in plan.locality["hosts"]):
                host_city = plan.city
            elif host:
                for city, entry in self._place_hosts.items():
                    if city != plan.city and any(host_match(host, h) for h in entry["hosts"]):
                        host_city = city
                        break
            if len(self._host_city) > _CACHE_MAX:
                self._host_city.clear()
            self._host_city[key] = host_city
        return self._host_city[key]

    def _source_city_of(self, plan: Plan, source: str) -> str | None:
        key = (plan.id, source)
        if key not in self._source_city:  # sites and 来源 names repeat: look up once
            source_city = None
            if any(s in source for s in plan.locality["sources"]) or plan.city in source:
                source_city = plan.city
            else:
                for city, entry in self._place_hosts.items():
                    if city != plan.city and any(s in source for s in entry["sources"] + entry["names"]):
                        source_city = city
                        break
            if len(self._source_city) > _CACHE_MAX:
                self._source_city.clear()
            self._source_city[key] = source_city
        return self._source_city[key]


def _mentions(
    plan: Plan, hits: Hits, title_end: int, title_bonus: float, rivals: bool = True
) -> tuple[dict[str, float], set[str]]:
    """Each city's score from the place names in the text, and the cities the title names."""
    pid, city = plan.id, plan.city
    loc = hits["loc"]
    # One list comprehension per source (an article holds dozens of 杭州): the sort below orders
    # them by the whole tuple, so the order they are gathered in does not matter.
    spans = [(s, -e, city, p.weight) for s, e, _t, p in loc if p.plan == pid]
    not_city = [(s, e) for s, e, _t, p in hits["notcity"] if p.plan == pid]
    if not_city:
        spans = [span for span in spans if not any(span[0] < ne and ns < -span[1] for ns, ne in not_city)]
    if rivals:  # another plan's city competes with this one
        spans += [(s, -e, p.city, 1.0) for s, e, _t, p in loc if p.plan != pid and p.city != city]
    spans += [(s, -e, p.city, 1.0) for s, e, _t, p in hits["place"]]
    spans.sort()  # by start, longest first
    scores: dict[str, float] = defaultdict(float)
    title_places = set()
    last_end = -1
    for s, e, where, w in spans:
        e = -e
        if e <= last_end:  # 杭州 inside 杭州市, 宁波 inside 宁波日报
            continue
        last_end = e
        if s < title_end:
            title_places.add(where)
            w *= title_bonus
        scores[where] += w
    return scores, title_places


def _verdict(
    plan: Plan, scores: dict[str, float], title_places: set[str], wide: int, settings: LocalitySettings
) -> tuple[bool, float]:
    own = scores.pop(plan.city, 0.0)
    others = sum(scores.values())
    top_other = max(scores.values(), default=0.0)
    share = own / (own + others) if own + others else 0.0
    ok = (
        own >= settings.min_city
        and own >= top_other
        and share >= settings.min_share
        and wide < settings.province_ratio * own
    )
    if title_places and plan.city not in title_places:
        ok = False  # the headline is about another city
    return ok, share
