"""Text normalisation for matching: Simplified characters, half-width forms, no quote marks,
no encoding noise. The original text is kept for display; `normalize_map` also says where each
normalised character came from, so evidence and quotes can point back into the original.

The steps are plain regex substitutions run in C (`normalize`); the position map replays the
same substitutions in Python, and only when someone asks for a position.
"""
from __future__ import annotations

import re

import opencc

_T2S = opencc.OpenCC("t2s")

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_CJK_OR_PUNCT = _CJK + "\u3000-\u303f\uff00-\uffef\u2018-\u201f"


def _fullwidth(m: re.Match) -> str:
    return chr(ord(m.group()) - 0xFEE0)


_STEPS: list[tuple[re.Pattern, object]] = [
    # Full-width ASCII forms (！..～) to ASCII, one character for one.
    (re.compile("[\uff01-\uff5e]"), _fullwidth),
    (re.compile(r"&nbsp;|&#160;"), " "),
    # Mirror sites' pinyin annotations (監(jiān)督), quote marks (aliases are written without:
    # "141"体系 -> 141体系), zero-width characters and U+FFFD.
    (re.compile(rf"(?<=[{_CJK}])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹ]{{1,6}}\)"
                r"|[“”‘’\"'「」『』〝〞]"
                r"|[\u200b-\u200f\u2060\ufeff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f]"), ""),
    # Line breaks (with the blanks around them) become one newline: a sentence boundary.
    (re.compile(r"[^\S\n\r]*[\n\r]\s*"), "\n"),
    # Blanks inside Chinese text are layout, not word breaks: 深化改革 强基固本 -> 深化改革强基固本.
    (re.compile(rf"(?<=[{_CJK_OR_PUNCT}])[^\S\n]+|[^\S\n]+(?=[{_CJK_OR_PUNCT}])|^[^\S\n]+|[^\S\n]+$"), ""),
    (re.compile(r"[^\S\n]+"), " "),
]


class Offsets:
    """Maps positions in normalised text back to the original: offsets[i] for i in 0..len(norm)."""

    __slots__ = ("_text", "_map")

    def __init__(self, text: str):
        self._text = text
        self._map: list[int] | None = None

    def _build(self) -> list[int]:
        if self._map is None:
            self._map = _tracked(self._text)[1]
        return self._map

    def __len__(self) -> int:
        return len(self._build())

    def __getitem__(self, i: int) -> int:
        return self._build()[i]


def _t2s(text: str) -> str:
    simplified = _T2S.convert(text)
    if len(simplified) != len(text):
        # A phrase conversion changed the length: convert char by char to keep positions.
        simplified = "".join(c2 if len(c2 := _T2S.convert(c)) == 1 else c for c in text)
    return simplified


def _tracked(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its positions plus the end, the original position."""
    offs = list(range(len(text) + 1))
    for pattern, repl in _STEPS:
        parts, new_offs, pos = [], [], 0
        for m in pattern.finditer(text):
            start, end = m.span()
            parts.append(text[pos:start])
            new_offs.extend(offs[pos:start])
            rep = repl(m) if callable(repl) else repl
            parts.append(rep)
            if len(rep) == end - start:
                new_offs.extend(offs[start:end])
            else:
                new_offs.extend([offs[start]] * len(rep))
            pos = end
        parts.append(text[pos:])
        new_offs.extend(offs[pos:])           # includes the end sentinel
        text, offs = "".join(parts), new_offs
    return _t2s(text), offs


def normalize(text: str | None) -> str:
    """Normalised form of `text` for matching (Simplified, half-width, no quotes or noise)."""
    text = text or ""
    for pattern, repl in _STEPS:
        text = pattern.sub(repl, text)
    return _t2s(text)


def normalize_map(text: str) -> tuple[str, Offsets]:
    """Normalise `text`; return it with an index from each output position (and the end) to the input."""
    return normalize(text), Offsets(text or "")
