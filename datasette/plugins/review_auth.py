"""Reviewers sign in: accounts from the file named by $HZWATCH_REVIEWERS (outside the repository),
a session cookie the server can revoke, and the `hz-review` permission. Everyone else reads only.

Every write is a POST; Datasette's CSRF middleware checks its token on every POST that carries
cookies, and a POST without a signed-in reviewer's live session is refused here (403).
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from datasette.utils.asgi import Response

from datasette import hookimpl

REPO = Path(__file__).resolve().parents[2]
sys.path += [str(REPO), str(Path(__file__).resolve().parent / "vendor")]
import sqlite_utils  # noqa: E402

from db import connection, reviewers  # noqa: E402

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.database import Database
    from datasette.utils.asgi import Request

T = TypeVar("T")

COOKIE = "hz_session"
PERMISSION = "hz-review"
log = logging.getLogger("hzwatch.review")
_accounts: dict = {}
# Checked when a name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = reviewers.hash_password("not a password")
# Sign-in attempts: after this many failures for one name from one address (or ten times as many
# from one address for any names) within the window, further attempts are refused until it passes.
MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


class SignInThrottle:
    """Failed sign-ins per (address, name) and per address, in this process's memory."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS):
        self.max_failures, self.window = max_failures, window
        self._failures: dict[tuple[str, str | None], list[float]] = {}

    def _recent(self, key: tuple[str, str | None]) -> list[float]:
        cutoff = time.monotonic() - self.window
        kept = [t for t in self._failures.get(key, []) if t > cutoff]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def wait_minutes(self, address: str, name: str) -> int:
        """0 if an attempt may be made now, else the whole minutes until one may."""
        blocked = [
            times
            for key, limit in (((address, name), self.max_failures), ((address, None), 10 * self.max_failures))
            if len(times := self._recent(key)) >= limit
        ]
        if not blocked:
            return 0
        until = max(times[-1] for times in blocked) + self.window
        return max(1, math.ceil((until - time.monotonic()) / 60))

    def failed(self, address: str, name: str) -> None:
        now = time.monotonic()
        for key in ((address, name), (address, None)):
            self._failures.setdefault(key, []).append(now)

    def succeeded(self, address: str, name: str) -> None:
        self._failures.pop((address, name), None)


_throttle = SignInThrottle()


def monitored_database(datasette: Datasette) -> Database:
    names = [name for name in datasette.databases if not name.startswith("_")]
    return datasette.get_database(names[0])


def accounts() -> dict[str, str]:
    """The reviewers file, re-read when it changes (removing a line signs that reviewer out)."""
    path = reviewers.accounts_path()
    try:
        key = (str(path), path.stat().st_mtime_ns) if path else None
    except OSError:
        key = None
    if key not in _accounts:
        _accounts.clear()
        try:
            _accounts[key] = reviewers.load_accounts(path, REPO) if key else {}
        except reviewers.AccountsError as exc:
            log.warning("no reviewer can sign in: %s", exc)
            _accounts[key] = {}
    return _accounts[key]


async def run_write(datasette: Datasette, fn: Callable[[sqlite_utils.Database], T]) -> T:
    return await monitored_database(datasette).execute_write_fn(lambda conn: fn(connection.Database(conn)))


@hookimpl
def actor_from_request(datasette: Datasette, request: Request) -> Callable[[], Awaitable[dict | None]] | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None

    async def reviewer() -> dict | None:
        db = monitored_database(datasette)
        name = await db.execute_fn(lambda conn: reviewers.session_reviewer(sqlite_utils.Database(conn), token))
        return {"id": name, "hz_reviewer": True} if name and name in accounts() else None

    return reviewer


@hookimpl
def permission_allowed(actor: dict | None, action: str, resource: str | tuple[str, ...] | None) -> bool | None:
    if action == PERMISSION:
        return bool(actor and actor.get("hz_reviewer"))
    # Who signed in when is nobody's business: the sessions table is not published.
    if action == "view-table" and isinstance(resource, tuple) and resource[1:] == ("review_sessions",):
        return False
    return None


@hookimpl
def extra_template_vars(request: Request | None) -> dict:
    actor = request.actor if request else None
    return {"hz_reviewer": actor["id"] if actor and actor.get("hz_reviewer") else None}


def safe_next(value: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    parsed = urlparse(value or "/")
    return value if value and value.startswith("/") and not value.startswith("//") and not parsed.netloc else "/"


async def login(datasette: Datasette, request: Request) -> Response:
    next_path = safe_next(request.args.get("next"))
    error = None
    if request.method == "POST":
        form = await request.post_vars()
        next_path = safe_next(form.get("next"))
        name, password = form.get("username", ""), form.get("password", "")
        address = (request.scope.get("client") or ("?",))[0]
        wait = _throttle.wait_minutes(address, name)
        if wait:
            log.warning("sign-in refused for %r from %s: too many failed attempts", name, address)
            error = f"尝试次数过多，请 {wait} 分钟后再试"
            html = await datasette.render_template(
                "review_login.html", {"error": error, "next": next_path}, request=request
            )
            return Response.html(html, status=429)
        encoded = accounts().get(name)
        ok = await asyncio.to_thread(reviewers.verify_password, password, encoded or _DUMMY_HASH)
        if ok and encoded:
            _throttle.succeeded(address, name)
            token = await run_write(datasette, lambda db: reviewers.start_session(db, name))
            log.info("reviewer %s signed in", name)
            response = Response.redirect(next_path)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=reviewers.SESSION_HOURS * 3600)
            return response
        _throttle.failed(address, name)
        error = "用户名或密码不正确" if accounts() else "本站未配置审阅账号"
    html = await datasette.render_template("review_login.html", {"error": error, "next": next_path}, request=request)
    return Response.html(html, status=403 if error else 200)


async def logout(datasette: Datasette, request: Request) -> Response:
    if request.method != "POST":
        return Response.text("请用页面上的“退出”按钮退出", status=405)
    token = request.cookies.get(COOKIE)
    await run_write(datasette, lambda db: reviewers.end_session(db, token))
    response = Response.redirect("/")
    response.set_cookie(COOKIE, "", expires=0, httponly=True, samesite="strict")
    return response


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Any]]]:
    return [(r"^/-/review/login$", login), (r"^/-/review/logout$", logout)]
