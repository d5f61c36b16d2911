"""Extraction rules: scrapers/profiles.yaml loaded, compiled and cached.

In: the path of profiles.yaml (default: next to the package). Out: a `Config` (generic rules,
compiled regexes, error-page rules) holding one `Rules` per CMS profile, each with the order in
which every field's methods are tried (the profile's `fields:`, else the generic `fields:`);
and the profile chosen for a URL.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Iterable

import yaml
from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from scrapers.extract.model import ExtractionError

PROFILES_PATH = Path(__file__).parent.parent / "profiles.yaml"


def _compile_list(patterns: Iterable[str] | None) -> list[re.Pattern]:
    return [re.compile(p) for p in (patterns or [])]


def _sre() -> tuple | None:
    try:
        from re import _constants as sre_constants  # Python 3.11+
        from re import _parser as sre_parse
    except ImportError:  # pragma: no cover - then every pattern is simply searched, which is also right
        return None
    return sre_constants, sre_parse


def _anchored(pattern: str) -> bool:
    """True if every match of the regex starts at the string's start (it begins with a top-level ^)."""
    sre = _sre()
    if sre is None:
        return False
    c, parser = sre
    data = parser.parse(pattern).data
    return bool(data) and data[0] == (c.AT, c.AT_BEGINNING)


def _first_of(items: list, c: ModuleType) -> set[str] | None:
    """Characters the parsed regex items can start a match with; None if any or unknown."""
    if not items:
        return None
    op, av = items[0]
    if op is c.LITERAL:
        return {chr(av)}
    if op is c.IN:
        chars: set[str] = set()
        for iop, iav in av:
            if iop is c.LITERAL:
                chars.add(chr(iav))
            elif iop is c.RANGE and iav[1] - iav[0] < 256:
                chars.update(map(chr, range(iav[0], iav[1] + 1)))
            else:  # negation, categories (\s, \d), big ranges
                return None
        return chars
    if op is c.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            first = _first_of(alt.data, c)
            if first is None:
                return None
            out |= first
        return out
    if op is c.SUBPATTERN and not av[1] and not av[2]:
        return _first_of(av[3].data, c)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
        return _first_of(av[2].data, c)
    return None


def _first_chars(patterns: list[str]) -> re.Pattern | None:
    """A character class of every character a match of one of the regexes can start with, or None."""
    sre = _sre()
    if sre is None:
        return None
    c, parser = sre
    chars: set[str] = set()
    for p in patterns:
        parsed = parser.parse(p)
        first = None if parsed.state.flags & (c.SRE_FLAG_IGNORECASE | c.SRE_FLAG_VERBOSE) else _first_of(parsed.data, c)
        if first is None:
            return None
        chars |= first
    return re.compile("[" + "".join(map(re.escape, sorted(chars))) + "]") if chars else None


class AnyOf:
    """Whether any of a list of regexes finds a match in a text, in a few C-speed calls.

    One alternation of all of them is tried position by position through every branch; here the
    ^-anchored ones are tried at the start only, and the others only where one of the characters
    they can start with occurs (found by a character-class search).
    """

    __slots__ = ("head", "rest", "first")

    def __init__(self, patterns: Iterable[str]) -> None:
        pats = list(patterns)
        head = [p for p in pats if _anchored(p)]
        rest = [p for p in pats if not _anchored(p)]
        self.head = re.compile("|".join(f"(?:{p})" for p in head)) if head else None
        self.rest = re.compile("|".join(f"(?:{p})" for p in rest)) if rest else None
        self.first = _first_chars(rest) if rest else None

    def search(self, text: str) -> bool:
        """True if one of the regexes matches somewhere in text."""
        if self.head is not None and self.head.match(text):
            return True
        if self.rest is None:
            return False
        if self.first is None:
            return self.rest.search(text) is not None
        match = self.rest.match
        return any(match(text, m.start()) for m in self.first.finditer(text))


@functools.lru_cache(maxsize=256)
def css(selector: str) -> CSSSelector:
    """A compiled CSS selector (cached); a selector that does not parse is a broken profiles.yaml."""
    try:
        return CSSSelector(selector)
    except SelectorError as exc:
        raise ExtractionError(f"bad CSS selector {selector!r} in profiles.yaml: {exc}") from exc


@dataclass
class Rules:
    """A profile merged with compiled regexes."""

    name: str
    raw: dict
    url_patterns: list[re.Pattern]
    dateline: list[re.Pattern]
    trailer: list[re.Pattern]
    author_patterns: list[re.Pattern]
    noise_lines: list[re.Pattern]
    # field -> method names in the order they are tried (profile's own, else the generic order)
    fields: dict[str, list[str]]


