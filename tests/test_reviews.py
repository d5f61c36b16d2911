"""People's corrections (db/reviews.py): they win over the matcher in the story views and alerts,
survive re-matching, apply to a story's copies, can be undone; `hzwatch review export/stats`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import db as database
from db import review_lists, reviews
from db.catalog import sync_catalog
from db.matches import save_match
from db.records import Evidence, Figure, MatchResult
from monitor.alerting import alerts
from monitor.alerting.subscriptions import load_subscriptions
from monitor.cli import cli
from monitor.matching.catalog import load_catalog

TARGET = "tgt-housing-6000"


def article(db, aid: int, story: int, published: str, source_name: str = "杭州网") -> None:
    db["stories"].insert({"id": story}, replace=True)
    db["articles"].insert(
        {
            "id": aid,
            "url": f"https://www.hangzhou.gov.cn/art/{aid}.html",
            "story_id": story,
            "source_id": "hzgov",
            "site": "www.hangzhou.gov.cn",
            "title": f"住房保障进展 {aid}",
            "body": "全市已开工建设配售型保障性住房。",
            "published": published,
            "source_name": source_name,
        }
    )


def housing(value: float, as_of: str, items=("T-housing",)) -> MatchResult:
    evidence = [Evidence(item, "保障性住房", 0, 5, "配售型保障性住房") for item in items]
    return MatchResult(
        relevant=True,
        score=3.0,
        items=list(items),
        evidence=evidence,
        progress=[Figure(TARGET, value, "套", as_of, f"已建成{value:g}套")],
    )


@pytest.fixture
def db(tmp_path):
    db = database.connect(tmp_path / "r.db")
    sync_catalog(db, load_catalog())
    article(db, 1, 1, "2024-11-05T09:00:00+08:00")
    article(db, 2, 2, "2024-10-05T09:00:00+08:00")
    article(db, 3, 1, "2024-11-05T10:00:00+08:00", source_name="杭州日报")  # a copy of story 1
    save_match(db, 1, housing(6100, "2024-10-31"), "v1")
    save_match(db, 2, housing(5000, "2024-09-30"), "v1")
    save_match(db, 3, housing(6100, "2024-10-31"), "v1")
    return db


def latest(db) -> tuple | None:
    row = db.execute("SELECT value, as_of FROM target_latest WHERE target_id = ?", [TARGET]).fetchone()
    return tuple(row) if row else None


def figure_review(action: str, value: float = 6100, **extra) -> reviews.Review:
    return reviews.Review(1, "figure", action, target_id=TARGET, value=value, unit="套", as_of="2024-10-31", **extra)


def test_reject_wins_in_the_views_survives_rematch_and_undo_restores(db):
    assert latest(db) == (6100, "2024-10-31")
    review_id = reviews.record(db, figure_review("reject", reason="旧数字"), "lin")
    assert latest(db) == (5000, "2024-09-30")
    # Both copies of the story lose the figure; the copy re-matched by a new matcher version too.
    assert db.execute("SELECT count(*) FROM progress WHERE article_id IN (1, 3)").fetchone()[0] == 0
    save_match(db, 3, housing(6100, "2024-10-31"), "v2")
    save_match(db, 1, housing(6100, "2024-10-31"), "v2")
    assert latest(db) == (5000, "2024-09-30")
    assert reviews.machine_result(db, 1)["matcher_version"] == "v2"
    reviews.undo(db, review_id, "wang")
    assert latest(db) == (6100, "2024-10-31")
    row = review_lists.audit(db)[0]
    assert (row["reviewer"], row["reason"], row["undone_by"]) == ("lin", "旧数字", "wang")
    with pytest.raises(reviews.ReviewError):
        reviews.undo(db, review_id, "wang")


def test_correction_is_a_person_figure_never_in_doubt_and_beats_the_matcher(db):
    # A matcher figure of the same date that disagrees would make either doubtful; a person's wins.
    reviews.record(db, figure_review("correct", new_value=6180, new_unit="套", new_as_of="2024-10-31"), "lin")
    assert latest(db) == (6180, "2024-10-31")
    rows = db.execute("SELECT value, origin FROM progress WHERE article_id = 1").fetchall()
    assert [tuple(r) for r in rows] == [(6180, "corrected")]
    article(db, 4, 4, "2024-11-06T09:00:00+08:00")
    save_match(db, 4, housing(6000, "2024-10-31"), "v1")  # a later report of the same date, other value
    doubt = db.execute(
        "SELECT doubt_conflict FROM figure_assessments WHERE story_id = 4 AND target_id = ?", [TARGET]
    ).fetchone()[0]
    assert "人工审阅" in doubt and latest(db) == (6180, "2024-10-31")


def test_links_rejected_added_and_relevance(db):
    reviews.record(db, reviews.Review(2, "link", "reject", item_id="T-housing", reason="无关"), "lin")
    reviews.record(
        db, reviews.Review(2, "link", "add", item_id="R03", quote="推进政务服务增值化改革", reason="遗漏"), "lin"
    )
    rows = {r[0]: r[1] for r in db.execute("SELECT item_id, origin FROM matches WHERE article_id = 2")}
    assert rows == {"R03": "added"}
    save_match(db, 2, housing(5000, "2024-09-30"), "v2")
    assert {r[0]: r[1] for r in db.execute("SELECT item_id, origin FROM matches WHERE article_id = 2")} == rows
    reviews.record(db, reviews.Review(2, "relevance", "not_relevant"), "lin")
    assert db.execute("SELECT relevant FROM articles WHERE id = 2").fetchone()[0] == 0
    assert latest(db) == (6100, "2024-10-31")
    with pytest.raises(reviews.ReviewError, match="引用原文"):
        reviews.record(db, reviews.Review(2, "link", "add", item_id="R03"), "lin")
    with pytest.raises(reviews.ReviewError, match="截至日期"):
        reviews.record(db, figure_review("add", new_value=1, new_unit="套", new_as_of="31/10/2024", quote="q"), "lin")
    with pytest.raises(reviews.ReviewError, match="未知"):
        reviews.record(db, reviews.Review(2, "link", "drop", item_id="R03"), "lin")


def subscriptions(tmp_path, monkeypatch):
    monkeypatch.setenv("T_HOOK", "json://127.0.0.1:9/hook")
    path = tmp_path / "subs.yaml"
    path.write_text(
        "subscriptions:\n"
        "  - {name: housing, urls_env: [T_HOOK], filters: {items: [T-housing]}}\n"
        "  - {name: credit, urls_env: [T_HOOK], filters: {items: [R05]}}\n",
        encoding="utf-8",
    )
    return load_subscriptions(str(path))


def test_rejected_link_never_alerts_and_confirmed_candidate_does(db, tmp_path, monkeypatch):
    subset = subscriptions(tmp_path, monkeypatch)
    assert alerts.enqueue_new(db, subset) == {"housing": 0, "credit": 0}  # the backlog is not alerted
    article(db, 5, 5, "2024-11-07T09:00:00+08:00")
    article(db, 6, 6, "2024-11-07T10:00:00+08:00")
    save_match(db, 5, housing(6200, "2024-11-05"), "v1")
    candidate = MatchResult(candidate=True, score=1.0, items=["R05"], evidence=[Evidence("R05", "预付", 0, 2, "预付")])
    save_match(db, 6, candidate, "v1")
    assert [r["kind"] for r in review_lists.queue(db, kind="candidate")] == ["candidate"]
    reviews.record(db, reviews.Review(5, "link", "reject", item_id="T-housing"), "lin")
    save_match(db, 5, housing(6200, "2024-11-05"), "v2")  # a re-match proposes it again
    reviews.confirm_candidate(db, 6, "lin", "确属预付式消费监管")
    save_match(db, 6, MatchResult(), "v2")  # a later matcher does not even propose it
    assert alerts.enqueue_new(db, subset) == {"housing": 0, "credit": 1}
    assert review_lists.queue(db, kind="candidate") == []


def test_an_alert_queued_before_a_rejection_is_withdrawn_not_sent(db, tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    path = tmp_path / "subs.yaml"
    path.write_text("subscriptions:\n  - {name: housing, urls_env: [T_HOOK], filters: {items: [T-housing]}}\n")
    subset = load_subscriptions(str(path))
    alerts.enqueue_new(db, subset)  # the backlog is not alerted
    for aid, value in ((5, 6200), (7, 6300)):
        article(db, aid, aid, f"2024-11-0{aid}T09:00:00+08:00")
        save_match(db, aid, housing(value, "2024-11-05"), "v1")
    assert alerts.enqueue_new(db, subset) == {"housing": 2}
    reviews.record(db, reviews.Review(5, "link", "reject", item_id="T-housing", reason="误配"), "lin")
    result = alerts.dispatch_immediate(db, subset)
    assert (result.sent, result.withdrawn) == (1, 1)
    assert ["住房保障进展 7" in str(m["body"]) for m in webhook.received] == [True]
    rows = dict(db.execute("SELECT article_id, status FROM outbox ORDER BY article_id").fetchall())
    assert rows == {5: "withdrawn", 7: "sent"}
    assert alerts.dispatch_immediate(db, subset).sent == 0 and len(webhook.received) == 1


def test_export_eval_and_stats(db, tmp_path):
    reviews.record(db, figure_review("reject"), "lin")
    reviews.record(db, reviews.Review(2, "link", "confirm", item_id="T-housing"), "lin")
    reviews.record(db, reviews.Review(2, "link", "add", item_id="R03", quote="政务服务增值化改革"), "lin")
    runner = CliRunner()
    out = tmp_path / "reviewed"
    db_path = str(tmp_path / "r.db")
    result = runner.invoke(cli, ["review", "export", str(out), "--db", db_path])
    assert result.exit_code == 0, result.output
    cases = sorted(out.glob("review-*.json"))
    assert len(cases) == 2
    first = json.loads(cases[0].read_text(encoding="utf-8"))
    assert first["label"]["progress"] == [] and first["label"]["relevant"] is True
    assert "lin" in first["label"]["notes"]
    assert runner.invoke(cli, ["eval", str(out)]).exit_code == 0
    result = runner.invoke(cli, ["review", "stats", "--json", "--db", db_path])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    # The matcher linked T-housing on both (right), missed R03 on article 2, and its figure on 1 was wrong.
    assert report["items"] == {"tp": 2, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.6667, "f1": 0.8}
    assert report["progress"]["false"] == 1 and report["progress"]["right"] == 1


def test_rematch_of_a_reviewed_story_reapplies_even_when_nothing_changed(db):
    # A review that leaves the article's rows as the matcher wrote them: a re-match finding the same
    # result must still go through the reviews (the matcher's output kept under the new version).
    reviews.record(db, reviews.Review(2, "relevance", "relevant", reason="确属本市"), "lin")
    stored = db.execute("SELECT item_id, origin FROM matches WHERE article_id = 2").fetchall()
    assert [tuple(r) for r in stored] == [("T-housing", None)]
    assert reviews.machine_result(db, 2)["matcher_version"] == "v1"
    save_match(db, 2, housing(5000, "2024-09-30"), "v2")
    assert reviews.machine_result(db, 2)["matcher_version"] == "v2"
    assert db.execute("SELECT relevant, matcher_version FROM articles WHERE id = 2").fetchone() == (1, "v2")
