"""Alerts: derive outbox rows from stored matches, deliver them through Apprise, retry with back-off.

Delivery promise: at-least-once per (subscription, story). A row is marked 'sending' (with a lease)
before the network call and 'sent' right after the endpoint accepts; a crash in between leaves a
'sending' row that is retried once its lease expires.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote

import apprise

from db import alerts as store
from db.clock import utc_now
from db.status import parse_time
from monitor.alerting import messages
from monitor.alerting.subscriptions import Subscription, SubscriptionSet, accepts

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger("hzwatch.alerts")
# Apprise logs request URLs (tokens included); keep its records out of our logs entirely.
logging.getLogger("apprise").propagate = False


@dataclass
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    withdrawn: int = 0
    errors: list[str] = field(default_factory=list)
    failed_subs: set[str] = field(default_factory=set)


# -- secrets -----------------------------------------------------------------------------


def redact(text: str, secrets: list[str]) -> str:
    """Remove every URL and every meaningful piece of the given secret URLs from a text."""
    pieces: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        pieces.add(secret)
        for part in re.split(r"[/:@?&=#,\s]+", secret):
            part = unquote(part)
            if len(part) >= 4 and part.lower() not in {"json", "jsons", "mailto", "mailtos", "http", "https"}:
                pieces.add(part)
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return re.sub(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+", "<url>", text)


# -- sending -----------------------------------------------------------------------------

_capture_lock = threading.Lock()


def send(url: str, message: messages.Message) -> tuple[bool, str]:
    """Send one message to one Apprise URL; (accepted, redacted error text)."""
    ap = apprise.Apprise()
    if not ap.add(url):
        return False, "not a valid Apprise URL"
    # Apprise reports failure by returning False and logging why; capture the log for last_error.
    with _capture_lock, apprise.LogCapture(level=logging.WARNING) as output:
        try:
            ok = bool(ap.notify(body=message.body, title=message.title, body_format=apprise.NotifyFormat.TEXT))
        except Exception as exc:  # a plugin bug must not kill the dispatcher
            ok, extra = False, f"{type(exc).__name__}: {exc}"
        else:
            extra = ""
        logged = output.getvalue()
    if ok:
        return True, ""
    lines = [ln.split(" - ", 2)[-1].strip() for ln in logged.splitlines() if ln.strip()]
    detail = "; ".join(dict.fromkeys(lines + ([extra] if extra else []))) or "endpoint did not accept"
    return False, redact(detail, [url])[:500]


def message_limit(url: str, delivery: dict) -> int:
    """How many characters one message to this Apprise URL may carry (by its scheme)."""
    limits = delivery.get("message_limits") or {}
    scheme = url.split("://", 1)[0].lower().rstrip("s") if "://" in url else ""
    return int(limits.get(scheme) or limits.get(scheme + "s") or limits.get("default") or 0)


def deliver(
    sub: Subscription,
    message: messages.Message,
    already: set[str],
    on_accept: Callable[[str], object] | None = None,
    delivery: dict | None = None,
    templates: dict | None = None,
) -> tuple[list[str], list[str]]:
    """Send to each of the subscription's endpoints not yet done; (accepted env names, errors).

    `on_accept(env_name)` runs the moment an endpoint has accepted (the caller records it there, so
    a crash while a later endpoint is slow never sends to this one again). A message longer than
    an endpoint's limit (by Apprise scheme) goes as several parts."""
    accepted, errors = [], []
    for env_name, url in sub.urls().items():
        if env_name in already:
            continue
        if not url:
            errors.append(f"{env_name}: environment variable not set")
            continue
        parts = [message]
        if delivery is not None and templates is not None:
            parts = messages.split(message, message_limit(url, delivery), templates)
        ok, error = True, ""
        for part in parts:
            ok, error = send(url, part)
            if not ok:
                break
        if ok:
            accepted.append(env_name)
            if on_accept is not None:
                on_accept(env_name)
        else:
            errors.append(f"{env_name}: {error}")
    return accepted, errors


# -- enqueue -----------------------------------------------------------------------------


def enqueue_new(db: sqlite_utils.Database, subset: SubscriptionSet) -> dict[str, int]:
    """Add outbox rows for stored relevant articles that pass each subscription's filters."""
    counts: dict[str, int] = {}
    if not subset.subscriptions:
        return counts
    ancestors = store.item_ancestors(db)
    for sub in subset.subscriptions:
        state = store.touch_subscription(db, sub.name, sub.mode, sub.backfill)
        candidates = store.candidate_articles(db, sub.name, state["article_watermark"], sub.candidates)
        if not candidates:
            counts[sub.name] = 0
            continue
        ids = [c["id"] for c in candidates]
        matches = store.article_matches(db, ids)
        progress = store.article_progress(db, ids)
        added = 0
        for art in candidates:
            if accepts(sub, art, matches[art["id"]], progress[art["id"]], ancestors):
                added += store.enqueue(db, sub.name, art)
        counts[sub.name] = added
        if added:
            log.info("subscription %s: %d new alert(s) queued", sub.name, added)
    return counts


