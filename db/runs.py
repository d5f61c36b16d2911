"""Crawl bookkeeping: runs, fetch failures, list-page validators, the sources table, layout warnings."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

import sqlite_utils

from db.clock import now_iso as now
from db.clock import pid_alive, utc_now

if TYPE_CHECKING:

    class SourceDefinition(Protocol):
        """What sync_sources reads of a source (a scrapers.sources.Source; db/ imports no later stage)."""

        id: str
        name: str
        site: str
        city: str
        strategy: str
        profile: str | None
        interval_minutes: int | None
        config: dict[str, Any]


# Failure reasons that will not fix themselves: after this many, a URL is left alone.
PERMANENT_REASONS = ("http_404", "http_410", "not_found", "empty_shell", "too_large", "robots", "decode_error")
GIVE_UP_AFTER = 3
# An article whose fetch failed for a passing reason (timeout, 5xx …) is fetched again by the next
# runs, directly (an incremental walk may never reach its list page again), this many times at most,
# within this many days of its last failure.
RETRY_AT_MOST = 5
RETRY_WITHIN_DAYS = 7


def start_run(db: sqlite_utils.Database, source_id: str, pid: int | None = None) -> int:
    """Insert a 'running' run row (visible even if the crawl is killed); mark dead ones 'killed'.

    A killed run is ended here (as `mark_stale_runs` does), so it is the last finished run and the
    new one walks every list (`CrawlLedger.last_listing_complete` is false): what the dead one fetched
    but had not committed, or had in flight, is found again even where an incremental walk would
    stop at a list page with nothing new."""
    pid = pid or os.getpid()
    with db.atomic():
        stale = db.execute(
            "SELECT id, pid FROM runs WHERE source_id = ? AND status = 'running'", [source_id]
        ).fetchall()
        for run_id, run_pid in stale:
            if run_pid != pid and not pid_alive(run_pid):
                db.execute(
                    "UPDATE runs SET status = 'killed', ended = COALESCE(ended, ?),"
                    " error = COALESCE(error, 'process died before the run ended') WHERE id = ?",
                    [now(), run_id],
                )
        cur = db.execute(
            "INSERT INTO runs (source_id, started, status, pages_fetched, new_articles, updated_articles, "
            "failures, pid) VALUES (?, ?, 'running', 0, 0, 0, '{}', ?)",
            [source_id, now(), pid],
        )
        return cur.lastrowid


def update_run(db: sqlite_utils.Database, run_id: int, **fields) -> None:
    """Update counters/status of a run (failures given as a dict is stored as JSON)."""
    if not fields:
        return
    if isinstance(fields.get("failures"), dict):
        fields["failures"] = json.dumps(fields["failures"], ensure_ascii=False, sort_keys=True)
    cols = ", ".join(f"{k} = ?" for k in fields)
    with db.atomic():
        db.execute(f"UPDATE runs SET {cols} WHERE id = ?", [*fields.values(), run_id])


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    status: str,
    *,
    pages_fetched: int = 0,
    new_articles: int = 0,
    updated_articles: int = 0,
    failures: dict | None = None,
    error: str | None = None,
    listing_complete: bool | None = None,
) -> None:
    """Close a run with its final counters (listing_complete: every list page was read)."""
    extra = {} if listing_complete is None else {"listing_complete": int(bool(listing_complete))}
    update_run(
        db,
        run_id,
        status=status,
        ended=now(),
        pages_fetched=pages_fetched,
        new_articles=new_articles,
        updated_articles=updated_articles,
        failures=dict(failures or {}),
        error=error,
        **extra,
    )


def get_run(db: sqlite_utils.Database, run_id: int) -> dict | None:
    """One runs row as a dict, failures decoded."""
    rows = list(db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
    if not rows:
        return None
    row = rows[0]
    row["failures"] = json.loads(row["failures"] or "{}")
    return row


def last_run_status(db: sqlite_utils.Database, source_id: str) -> str | None:
    """Status of the newest finished run of a source (None if it never finished one)."""
    row = db.execute(
        "SELECT status FROM runs WHERE source_id = ? AND ended IS NOT NULL ORDER BY id DESC LIMIT 1",
        [source_id],
    ).fetchone()
    return row[0] if row else None


def record_failure(
    db: sqlite_utils.Database, run_id: int | None, source_id: str, url: str, reason: str, detail: str | None = None
) -> None:
    """One fetch_failures row."""
    with db.atomic():
        db.execute(
            "INSERT INTO fetch_failures (run_id, source_id, url, reason, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, source_id, url, reason, (detail or "")[:500], now()],
        )


def failures_by_reason(db: sqlite_utils.Database, run_id: int) -> dict[str, int]:
    """{reason: count} of one run."""
    return dict(
        Counter(
            {
                r: n
                for r, n in db.execute(
                    "SELECT reason, COUNT(*) FROM fetch_failures WHERE run_id = ? GROUP BY reason", [run_id]
                )
            }
        )
    )


def given_up(db: sqlite_utils.Database, url: str) -> bool:
    """True if the URL failed permanently often enough that fetching it again is pointless."""
    return bool(given_up_urls(db, [url]))


def pending_retries(db: sqlite_utils.Database, source_id: str, reasons: Sequence[str], limit: int = 200) -> list[str]:
    """Article URLs of a source whose last fetches failed for one of `reasons` (passing ones), that are
    not stored, have failed fewer than RETRY_AT_MOST times and lately; most recent failure first."""
    if not reasons:
        return []
    since = now(utc_now() - timedelta(days=RETRY_WITHIN_DAYS))
    marks = ",".join("?" for _ in reasons)
    rows = db.execute(
        f"""SELECT f.url FROM fetch_failures f
            WHERE f.source_id = ? AND f.reason IN ({marks}) AND f.at >= ?
              AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.url = f.url)
            GROUP BY f.url HAVING COUNT(*) < ? ORDER BY MAX(f.at) DESC LIMIT ?""",
        [source_id, *reasons, since, RETRY_AT_MOST, limit],
    ).fetchall()
    urls = [url for (url,) in rows]
    gone = given_up_urls(db, urls)
    return [url for url in urls if url not in gone]


def given_up_urls(db: sqlite_utils.Database, urls: Iterable[str]) -> set[str]:
    """The `urls` that failed for a permanent reason (PERMANENT_REASONS) GIVE_UP_AFTER times or more,
    so fetching them again is pointless (one query per 500 URLs)."""
    urls = list(dict.fromkeys(urls))
    reasons = ",".join("?" for _ in PERMANENT_REASONS)
    found: set[str] = set()
    for i in range(0, len(urls), 500):
        chunk = urls[i : i + 500]
        marks = ",".join("?" for _ in chunk)
        found.update(
            r[0]
            for r in db.execute(
                f"SELECT url FROM fetch_failures WHERE url IN ({marks}) AND reason IN ({reasons}) "
                "GROUP BY url HAVING COUNT(*) >= ?",
                [*chunk, *PERMANENT_REASONS, GIVE_UP_AFTER],
            )
        )
    return found


def list_page_state(db: sqlite_utils.Database, source_id: str) -> dict[str, dict]:
    """{url: list_pages row} of one source."""
    return {r["url"]: r for r in db.query("SELECT * FROM list_pages WHERE source_id = ?", [source_id])}


def save_list_pages(db: sqlite_utils.Database, source_id: str, pages: dict[str, dict]) -> None:
    """Store validators and item counts of list pages ({url: {etag, last_modified, items_found}})."""
    if not pages:
        return
    stamp = now()
    with db.atomic():
        for url, st in pages.items():
            db.execute(
                "INSERT INTO list_pages (url, source_id, etag, last_modified, fetched_at, items_found) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET source_id = excluded.source_id, "
                "etag = excluded.etag, last_modified = excluded.last_modified, fetched_at = excluded.fetched_at, "
                "items_found = excluded.items_found",
                [url, source_id, st.get("etag"), st.get("last_modified"), stamp, st.get("items_found")],
            )


def sync_sources(db: sqlite_utils.Database, sources: Sequence[SourceDefinition]) -> int:
    """Upsert source definitions (objects with id, name, site, city, strategy, profile, interval_minutes, config)."""
    with db.atomic():
        for s in sources:
            db.execute(
                "INSERT INTO sources (id, name, site, city, strategy, profile, interval_minutes, config) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                "site = excluded.site, city = excluded.city, strategy = excluded.strategy, "
                "profile = excluded.profile, interval_minutes = excluded.interval_minutes, config = excluded.config",
                [
                    s.id,
                    s.name,
                    s.site,
                    s.city,
                    s.strategy,
                    s.profile,
                    s.interval_minutes,
                    json.dumps(s.config, ensure_ascii=False, sort_keys=True, default=str),
                ],
            )
    return len(list(sources))


def record_layout(
    db: sqlite_utils.Database,
    source_id: str,
    run_id: int,
    items_found: int | None,
    threshold: int,
    named: str | None = None,
) -> str | None:
    """Count consecutive runs whose list selectors found nothing; warn after `threshold`, or at once
    with `named` (lists that yielded nothing where they used to). Returns the warning."""
    with db.atomic():
        row = db.execute("SELECT empty_runs FROM sources WHERE id = ?", [source_id]).fetchone()
        if row is None:
            db.execute("INSERT INTO sources (id, name) VALUES (?, ?)", [source_id, source_id])
            empty = 0
        else:
            empty = row[0] or 0
        warning = None
        if named:
            db.execute(
                "UPDATE sources SET layout_warning = ?, last_run_id = ? WHERE id = ?", [named, run_id, source_id]
            )
            return named
        if items_found is None:
            # Nothing parsed at all this run (304s, fetch errors): no evidence either way.
            db.execute("UPDATE sources SET last_run_id = ? WHERE id = ?", [run_id, source_id])
            row = db.execute("SELECT layout_warning FROM sources WHERE id = ?", [source_id]).fetchone()
            return row[0]
        if items_found == 0:
            empty += 1
            if empty >= threshold:
                warning = f"layout may have changed: list selectors found nothing in {empty} consecutive runs"
        else:
            empty = 0
        db.execute(
            "UPDATE sources SET empty_runs = ?, layout_warning = ?, last_run_id = ? WHERE id = ?",
            [empty, warning, run_id, source_id],
        )
        return warning


def last_finished_run(db: sqlite_utils.Database, source_id: str) -> dict | None:
    """Newest run of a source that ended (any status), as a dict."""
    rows = list(
        db.query("SELECT * FROM runs WHERE source_id = ? AND ended IS NOT NULL ORDER BY id DESC LIMIT 1", [source_id])
    )
    return rows[0] if rows else None


# -- supervisor writes: a crawl that was killed, timed out or crashed cannot record its own end --


def close_run(db: sqlite_utils.Database, run_id: int, status: str, error: str, force: bool) -> None:
    """End a run the crawl could not end itself (force: also overwrite a status it wrote while dying)."""
    with db.conn:
        db.conn.execute(
            "UPDATE runs SET status = ?, ended = CASE WHEN ended IS NULL OR ? THEN ? ELSE ended END,"
            " error = COALESCE(error || ' | ', '') || ?"
            " WHERE id = ? AND (? OR status = 'running')",
            [status, force, now(), error, run_id, force],
        )


def record_run(
    db: sqlite_utils.Database, source_id: str, started: str, status: str, error: str, pid: int | None
) -> int:
    """Record a crawl that died before it could record a run itself."""
    with db.conn:
        cur = db.conn.execute(
            "INSERT INTO runs (source_id, started, ended, status, error, pid) VALUES (?, ?, ?, ?, ?, ?)",
            [source_id, started, now(), status, error, pid],
        )
    return cur.lastrowid


def mark_stale_runs(db: sqlite_utils.Database, is_alive: Callable[[int], bool]) -> list[int]:
    """Mark 'running' runs whose process is gone as 'killed'; returns their ids."""
    stale = [
        r for r in db.query("SELECT * FROM runs WHERE status = 'running'") if not (r["pid"] and is_alive(r["pid"]))
    ]
    for r in stale:
        close_run(db, r["id"], "killed", "crawl process was gone when the service started", force=False)
    return [r["id"] for r in stale]
