"""Reviewers: accounts (a file of password hashes kept outside the repository) and sign-in sessions.

The accounts file (path in `$HZWATCH_REVIEWERS`) has one `name:hash` line per reviewer, the hash in
datasette-auth-passwords' format (`pbkdf2_sha256$iterations$salt$hash`), written by
`hzwatch review passwd NAME`. There is no default account and no default password.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, who it
belongs to and when it ends. Signing out ends it, so a copy of the cookie is refused afterwards.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import sqlite_utils

from db.clock import now_iso, utc_now

ACCOUNTS_ENV = "HZWATCH_REVIEWERS"
ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 480_000
SESSION_HOURS = 12
NAME = re.compile(r"^[\w.@-]{1,64}$")


class AccountsError(ValueError):
    """An accounts file that cannot be used (unreadable, a bad line, inside the repository)."""


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"), iterations)
    return f"{ALGORITHM}${iterations}${salt}${base64.b64encode(digest).decode('ascii')}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algorithm, iterations, salt, expected = encoded.split("$", 3)
        if algorithm != ALGORITHM:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"), int(iterations))
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(base64.b64encode(digest).decode("ascii"), expected)


def accounts_path() -> Path | None:
    value = os.environ.get(ACCOUNTS_ENV)
    return Path(value) if value else None


def load_accounts(path: Path | None, repository: Path | None = None) -> dict[str, str]:
    """name -> password hash from the accounts file; {} when there is none (nobody can sign in)."""
    if path is None:
        return {}
    if repository is not None and path.resolve().is_relative_to(repository.resolve()):
        raise AccountsError(f"{path}: the reviewers file must be kept outside the repository")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AccountsError(f"cannot read reviewers file {path}: {exc.strerror}") from exc
    accounts = {}
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, encoded = line.partition(":")
        if not NAME.match(name) or not encoded.startswith(ALGORITHM + "$"):
            raise AccountsError(f"{path}:{n}: expected 'name:{ALGORITHM}$…'")
        accounts[name] = encoded
    return accounts


def set_account(path: Path, name: str, password: str) -> None:
    """Add or replace one reviewer's line in the accounts file (created with mode 600)."""
    if not NAME.match(name):
        raise AccountsError(f"reviewer names are letters, digits and . @ - _ (got {name!r})")
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    lines = [line for line in lines if line.partition(":")[0].strip() != name]
    lines.append(f"{name}:{hash_password(password)}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(db: sqlite_utils.Database, reviewer: str, hours: float = SESSION_HOURS) -> str:
    """A new session for `reviewer`; returns the token for the cookie (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    with db.atomic():
        db["review_sessions"].insert(
            {
                "token_hash": _token_hash(token),
                "reviewer": reviewer,
                "created_at": now_iso(),
                "expires_at": now_iso(utc_now() + dt.timedelta(hours=hours)),
            }
        )
    return token


def session_reviewer(db: sqlite_utils.Database, token: str | None) -> str | None:
    """Who a session token belongs to, if it is neither ended nor expired."""
    if not token:
        return None
    row = db.execute(
        "SELECT reviewer FROM review_sessions WHERE token_hash = ? AND ended_at IS NULL AND expires_at > ?",
        [_token_hash(token), now_iso()],
    ).fetchone()
    return row[0] if row else None


def end_session(db: sqlite_utils.Database, token: str | None) -> None:
    """Sign out: the token is refused from now on."""
    if token:
        with db.atomic():
            db.execute(
                "UPDATE review_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                [now_iso(), _token_hash(token)],
            )
