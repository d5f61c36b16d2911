"""Text normalisation for matching: Simplified characters, half-width forms, no quote marks,
no encoding noise. The original text is kept for display; `normalize_map` says where each
normalised character came from so evidence and quotes can point back into the original.
"""
from __future__ import annotations

import re

import opencc

_T2S = opencc.OpenCC("t2s")

# Full-width ASCII (！..～) to ASCII, ideographic space to space: one character for one.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_SPECIAL = re.compile(
    # Mirror sites' pinyin annotations, e.g. 監(jiān)督 -> 監督.
    rf"(?P<pinyin>(?<=[{_CJK}])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹ]{{1,6}}\))"
    # Quote marks: reports quote names ("141"体系, “一网通办”), aliases are written without.
    r"|(?P<quote>[“”‘’\"'「」『』〝〞＂])"
    r"|(?P<junk>[\u200b-\u200f\u2060\ufeff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f]|&nbsp;|&#160;)"
    r"|(?P<space>\s+)"
)
_CJK_CHAR = re.compile(rf"[{_CJK}\u3000-\u303f\uff00-\uffef]")


def _space_replacement(text: str, start: int, end: int, run: str) -> str:
    if "\n" in run or "\r" in run:
        return "\n"
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    # Spaces inside Chinese text are layout, not word breaks: 深化改革 强基固本 -> 深化改革强基固本.
    if not before or not after or _CJK_CHAR.match(before) or _CJK_CHAR.match(after):
        return ""
    return " "


def normalize_map(text: str) -> tuple[str, list[int]]:
    """Normalise `text`; return it with a list mapping each output index (and the end) to the input."""
    if not text:
        return "", [0]
    wide = text.translate(_FULLWIDTH)
    parts: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _SPECIAL.finditer(wide):
        start, end = m.span()
        if start > pos:
            parts.append(wide[pos:start])
            index.extend(range(pos, start))
        if m.lastgroup == "space":
            rep = _space_replacement(wide, start, end, m.group())
        elif m.group() in ("&nbsp;", "&#160;"):
            rep = " "
        else:
            rep = ""
        if rep:
            parts.append(rep)
            index.append(start)
        pos = end
    if pos < len(wide):
        parts.append(wide[pos:])
        index.extend(range(pos, len(wide)))
    plain = "".join(parts)
    simplified = _T2S.convert(plain)
    if len(simplified) != len(plain):
        # A phrase conversion changed the length: convert char by char to keep the map.
        simplified = "".join(c2 if len(c2 := _T2S.convert(c)) == 1 else c for c in plain)
    index.append(len(text))
    return simplified, index


def normalize(text: str | None) -> str:
    """Normalised form of `text` for matching (Simplified, half-width, no quotes or noise)."""
    return normalize_map(text or "")[0]
