"""The one text normaliser of hzwatch, in two strengths, over one OpenCC converter.

`fold` is the stored and searched form (`articles.body_norm`, content hashes, simhashes, the
search index and the user's query): NFKC, Traditional to Simplified, whitespace collapsed,
punctuation kept. `normalize` is the matcher's form: Simplified characters, half-width forms, no
quote marks, no encoding noise, no layout blanks inside Chinese text; `normalize_map` also says
where each normalised character came from, so evidence and quotes can point back into the original.

The matcher's steps are plain regex substitutions run in C (`normalize`); the position map replays
the same substitutions in Python, and only when someone asks for a position.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from bisect import bisect_right

import opencc

from db import diskcache

_T2S = opencc.OpenCC("t2s")

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_CJK_OR_PUNCT = _CJK + "\u3000-\u303f\uff00-\uffef\u2018-\u201f"


def _fullwidth(m: re.Match) -> str:
    return chr(ord(m.group()) - 0xFEE0)


_CJK_OR_PUNCT_RE = re.compile(f"[{_CJK_OR_PUNCT}]")


def _blank(m: re.Match) -> str:
    """A whitespace run: a newline if it holds one, nothing inside Chinese text, else one space."""
    text, start, end = m.string, m.start(), m.end()
    if (
        start == 0
        or end == len(text)
        or text[start - 1] == "\n"
        or text[end] == "\n"
        or _CJK_OR_PUNCT_RE.match(text, start - 1)
        or _CJK_OR_PUNCT_RE.match(text, end)
    ):
        return ""  # layout blanks in Chinese: 深化改革 强基固本 -> 深化改革强基固本
    return " "


# Each step starts with a literal or a character class so the regex engine scans fast.
_COMMON_FULLWIDTH = "，：；（）！？％"


def _fullwidth_all(text: str) -> str:
    """Full-width ASCII forms to ASCII: the common ones by str.replace, the rest by regex."""
    if not _FULLWIDTH_RE.search(text):  # one scan (most texts): none of the eight str.replace scans
        return text
    for c in _COMMON_FULLWIDTH:
        if c in text:
            text = text.replace(c, chr(ord(c) - 0xFEE0))
    return _FULLWIDTH_RE.sub(_fullwidth, text)


_FULLWIDTH_RE = re.compile("[\uff01-\uff5e]")

_STEPS: list[tuple[re.Pattern, object]] = [
    # Full-width ASCII forms (！..～) to ASCII, one character for one.
    (_FULLWIDTH_RE, _fullwidth),
    (re.compile(r"&(?:nbsp|#160);"), " "),
    # Mirror sites' pinyin annotations: 監(jiān)督 -> 監督.
    (re.compile(rf"\((?<=[{_CJK}]\()[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹ]{{1,6}}\)"), ""),
    # Quote marks (aliases are written without: "141"体系 -> 141体系), zero-width, U+FFFD.
    (re.compile("[“”‘’\"'「」『』〝〞\u200b-\u200f\u2060\ufeff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f]"), ""),
    # Line breaks with blank lines or indentation after them become one newline (a sentence
    # boundary); other blank runs are dropped in Chinese text and kept as one space elsewhere.
    (re.compile(r"\r\n?"), "\n"),
    (re.compile(r"\n\s+"), "\n"),
    # Whitespace other than \n (control characters and \r are gone by now), spelled out:
    # a positive set scans much faster than [^\S\n].
    (re.compile("[\t \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"), _blank),
]


# A character every match of the step (after the first) contains: no such character, no work.
_TRIGGERS = ["&", "(", None, "\r", "\n", None]

# Steps whose every match is one character replaced by nothing (a fast path in `_tracked`).
_ONE_CHAR_DELETIONS = {_STEPS[3][0]}


class Offsets:
    """Maps positions in normalised text back to the original: offsets[i] for i in 0..len(norm).

    Built on first use by replaying the steps and keeping, per step, the breakpoints where
    positions shift (a deletion or replacement); a lookup walks the steps back with bisect.
    """

    __slots__ = ("_text", "_steps", "_len")

    def __init__(self, text: str):
        self._text = text
        self._steps: list[tuple[list[int], list[int]]] | None = None
        self._len = 0

    def _build(self) -> list:
        if self._steps is None:
            norm, self._steps = _tracked(self._text, simplify=False)
            self._len = len(norm) + 1
        return self._steps

    def __len__(self) -> int:
        self._build()
        return self._len

    def __getitem__(self, i: int) -> int:
        steps = self._build()
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        for new, old in reversed(steps):
            k = bisect_right(new, i) - 1
            i = old[k] + (i - new[k])
        return i


# The code points whose t2s conversion is checked, one character at a time.
_CJK_BLOCKS = ((0x3400, 0xA000), (0xF900, 0xFB00))


def _changed_by_t2s() -> re.Pattern:
    """A character class of every CJK character t2s changes (found with one conversion of 28k
    characters, about 15 ms; kept in the disk cache per OpenCC version, so start-up reads it)."""
    key = f"t2s-changed 1 opencc {getattr(opencc, '__version__', '?')} {_CJK_BLOCKS}"
    changed = diskcache.read("t2s_changed.txt", key)
    if changed is None:
        chars = [chr(c) for lo, hi in _CJK_BLOCKS for c in range(lo, hi)]
        converted = _T2S.convert("\n".join(chars)).split("\n")
        if len(converted) != len(chars):  # cannot tell: always convert
            return re.compile(".", re.S)
        changed = "".join(c for c, d in zip(chars, converted, strict=True) if c != d)
        diskcache.write("t2s_changed.txt", key, changed)
    return re.compile("[" + re.escape(changed) + "]") if changed else re.compile("(?!x)x")


# Text with none of these is already Simplified: t2s would return it unchanged.
_TRADITIONAL = _changed_by_t2s()


def holds_traditional(text: str) -> bool:
    """Does `text` hold a character that t2s changes (so that normalising it runs OpenCC)?"""
    return _TRADITIONAL.search(text) is not None


def _t2s(text: str) -> str:
    if not _TRADITIONAL.search(text):
        return text
    simplified = _T2S.convert(text)
    if len(simplified) != len(text):
        # A phrase conversion changed the length: convert char by char to keep positions.
        simplified = "".join(c2 if len(c2 := _T2S.convert(c)) == 1 else c for c in text)
    return simplified


def _tracked(text: str, simplify: bool = True) -> tuple[str, list[tuple[list[int], list[int]]]]:
    """The normalised text and, per length-changing step, its (new, old) position breakpoints.

    t2s maps one character to one, so positions do not need it (simplify=False skips it).
    """
    steps = []
    text = _fullwidth_all(text)  # one for one: positions do not move
    for pattern, repl in _STEPS[1:]:
        if pattern in _ONE_CHAR_DELETIONS:
            # Each match deletes one character: the breakpoints follow from the positions alone.
            gone = [m.start() for m in pattern.finditer(text)]
            if gone:
                steps.append(([0] + [z - j for j, z in enumerate(gone)], [0] + [z + 1 for z in gone]))
                text = pattern.sub("", text)
            continue
        new, old = [0], [0]
        parts, pos, out = [], 0, 0
        for m in pattern.finditer(text):
            start, end = m.span()
            rep = repl(m) if callable(repl) else repl
            parts.append(text[pos:start])
            parts.append(rep)
            out += start - pos
            if len(rep) == end - start:  # same length ("\n" for "\n"): nothing shifts
                out += len(rep)
                pos = end
                continue
            new.append(out)
            old.append(start)
            out += len(rep)
            new.append(out)
            old.append(end)
            pos = end
        parts.append(text[pos:])
        text = "".join(parts)
        if len(new) > 1:  # a step that moved nothing needs no lookup
            steps.append((new, old))
    return (_t2s(text) if simplify else text), steps


# The characters the steps act on, full-width forms included: one pass of a charmap encoding (in
# C, dropping every other character) lists those a text holds, so only their steps run, and a
# step scans for a literal where it can (a character-class scan costs about 50 instructions a
# character). ASCII characters are encoded as themselves, the others as the bytes left.
_WS = "\t \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_DELETED = "“”‘’\"'「」『』〝〞\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\ufffd" + "".join(
    map(chr, [*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20)])
)
_FULLWIDTH = "".join(map(chr, range(0xFF01, 0xFF5F)))
_OTHERS = "&(\r"


def _special_table() -> tuple[str, dict[int, str]]:
    """The charmap decoding table (byte -> character, U+FFFE unused) and its byte of each special."""
    table = ["\ufffe"] * 256
    specials = _WS + _DELETED + _FULLWIDTH + _OTHERS
    for c in specials:
        if c < "\x80":
            table[ord(c)] = c
    free = iter([i for i in range(1, 256) if table[i] == "\ufffe"])
    for c in specials:
        if c >= "\x80":
            table[next(free)] = c
    return "".join(table), {i: c for i, c in enumerate(table) if c != "\ufffe"}


_SPECIAL_TABLE, _SPECIAL_BYTE = _special_table()
_SPECIAL_MAP = codecs.charmap_build(_SPECIAL_TABLE)
_WS_SET, _DELETED_SET, _FULLWIDTH_SET = frozenset(_WS), frozenset(_DELETED), frozenset(_FULLWIDTH)


def _specials(text: str) -> set[str]:
    """The characters of `text` that some step acts on."""
    byte = _SPECIAL_BYTE
    return {byte[b] for b in set(codecs.charmap_encode(text, "ignore", _SPECIAL_MAP)[0])}


_BLANK_RES: dict[frozenset, tuple[re.Pattern, re.Pattern]] = {}


def _blank_res(chars: frozenset) -> tuple[re.Pattern, re.Pattern]:
    """The whitespace step (`_blank`) as two C substitutions over runs of `chars`: the runs it
    drops (at either end, beside a newline or Chinese text), then the rest as one space."""
    res = _BLANK_RES.get(chars)
    if res is None:
        one = re.escape(next(iter(chars))) if len(chars) == 1 else "[" + re.escape("".join(sorted(chars))) + "]"
        # A run's neighbours are never blanks: \u3000 (a blank and CJK punctuation) is left out, so
        # that neither test holds inside a run.
        near = f"[{_CJK_OR_PUNCT.replace(chr(0x3000), chr(0x3001))}\n]"
        res = _BLANK_RES[chars] = (
            re.compile(f"{one}(?:(?:(?<={near}.)|(?<=\\A.)){one}*|{one}*(?={near}|\\Z))"),
            re.compile(f"{one}{one}*"),
        )
    return res


def normalize(text: str | None) -> str:
    """Normalised form of `text` for matching (Simplified, half-width, no quotes or noise)."""
    if not text:
        return _t2s("")
    found = _specials(text)
    if found & _FULLWIDTH_SET:
        text = _fullwidth_all(text)
        found = {chr(ord(c) - 0xFEE0) if c in _FULLWIDTH_SET else c for c in found}
    if "&" in found and "&" in text:
        text = _STEPS[1][0].sub(" ", text)
        found.add(" ")
    if "(" in found:
        text = _STEPS[2][0].sub("", text)
    for c in found & _DELETED_SET:
        text = text.replace(c, "")
    if "\r" in found:
        text = _STEPS[4][0].sub("\n", text)
    blanks = found & _WS_SET
    if "\n" in text and (blanks or "\n\n" in text):
        text = _STEPS[5][0].sub("\n", text)
    if blanks:
        drop, space = _blank_res(frozenset(blanks))
        text = space.sub(" ", drop.sub("", text))
    return _t2s(text)


def normalize_map(text: str) -> tuple[str, Offsets]:
    """Normalise `text`; return it with an index from each output position (and the end) to the input."""
    return normalize(text), Offsets(text or "")


_LINE_BREAK = re.compile(r"\s*\n\s*")
_BLANKS = re.compile(r"[ \t\u3000\xa0]+")


def fold(text: str | None) -> str:
    """NFKC, Simplified Chinese, whitespace collapsed: the stored and searched form of a text."""
    if not text:
        return ""
    text = _T2S.convert(unicodedata.normalize("NFKC", text))
    return _BLANKS.sub(" ", _LINE_BREAK.sub("\n", text)).strip()
