"""People's corrections to the matcher: recorded, applied, undone, listed.

A review (one row of `reviews`: who, when, why) confirms, rejects, corrects or adds an item link or
a progress figure, or marks an article relevant or not. A review judges the article's whole story
(its syndicated copies carry the same text), so it applies to every copy.

`matches`, `progress` and `articles.relevant` hold the effective state that every page, count,
feed, export and alert reads: for a reviewed story, the matcher's own output (kept in
`machine_results`) with the standing reviews applied in the order they were made. A re-match
(`db.matches.save_match`, any matcher version) replaces the matcher's output and applies the
reviews again; an undo applies the remaining ones to the matcher's output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from db.clock import now_iso
from db.figures import refresh_figures

ACTIONS = {
    "relevance": {"relevant", "not_relevant"},
    "link": {"confirm", "reject", "add"},
    "figure": {"confirm", "reject", "correct", "add"},
}
MAX_REASON = 2000
MAX_QUOTE = 2000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ReviewError(ValueError):
    """A review that cannot be recorded as asked (unknown article, item or target, bad figure)."""


@dataclass
class Review:
    """What a reviewer asked for; `value/unit/as_of` name the figure judged, `new_*` the person's figure."""

    article_id: int
    kind: str
    action: str
    item_id: str | None = None
    target_id: str | None = None
    value: float | None = None
    unit: str | None = None
    as_of: str | None = None
    new_value: float | None = None
    new_unit: str | None = None
    new_as_of: str | None = None
    quote: str | None = None
    reason: str | None = None


# ------------------------------------------------------------------ recording


def record(db: sqlite_utils.Database, review: Review, reviewer: str) -> int:
    """Check and store one review, then re-apply its story's reviews; returns the review id."""
    _check(db, review, reviewer)
    with db.atomic():
        articles = story_articles(db, review.article_id)
        for article_id in articles:
            _snapshot_if_missing(db, article_id)
        row = {k: getattr(review, k) for k in Review.__dataclass_fields__}
        row.update(reviewer=reviewer, created_at=now_iso())
        review_id = db["reviews"].insert(row).last_pk
        for article_id in articles:
            _apply(db, article_id)
        refresh_figures(db)
    return int(review_id)


def confirm_candidate(db: sqlite_utils.Database, article_id: int, reviewer: str, reason: str | None = None) -> int:
    """A person says a candidate (or any article) belongs to the plan: relevant, with the item links
    the matcher proposed confirmed, so a re-match that no longer proposes them keeps them."""
    links = db.execute("SELECT item_id FROM matches WHERE article_id = ? ORDER BY item_id", [article_id])
    proposed = db.execute(
        "SELECT DISTINCT json_extract(e.value, '$.item') FROM articles a, json_each(a.candidate) e"
        " WHERE a.id = ? AND a.candidate IS NOT NULL",
        [article_id],
    )
    items = sorted({r[0] for r in links} | {r[0] for r in proposed if r[0]})
    with db.atomic():
        review_id = record(db, Review(article_id, "relevance", "relevant", reason=reason), reviewer)
        for item in items:
            record(db, Review(article_id, "link", "confirm", item_id=item, reason=reason), reviewer)
    return review_id


def undo(db: sqlite_utils.Database, review_id: int, reviewer: str) -> int:
    """Mark a review undone (kept for the audit) and re-apply the rest; returns its article id."""
    row = db.execute("SELECT article_id, undone_at FROM reviews WHERE id = ?", [review_id]).fetchone()
    if row is None:
        raise ReviewError(f"没有这条审阅记录：{review_id}")
    if row[1] is not None:
        raise ReviewError("这条审阅已撤销")
    with db.atomic():
        db.execute("UPDATE reviews SET undone_by = ?, undone_at = ? WHERE id = ?", [reviewer, now_iso(), review_id])
        for article_id in story_articles(db, row[0]):
            _apply(db, article_id)
        refresh_figures(db)
    return int(row[0])