# -- dispatch ----------------------------------------------------------------------------


def _still_wanted(db: sqlite_utils.Database, sub: Subscription, row: dict, ancestors: dict[str, set[str]]) -> bool:
    """Does the queued article still pass the subscription? A reviewer may have rejected its links or
    marked it not relevant since it was queued: a rejected link never alerts."""
    article = store.article_for_message(db, row["article_id"])
    if article is None:
        return True  # _render says it no longer exists
    if not (article["relevant"] == 1 or (sub.candidates and article["is_candidate"])):
        return False
    matches = store.article_matches(db, [article["id"]])[article["id"]]
    progress = store.article_progress(db, [article["id"]])[article["id"]]
    return accepts(sub, article, matches, progress, ancestors)


def _withdraw_unwanted(
    db: sqlite_utils.Database, sub: Subscription, rows: list[dict], subset: SubscriptionSet, result: DispatchResult
) -> list[dict]:
    """The rows still wanted; the others are closed as 'withdrawn' with the reason."""
    if not rows:
        return rows
    ancestors = store.item_ancestors(db)  # once per batch, not once per row
    keep = [r for r in rows if _still_wanted(db, sub, r, ancestors)]
    gone = [r["id"] for r in rows if r not in keep]
    if gone:
        store.withdraw(db, gone, subset.messages["withdrawn"])
        result.withdrawn += len(gone)
        log.info("subscription %s: %d queued alert(s) withdrawn after review", sub.name, len(gone))
    return keep


def _render(db: sqlite_utils.Database, row: dict, subset: SubscriptionSet) -> messages.Message:
    article = store.article_for_message(db, row["article_id"])
    if article is None:
        raise LookupError(f"article {row['article_id']} no longer exists")
    matches = store.article_matches(db, [article["id"]])[article["id"]]
    progress = store.article_progress(db, [article["id"]])[article["id"]]
    return messages.render_article(article, matches, progress, subset.delivery, subset.messages)


def _retry_delay(delivery: dict, attempts_before: int, created_at: str | None = None) -> float | None:
    """Seconds until the next attempt (doubling, capped at backoff_max_seconds), or None when the row
    is past its retry horizon (retry_horizon_hours after it was queued) or its max_attempts."""
    cap = delivery.get("max_attempts")
    if cap and attempts_before + 1 >= int(cap):
        return None
    base, most = float(delivery["backoff_base_seconds"]), float(delivery["backoff_max_seconds"])
    delay = min(base * 2 ** min(attempts_before, 40), most)
    queued = parse_time(created_at)
    if queued is None:
        return delay
    left = float(delivery["retry_horizon_hours"]) * 3600 - (utc_now() - queued).total_seconds()
    if left <= 0:
        return None
    return min(delay, left)  # the last attempt falls on the horizon


# Per subscription: failed attempts since its endpoints last accepted (one log line per outage).
_outages: dict[str, int] = {}


def _log_outcome(sub: Subscription, ids: list[int], error: str, delay: float | None, delivery: dict) -> None:
    if delay is None:
        log.error("subscription %s: %d alert(s) failed for good: %s", sub.name, len(ids), error)
        return
    n = _outages.get(sub.name, 0)
    _outages[sub.name] = n + 1
    if n == 0:
        log.warning(
            "subscription %s: endpoint not accepting alerts (%s); alerts stay queued and are retried "
            "(back-off up to %.0f min, for %g h)",
            sub.name,
            error,
            float(delivery["backoff_max_seconds"]) / 60,
            float(delivery["retry_horizon_hours"]),
        )
    else:
        log.debug("subscription %s: still not accepting (%d): %s", sub.name, n + 1, error)


def _deliver_rows(
    db: sqlite_utils.Database,
    sub: Subscription,
    rows: list[dict],
    message: messages.Message,
    subset: SubscriptionSet,
    result: DispatchResult,
) -> None:
    """Deliver one message covering `rows` (same delivered set) and record the outcome."""
    already = set(json.loads(rows[0]["delivered"] or "[]"))
    ids = [r["id"] for r in rows]

    def accepted_by(env_name: str) -> None:  # committed at once: a retry skips the ones that accepted
        for i in ids:
            store.mark_delivered_to(db, i, env_name)

    _, errors = deliver(sub, message, already, accepted_by, subset.delivery, subset.messages)
    if not errors:
        store.mark_sent(db, ids)
        result.sent += len(ids)
        if _outages.pop(sub.name, 0):
            log.info("subscription %s: endpoints accept alerts again", sub.name)
        return
    error = "; ".join(errors)
    delay = _retry_delay(subset.delivery, max(r["attempts"] for r in rows), min(r["created_at"] for r in rows))
    store.mark_attempt_failed(db, ids, error, delay)
    result.errors.append(f"{sub.name}: {error}")
    if delay is None:
        result.failed += len(ids)
        result.failed_subs.add(sub.name)
    else:
        result.retrying += len(ids)
    _log_outcome(sub, ids, error, delay, subset.delivery)


