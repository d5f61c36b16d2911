"""The alert outbox: one row per (subscription, story), claimed with a lease, marked sent after delivery.

Times are UTC ISO 8601 strings with milliseconds (`now_iso()`), so SQL can compare them as text.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Iterable

import sqlite_utils

from db import clock


def now_iso(at: dt.datetime | None = None) -> str:
    """UTC time as a fixed-width ISO string (comparable as text), milliseconds for outbox ordering."""
    return clock.now_iso(at, timespec="milliseconds")


def story_key(article: dict) -> int:
    """Dedup key of an article: its story, or minus its id when it has no story yet."""
    return article["story_id"] if article.get("story_id") is not None else -int(article["id"])


# -- subscriptions seen ------------------------------------------------------------------


def touch_subscription(db: sqlite_utils.Database, name: str, mode: str, backfill: bool) -> dict:
    """Record a subscription; the first time, fix its backlog watermark (0 with backfill)."""
    now = now_iso()
    with db.conn:
        row = db.conn.execute("SELECT * FROM subscriptions WHERE name = ?", [name]).fetchone()
        if row is None:
            watermark = 0 if backfill else (db.conn.execute("SELECT COALESCE(MAX(id), 0) FROM articles").fetchone()[0])
            db.conn.execute(
                "INSERT OR IGNORE INTO subscriptions (name, mode, first_seen, article_watermark, last_seen)"
                " VALUES (?, ?, ?, ?, ?)",
                [name, mode, now, watermark, now],
            )
        else:
            db.conn.execute("UPDATE subscriptions SET mode = ?, last_seen = ? WHERE name = ?", [mode, now, name])
    return dict(next(db.query("SELECT * FROM subscriptions WHERE name = ?", [name])))


# -- candidates and enqueue --------------------------------------------------------------


def candidate_articles(
    db: sqlite_utils.Database, subscription: str, watermark: int, with_candidates: bool = False
) -> list[dict]:
    """Relevant articles newer than the watermark whose story has no outbox row for `subscription`;
    with `with_candidates`, matcher candidates (待确认, `articles.candidate`) too, never otherwise."""
    return list(
        db.query(
            """
        SELECT a.id, a.story_id, a.source_id, a.score, a.published, a.fetched_at
        FROM articles a
        WHERE (a.relevant = 1 OR (:with_candidates AND a.candidate IS NOT NULL)) AND a.id > :watermark
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.subscription = :sub
                          AND o.story_id = COALESCE(a.story_id, -a.id))
        ORDER BY a.id
        """,
            {"sub": subscription, "watermark": watermark, "with_candidates": 1 if with_candidates else 0},
        )
    )


def article_matches(db: sqlite_utils.Database, article_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Matches (with item titles) per article id; a candidate's (待确认) come from its evidence,
    one row per item, marked `candidate` 1."""
    ids = list(article_ids)
    out: dict[int, list[dict]] = {i: [] for i in ids}
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"""SELECT m.article_id, m.item_id, m.score, m.evidence, i.title AS item_title, i.kind,
                       0 AS candidate
                FROM matches m LEFT JOIN items i ON i.id = m.item_id
                WHERE m.article_id IN ({marks}) ORDER BY m.score DESC, m.item_id""",
            chunk,
        ):
            out[row["article_id"]].append(row)
        for row in db.query(
            f"""SELECT a.id AS article_id, json_extract(e.value, '$.item') AS item_id, count(*) AS score,
                       json_group_array(json(e.value)) AS evidence, i.title AS item_title, i.kind, 1 AS candidate
                FROM articles a, json_each(a.candidate) e
                LEFT JOIN items i ON i.id = json_extract(e.value, '$.item')
                WHERE a.id IN ({marks}) AND a.candidate IS NOT NULL AND a.relevant = 0
                GROUP BY a.id, item_id ORDER BY score DESC, item_id""",
            chunk,
        ):
            out[row["article_id"]].append(row)
    return out


