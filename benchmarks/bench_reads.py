"""In-process timings of the reads m018 is about (the review queue, the supervision report, the feeds and
story lists, search), on a database opened read-only, with the code of a checkout:

    .venv/bin/python benchmarks/bench_reads.py --db <1M copy>/hzwatch.db [--repo /path/to/checkout] [--runs 3]

Each read runs --runs times in one process (the first run is the first read since the process started);
Datasette's SQL functions are registered as the site registers them. Prints ms per run and a digest of
the rows (the same digest from two checkouts: the same rows in the same order).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sqlite3
import sys
import time
from pathlib import Path

PLAN = "hangzhou-2024"


def _cases(repo: Path) -> list[tuple[str, object]]:
    import yaml

    review_lists = importlib.import_module("db.review_lists")
    reads = importlib.import_module("db.report")
    build = importlib.import_module("monitor.reporting.build")
    queries = yaml.safe_load((repo / "datasette/metadata.yml").read_text(encoding="utf-8"))["databases"]["hzwatch"]
    canned = queries["queries"]
    counts = getattr(review_lists, "COUNTS_SQL", None)
    if counts is None:  # before m018
        counts = review_lists.QUEUE_SQL.split("SELECT q.*", 1)[0] + "SELECT kind, count(*) FROM queue GROUP BY kind"
    cases: list[tuple[str, object]] = [
        ("review queue (100 rows)", (review_lists.QUEUE_SQL, {"kind": None, "limit": 100, "offset": 0})),
        ("review queue counts", (counts, {})),
        ("report TARGETS_SQL", (reads.TARGETS_SQL, {"plan": PLAN, "as_of": "2026-12-31"})),
        ("report ITEMS_SQL", (reads.ITEMS_SQL, {"plan": PLAN, "as_of": "2026-12-31"})),
        (
            "report LATEST_REPORTS_SQL (R03, 3)",
            (reads.LATEST_REPORTS_SQL, {"item": "R03", "as_of": "2026-12-31", "n": 3}),
        ),
        ("whole report (build_report)", lambda db: build.build_report(db, PLAN, "2026-12-31")),
        ("whole report as of 2024-06-30", lambda db: build.build_report(db, PLAN, "2024-06-30")),
    ]
    params = {
        "feed_target": {"target": "tgt-housing-6000"},
        "feed_matches": {},
        "feed_plan": {"plan": PLAN},
        "feed_item": {"item": "R03"},
        "latest_matches": {"page": "1"},
        "search": {"q": "深化改革强基固本", "page": "1"},
    }
    cases += [(f"canned {name}", (canned[name]["sql"], p)) for name, p in params.items()]
    return cases


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args(argv)
    repo = Path(a.repo).resolve()
    sys.path[:0] = [str(repo), str(repo / "datasette/plugins")]
    import sql_functions
    import sqlite_utils

    conn = sqlite3.connect(f"file:{Path(a.db).resolve()}?mode=ro", uri=True, check_same_thread=False)
    sql_functions.prepare_connection(conn)
    db = sqlite_utils.Database(conn)
    print(f"{a.db} via {repo}, ms per run")
    for name, case in _cases(repo):
        times, digest = [], ""
        for _ in range(a.runs):
            started = time.perf_counter()
            if callable(case):
                made = case(db)
                items = [{k: v for k, v in i.items() if k != "all_stories"} for i in made.items]  # (before m018)
                rows = [items, made.targets, made.reports]
            else:
                rows = conn.execute(*case).fetchall()
            times.append((time.perf_counter() - started) * 1000)
            digest = hashlib.md5(repr(rows).encode()).hexdigest()[:10]
        print(f"{name:40} " + " ".join(f"{t:8.0f}" for t in times) + f"   rows {digest}", flush=True)


if __name__ == "__main__":
    main()
