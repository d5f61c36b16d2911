"""Alerts: outbox derived from stored matches, delivery to a real webhook and a real SMTP server."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from support_servers import SMTPReceiver, WebhookReceiver
from support_wait import wait_until

import db as database
from db import alerts as store
from monitor.alerting import alerts
from monitor.alerting.subscriptions import SubscriptionError, load_subscriptions

PUBLIC = "http://hzwatch.test:8001"


def seed(db_path) -> "database.sqlite_utils.Database":
    """A small catalog and three stories: housing with a progress figure (syndicated twice), talent, noise."""
    db = database.connect(db_path)
    db["plans"].insert({"id": "hz2024", "title": "深化改革、强基固本", "city": "杭州"})
    db["items"].insert_all(
        [
            {"id": "P03", "plan_id": "hz2024", "parent_id": None, "kind": "project", "title": "住房保障改革"},
            {"id": "P03.T1", "plan_id": "hz2024", "parent_id": "P03", "kind": "task", "title": "筹集保障性租赁住房"},
            {"id": "P07", "plan_id": "hz2024", "parent_id": None, "kind": "project", "title": "人才发展体制改革"},
        ]
    )
    db["targets"].insert(
        {
            "id": "T_housing",
            "plan_id": "hz2024",
            "item_id": "P03.T1",
            "metric": "保障性租赁住房筹集",
            "comparator": ">=",
            "value": 60000,
            "unit": "套",
        }
    )
    db["sources"].insert_all([{"id": "hzgov", "name": "杭州市人民政府"}, {"id": "hznews", "name": "杭州网"}])
    db["stories"].insert_all([{"id": 1}, {"id": 2}, {"id": 3}])
    add_article(
        db,
        1,
        story=1,
        source="hzgov",
        title="我市保障性租赁住房筹集取得新进展",
        score=0.9,
        item="P03.T1",
        snippet="今年已筹集保障性租赁住房4.2万套",
        progress=(42000, "套"),
    )
    add_article(
        db,
        2,
        story=1,
        source="hznews",
        title="我市保障性租赁住房筹集取得新进展（转载）",
        score=0.9,
        item="P03.T1",
        snippet="今年已筹集保障性租赁住房4.2万套",
        progress=(42000, "套"),
    )
    add_article(
        db,
        3,
        story=2,
        source="hznews",
        title="杭州发布人才新政",
        score=0.6,
        item="P07",
        snippet="深化人才发展体制机制改革",
    )
    db["articles"].insert(
        {
            "id": 4,
            "url": "https://www.hangzhou.gov.cn/art/4.html",
            "story_id": 3,
            "source_id": "hzgov",
            "title": "天气预报",
            "relevant": 0,
            "score": 0.1,
        }
    )
    return db


def add_article(db, aid, *, story, source, title, score, item, snippet, progress=None):
    db["articles"].insert(
        {
            "id": aid,
            "url": f"https://www.{source}.example.cn/art/{aid}.html",
            "story_id": story,
            "source_id": source,
            "site": source,
            "title": title,
            "published": "2024-06-03T09:30:00+08:00",
            "source_name": "杭州日报",
            "relevant": 1,
            "score": score,
            "fetched_at": "2024-06-03T10:00:00+08:00",
        }
    )
    db["matches"].insert(
        {
            "article_id": aid,
            "item_id": item,
            "score": score,
            "evidence": json.dumps([{"term": snippet[:4], "snippet": snippet}], ensure_ascii=False),
        }
    )
    if progress:
        db["progress"].insert(
            {
                "article_id": aid,
                "target_id": "T_housing",
                "value": progress[0],
                "unit": progress[1],
                "as_of": "2024-05-31",
                "quote": snippet,
            }
        )


def write_subs(tmp_path, body: str, delivery: str = "") -> str:
    path = tmp_path / "subs.yaml"
    path.write_text((f"delivery:\n{delivery}\n" if delivery else "") + "subscriptions:\n" + body, encoding="utf-8")
    return str(path)


FAST = "  backoff_base_seconds: 0.2\n  backoff_max_seconds: 0.5\n  lease_seconds: 1\n"


def dispatch_until(db, subset, done, what: str, timeout: float = 15) -> None:
    """Run dispatch cycles back to back, as the service's dispatch job would, until `done()` holds."""

    def cycle():
        alerts.dispatch_all(db, subset)
        return done()

    wait_until(cycle, timeout, what, step=0.1)


