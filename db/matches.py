"""Matcher results: matches (article x item), progress figures, and the article's verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlite_utils

from db.clock import now_iso
from db.records import Article, MatchResult
from db.reviews import reapply, story_reviewed

BATCH = 500


def verdict_columns(result: MatchResult, version: str) -> dict:
    """The articles columns that hold a match's verdict (relevant, candidate evidence, score, version)."""
    candidate = None
    if result.candidate and not result.relevant:
        candidate = json.dumps([e.to_json() for e in result.evidence], ensure_ascii=False)
    return {
        "relevant": 1 if result.relevant else 0,
        "candidate": candidate,
        "score": float(result.score or 0.0),
        "matcher_version": version,
        "matched_at": now_iso(),
    }


def save_match(
    db: sqlite_utils.Database, article_id: int, result: MatchResult, version: str, *, verdict_written: bool = False
) -> None:
    """Replace one article's matches and progress rows and record the verdict, in one transaction.

    matches.score is the number of evidence hits kept for that item. A candidate (待确认) gets no
    matches rows: its evidence goes to articles.candidate, so it is never counted as a report.
    When people have reviewed the article's story, these rows are kept as the matcher's output and
    the reviews applied on top (db/reviews.py): a re-match never overwrites a correction.
    `verdict_written`: the article's row already holds `verdict_columns(result, version)` (the crawl
    writes them with the article, db.articles.write_article), so it is not written a second time.
    """
    evidence: dict[str, list] = {}
    for e in result.evidence:
        evidence.setdefault(e.item, []).append({"term": e.term, "start": e.start, "end": e.end, "snippet": e.snippet})
    match_rows = [
        (article_id, item, float(len(evidence.get(item, []))), json.dumps(evidence.get(item, []), ensure_ascii=False))
        for item in result.items
    ]
    progress_rows = [(article_id, p.target, p.value, p.unit, p.as_of, p.quote) for p in result.progress]
    with db.atomic():
        if not verdict_written:
            verdict = verdict_columns(result, version)
            if _stored_equal(db, article_id, verdict, match_rows, progress_rows):
                # A re-match that finds what is stored: only the version and time change. Rewriting
                # the rows would fire every trigger on them (story links, counts, figure refresh) for
                # nothing and write about four times as much (measured: 34 KB against 8 KB an article).
                db.execute(
                    "UPDATE articles SET matcher_version = ?, matched_at = ? WHERE id = ?",
                    [verdict["matcher_version"], verdict["matched_at"], article_id],
                )
                return
        db.execute("DELETE FROM matches WHERE article_id = ?", [article_id])
        db.execute("DELETE FROM progress WHERE article_id = ?", [article_id])
        # plain statements: sqlite-utils' insert_all reads the schema again on every call
        if match_rows:
            db.conn.executemany(
                "INSERT OR REPLACE INTO matches (article_id, item_id, score, evidence) VALUES (?, ?, ?, ?)", match_rows
            )
        if progress_rows:
            db.conn.executemany(
                "INSERT INTO progress (article_id, target_id, value, unit, as_of, quote) VALUES (?, ?, ?, ?, ?, ?)",
                progress_rows,
            )
        if not verdict_written:
            cols = ", ".join(f"{k} = ?" for k in verdict)
            db.execute(f"UPDATE articles SET {cols} WHERE id = ?", [*verdict.values(), article_id])
        if story_reviewed(db, article_id):
            reapply(db, article_id, version)


