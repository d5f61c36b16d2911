"""Show stored dates and times the way a reader in Hangzhou writes them (2024年6月18日 10:00,
Asia/Shanghai) in every Datasette table and query page; CSV and JSON keep ISO 8601."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from datasette import hookimpl

# Repository checkout, or the copy of `db` that `hzwatch publish` puts beside the plugins.
sys.path += [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent / "vendor")]
from db.clock import chinese_time  # noqa: E402

# 2024-06-18, 2024-06-18T10:00:00+08:00, 2024-06-18 02:00:00Z …: only whole values, never text in a cell.
ISO = re.compile(r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?$")


@hookimpl(trylast=True)
def render_cell(value: object) -> str | None:
    if isinstance(value, str) and ISO.match(value):
        return chinese_time(value)
    return None
