"""Alerts in long outages and on small channels (issue 14): each URL's acceptance is recorded the
moment it accepts, retries run for a horizon (not a number of attempts), failed and long-queued
alerts reach the operator once, digests are split to the channel's limit and never sent early."""

from __future__ import annotations

import json
import threading
import time

from support_servers import WebhookReceiver
from support_wait import wait_until
from test_alerts import seed, write_subs

import db as database
from db import alerts as store
from monitor.alerting import alerts
from monitor.alerting.subscriptions import load_subscriptions


def outbox(db) -> list[dict]:
    return list(db.query("SELECT * FROM outbox ORDER BY id"))


def test_the_first_url_is_recorded_the_moment_it_accepts_while_the_second_is_slow(tmp_path, monkeypatch, webhook):
    slow = WebhookReceiver()
    try:
        monkeypatch.setenv("T_FAST", webhook.apprise_url())
        monkeypatch.setenv("T_SLOW", slow.apprise_url())
        db = seed(tmp_path / "a.db")
        subset = load_subscriptions(
            write_subs(tmp_path, "  - {name: two, urls_env: [T_FAST, T_SLOW], backfill: true}\n")
        )
        slow.hold_requests()
        # the dispatcher on its own connection in its own thread, as in the service
        worker = threading.Thread(target=lambda: alerts.dispatch_all(database.connect(tmp_path / "a.db"), subset))
        worker.start()
        # while the dispatcher still waits for the slow endpoint, the fast one's acceptance is committed
        rows = wait_until(
            lambda: [r for r in outbox(db) if "T_FAST" in json.loads(r["delivered"] or "[]")],
            20,
            "T_FAST recorded as delivered",
        )
        assert worker.is_alive() and rows[0]["status"] == "sending"
        slow.release()
        worker.join(30)
    finally:
        slow.stop()


def test_retries_run_to_the_horizon_then_fail_and_the_operator_is_told_once(tmp_path, monkeypatch, webhook):
    operator = WebhookReceiver()
    try:
        monkeypatch.setenv("T_HOOK", webhook.apprise_url())
        monkeypatch.setenv("T_OPS", operator.apprise_url())
        webhook.down()
        db = seed(tmp_path / "a.db")
        horizon_s = 3.0
        subset = load_subscriptions(
            write_subs(
                tmp_path,
                "  - {name: hook, urls_env: [T_HOOK], backfill: true}\n",
                f"  backoff_base_seconds: 0.2\n  backoff_max_seconds: 0.4\n  retry_horizon_hours: {horizon_s / 3600}\n"
                "  queued_warn_minutes: 0.02\n  operator_urls_env: T_OPS\n",
            )
        )
        t0 = time.monotonic()
        wait_until(
            lambda: alerts.dispatch_all(db, subset) is not None and {r["status"] for r in outbox(db)} == {"failed"},
            30,
            "every alert failed for good",
            step=0.1,
        )
        assert time.monotonic() - t0 >= horizon_s - 0.5  # not after a fixed number of attempts
        assert min(r["attempts"] for r in outbox(db)) > 3
        got = operator.wait_for(2)
        bodies = [m["message"] for m in got]
        assert sum("排队已超过" in b for b in bodies) == 1, bodies  # once per outage, not per cycle
        assert sum("已标记为失败" in b for b in bodies) >= 1
        assert webhook.apprise_url() not in json.dumps(bodies)
    finally:
        operator.stop()


def test_a_digest_is_split_to_the_channel_limit(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    db = seed(tmp_path / "a.db")
    subset = load_subscriptions(
        write_subs(
            tmp_path,
            "  - {name: daily, urls_env: [T_HOOK], mode: digest, cron: '0 9 * * *', backfill: true}\n",
            "  message_limits: {json: 400, default: 60000}\n",
        )
    )
    alerts.enqueue_new(db, subset)
    assert alerts.dispatch_digest(db, subset, "daily").sent == 2
    got = webhook.wait_for(2)
    assert len(got) >= 2
    assert all(len(m["title"]) + len(m["message"]) <= 400 for m in got), [len(m["message"]) for m in got]
    text = "".join(m["message"] for m in got)
    assert "我市保障性租赁住房筹集取得新进展" in text and "杭州发布人才新政" in text
    assert all("部分）" in m["title"] for m in got)


def test_a_digest_retry_never_sends_new_rows_before_their_time(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("T_HOOK", webhook.apprise_url())
    db = seed(tmp_path / "a.db")
    subset = load_subscriptions(
        write_subs(
            tmp_path,
            "  - {name: daily, urls_env: [T_HOOK], mode: digest, cron: '0 9 * * *', backfill: true}\n",
            "  backoff_base_seconds: 0.1\n  backoff_max_seconds: 0.1\n",
        )
    )
    alerts.enqueue_new(db, subset)
    first, second = outbox(db)
    # the 09:00 digest of the first row failed; the second row was queued after it
    claimed = store.claim_due(db, ["daily"], 60, limit=1)
    assert [r["id"] for r in claimed] == [first["id"]]
    store.mark_attempt_failed(db, [first["id"]], "down", 0.1)
    wait_until(lambda: store.has_retry_due(db, "daily", 60), 5, "the retry to fall due")
    result = alerts.dispatch_all(db, subset)
    assert result.sent == 1
    rows = {r["id"]: r["status"] for r in outbox(db)}
    assert rows == {first["id"]: "sent", second["id"]: "pending"}
    assert len(webhook.wait_for(1)) == 1
