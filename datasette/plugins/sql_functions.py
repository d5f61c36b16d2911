"""SQL functions the canned queries use: Chinese search expressions and feed timestamps."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from pathlib import Path

from datasette import hookimpl

# The project may not be pip-installed; append (never prepend) so datasette/ cannot shadow the library.
# Repository checkout, or the copy of `db` that `hzwatch publish` puts beside the plugins.
sys.path += [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent / "vendor")]
from db.clock import chinese_time  # noqa: E402
from db.search import in_title, match_expression  # noqa: E402

CHINA = dt.timezone(dt.timedelta(hours=8))


def iso_tz(value: object) -> str | None:
    """An ISO 8601 timestamp with a time zone (naive values are taken as Beijing time)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    return parsed.isoformat()


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    # cjk_match('数谷') -> '"数 谷"'; cjk_match('数谷', 'title') -> 'title : ("数 谷")'
    conn.create_function("cjk_match", 1, lambda q: match_expression(q), deterministic=True)
    conn.create_function("cjk_match", 2, lambda q, col: match_expression(q, col), deterministic=True)
    # cjk_in_title('中国数谷建设', '数谷') -> 1: the title holds every term as the index sees it
    conn.create_function("cjk_in_title", 2, in_title, deterministic=True)
    conn.create_function("iso_tz", 1, iso_tz, deterministic=True)
    # cn_time('2024-06-18T10:00:00+08:00') -> '2024年6月18日 10:00'; cn_time('2024-12-31') -> '2024年12月31日'
    conn.create_function("cn_time", 1, chinese_time, deterministic=True)