def _check(db: sqlite_utils.Database, r: Review, reviewer: str) -> None:
    if not reviewer:
        raise ReviewError("no reviewer")
    if r.action not in ACTIONS.get(r.kind, ()):
        raise ReviewError(f"未知的审阅操作：{r.kind}/{r.action}")
    if not db.execute("SELECT 1 FROM articles WHERE id = ?", [r.article_id]).fetchone():
        raise ReviewError(f"文章不存在：{r.article_id}")
    if len(r.reason or "") > MAX_REASON or len(r.quote or "") > MAX_QUOTE:
        raise ReviewError("理由或引文过长")
    if r.action == "add" and not (r.quote or "").strip():
        raise ReviewError("补充关联或数字时须引用原文句子")
    if r.kind == "link" and not db.execute("SELECT 1 FROM items WHERE id = ?", [r.item_id]).fetchone():
        raise ReviewError(f"计划条目不存在：{r.item_id}")
    if r.kind == "figure":
        if not db.execute("SELECT 1 FROM targets WHERE id = ?", [r.target_id]).fetchone():
            raise ReviewError(f"目标不存在：{r.target_id}")
        if r.action in ("correct", "add"):
            if r.new_value is None or not r.new_unit:
                raise ReviewError("请填写数值和单位")
            if r.new_as_of and not _DATE.match(r.new_as_of):
                raise ReviewError("截至日期格式应为 2024-06-30")
        elif r.value is None or not r.unit:
            raise ReviewError("缺少要审阅的数字")


# ------------------------------------------------------------------ applying


def story_articles(db: sqlite_utils.Database, article_id: int) -> list[int]:
    """The article and its story's other copies."""
    rows = db.execute(
        """SELECT id FROM articles WHERE id = :id
           OR story_id = (SELECT story_id FROM articles WHERE id = :id) ORDER BY id""",
        {"id": article_id},
    ).fetchall()
    return [r[0] for r in rows]


def story_reviewed(db: sqlite_utils.Database, article_id: int) -> bool:
    """Has anyone reviewed this article's story, or is the matcher's output for it kept already?"""
    return bool(
        db.execute(
            """SELECT 1 FROM machine_results WHERE article_id = :id
               UNION ALL
               SELECT 1 FROM reviews r JOIN articles a ON a.id = r.article_id
               WHERE a.id = :id OR a.story_id = (SELECT story_id FROM articles WHERE id = :id)
               LIMIT 1""",
            {"id": article_id},
        ).fetchone()
    )


def reapply(db: sqlite_utils.Database, article_id: int, version: str | None) -> None:
    """After the matcher wrote an article's rows: keep them as its output and apply the story's reviews."""
    _snapshot(db, article_id, version)
    _apply(db, article_id)


def _snapshot_if_missing(db: sqlite_utils.Database, article_id: int) -> None:
    if not db.execute("SELECT 1 FROM machine_results WHERE article_id = ?", [article_id]).fetchone():
        version = db.execute("SELECT matcher_version FROM articles WHERE id = ?", [article_id]).fetchone()[0]
        _snapshot(db, article_id, version)


def _snapshot(db: sqlite_utils.Database, article_id: int, version: str | None) -> None:
    """Keep the matcher's rows of an article (its rows are the matcher's: no review applied yet)."""
    art = db.execute("SELECT relevant, score, candidate FROM articles WHERE id = ?", [article_id]).fetchone()
    links = [
        {"item_id": r[0], "score": r[1], "evidence": r[2]}
        for r in db.execute(
            "SELECT item_id, score, evidence FROM matches WHERE article_id = ? AND origin IS NULL", [article_id]
        )
    ]
    figures = [
        {"target_id": r[0], "value": r[1], "unit": r[2], "as_of": r[3], "quote": r[4]}
        for r in db.execute(
            "SELECT target_id, value, unit, as_of, quote FROM progress WHERE article_id = ? AND origin IS NULL "
            "ORDER BY id",
            [article_id],
        )
    ]
    db.execute(
        "INSERT OR REPLACE INTO machine_results (article_id, relevant, score, candidate, matches, progress,"
        " matcher_version, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            article_id,
            art[0],
            art[1],
            art[2],
            json.dumps(links, ensure_ascii=False),
            json.dumps(figures, ensure_ascii=False),
            version,
            now_iso(),
        ],
    )


def machine_result(db: sqlite_utils.Database, article_id: int) -> dict | None:
    """The matcher's own output for a reviewed article: relevant, score, candidate, matches, progress."""
    rows = list(db.query("SELECT * FROM machine_results WHERE article_id = ?", [article_id]))
    if not rows:
        return None
    row = rows[0]
    row["matches"] = json.loads(row["matches"] or "[]")
    row["progress"] = json.loads(row["progress"] or "[]")
    return row


