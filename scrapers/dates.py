"""Publish-time parsing: Chinese and ISO date strings to ISO 8601 in Beijing time (+08:00)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from db.clock import BEIJING

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"(?:\.\d+)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_LOOSE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*[T ]?\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
_COMPACT = re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?$")
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?$")


def build(
    y: str | int,
    m: str | int,
    d: str | int,
    H: str | int | None = None,
    M: str | int | None = None,
    S: str | int | None = None,
    tz: str | None = None,
) -> str | None:
    """ISO string at +08:00 from parts (strings or ints); None if not a real date."""
    try:
        dt = datetime(int(y), int(m), int(d), int(H or 0), int(M or 0), int(S or 0))
    except (TypeError, ValueError):
        return None
    if not 1990 <= dt.year <= 2100:
        return None
    if tz:
        if tz == "Z":
            offset = timezone.utc
        else:
            sign = -1 if tz[0] == "-" else 1
            hh, mm = int(tz[1:3]), int(tz[-2:])
            offset = timezone(sign * timedelta(hours=hh, minutes=mm))
        dt = dt.replace(tzinfo=offset).astimezone(BEIJING)
    else:
        dt = dt.replace(tzinfo=BEIJING)
    return dt.isoformat()


def from_match(m: re.Match) -> str | None:
    """ISO string from a regex match with named groups y m d [H M S] (or date/time text)."""
    g = m.groupdict()
    if "y" in g and g.get("y"):
        return build(g["y"], g["m"], g["d"], g.get("H"), g.get("M"), g.get("S"))
    text = " ".join(x for x in (g.get("date"), g.get("time")) if x)
    return parse(text) if text else None


def parse(text: str | None) -> str | None:
    """Parse one date/time string (ISO, Chinese, compact digits or epoch)."""
    if not text:
        return None
    text = text.strip()
    m = _ISO.search(text)
    if m:
        return build(m["y"], m["m"], m["d"], m["H"], m["M"], m["S"], m["tz"] and _tz(m["tz"]))
    m = _LOOSE.search(text)
    if m:
        return build(m["y"], m["m"], m["d"], m["H"], m["M"], m["S"])
    m = _COMPACT.match(text)
    if m:
        return build(m["y"], m["m"], m["d"], m["H"], m["M"], m["S"])
    if _EPOCH.match(text):
        ts = int(text[:10])
        return datetime.fromtimestamp(ts, BEIJING).isoformat()
    return None


def _tz(tz: str) -> str:
    if tz == "Z":
        return "Z"
    tz = tz.replace(":", "")
    return f"{tz[:3]}:{tz[3:]}"


def has_time(iso: str | None) -> bool:
    """True if the ISO string carries a time of day other than midnight."""
    return bool(iso) and not iso[11:19] == "00:00:00"
