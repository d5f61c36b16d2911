"""Why a fetch failed, in one short word stored with the failure: a download error, an ignored
request, or a response that is not an HTML page at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

if TYPE_CHECKING:
    from scrapy.http import Response
    from twisted.python.failure import Failure

# Reasons that may fix themselves: the list walk is incomplete, not finished.
TRANSIENT = {"timeout", "connection", "dns", "error", "http_5xx"}
# Reasons an article fetch is tried again by later runs (db.runs.pending_retries bounds how often).
RETRYABLE = frozenset(
    TRANSIENT
    | {f"http_{code}" for code in (429, 500, 502, 503, 504, 520, 521, 522, 523, 524)}
    | {"rate_limited", "store_error"}
)


# The three ways a site can be unreachable, in the words users read (CLI, status, source health).
UNREACHABLE = {"dns": "域名无法解析", "connection": "连接被拒绝", "timeout": "超时"}


def network_reason(exc: BaseException) -> str | None:
    """dns / connection / timeout for an exception that says the host cannot be reached, else None."""
    from scrapy import exceptions as sx
    from twisted.internet import error as tx

    if isinstance(exc, (sx.CannotResolveHostError, tx.DNSLookupError)):
        return "dns"
    if isinstance(exc, (sx.DownloadConnectionRefusedError, tx.ConnectionRefusedError, tx.NoRouteError)):
        return "connection"
    if isinstance(exc, (sx.DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError)):
        return "timeout"
    low = str(exc).lower()
    if isinstance(exc, sx.DownloadFailedError) and ("timed out" in low or "timeout" in low):
        return "timeout"
    return None


def unreachable_message(reason: str, host: str) -> str:
    """The one plain line that says why a crawl failed: 域名无法解析：kj.hangzhou.gov.cn."""
    return f"{UNREACHABLE.get(reason, reason)}：{host}"


_BINARY_MAGIC = {
    b"%PDF": "pdf",
    b"PK\x03\x04": "zip",
    b"\xd0\xcf\x11\xe0": "ms-office",
    b"\x89PNG": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF8": "gif",
    b"\x1f\x8b": "gzip",
    b"Rar!": "rar",
}


def binary_kind(data: bytes) -> str | None:
    """pdf / zip / png … / binary when these bytes are no text page at all, else None."""
    head = data[:1024].lstrip()
    for magic, name in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return name
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):  # NULs: not text (UTF-16 aside)
        return "binary"
    if head and sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 20:  # control bytes galore
        return "binary"
    return None


def not_html(response: Response) -> str | None:
    """What an article response really is when it is not an HTML page (whatever its Content-Type says)."""
    head = response.body[:1024].lstrip()
    for magic, name in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return name
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    if "json" in ctype or head[:1] in (b"{", b"["):
        return "json"
    if head and b"<" not in head and b"\x00" in head:
        return "binary"
    return None


def reason_name(reason: str) -> str:
    """An extractor reason ("not-found-page") as a failure reason ("not_found_page")."""
    return reason.replace("-", "_")


def failure_reason(failure: Failure) -> str:
    """Short reason for a download failure."""
    from scrapy import exceptions as sx
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as tx
    from twisted.internet.defer import CancelledError

    msg = str(failure.value)
    low = msg.lower()
    if failure.check(IgnoreRequest):
        if "robots.txt" in low:
            return "robots"
        if msg.startswith(("too_large", "not_html")):
            return msg.split(":", 1)[0]
        if "maxsize" in low or "max size" in low or "decompress" in low:
            return "too_large"
        return "ignored"
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(sx.CannotResolveHostError, tx.DNSLookupError):
        return "dns"
    if failure.check(sx.DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError):
        return "timeout"
    if failure.check(sx.DownloadCancelledError, CancelledError):
        # Scrapy cancels a download that passes DOWNLOAD_MAXSIZE; a stalled one ends as a timeout
        return "too_large" if "size" in low or "maxsize" in low else "timeout" if "timeout" in low else "cancelled"
    if failure.check(sx.DownloadConnectionRefusedError, tx.ConnectionRefusedError):
        return "connection"
    if failure.check(sx.ResponseDataLossError, tx.ConnectionLost, tx.ConnectionDone):
        return "truncated"
    if failure.check(sx.DownloadFailedError):
        return "timeout" if "timeout" in low or "timed out" in low else "connection"
    return "error"


# Recorded as fetch failures for the record, but not a sign of a broken run (a day without an issue).
BENIGN_REASONS = {"no_issue"}


def run_status(reason: str, failures: dict, pages: int, new: int) -> str:
    """A run's status from how the spider closed and what failed: ok | partial | failed | timeout | killed."""
    if reason == "finished":
        real = {k: v for k, v in failures.items() if k not in BENIGN_REASONS}
        if not real:
            return "ok"
        return "failed" if not pages and not new else "partial"
    return {"closespider_timeout": "timeout", "shutdown": "killed"}.get(reason, "failed")