@dataclass
class Config:
    profiles: dict[str, Rules]
    generic: dict
    g_date: list[re.Pattern]
    g_url_date: list[re.Pattern]
    g_source: list[re.Pattern]
    g_author: list[re.Pattern]
    g_publisher: list[re.Pattern]
    organisation: re.Pattern
    g_editor: list[re.Pattern]
    g_byline: list[re.Pattern]
    g_noise: list[re.Pattern]
    noise_re: AnyOf
    inline_noise: re.Pattern
    reject_ctx: re.Pattern
    prefer_ctx: re.Pattern
    site_hint: re.Pattern
    errors: dict
    article_min_chars: int


def _field_orders(own: dict | None, generic: dict[str, list[str]], where: str) -> dict[str, list[str]]:
    """The generic field orders with a profile's own `fields:` laid over them."""
    if own is not None and not isinstance(own, dict):
        raise ExtractionError(f"profiles.yaml {where}: fields must be a mapping of field -> method list")
    merged = {k: list(v) for k, v in generic.items()}
    for fld, order in (own or {}).items():
        if not isinstance(order, list) or not all(isinstance(m, str) for m in order):
            raise ExtractionError(f"profiles.yaml {where}: fields.{fld} must be a list of method names")
        merged[fld] = list(order)
    return merged


def _rules(name: str, raw: dict, generic_fields: dict[str, list[str]]) -> Rules:
    return Rules(
        name=name,
        raw=raw,
        url_patterns=_compile_list(raw.get("url_patterns")),
        dateline=_compile_list(raw.get("dateline")),
        trailer=_compile_list(raw.get("trailer")),
        author_patterns=_compile_list(raw.get("author_patterns")),
        noise_lines=_compile_list(raw.get("noise_lines")),
        fields=_field_orders(raw.get("fields"), generic_fields, f"profile {name}"),
    )


def _error_rules(data: dict) -> dict:
    errors = {}
    for reason, spec in (data.get("errors") or {}).items():
        if not isinstance(spec, dict):
            continue
        errors[reason] = {
            "title": _compile_list(spec.get("title")),
            "text": _compile_list(spec.get("text")),
            "max_text_chars": spec.get("max_text_chars", 1000),
            "min_body_chars": spec.get("min_body_chars"),
        }
    return errors


@functools.lru_cache(maxsize=4)
def load_config(path: str | None = None) -> Config:
    """Load and compile profiles.yaml (cached)."""
    p = Path(path) if path else PROFILES_PATH
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ExtractionError(f"cannot read extraction profiles {p}: {exc}") from exc
    g = data["generic"]
    generic_fields = _field_orders(g.get("fields"), {}, "generic")
    profiles = {name: _rules(name, raw, generic_fields) for name, raw in (data.get("profiles") or {}).items()}
    profiles["generic"] = Rules("generic", {}, [], [], [], [], [], generic_fields)
    return Config(
        profiles=profiles,
        generic=g,
        g_date=_compile_list(g["date_patterns"]),
        g_url_date=_compile_list(g["url_date_patterns"]),
        g_source=_compile_list(g["source_patterns"]),
        g_author=_compile_list(g["author_patterns"]),
        g_publisher=_compile_list(g["publisher_patterns"]),
        organisation=re.compile(g["organisation_pattern"]),
        g_editor=_compile_list(g["editor_patterns"]),
        g_byline=_compile_list(g["byline_patterns"]),
        g_noise=_compile_list(g["noise_lines"]),
        noise_re=AnyOf(g["noise_lines"]),
        inline_noise=re.compile("|".join(f"(?:{p})" for p in g["inline_noise"])),
        reject_ctx=re.compile(g["date_reject_context"]),
        prefer_ctx=re.compile(g["date_prefer_context"]),
        site_hint=re.compile(g["site_name_hint"]),
        errors=_error_rules(data),
        article_min_chars=int((data.get("errors") or {}).get("article_min_chars", 200)),
    )


def profile_names() -> list[str]:
    """Names of all profiles, generic last."""
    return list(load_config().profiles)


def profile_for_url(url: str | None) -> str:
    """Profile whose url_patterns match the URL, else "generic"."""
    if url:
        for name, rules in load_config().profiles.items():
            if any(p.search(url) for p in rules.url_patterns):
                return name
    return "generic"


def rules_for(name: str) -> Rules:
    """The profile called `name`; ExtractionError if there is none."""
    cfg = load_config()
    if name not in cfg.profiles:
        raise ExtractionError(f"unknown extraction profile {name!r} (known: {', '.join(cfg.profiles)})")
    return cfg.profiles[name]