def _stored_equal(
    db: sqlite_utils.Database, article_id: int, verdict: dict, match_rows: list[tuple], progress_rows: list[tuple]
) -> bool:
    """Does the database hold exactly this verdict, these matches and these progress rows for the
    article, all of them the matcher's own (no story review applied on top)?"""
    stored = db.execute("SELECT relevant, candidate, score FROM articles WHERE id = ?", [article_id]).fetchone()
    if stored is None or tuple(stored) != (verdict["relevant"], verdict["candidate"], verdict["score"]):
        return False
    matches = db.execute("SELECT item_id, score, evidence, origin FROM matches WHERE article_id = ?", [article_id])
    by_item = {item: (score, evidence) for _a, item, score, evidence in match_rows}  # OR REPLACE: last one kept
    if sorted(matches) != [(i, *by_item[i], None) for i in sorted(by_item)]:
        return False
    progress = db.execute(
        "SELECT target_id, value, unit, as_of, quote, origin FROM progress WHERE article_id = ? ORDER BY id",
        [article_id],
    ).fetchall()
    if [tuple(r) for r in progress] != [(*row[1:], None) for row in progress_rows]:
        return False
    return not story_reviewed(db, article_id)


def count_articles_needing_match(
    db: sqlite_utils.Database, version: str, force: bool = False, after_id: int = 0
) -> int:
    """How many articles `iter_articles_needing_match` would yield."""
    where, params = _needing(version, force, after_id)
    return db.execute(f"SELECT count(*) FROM articles WHERE {where}", params).fetchone()[0]


def _needing(version: str, force: bool, after_id: int) -> tuple[str, list]:
    if force:
        return "id > ?", [after_id]
    return "id > ? AND (matcher_version IS NULL OR matcher_version != ?)", [after_id, version]


def iter_article_batches(
    db: sqlite_utils.Database, version: str, force: bool = False, after_id: int = 0, size: int = BATCH
) -> Iterator[list[Article]]:
    """Articles whose matcher_version differs from `version` (all with force) and whose id is above
    `after_id`, in id order, BATCH at a time."""
    where, params = _needing(version, force, after_id)
    # Take the ids first: the caller updates rows while iterating.
    ids = [r[0] for r in db.execute(f"SELECT id FROM articles WHERE {where} ORDER BY id", params)]
    for i in range(0, len(ids), size):
        chunk = ids[i : i + size]
        marks = ",".join("?" for _ in chunk)
        rows = db.query(
            f"SELECT id, url, site, title, published, body, source_name FROM articles "
            f"WHERE id IN ({marks}) ORDER BY id",
            chunk,
        )
        yield [
            Article(
                id=row["id"],
                url=row["url"],
                site=row["site"],
                title=row["title"] or "",
                published=row["published"],
                body=row["body"] or "",
                source_name=row["source_name"],
            )
            for row in rows
        ]


def iter_articles_needing_match(db: sqlite_utils.Database, version: str, force: bool = False) -> Iterator[Article]:
    """Articles whose matcher_version differs from `version` (all with force), with their `id`."""
    for batch in iter_article_batches(db, version, force):
        yield from batch


# ------------------------------------------------------------------ resumable forced re-match


def rematch_resume_point(db: sqlite_utils.Database, version: str) -> dict | None:
    """The unfinished forced re-match with this matcher version (last article done, count), if any."""
    rows = list(db.query("SELECT * FROM rematch_state WHERE id = 1 AND matcher_version = ?", [version]))
    return rows[0] if rows else None


def rematch_start(db: sqlite_utils.Database, version: str) -> None:
    """Record a new forced re-match from the first article (replacing one of another version)."""
    with db.atomic():
        db.execute(
            "INSERT OR REPLACE INTO rematch_state (id, matcher_version, started_at, last_article_id, matched,"
            " updated_at) VALUES (1, ?, ?, 0, 0, ?)",
            [version, now_iso(), now_iso()],
        )


def rematch_advance(db: sqlite_utils.Database, last_article_id: int, matched: int) -> None:
    """Record a finished batch; call inside the batch's transaction so both commit together."""
    db.execute(
        "UPDATE rematch_state SET last_article_id = ?, matched = matched + ?, updated_at = ? WHERE id = 1",
        [last_article_id, matched, now_iso()],
    )


def rematch_finish(db: sqlite_utils.Database) -> None:
    with db.atomic():
        db.execute("DELETE FROM rematch_state WHERE id = 1")