def test_webhook_and_email_receive_chinese_alert_once_per_story(tmp_path, monkeypatch, webhook, smtp):
    monkeypatch.setenv("HZWATCH_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    monkeypatch.setenv("T_MAIL", smtp.apprise_url())
    db = seed(tmp_path / "a.db")
    subset = load_subscriptions(
        write_subs(
            tmp_path,
            """
  - {name: hook, urls_env: [T_HOOK], backfill: true}
  - {name: mail, urls_env: [T_MAIL], backfill: true, filters: {only_with_progress: true}}
""",
        )
    )
    result = alerts.dispatch_all(db, subset)
    assert (result.sent, result.retrying, result.failed) == (3, 0, 0)
    got = webhook.wait_for(2)
    assert len(got) == 2, "two stories: the syndicated copy must not alert again"
    by_title = {m["title"]: m["message"] for m in got}
    housing = by_title["【改革监测】我市保障性租赁住房筹集取得新进展"]
    for expected in (
        "来源：杭州市人民政府（杭州日报）",
        "时间：2024-06-03 09:30",
        "匹配事项：筹集保障性租赁住房",
        "依据：今年已筹集保障性租赁住房4.2万套",
        "进展：保障性租赁住房筹集 42000套（截至 2024-05-31）",
        "原文链接：https://www.hzgov.example.cn/art/1.html",
        f"数据库页面：{PUBLIC}/article/1",
    ):
        assert expected in housing, expected
    assert "进展" not in by_title["【改革监测】杭州发布人才新政"]
    mails = smtp.wait_for(1)
    assert len(mails) == 1
    assert mails[0]["subject"] == "【改革监测】我市保障性租赁住房筹集取得新进展"
    text = SMTPReceiver.text(mails[0])
    assert "进展：保障性租赁住房筹集 42000套" in text and f"{PUBLIC}/article/1" in text
    # Nothing new: a second cycle sends nothing.
    again = alerts.dispatch_all(db, subset)
    assert again.sent == 0 and len(webhook.messages()) == 2 and len(smtp.messages) == 1
    rows = store.list_outbox(db)
    assert sorted((r["subscription"], r["story_id"], r["status"]) for r in rows) == [
        ("hook", 1, "sent"),
        ("hook", 2, "sent"),
        ("mail", 1, "sent"),
    ]


def test_filters_items_by_ancestor_targets_score_sources(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    db = seed(tmp_path / "a.db")
    subset = load_subscriptions(
        write_subs(
            tmp_path,
            """
  - {name: project, urls_env: [T_HOOK], backfill: true, filters: {items: [P03]}}
  - {name: target, urls_env: [T_HOOK], backfill: true, filters: {targets: [T_housing]}}
  - {name: score, urls_env: [T_HOOK], backfill: true, filters: {min_score: 0.8}}
  - {name: source, urls_env: [T_HOOK], backfill: true, filters: {sources: [hznews], items: [P07]}}
  - {name: none, urls_env: [T_HOOK], backfill: true, filters: {sources: [nowhere]}}
""",
        )
    )
    counts = alerts.enqueue_new(db, subset)
    assert counts == {"project": 1, "target": 1, "score": 1, "source": 1, "none": 0}
    rows = {r["subscription"]: r for r in store.list_outbox(db)}
    assert rows["project"]["article_id"] == 1 and rows["source"]["article_id"] == 3
    assert rows["target"]["story_id"] == 1


def test_backlog_is_not_alerted_unless_backfill(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    db = seed(tmp_path / "a.db")
    subset = load_subscriptions(
        write_subs(
            tmp_path,
            """
  - {name: new-only, urls_env: [T_HOOK]}
  - {name: everything, urls_env: [T_HOOK], backfill: true}
""",
        )
    )
    assert alerts.enqueue_new(db, subset) == {"new-only": 0, "everything": 2}
    db["stories"].insert({"id": 9})
    add_article(db, 10, story=9, source="hzgov", title="新的住房消息", score=0.7, item="P03", snippet="住房")
    assert alerts.enqueue_new(db, subset) == {"new-only": 1, "everything": 1}


def test_candidates_alert_only_subscriptions_that_ask(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    db = seed(tmp_path / "a.db")
    db["stories"].insert({"id": 8})
    evidence = [{"item": "P03", "term": "保障房", "start": 0, "end": 3, "snippet": "街道走访保障房住户。"}]
    db["articles"].insert(
        {
            "id": 20,
            "url": "https://www.hzgov.example.cn/art/20.html",
            "story_id": 8,
            "source_id": "hzgov",
            "title": "街道走访住户",
            "published": "2024-06-04T09:30:00+08:00",
            "relevant": 0,
            "candidate": json.dumps(evidence, ensure_ascii=False),
            "score": 0.25,
            "fetched_at": "2024-06-04T10:00:00+08:00",
        }
    )
    subset = load_subscriptions(
        write_subs(
            tmp_path,
            """
  - {name: plain, urls_env: [T_HOOK], backfill: true, filters: {items: [P03]}}
  - {name: unsure-too, urls_env: [T_HOOK], backfill: true, candidates: true, filters: {items: [P03]}}
""",
        )
    )
    assert alerts.enqueue_new(db, subset) == {"plain": 1, "unsure-too": 2}
    rows = {(r["subscription"], r["article_id"]) for r in store.list_outbox(db)}
    assert ("unsure-too", 20) in rows and ("plain", 20) not in rows
    message = alerts._render(db, {"article_id": 20}, subset)
    assert "待确认" in message.body and "街道走访保障房住户" in message.body
    with pytest.raises(SubscriptionError, match="candidates"):
        load_subscriptions(write_subs(tmp_path, "  - {name: x, urls_env: [A], candidates: maybe}\n"))


def test_endpoint_down_for_several_cycles_then_back_exactly_once(tmp_path, monkeypatch):
    down, healthy = WebhookReceiver(), WebhookReceiver()
    try:
        monkeypatch.setenv("T_DOWN", down.apprise_url())
        monkeypatch.setenv("T_OK", healthy.apprise_url())
        db = seed(tmp_path / "a.db")
        subset = load_subscriptions(
            write_subs(
                tmp_path,
                """
  - {name: flaky, urls_env: [T_DOWN], backfill: true}
  - {name: steady, urls_env: [T_OK], backfill: true}
""",
                FAST,
            )
        )
        down.down()  # connection refused

        def flaky():
            return [r for r in store.list_outbox(db) if r["subscription"] == "flaky"]

        dispatch_until(
            db, subset, lambda: all(r["attempts"] >= 3 for r in flaky()), "three failed attempts per flaky alert"
        )
        down.up()
        down.fail_next(2)  # then two HTTP 500s
        assert len(healthy.messages()) == 2, "a dead endpoint must not hold back another subscription"
        assert all(r["status"] == "pending" and r["last_error"] for r in flaky())
        dispatch_until(db, subset, lambda: store.status_counts(db).get("sent", 0) >= 4, "all four alerts sent")
        assert store.status_counts(db) == {"sent": 4}
        # Every row is 'sent' now: a later cycle has nothing to claim, however long we waited.
        assert alerts.dispatch_all(db, subset).sent == 0
        links = sorted(m["message"].splitlines()[-2] for m in down.messages())
        assert links == [
            "原文链接：https://www.hzgov.example.cn/art/1.html",
            "原文链接：https://www.hznews.example.cn/art/3.html",
        ], "each alert exactly once"
        assert len(down.rejected) == 2 and len(healthy.messages()) == 2
        assert max(r["attempts"] for r in store.list_outbox(db) if r["subscription"] == "flaky") >= 4
    finally:
        down.stop()
        healthy.stop()


def test_gives_up_after_max_attempts_without_leaking_the_url(tmp_path, monkeypatch, webhook):
    secret_url = webhook.apprise_url("s3cr3t-t0ken-path")
    monkeypatch.setenv("T_HOOK", secret_url)
    db = seed(tmp_path / "a.db")
    subset = load_subscriptions(
        write_subs(tmp_path, "  - {name: hook, urls_env: [T_HOOK], backfill: true}\n", FAST + "  max_attempts: 3\n")
    )
    webhook.fail_for(60)
    dispatch_until(db, subset, lambda: store.status_counts(db).get("failed", 0) >= 2, "both alerts to fail for good")
    rows = store.list_outbox(db)
    assert [(r["status"], r["attempts"]) for r in rows] == [("failed", 3), ("failed", 3)]
    assert "500" in rows[0]["last_error"] and rows[0]["last_error"].startswith("T_HOOK:")
    dump = "\n".join(db.iterdump())
    assert "s3cr3t" not in dump and "127.0.0.1" not in dump and "json://" not in dump
    assert len(webhook.rejected) == 6 and webhook.messages() == []


def test_one_failing_url_of_a_subscription_is_retried_alone(tmp_path, monkeypatch):
    good, bad = WebhookReceiver(), WebhookReceiver()
    try:
        monkeypatch.setenv("T_GOOD", good.apprise_url())
        monkeypatch.setenv("T_BAD", bad.apprise_url())
        db = seed(tmp_path / "a.db")
        subset = load_subscriptions(
            write_subs(tmp_path, "  - {name: both, urls_env: [T_GOOD, T_BAD], backfill: true}\n", FAST)
        )
        bad.fail_next(3)
        dispatch_until(db, subset, lambda: store.status_counts(db).get("sent", 0) >= 2, "both alerts sent")
        assert store.status_counts(db) == {"sent": 2}
        assert len(good.messages()) == 2 and len(bad.messages()) == 2
    finally:
        good.stop()
        bad.stop()


def test_abandoned_sending_row_is_retried_after_its_lease(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    db = seed(tmp_path / "a.db")
    subset = load_subscriptions(write_subs(tmp_path, "  - {name: hook, urls_env: [T_HOOK], backfill: true}\n", FAST))
    alerts.enqueue_new(db, subset)
    claimed = store.claim_due(db, ["hook"], lease_seconds=1)  # a dispatcher that then died
    claimed_at = time.monotonic()
    assert len(claimed) == 2
    assert alerts.dispatch_all(db, subset).sent == 0, "rows under lease are not sent twice"
    sent = []

    def lease_ran_out():
        sent.append(alerts.dispatch_all(db, subset).sent)
        return sum(sent) >= 2

    wait_until(lease_ran_out, 10, "the abandoned alerts to be sent again", step=0.1)
    assert time.monotonic() - claimed_at >= 0.9, "sent again before the 1 s lease ran out"
    assert sum(sent) == 2 and len(webhook.messages()) == 2


def test_digest_sends_one_message(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    db = seed(tmp_path / "a.db")
    subset = load_subscriptions(
        write_subs(tmp_path, "  - {name: daily, urls_env: [T_HOOK], mode: digest, cron: '0 9 * * *', backfill: true}\n")
    )
    assert alerts.dispatch_all(db, subset).sent == 0, "digest rows wait for their cron"
    alerts.enqueue_new(db, subset)
    assert alerts.dispatch_digest(db, subset, "daily").sent == 2
    [msg] = webhook.wait_for(1)
    assert "摘要：2 条新动态" in msg["title"]
    assert "我市保障性租赁住房筹集取得新进展" in msg["message"] and "杭州发布人才新政" in msg["message"]


def test_cli_alerts_test_and_list(tmp_path, monkeypatch, webhook):
    from monitor.cli.run import alerts as alerts_group

    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    subs = write_subs(tmp_path, "  - {name: hook, urls_env: [T_HOOK, T_UNSET], backfill: true}\n")
    monkeypatch.delenv("T_UNSET", raising=False)
    runner = CliRunner()
    res = runner.invoke(alerts_group, ["test", "--subscriptions", subs, "hook"])
    assert res.exit_code == 1
    assert "ok     T_HOOK" in res.output and "FAILED T_UNSET: environment variable not set" in res.output
    assert webhook.wait_for(1)[0]["title"] == "【改革监测】测试消息"
    res = runner.invoke(alerts_group, ["test", "--subscriptions", subs, "nope"])
    assert res.exit_code == 1 and "no subscription named 'nope'" in res.output
    db = seed(tmp_path / "a.db")
    alerts.enqueue_new(db, load_subscriptions(subs))
    res = runner.invoke(alerts_group, ["list", "--db", str(tmp_path / "a.db"), "--status", "pending"])
    assert res.exit_code == 0 and res.output.count("pending") == 2 and "杭州发布人才新政" in res.output


@pytest.mark.parametrize(
    "body, message",
    [
        ("  - {name: x, urls_env: ['json://host/tok']}\n", "environment variable NAMES"),
        ("  - {name: x, urls_env: [A], mode: digest}\n", "needs a 'cron'"),
        ("  - {name: x, urls_env: [A], filters: {itemz: [P1]}}\n", "unknown filter(s): itemz"),
        ("  - {name: x, urls_env: [A]}\n  - {name: x, urls_env: [B]}\n", "duplicate subscription name"),
    ],
)
def test_bad_subscription_files_are_one_line_errors(tmp_path, body, message):
    with pytest.raises(SubscriptionError) as err:
        load_subscriptions(write_subs(tmp_path, body))
    assert message in str(err.value) and "tok" not in str(err.value) and "\n" not in str(err.value)


def test_example_subscriptions_file_loads(repo_root):
    subset = load_subscriptions(repo_root / "subscriptions.example.yaml")
    assert {s.mode for s in subset.subscriptions} == {"immediate", "digest"}


@pytest.mark.parametrize(
    "url",
    [
        "dingtalk://abcdefgh12345678@0123456789abcdef0123456789abcdef/",
        "wecombot://0123456789abcdef0123",
        "feishu://0123456789abcdef0123456789",
    ],
)
def test_chinese_im_urls_take_the_same_code_path(url):
    """DingTalk, WeCom group bots and Feishu are Apprise URLs like any other (no network here)."""
    import apprise

    assert apprise.Apprise().add(url)
    assert alerts.send("notaurl", messages_module().Message("t", "b")) == (False, "not a valid Apprise URL")
    token = url.split("://")[1].split("@")[-1].strip("/")
    assert token not in alerts.redact(f"failed to reach {url}; bot {token} rejected", [url])
    assert alerts.redact(f"failed: {url}", []) == "failed: <url>"


def messages_module():
    from monitor.alerting import messages

    return messages


def test_filter_by_plan(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    db = seed(tmp_path / "a.db")
    db["plans"].insert({"id": "hz2026", "title": "2026年政府工作报告", "city": "杭州"})
    db["items"].insert({"id": "Y26", "plan_id": "hz2026", "parent_id": None, "kind": "task", "title": "人才引育"})
    db["stories"].insert({"id": 9})
    # a story linked to items of both plans, and one linked to the 2026 plan only
    add_article(db, 10, story=9, source="hznews", title="2026年人才引育", score=0.9, item="Y26", snippet="人才")
    subset = load_subscriptions(
        write_subs(
            tmp_path,
            """
  - {name: p2024, urls_env: [T_HOOK], backfill: true, filters: {plans: [hz2024]}}
  - {name: p2026, urls_env: [T_HOOK], backfill: true, filters: {plans: [hz2026]}}
  - {name: nope, urls_env: [T_HOOK], backfill: true, filters: {plans: [hz2030]}}
""",
        )
    )
    assert alerts.enqueue_new(db, subset) == {"p2024": 2, "p2026": 1, "nope": 0}
    rows = [r for r in store.list_outbox(db) if r["subscription"] == "p2026"]
    assert [r["article_id"] for r in rows] == [10]
