"""Time `refresh_figures` on a copy of a large database (benchmarks/README.md, "Pages at a million articles").

    python benchmarks/bench_refresh.py --db COPY.db [--no-migrate] [--runs 3] [--target ID ...] [--everything]

For each target: mark it dirty, time `refresh_figures`, `--runs` times; with `--everything`, time the full
refresh (every target) as often, then print how many rows the three stored tables hold and a hash of
them, sorted (the same hash before and after a change of the view means the same rows). The load
average is printed beside every run. `--no-migrate` leaves the database at its migration (to measure
the code before a new migration). Writes the database: run it on a copy.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import db as dbpkg  # noqa: E402
from db.figures import refresh_figures  # noqa: E402

TABLES = ("figure_table", "target_latest_table", "target_figure_counts_table")


def _load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def stored_hash(db) -> tuple[dict[str, int], str]:
    """Rows per stored table and one hash over all of them, each table's rows sorted."""
    digest = hashlib.sha256()
    counts = {}
    for table in TABLES:
        rows = sorted(repr(r) for r in db.execute(f"SELECT * FROM {table}").fetchall())
        counts[table] = len(rows)
        digest.update(f"{table}\n".encode())
        for row in rows:
            digest.update(row.encode() + b"\n")
    return counts, digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a copy of the database (it is written)")
    parser.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", action="append", default=[], help="a target to mark dirty and refresh")
    parser.add_argument("--everything", action="store_true", help="also time the full refresh")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    db = dbpkg.connect(args.db, migrate=not args.no_migrate)
    migrations = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
    print(f"opened in {time.perf_counter() - start:.1f} s, last migration {migrations[-1]}")
    for target in args.target:
        figures = db.execute("SELECT count(*) FROM figure_table WHERE target_id = ?", [target]).fetchone()[0]
        for run in range(1, args.runs + 1):
            db.execute("INSERT OR IGNORE INTO figure_dirty (target_id) VALUES (?)", [target])
            db.conn.commit()
            start = time.perf_counter()
            refresh_figures(db)
            took = time.perf_counter() - start
            print(f"refresh {target} ({figures} figures) run {run}: {took:.2f} s  ({_load()})", flush=True)
    if args.everything:
        for run in range(1, args.runs + 1):
            start = time.perf_counter()
            count = refresh_figures(db, everything=True)
            took = time.perf_counter() - start
            print(f"refresh everything ({count} targets) run {run}: {took:.2f} s  ({_load()})", flush=True)
        counts, digest = stored_hash(db)
        print(f"stored rows {counts}, sha256 {digest}")
    db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