def active_reviews(db: sqlite_utils.Database, article_id: int) -> list[dict]:
    """The standing reviews of the article's story, oldest first."""
    return list(
        db.query(
            """SELECT r.* FROM reviews r JOIN articles a ON a.id = r.article_id
               WHERE r.undone_at IS NULL
                 AND (a.id = :id OR a.story_id = (SELECT story_id FROM articles WHERE id = :id))
               ORDER BY r.id""",
            {"id": article_id},
        )
    )


def _same_figure(fig: dict, review: dict) -> bool:
    return (
        fig["target_id"] == review["target_id"]
        and fig["unit"] == review["unit"]
        and abs(float(fig["value"]) - float(review["value"])) <= 1e-9 * max(1.0, abs(float(review["value"])))
    )


def _person_evidence(quote: str | None) -> str:
    return json.dumps([{"term": None, "snippet": quote or "", "by": "person"}], ensure_ascii=False)


def effective(machine: dict, reviews: Iterable[dict]) -> tuple[int, dict[str, dict], list[dict]]:
    """The matcher's output with the reviews applied in order: (relevant, links by item, figures)."""
    links = {m["item_id"]: dict(m, origin=None, review_id=None) for m in machine["matches"]}
    figures = [dict(f, origin=None, review_id=None) for f in machine["progress"]]
    said_relevant: int | None = None
    implied = False
    for r in reviews:
        if r["kind"] == "relevance":
            said_relevant = 1 if r["action"] == "relevant" else 0
        elif r["kind"] == "link":
            implied = _apply_link(links, r) or implied
        else:
            implied = _apply_figure(figures, r) or implied
    relevant = said_relevant if said_relevant is not None else (1 if implied else machine["relevant"])
    return relevant, links, figures


def _apply_link(links: dict[str, dict], r: dict) -> bool:
    """One link review; True when it says the article belongs to the plan."""
    item = r["item_id"]
    if r["action"] == "reject":
        links.pop(item, None)
        return False
    kept = links.get(item)
    if kept is not None and r["action"] == "confirm":
        kept.update(origin="confirmed", review_id=r["id"])
    else:
        origin = "confirmed" if r["action"] == "confirm" else "added"
        links[item] = {
            "item_id": item,
            "score": 1.0,
            "evidence": _person_evidence(r["quote"]),
            "origin": origin,
            "review_id": r["id"],
        }
    return True


def _apply_figure(figures: list[dict], r: dict) -> bool:
    """One figure review; True when it says the article belongs to the plan."""
    action = r["action"]
    if action == "confirm":
        hits = [f for f in figures if _same_figure(f, r)]
        for f in hits:
            f.update(origin="confirmed", review_id=r["id"])
        if not hits:  # the matcher no longer finds it: the person's word keeps it
            figures.append(_person_figure(r, r["value"], r["unit"], r["as_of"], "confirmed"))
        return True
    old_quote = next((f["quote"] for f in figures if action == "correct" and _same_figure(f, r)), None)
    if action in ("reject", "correct"):
        figures[:] = [f for f in figures if not _same_figure(f, r)]
    if action == "reject":
        return False
    origin = "corrected" if action == "correct" else "added"
    figure = _person_figure(r, r["new_value"], r["new_unit"], r["new_as_of"], origin)
    figure["quote"] = r["quote"] or old_quote
    figures.append(figure)
    return True


def _person_figure(r: dict, value: float | None, unit: str | None, as_of: str | None, origin: str) -> dict:
    return {
        "target_id": r["target_id"],
        "value": value,
        "unit": unit,
        "as_of": as_of,
        "quote": r["quote"],
        "origin": origin,
        "review_id": r["id"],
    }


def _apply(db: sqlite_utils.Database, article_id: int) -> None:
    """Rewrite an article's effective rows from the matcher's output and the story's standing reviews."""
    machine = machine_result(db, article_id)
    if machine is None:
        return
    relevant, links, figures = effective(machine, active_reviews(db, article_id))
    db.execute("DELETE FROM matches WHERE article_id = ?", [article_id])
    db.execute("DELETE FROM progress WHERE article_id = ?", [article_id])
    known_items = {r[0] for r in db.execute("SELECT id FROM items")}
    rows = [dict(link, article_id=article_id) for link in links.values() if link["item_id"] in known_items]
    if rows:
        db["matches"].insert_all(rows, pk=("article_id", "item_id"), replace=True)
    if figures:
        db["progress"].insert_all([dict(f, article_id=article_id) for f in figures])
    db.execute("UPDATE articles SET relevant = ? WHERE id = ?", [relevant, article_id])
