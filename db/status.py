"""Status of the service: last runs per source, runs left 'running', outbox counts.

Read-only: every runs write, the crawl's own and the supervisor's, is in db/runs.py.
"""

from __future__ import annotations

import datetime as dt

import sqlite_utils

from db.alerts import status_counts


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO timestamp as an aware datetime (naive values are taken as UTC)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def last_runs(db: sqlite_utils.Database) -> dict[str, dict]:
    """The latest run row of every source."""
    return {
        r["source_id"]: r
        for r in db.query(
            """SELECT r.* FROM runs r
           JOIN (SELECT source_id, MAX(id) AS id FROM runs GROUP BY source_id) l ON l.id = r.id"""
        )
    }


def last_started(db: sqlite_utils.Database) -> dict[str, dt.datetime]:
    """When each source's latest run started (for catching up missed runs at start)."""
    return {sid: t for sid, row in last_runs(db).items() if (t := parse_time(row["started"]))}


def source_rows(db: sqlite_utils.Database) -> dict[str, dict]:
    """Rows of the sources table (name, layout warnings) by id."""
    if "sources" not in db.table_names():
        return {}
    return {r["id"]: r for r in db.query("SELECT * FROM sources ORDER BY id")}


def running_runs(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query("SELECT * FROM runs WHERE status = 'running' ORDER BY id"))


def outbox_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return status_counts(db)


def latest_run_of_pid(db: sqlite_utils.Database, pid: int, since: str) -> dict | None:
    """The run a crawl process with this pid recorded since `since` (None if it recorded none)."""
    rows = list(db.query("SELECT * FROM runs WHERE pid = ? AND started >= ? ORDER BY id DESC LIMIT 1", [pid, since]))
    if rows:
        return rows[0]
    # `started` may be written in another ISO form; fall back to the newest run of this pid.
    rows = list(db.query("SELECT * FROM runs WHERE pid = ? ORDER BY id DESC LIMIT 1", [pid]))
    if rows and (parse_time(rows[0]["started"]) or dt.datetime.min.replace(tzinfo=dt.timezone.utc)) >= (
        parse_time(since) or dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    ) - dt.timedelta(seconds=5):
        return rows[0]
    return None


def source_overview(db: sqlite_utils.Database) -> dict[str, dict]:
    """{source id: its layout warning and last run (status, started, new articles)}."""
    return {
        r["id"]: r
        for r in db.query(
            "SELECT s.id, s.layout_warning, r.status, r.started, r.new_articles FROM sources s "
            "LEFT JOIN runs r ON r.id = (SELECT MAX(id) FROM runs WHERE source_id = s.id)"
        )
    }


def layout_warning(db: sqlite_utils.Database, source_id: str) -> str | None:
    row = db.execute("SELECT layout_warning FROM sources WHERE id = ?", [source_id]).fetchone()
    return row[0] if row else None


def article_counts(db: sqlite_utils.Database) -> tuple[int, int]:
    """(articles stored, articles the matcher found relevant)."""
    total, relevant = db.execute("SELECT count(*), coalesce(sum(relevant = 1), 0) FROM articles").fetchone()
    return total, relevant


def story_summary(db: sqlite_utils.Database) -> dict:
    """What a reader of the site counts: articles, stories (copies together), relevant ones, search
    index coverage, and per target whether a credible latest figure exists and how many are 存疑."""
    row = db.execute(
        """SELECT (SELECT count(*) FROM articles),
                  (SELECT count(DISTINCT story_id) FROM articles),
                  (SELECT count(*) FROM articles WHERE relevant = 1),
                  (SELECT count(DISTINCT story_id) FROM articles WHERE relevant = 1),
                  (SELECT count(*) FROM articles_search_state WHERE article_id IN (SELECT id FROM articles)),
                  (SELECT count(DISTINCT source_id) FROM articles),
                  (SELECT count(*) FROM targets),
                  (SELECT count(*) FROM target_latest),
                  (SELECT count(*) FROM figure_assessments),
                  (SELECT count(*) FROM figure_assessments WHERE coalesce(doubt_rule, doubt_conflict) IS NOT NULL)"""
    ).fetchone()
    keys = ["articles", "stories", "relevant_articles", "relevant_stories", "indexed", "sources", "targets"]
    keys += ["targets_with_figure", "figures", "doubtful"]
    return dict(zip(keys, row, strict=True))
