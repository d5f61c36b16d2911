"""How long a writer waits for the lock while the figures are refreshed (benchmarks/README.md).

    python benchmarks/refresh_writer_wait.py --db COPY.db

Runs `refresh_figures(db, everything=True)` in a child process (printing each target's transaction)
and meanwhile, from this process, writes one row every 0.1 s as a crawl batch does (BEGIN IMMEDIATE,
busy timeout 30 s): prints every wait over 1 s, the longest, and the writes that failed ("database is
locked"). Writes a scratch table into the database and drops it: run it on a copy.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
import db
import db.figures as figures
store = getattr(figures, "store_target", None)  # (one transaction for all targets before m017)

def timed(conn, target):
    start = time.perf_counter()
    stored = store(conn, target)
    if stored:
        print(f"  stored {{target}} in {{time.perf_counter() - start:.2f}} s", flush=True)
    return stored

if store:
    figures.store_target = timed
conn = db.connect({path!r}, migrate=False)
start = time.perf_counter()
figures.refresh_figures(conn, everything=True)
print(f"refresh everything {{time.perf_counter() - start:.1f}} s", flush=True)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a copy of the database (a scratch table is written)")
    args = parser.parse_args(argv)
    conn = sqlite3.connect(args.db, isolation_level=None, timeout=30)
    conn.execute("CREATE TABLE IF NOT EXISTS bench_writes (at REAL)")
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(repo=str(REPO), path=args.db)])
    waits, failed = [], 0
    while child.poll() is None:
        start = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked = time.perf_counter() - start
            conn.execute("INSERT INTO bench_writes VALUES (?)", [start])
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            failed += 1
            print(f"  write failed after {time.perf_counter() - start:.1f} s: {exc}", flush=True)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        else:
            waits.append(time.perf_counter() - start)
            if waits[-1] > 1:
                print(f"  a write waited {locked:.2f} s for the lock ({waits[-1]:.2f} s in all)", flush=True)
        time.sleep(0.1)  # one write every 0.1 s, as a pacing, not a wait for anything
    conn.execute("DROP TABLE bench_writes")
    print(f"writes {len(waits)}, failed {failed}, longest {max(waits, default=0):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
