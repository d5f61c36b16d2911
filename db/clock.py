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
