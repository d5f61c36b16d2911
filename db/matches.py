"""Matcher results: matches (article x item), progress figures, and the article's verdict."""

from __future__ import annotations

import json
from typing import Iterator

import sqlite_utils

from db.clock import now_iso

BATCH = 500


def save_match(db: sqlite_utils.Database, article_id: int, result: dict, version: str) -> None:
    """Replace one article's matches and progress rows and record the verdict, in one transaction.

    matches.score is the number of evidence hits kept for that item.
    """
    now = now_iso()
    evidence: dict[str, list] = {}
    for e in result.get("evidence", []):
        evidence.setdefault(e["item"], []).append({k: e[k] for k in ("term", "start", "end", "snippet")})
    match_rows = [
        {
            "article_id": article_id,
            "item_id": item,
            "score": float(len(evidence.get(item, []))),
            "evidence": json.dumps(evidence.get(item, []), ensure_ascii=False),
        }
        for item in result.get("projects", [])
    ]
    progress_rows = [
        {
            "article_id": article_id,
            "target_id": p["target"],
            "value": p["value"],
            "unit": p["unit"],
            "as_of": p.get("as_of"),
            "quote": p.get("quote"),
        }
        for p in result.get("progress", [])
    ]
    with db.atomic():
        db.execute("DELETE FROM matches WHERE article_id = ?", [article_id])
        db.execute("DELETE FROM progress WHERE article_id = ?", [article_id])
        if match_rows:
            db["matches"].insert_all(match_rows, pk=("article_id", "item_id"), replace=True)
        if progress_rows:
            db["progress"].insert_all(progress_rows)
        db.execute(
            "UPDATE articles SET relevant = ?, score = ?, matcher_version = ?, matched_at = ? WHERE id = ?",
            [1 if result.get("relevant") else 0, float(result.get("score") or 0.0), version, now, article_id],
        )


def count_articles_needing_match(db: sqlite_utils.Database, version: str, force: bool = False) -> int:
    """How many articles `iter_articles_needing_match` would yield."""
    if force:
        return db["articles"].count
    return db.execute(
        "SELECT count(*) FROM articles WHERE matcher_version IS NULL OR matcher_version != ?", [version]
    ).fetchone()[0]


def iter_articles_needing_match(db: sqlite_utils.Database, version: str, force: bool = False) -> Iterator[dict]:
    """Articles whose matcher_version differs from `version` (all with force), as matcher dicts with `id`."""
    where = "1" if force else "(matcher_version IS NULL OR matcher_version != ?)"
    params = [] if force else [version]
    # Take the ids first: the caller updates rows while iterating.
    ids = [r[0] for r in db.execute(f"SELECT id FROM articles WHERE {where} ORDER BY id", params)]
    for i in range(0, len(ids), BATCH):
        chunk = ids[i : i + BATCH]
        marks = ",".join("?" for _ in chunk)
        for row in db.query(
            f"SELECT id, url, site, title, published, body, source_name FROM articles "
            f"WHERE id IN ({marks}) ORDER BY id",
            chunk,
        ):
            yield {
                "id": row["id"],
                "url": row["url"],
                "site": row["site"],
                "title": row["title"],
                "published": row["published"],
                "text": row["body"] or "",
                "source": row["source_name"],
            }
