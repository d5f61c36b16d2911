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
    """Store the figures of every dirty target (every target with `everything`); return how many."""
    with db.atomic():
        if everything:
            db.execute("INSERT OR IGNORE INTO figure_dirty (target_id) SELECT id FROM targets")
            db.execute("INSERT OR IGNORE INTO figure_dirty (target_id) SELECT DISTINCT target_id FROM figure_table")
        count = db.execute("SELECT count(*) FROM figure_dirty").fetchone()[0]
        if not count:
            return 0
        db.execute("DELETE FROM figure_table WHERE target_id IN (SELECT target_id FROM figure_dirty)")
        db.execute("INSERT INTO figure_table SELECT * FROM figure_assessments_computed")
        # each stored target's latest figure and counts, from the rows just stored (m016)
        for table in ("target_latest_table", "target_figure_counts_table"):
            db.execute(f"DELETE FROM {table} WHERE target_id IN (SELECT target_id FROM figure_dirty)")
        db.execute(
            "INSERT INTO target_latest_table SELECT * FROM figure_picks_stored"
            " WHERE target_id IN (SELECT target_id FROM figure_dirty)"
        )
        db.execute(
            "INSERT INTO target_figure_counts_table"
            + figure_counts("figure_table", "target_latest_table", "SELECT target_id FROM figure_dirty")
        )
        db.execute("DELETE FROM figure_dirty")
    return count
