"""Text positions: from the normalised text the matcher reads back to the original it quotes.

Evidence and quotes index the original `title + "\\n" + text`; the matcher finds them in the
normalised form. `verbatim` and `anchored` place a term or a quote from a few characters found
verbatim (most are); `DocIndex` is the full position map for the rest.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


class DocIndex:
    """Position in normalised title + "\\n" + text -> position in the original title + "\\n" + text."""

    __slots__ = ("tmap", "xmap", "ntitle", "title")

    def __init__(self, tmap: Sequence[int], xmap: Sequence[int], ntitle: int, title: int):
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


def verbatim(cache: dict, term: str, s: int, norm: str, doc: str) -> int | None:
    """Where the hit at norm[s] sits in `doc` when the term appears there verbatim.

    If the original holds the term exactly as often as the normalised text, the i-th
    occurrences correspond; this spares building the full position map. None otherwise
    (Traditional text, quotes or full-width forms inside the term).
    """
    pair = cache.get(term, 0)
    if pair == 0:
        # A border (a proper prefix that is also a suffix) lets occurrences overlap; it needs the
        # first character again later on (checked first: most terms fail that test at C speed).
        if term[:1] in term[1:] and any(term[:i] == term[-i:] for i in range(1, len(term))):
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


def overlaps(spans: list[tuple[int, int]], s: int, e: int) -> bool:
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
LEAD_BYTES = bytes(0 if 0x80 <= i <= 0xBF else 1 for i in range(256))


def anchored(cache: dict, norm: str, doc: str, s0: int, s1: int) -> tuple[int | None, int | None]:
    """Where norm[s0:s1] sits in `doc`, from a few characters at each end found verbatim.

    Sparing the position map for most quotes; (None, None) when either end is not verbatim
    (a full-width comma, a quote mark or Traditional characters there).
    """
    if s1 - s0 < 2:
        return None, None
    for k in (4, 2):
        k = min(k, (s1 - s0) // 2)
        a = verbatim(cache, norm[s0 : s0 + k], s0, norm, doc)
        b = verbatim(cache, norm[s1 - k : s1], s1 - k, norm, doc) if a is not None else None
        if a is not None and b is not None and a < b + k:
            return a, b + k
    return None, None


def place_term(cache: dict, norm: str, doc: str, index: DocIndex, s: int, e: int, term: str) -> tuple[int, int]:
    """[start, end) in `doc` of the hit of `term` at norm[s:e]."""
    a = verbatim(cache, term, s, norm, doc)
    if a is not None:
        return a, a + len(term)
    a, b = anchored(cache, norm, doc, s, e)
    if a is None:
        return index[s], index[e - 1] + 1
    return a, b


def place_quote(cache: dict, norm: str, doc: str, index: DocIndex, s0: int, s1: int) -> tuple[int, int]:
    """[start, end) in `doc` of the sentence norm[s0:s1]."""
    a, b = anchored(cache, norm, doc, s0, s1)
    if a is None:
        return index[s0], index[max(s0, s1 - 1)] + 1
    return a, b
