"""The one clock and the one time zone of hzwatch.

Stored times are UTC ISO strings at seconds precision; Hangzhou's own dates (a page's date, "today"
for a crawl window, alert times) are in Asia/Shanghai. This module imports nothing of the project.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

TIMEZONE_NAME = "Asia/Shanghai"
BEIJING = ZoneInfo(TIMEZONE_NAME)


def utc_now() -> dt.datetime:
    """Now, as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


def now_iso(at: dt.datetime | None = None, timespec: str = "seconds") -> str:
    """A UTC timestamp for storage (now unless `at` is given); fixed width, so comparable as text."""
    return (at or utc_now()).astimezone(dt.timezone.utc).isoformat(timespec=timespec)


def today_beijing() -> dt.date:
    """Today's date in Hangzhou."""
    return dt.datetime.now(BEIJING).date()


def pid_alive(pid: int | None) -> bool:
    """True if a process with this id exists (owned by anyone)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def chinese_time(value: str | None) -> str | None:
    """An ISO date or time as a reader writes it in Hangzhou: 2024年6月18日 10:00 (Asia/Shanghai).

    Times with a zone are converted (a stored UTC stamp shows as Hangzhou time); naive times are
    taken as Hangzhou time; a bare date, or a time of exactly midnight (a page dated by day only),
    shows as a date (2024年12月31日). Anything else is returned as is.
    """
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return f"{day.year}年{day.month}月{day.day}日"
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(BEIJING)
    day = f"{parsed.year}年{parsed.month}月{parsed.day}日"
    # midnight exactly is a page that gives only its date (an e-paper issue): no time is shown
    return day if parsed.time() == dt.time(0) else f"{day} {parsed:%H:%M}"