def article_progress(db: sqlite_utils.Database, article_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Progress figures (with target metric and item) per article id."""
    ids = list(article_ids)
    out: dict[int, list[dict]] = {i: [] for i in ids}
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"""SELECT p.article_id, p.target_id, p.value, p.unit, p.as_of, p.quote,
                       t.metric, t.item_id, t.value AS target_value, t.unit AS target_unit
                FROM progress p LEFT JOIN targets t ON t.id = p.target_id
                WHERE p.article_id IN ({marks}) ORDER BY p.id""",
            chunk,
        ):
            out[row["article_id"]].append(row)
    return out


def enqueue(db: sqlite_utils.Database, subscription: str, article: dict) -> bool:
    """Insert an outbox row for the article's story unless one exists; True if inserted."""
    now = now_iso()
    with db.conn:
        cur = db.conn.execute(
            "INSERT OR IGNORE INTO outbox (subscription, story_id, article_id, status, attempts,"
            " next_attempt, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
            [subscription, story_key(article), article["id"], now, now],
        )
    return cur.rowcount == 1


# -- claim, deliver, record ---------------------------------------------------------------


def claim_due(
    db: sqlite_utils.Database,
    subscriptions: Iterable[str],
    lease_seconds: float,
    limit: int = 100,
    retries_only: bool = False,
) -> list[dict]:
    """Atomically move due rows (pending and due, or 'sending' with an expired lease) to 'sending';
    `retries_only`: pending rows only if they were tried before (a digest retry takes no new rows)."""
    subs = list(subscriptions)
    if not subs:
        return []
    now = clock.utc_now()
    expired = now_iso(now - dt.timedelta(seconds=lease_seconds))
    marks = ",".join("?" * len(subs))
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute(
            f"""SELECT id FROM outbox WHERE subscription IN ({marks}) AND (
                    (status = 'pending' AND (next_attempt IS NULL OR next_attempt <= ?) AND attempts >= ?)
                 OR (status = 'sending' AND (claimed_at IS NULL OR claimed_at <= ?)))
                ORDER BY id LIMIT ?""",
            [*subs, now_iso(now), 1 if retries_only else 0, expired, limit],
        ).fetchall()
        ids = [r[0] for r in rows]
        if ids:
            conn.execute(
                f"UPDATE outbox SET status = 'sending', claimed_at = ? WHERE id IN ({','.join('?' * len(ids))})",
                [now_iso(now), *ids],
            )
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    if not ids:
        return []
    return list(db.query(f"SELECT * FROM outbox WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id", ids))


def mark_delivered_to(db: sqlite_utils.Database, outbox_id: int, env_name: str) -> None:
    """Remember that one endpoint accepted this alert, so a retry skips it."""
    with db.conn:
        row = db.conn.execute("SELECT delivered FROM outbox WHERE id = ?", [outbox_id]).fetchone()
        done = json.loads(row[0]) if row and row[0] else []
        if env_name not in done:
            done.append(env_name)
        db.conn.execute("UPDATE outbox SET delivered = ? WHERE id = ?", [json.dumps(done), outbox_id])


def mark_sent(db: sqlite_utils.Database, outbox_ids: Iterable[int]) -> None:
    """Mark rows sent (committed right after the endpoints accepted)."""
    ids = list(outbox_ids)
    if not ids:
        return
    with db.conn:
        db.conn.execute(
            f"UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL"
            f" WHERE id IN ({','.join('?' * len(ids))})",
            [now_iso(), *ids],
        )


def mark_attempt_failed(
    db: sqlite_utils.Database, outbox_ids: Iterable[int], error: str, retry_in_seconds: float | None
) -> None:
    """Record a failed attempt: back to 'pending' at a later time, or 'failed' for good (None)."""
    ids = list(outbox_ids)
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    with db.conn:
        if retry_in_seconds is None:
            db.conn.execute(
                f"UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?,"
                f" next_attempt = NULL, claimed_at = NULL WHERE id IN ({marks})",
                [error, *ids],
            )
        else:
            due = now_iso(clock.utc_now() + dt.timedelta(seconds=retry_in_seconds))
            db.conn.execute(
                f"UPDATE outbox SET status = 'pending', attempts = attempts + 1, last_error = ?,"
                f" next_attempt = ?, claimed_at = NULL WHERE id IN ({marks})",
                [error, due, *ids],
            )


def withdraw(db: sqlite_utils.Database, outbox_ids: Iterable[int], reason: str) -> None:
    """Close claimed rows unsent: what they announce was changed since (a reviewer rejected it)."""
    ids = list(outbox_ids)
    if not ids:
        return
    with db.atomic():
        db.execute(
            f"UPDATE outbox SET status = 'withdrawn', claimed_at = NULL, last_error = ? "
            f"WHERE id IN ({','.join('?' * len(ids))})",
            [reason, *ids],
        )


def release(db: sqlite_utils.Database, outbox_ids: Iterable[int]) -> None:
    """Give claimed rows back without counting an attempt (e.g. on shutdown)."""
    ids = list(outbox_ids)
    if ids:
        with db.conn:
            db.conn.execute(
                f"UPDATE outbox SET status = 'pending', claimed_at = NULL WHERE status = 'sending'"
                f" AND id IN ({','.join('?' * len(ids))})",
                ids,
            )


def retry_failed(db: sqlite_utils.Database, subscription: str | None = None) -> int:
    """Put 'failed' rows back to 'pending' (operator decision); returns how many."""
    sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt = ? WHERE status = 'failed'"
    params: list = [now_iso()]
    if subscription:
        sql += " AND subscription = ?"
        params.append(subscription)
    with db.conn:
        return db.conn.execute(sql, params).rowcount


# -- reading -----------------------------------------------------------------------------


def list_outbox(db: sqlite_utils.Database, status: str | None = None, limit: int = 50) -> list[dict]:
    """Outbox rows, newest first, with the article title."""
    where, params = "", []
    if status:
        where, params = "WHERE o.status = ?", [status]
    return list(
        db.query(
            f"""SELECT o.*, a.title FROM outbox o LEFT JOIN articles a ON a.id = o.article_id
            {where} ORDER BY o.id DESC LIMIT ?""",
            [*params, limit],
        )
    )


def digest_missed(db: sqlite_utils.Database, subscription: str, fire_time: dt.datetime | None) -> int:
    """Rows of a digest subscription queued before its last cron time and never tried (the service
    was down at that time): how many."""
    if fire_time is None:
        return 0
    return db.execute(
        "SELECT COUNT(*) FROM outbox WHERE subscription = ? AND status = 'pending' AND attempts = 0 AND created_at < ?",
        [subscription, now_iso(fire_time.astimezone(dt.timezone.utc))],
    ).fetchone()[0]


def queue_health(db: sqlite_utils.Database, older_than_minutes: float) -> dict:
    """Alerts waiting too long: {old: pending/sending rows queued longer than the limit, oldest:
    created_at of the oldest waiting row, subs: their subscriptions, error: a last error, failed: count}."""
    cutoff = now_iso(clock.utc_now() - dt.timedelta(minutes=older_than_minutes))
    old, oldest, subs, error = db.execute(
        "SELECT COUNT(*), MIN(created_at), GROUP_CONCAT(DISTINCT subscription), MAX(last_error) FROM outbox"
        " WHERE status IN ('pending', 'sending') AND created_at <= ?",
        [cutoff],
    ).fetchone()
    failed = db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'failed'").fetchone()[0]
    return {"old": old, "oldest": oldest, "subs": subs or "", "error": error or "", "failed": failed}


def status_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Number of outbox rows per status."""
    return {r["status"]: r["n"] for r in db.query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")}


def article_for_message(db: sqlite_utils.Database, article_id: int) -> dict | None:
    """The article fields an alert shows, with its source's display name."""
    rows = list(
        db.query(
            """SELECT a.id, a.url, a.title, a.published, a.site, a.source_id, a.source_name, a.score,
                  a.story_id, a.fetched_at, s.name AS source_display, a.relevant,
                  a.candidate IS NOT NULL AS is_candidate
           FROM articles a LEFT JOIN sources s ON s.id = a.source_id WHERE a.id = ?""",
            [article_id],
        )
    )
    return rows[0] if rows else None


def _chunks(seq: list, n: int):
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def item_ancestors(db: sqlite_utils.Database) -> dict[str, set[str]]:
    """Every plan item's ancestors and its plan's id (a filter on a project also takes its tasks, a
    filter on a plan every item of it)."""
    rows = list(db.query("SELECT id, parent_id, plan_id FROM items"))
    parent = {r["id"]: r["parent_id"] for r in rows}
    out: dict[str, set[str]] = {}
    for row in rows:
        seen, p = {row["plan_id"]}, parent.get(row["id"])
        while p and p not in seen:
            seen.add(p)
            p = parent.get(p)
        out[row["id"]] = seen
    return out


def has_retry_due(db: sqlite_utils.Database, subscription: str, lease_seconds: float) -> bool:
    """Is a failed or abandoned (lease expired) row of this subscription due for another attempt?"""
    now = clock.utc_now()
    expired = now_iso(now - dt.timedelta(seconds=lease_seconds))
    return bool(
        list(
            db.query(
                "SELECT 1 FROM outbox WHERE subscription = ? AND ("
                " (status = 'pending' AND attempts > 0 AND next_attempt <= ?)"
                " OR (status = 'sending' AND (claimed_at IS NULL OR claimed_at <= ?))) LIMIT 1",
                [subscription, now_iso(now), expired],
            )
        )
    )
