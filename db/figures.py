"""The stored story figures and their assessments (`figure_table`, migration m011_figure_table).

Triggers mark in `figure_dirty` the targets that a write may change. The pages read the stored rows
only (figure_table, target_latest_table, target_figure_counts_table) and say that a marked target's
new figures are being counted; `figure_assessments` and `target_latest` stay exact, computing the
marked targets on the fly (slow at a million articles: for checks and the command line, not pages).
This module stores the marked targets' rows and clears the marks; call it after a batch of writes
(the end of a crawl or a match run, a review, a catalog sync).
"""

from __future__ import annotations

import sqlite_utils

from db.page_aggregates import figure_counts


def dirty_targets(db: sqlite_utils.Database) -> list[str]:
    """Targets whose figures are computed on the fly until the next refresh."""
    return [r[0] for r in db.execute("SELECT target_id FROM figure_dirty ORDER BY target_id")]


def refresh_figures(db: sqlite_utils.Database, everything: bool = False) -> int:
    """Store the figures of every dirty target (every target with `everything`); return how many.

    One target per transaction (m017): the write lock is released between targets, so a crawl
    writing meanwhile waits for one target's refresh (a few seconds at a million articles), not all.
    """
    if everything:
        with db.atomic():
            db.execute("INSERT OR IGNORE INTO figure_dirty (target_id) SELECT id FROM targets")
            db.execute("INSERT OR IGNORE INTO figure_dirty (target_id) SELECT DISTINCT target_id FROM figure_table")
    stored = 0
    for target in dirty_targets(db):
        with db.atomic():
            stored += store_target(db, target)
    return stored


def store_target(db: sqlite_utils.Database, target: str) -> int:
    """Store one dirty target's rows and clear its mark (0 if no longer marked). The stored views
    compute the targets in figure_dirty: the other marks are set aside meanwhile and put back, all
    in the caller's transaction, so no other connection sees them missing."""
    if not db.execute("SELECT 1 FROM figure_dirty WHERE target_id = ?", [target]).fetchone():
        return 0
    db.execute("CREATE TEMP TABLE IF NOT EXISTS figure_dirty_held (target_id TEXT PRIMARY KEY)")
    db.execute("INSERT INTO figure_dirty_held SELECT target_id FROM figure_dirty WHERE target_id <> ?", [target])
    db.execute("DELETE FROM figure_dirty WHERE target_id <> ?", [target])
    db.execute("DELETE FROM figure_table WHERE target_id = ?", [target])
    db.execute("INSERT INTO figure_table SELECT * FROM figure_assessments_computed")
    # the target's latest figure and counts, from the rows just stored (m016); by the target's id, not
    # `IN figure_dirty`, which SQLite did not push into the picks' window (0.1 s over every stored row)
    for table in ("target_latest_table", "target_figure_counts_table"):
        db.execute(f"DELETE FROM {table} WHERE target_id = ?", [target])
    db.execute("INSERT INTO target_latest_table SELECT * FROM figure_picks_stored WHERE target_id = ?", [target])
    db.execute(
        "INSERT INTO target_figure_counts_table"
        + figure_counts("figure_table", "target_latest_table", "SELECT target_id FROM figure_dirty")
    )
    db.execute("DELETE FROM figure_dirty")
    db.execute("INSERT INTO figure_dirty SELECT target_id FROM figure_dirty_held")
    db.execute("DELETE FROM figure_dirty_held")
    return 1
