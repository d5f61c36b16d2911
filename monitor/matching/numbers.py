"""Numbers: parse Chinese and Arabic quantities with their units.

`parse_numbers(text)` finds quantities with their units (六千套, 1.2万套, 百分之九十, 35万名以上,
超3000套, 3000-4000套); `cn_to_number` reads a Chinese numeral; `unit_scale` splits a target
unit such as 万名 into its multiplier and base unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_MULTIPLIER = {"千": 1_000, "万": 10_000, "亿": 100_000_000}

_AR = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CN = r"[零〇一二两三四五六七八九十百千万亿点]+"
# Units, longest first, including ones no target uses (人次, 岁) so they are not misread as 人.
_UNITS = [
    "万平方米",
    "平方米",
    "个百分点",
    "百分点",
    "万人次",
    "人次",
    "套(间)",
    "周岁",
    "万套",
    "万名",
    "万人",
    "万户",
    "万个",
    "万元",
    "亿元",
    "元",
    "套",
    "间",
    "名",
    "人",
    "位",
    "户",
    "个",
    "岁",
    "所",
    "家",
    "项",
    "场",
    "台",
    "%",
    "成",
]
_NUMBER = re.compile(
    r"(?P<pre>超过|超|逾|近|约|不少于|不低于)?"
    rf"(?:百分之(?P<pct>{_AR}|{_CN})|(?P<a>{_AR})(?P<amul>[千万亿](?![元平]))?|(?P<c>{_CN}))"
    rf"(?:(?:-|—|–|~|～|至|到)(?P<b>{_AR}|{_CN})(?P<bmul>[千万亿](?![元平]))?)?"
    r"(?P<suf>多|余)?"
    r"(?P<unit>" + "|".join(re.escape(u) for u in _UNITS) + r")?"
    r"(?P<suf2>以上|多)?"
)
_HAS_CN_DIGIT = re.compile(r"[零〇一二两三四五六七八九]")


@dataclass
class Number:
    value: float  # lower bound, in the unit's base (万/亿 applied): 1.2万套 -> 12000 套
    unit: str  # '%', '套', '名', … ('' when none)
    start: int
    end: int
    qualifier: str = ""  # '>=' (超/以上/多), '~' (约/近), 'range'
    upper: float | None = None
    scaled: bool = False  # written with 万/亿 (35.2万): a count even without a unit word


def cn_to_number(s: str) -> float | None:
    """Chinese numeral to a number: 六千 -> 6000, 三十五万 -> 350000, 九十二点三 -> 92.3."""
    if not s:
        return None
    if "点" in s and s[-1] in _CN_BIG:  # 三十五点六万
        head = cn_to_number(s[:-1])
        return head * _CN_BIG[s[-1]] if head is not None else None
    if "点" in s:
        whole, _, frac = s.partition("点")
        if not frac or any(c not in _CN_DIGITS for c in frac):
            return None
        head = cn_to_number(whole) if whole else 0
        if head is None:
            return None
        return float(f"{int(head)}.{''.join(str(_CN_DIGITS[c]) for c in frac)}")
    if all(c in _CN_DIGITS for c in s):  # 二〇二四 style
        return float("".join(str(_CN_DIGITS[c]) for c in s)) if len(s) > 1 else float(_CN_DIGITS[s])
    total, section, digit = 0, 0, None
    for c in s:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[c]
            digit = None
        elif c in _CN_BIG:
            section += digit or 0
            if section == 0:
                return None
            total = (total + section) * _CN_BIG[c] if c == "亿" else total + section * _CN_BIG[c]
            section, digit = 0, None
        else:
            return None
    return float(total + section + (digit or 0))


def _value(text: str | None, mul: str | None) -> float | None:
    if not text:
        return None
    if text[0].isdigit():
        v = float(text.replace(",", ""))
    else:
        v = cn_to_number(text)
        if v is None:
            return None
    return v * _MULTIPLIER[mul] if mul else v


_ANY_DIGIT = re.compile(r"[\d零〇一二两三四五六七八九十百千万亿]")


def parse_numbers(text: str) -> list[Number]:
    """Every quantity in `text` with its unit; bare Chinese numerals without a unit are words (一网通办)."""
    out = []
    if not _ANY_DIGIT.search(text):
        return out
    for m in _NUMBER.finditer(text):
        g = m.groupdict()
        unit = g["unit"] or ""
        if g["pct"] is not None:
            value, unit = _value(g["pct"], None), "%"
        elif g["a"] is not None:
            value = _value(g["a"], g["amul"])
        else:
            if not unit or not (_HAS_CN_DIGIT.search(g["c"]) or g["c"][0] == "十"):
                continue  # 十名 is ten; 百/千/万 alone are words
            value = _value(g["c"], None)
        if value is None:
            continue
        upper = _value(g["b"], g["bmul"] or g["amul"]) if g["b"] else None
        if upper is not None and g["b"] and g["a"] and not g["amul"] and g["bmul"]:
            value *= _MULTIPLIER[g["bmul"]]  # 30-35万名: both ends in 万
        if unit.startswith("万") and len(unit) > 1:
            value *= 10_000
            upper = upper * 10_000 if upper is not None else None
            unit = unit[1:]
        elif unit == "亿元":
            value *= 100_000_000
            unit = "元"
        elif unit == "成":  # 九成 = 90%
            value *= 10
            upper = upper * 10 if upper is not None else None
            unit = "%"
        qualifier = ""
        if upper is not None:
            qualifier = "range"
        elif g["pre"] in ("超过", "超", "逾", "不少于", "不低于") or g["suf"] or g["suf2"]:
            qualifier = ">="
        elif g["pre"] in ("近", "约"):
            qualifier = "~"
        start = m.start("pct") - 3 if g["pct"] is not None else m.start()
        out.append(
            Number(
                value=round(value, 6),
                unit=unit,
                start=max(start, m.start()),
                end=m.end(),
                qualifier=qualifier,
                upper=upper,
                scaled=bool(g["amul"] in ("万", "亿") or (g["c"] and g["c"][-1] in "万亿")),
            )
        )
    return out


def unit_scale(unit: str) -> tuple[float, str]:
    """A target unit as (multiplier, base): '万名' -> (10000, '名'), '%' -> (1, '%')."""
    if len(unit) > 1 and unit[0] in _MULTIPLIER:
        return float(_MULTIPLIER[unit[0]]), unit[1:]
    return 1.0, unit
