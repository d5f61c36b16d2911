"""Alerts: derive outbox rows from stored matches, deliver them through Apprise, retry with back-off.

Delivery promise: at-least-once per (subscription, story). A row is marked 'sending' (with a lease)
before the network call and 'sent' right after the endpoint accepts; a crash in between leaves a
'sending' row that is retried once its lease expires.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import unquote

import apprise

from db import alerts as store
from monitor.alerting import messages
from monitor.alerting.subscriptions import Subscription, SubscriptionSet, accepts

log = logging.getLogger("hzwatch.alerts")
# Apprise logs request URLs (tokens included); keep its records out of our logs entirely.
logging.getLogger("apprise").propagate = False


@dataclass
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


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


def deliver(sub: Subscription, message: messages.Message, already: set[str]) -> tuple[list[str], list[str]]:
    """Send to each of the subscription's endpoints not yet done; (accepted env names, errors)."""
    accepted, errors = [], []
    for env_name, url in sub.urls().items():
        if env_name in already:
            continue
        if not url:
            errors.append(f"{env_name}: environment variable not set")
            continue
        ok, error = send(url, message)
        if ok:
            accepted.append(env_name)
        else:
            errors.append(f"{env_name}: {error}")
    return accepted, errors


# -- enqueue -----------------------------------------------------------------------------


def enqueue_new(db, subset: SubscriptionSet) -> dict[str, int]:
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


def _render(db, row: dict, subset: SubscriptionSet) -> messages.Message:
    article = store.article_for_message(db, row["article_id"])
    if article is None:
        raise LookupError(f"article {row['article_id']} no longer exists")
    matches = store.article_matches(db, [article["id"]])[article["id"]]
    progress = store.article_progress(db, [article["id"]])[article["id"]]
    return messages.render_article(article, matches, progress, subset.delivery, subset.messages)


def _retry_delay(delivery: dict, attempts_before: int) -> float | None:
    """Seconds until the next attempt, or None when the row has used up its attempts."""
    if attempts_before + 1 >= int(delivery["max_attempts"]):
        return None
    return min(float(delivery["backoff_base_seconds"]) * (2**attempts_before), float(delivery["backoff_max_seconds"]))


def _deliver_rows(
    db, sub: Subscription, rows: list[dict], message: messages.Message, subset: SubscriptionSet, result: DispatchResult
) -> None:
    """Deliver one message covering `rows` (same delivered set) and record the outcome."""
    already = set(json.loads(rows[0]["delivered"] or "[]"))
    accepted, errors = deliver(sub, message, already)
    ids = [r["id"] for r in rows]
    for env_name in accepted:  # commit per endpoint: a retry skips the ones that accepted
        for i in ids:
            store.mark_delivered_to(db, i, env_name)
    if not errors:
        store.mark_sent(db, ids)
        result.sent += len(ids)
        return
    error = "; ".join(errors)
    delay = _retry_delay(subset.delivery, max(r["attempts"] for r in rows))
    store.mark_attempt_failed(db, ids, error, delay)
    result.errors.append(f"{sub.name}: {error}")
    if delay is None:
        result.failed += len(ids)
        log.error("subscription %s: alert(s) %s failed for good: %s", sub.name, ids, error)
    else:
        result.retrying += len(ids)
        log.warning("subscription %s: alert(s) %s not delivered, retry in %.0f s: %s", sub.name, ids, delay, error)


def dispatch_immediate(db, subset: SubscriptionSet, stop: threading.Event | None = None) -> DispatchResult:
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
        try:
            message = _render(db, row, subset)
        except Exception as exc:
            store.mark_attempt_failed(db, [row["id"]], f"cannot render: {exc}", None)
            result.failed += 1
            continue
        _deliver_rows(db, sub, [row], message, subset, result)
    return result


def dispatch_digest(db, subset: SubscriptionSet, name: str, retry_only: bool = False) -> DispatchResult:
    """Send one digest message with every due row of a digest subscription."""
    result = DispatchResult()
    sub = subset.get(name)
    lease = float(subset.delivery["lease_seconds"])
    if retry_only and not store.has_retry_due(db, name, lease):
        return result
    rows = store.claim_due(db, [name], lease, limit=1000)
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


def dispatch_all(db, subset: SubscriptionSet, stop: threading.Event | None = None) -> DispatchResult:
    """One dispatch cycle: enqueue new alerts, send immediate ones, retry failed digests."""
    enqueue_new(db, subset)
    result = dispatch_immediate(db, subset, stop)
    for sub in subset.subscriptions:
        if sub.mode == "digest" and not (stop is not None and stop.is_set()):
            r = dispatch_digest(db, subset, sub.name, retry_only=True)
            result.sent += r.sent
            result.retrying += r.retrying
            result.failed += r.failed
            result.errors += r.errors
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