def dispatch_immediate(
    db: sqlite_utils.Database, subset: SubscriptionSet, stop: threading.Event | None = None
) -> DispatchResult:
    """Claim due rows of immediate subscriptions one at a time and send each.

    One row per claim keeps the lease short (one send), and a row whose endpoint fails is pushed
    back with its own next_attempt, so it never blocks the rows behind it.
    """
    result = DispatchResult()
    names = [s.name for s in subset.subscriptions if s.mode == "immediate"]
    lease = float(subset.delivery["lease_seconds"])
    for _ in range(int(subset.delivery["batch"])):
        if stop is not None and stop.is_set():
            break
        rows = store.claim_due(db, names, lease, limit=1)
        if not rows:
            break
        row = rows[0]
        sub = subset.get(row["subscription"])
        if not _withdraw_unwanted(db, sub, [row], subset, result):
            continue
        try:
            message = _render(db, row, subset)
        except Exception as exc:
            store.mark_attempt_failed(db, [row["id"]], f"cannot render: {exc}", None)
            result.failed += 1
            continue
        _deliver_rows(db, sub, [row], message, subset, result)
    return result


def dispatch_digest(
    db: sqlite_utils.Database, subset: SubscriptionSet, name: str, retry_only: bool = False
) -> DispatchResult:
    """Send one digest message with every due row of a digest subscription."""
    result = DispatchResult()
    sub = subset.get(name)
    lease = float(subset.delivery["lease_seconds"])
    if retry_only and not store.has_retry_due(db, name, lease):
        return result
    # a retry sends only the rows that were due at a digest time already: new rows wait for the cron
    rows = store.claim_due(db, [name], lease, limit=1000, retries_only=retry_only)
    rows = _withdraw_unwanted(db, sub, rows, subset, result)
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["delivered"] or "[]", []).append(row)
    for group in groups.values():
        entries, ok_rows = [], []
        for row in group:
            try:
                entries.append(_render(db, row, subset))
                ok_rows.append(row)
            except Exception as exc:
                store.mark_attempt_failed(db, [row["id"]], f"cannot render: {exc}", None)
                result.failed += 1
        if ok_rows:
            message = messages.render_digest(entries, subset.delivery, subset.messages)
            _deliver_rows(db, sub, ok_rows, message, subset, result)
    return result


# Whether the operator has been told about the alerts queued too long now (once per outage).
_queue_reported = {"now": False}


def report_to_operator(db: sqlite_utils.Database, subset: SubscriptionSet, result: DispatchResult) -> list[str]:
    """Tell the operator (delivery.operator_urls_env, optional) about alerts that failed for good in
    this cycle, and once per outage about alerts queued longer than queued_warn_minutes; logged too.
    Returns the notes."""
    t, d = subset.messages, subset.delivery
    health = store.queue_health(db, float(d["queued_warn_minutes"]))
    notes = []
    if result.failed:
        subs = ", ".join(sorted(result.failed_subs))
        notes.append(t["operator_failed"].format(count=result.failed, hours=d["retry_horizon_hours"], subs=subs))
    if health["old"] and not _queue_reported["now"]:
        oldest = messages.format_time(health["oldest"], d["timezone"], t["unknown"])
        error = redact(health["error"], [u for s in subset.subscriptions for u in s.urls().values() if u])[:200]
        notes.append(
            t["operator_queued"].format(
                count=health["old"], minutes=d["queued_warn_minutes"], oldest=oldest, subs=health["subs"], error=error
            )
        )
        log.warning("%s", notes[-1])
    _queue_reported["now"] = bool(health["old"])
    env = d.get("operator_urls_env")
    url = os.environ.get(env) if env else None
    if notes and url:
        ok, error = send(url, messages.Message(title=t["operator_title"], body="\n".join(notes)))
        if not ok:
            log.warning("operator address (%s) did not accept the report: %s", env, error)
    return notes


def dispatch_all(
    db: sqlite_utils.Database, subset: SubscriptionSet, stop: threading.Event | None = None
) -> DispatchResult:
    """One dispatch cycle: enqueue new alerts, send immediate ones, retry failed digests; report
    alerts that failed or wait too long to the operator."""
    enqueue_new(db, subset)
    result = dispatch_immediate(db, subset, stop)
    for sub in subset.subscriptions:
        if sub.mode == "digest" and not (stop is not None and stop.is_set()):
            r = dispatch_digest(db, subset, sub.name, retry_only=True)
            result.sent += r.sent
            result.retrying += r.retrying
            result.failed += r.failed
            result.errors += r.errors
            result.failed_subs |= r.failed_subs
    report_to_operator(db, subset, result)
    return result


def send_test(subset: SubscriptionSet, name: str) -> dict[str, str | None]:
    """Send a test message to each endpoint of a subscription; env name -> error or None."""
    sub = subset.get(name)
    message = messages.render_test(sub.name, subset.delivery, subset.messages)
    out: dict[str, str | None] = {}
    for env_name, url in sub.urls().items():
        if not url:
            out[env_name] = "environment variable not set"
            continue
        ok, error = send(url, message)
        out[env_name] = None if ok else error
    return out
