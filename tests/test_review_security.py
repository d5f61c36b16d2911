"""Review writes are refused to anyone but a signed-in reviewer's live session with Datasette's CSRF
token; hostile text in a reason is stored inert; passwords appear nowhere (issue 15).

A real `hzwatch serve` on 127.0.0.1 over the fixture database; requests with explicit cookies.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from support_fixture_db import build_fixture_db, start_logged, stop

from db.reviewers import AccountsError, load_accounts, verify_password

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "monitor.cli"]
HOSTILE = "'); DROP TABLE reviews; -- <script>alert('hz')</script><img src=x onerror=alert(1)>"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(url: str, data: dict | None = None, cookies: dict | None = None) -> tuple[int, dict, str]:
    """(status, Set-Cookie values by name, body) of one GET or form POST, no redirects followed."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body)
    if cookies:
        req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    try:
        with OPENER.open(req, timeout=60) as r:
            status, headers, text = r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as exc:
        status, headers, text = exc.code, exc.headers, exc.read().decode()
    set_cookies = {}
    for value in headers.get_all("set-cookie") or []:
        name, _, rest = value.partition("=")
        set_cookies[name] = rest.split(";", 1)[0]
    return status, set_cookies, text


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review-security")
    db_path = tmp / "hzwatch.db"
    build_fixture_db(db_path, generated=60)
    accounts = tmp / "reviewers.txt"
    env = dict(os.environ, HZWATCH_REVIEWERS=str(accounts))
    passwords = {name: secrets.token_urlsafe(12) for name in ("alice", "bob", "carol")}
    for name, password in passwords.items():
        done = subprocess.run(
            [*CLI, "review", "passwd", name, "--password", password], cwd=REPO, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    log = tmp / "serve.log"
    proc, url = start_logged([*CLI, "serve", "--db", str(db_path), "--port", "0"], log, env=env, cwd=str(REPO))
    try:
        yield {"url": url, "db": db_path, "passwords": passwords, "log": log, "accounts": accounts}
    finally:
        stop(proc)


def csrf(site, cookies: dict | None = None) -> tuple[str, dict]:
    """A CSRF token from a form page, and the cookies to send it with."""
    status, set_cookies, html = request(site["url"] + "/-/review/login", cookies=cookies)
    assert status == 200
    jar = dict(cookies or {}, **set_cookies)
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1), jar


def sign_in(site, name: str) -> dict:
    token, jar = csrf(site)
    data = {"csrftoken": token, "username": name, "password": site["passwords"][name], "next": "/"}
    status, set_cookies, _ = request(site["url"] + "/-/review/login", data, jar)
    assert status == 302 and set_cookies.get("hz_session")
    return dict(jar, hz_session=set_cookies["hz_session"])


def reviews(site) -> list[tuple]:
    with sqlite3.connect(site["db"]) as conn:
        return conn.execute("SELECT article_id, kind, action, reason, reviewer FROM reviews ORDER BY id").fetchall()


def a_relevant_article(site) -> int:
    with sqlite3.connect(site["db"]) as conn:
        return conn.execute("SELECT min(article_id) FROM matches").fetchone()[0]


def relevance(token: str, reason: str = "理由") -> dict:
    return {"csrftoken": token, "kind": "relevance", "action": "not_relevant", "reason": reason}


def test_a_signed_in_reviewer_can_write(site):
    # The control: the refusals below are refusals, not a write path that never works.
    jar = sign_in(site, "alice")
    token, jar = csrf(site, jar)
    article = a_relevant_article(site)
    before = len(reviews(site))
    status, _, _ = request(site["url"] + f"/-/review/article/{article}", relevance(token), jar)
    assert status == 302
    assert reviews(site)[before:] == [(article, "relevance", "not_relevant", "理由", "alice")]


def test_anonymous_post_is_refused(site):
    before = reviews(site)
    status, _, body = request(site["url"] + f"/-/review/article/{a_relevant_article(site)}", relevance("x"))
    assert status == 403 and "审阅人" in body
    token, jar = csrf(site)  # a visitor with a valid CSRF token but no session
    status, _, _ = request(site["url"] + f"/-/review/article/{a_relevant_article(site)}", relevance(token), jar)
    assert status == 403
    status, _, _ = request(site["url"] + "/-/review/undo/1", {"csrftoken": token}, jar)
    assert status == 403
    assert reviews(site) == before


def test_post_without_csrf_token_is_refused(site):
    jar = sign_in(site, "alice")
    before = reviews(site)
    data = {"kind": "relevance", "action": "relevant", "reason": "没有令牌"}
    status, _, _ = request(site["url"] + f"/-/review/article/{a_relevant_article(site)}", data, jar)
    assert status == 403
    token, _ = csrf(site)  # a token minted for another browser's cookie does not match this one
    status, _, _ = request(site["url"] + f"/-/review/article/{a_relevant_article(site)}", relevance(token), jar)
    assert status == 403
    assert reviews(site) == before


def test_session_cookie_replayed_after_sign_out_is_refused(site):
    jar = sign_in(site, "bob")
    token, jar = csrf(site, jar)
    status, _, _ = request(site["url"] + "/-/review/logout", {"csrftoken": token}, jar)
    assert status == 302
    # Someone who copied bob's cookies replays them, with a valid CSRF token for those cookies.
    before = reviews(site)
    status, _, _ = request(site["url"] + f"/-/review/article/{a_relevant_article(site)}", relevance(token), jar)
    assert status == 403
    assert reviews(site) == before
    _, _, page = request(site["url"] + "/-/review", cookies=jar)
    assert "审阅人 bob" not in page


def test_sql_and_markup_in_a_reason_are_stored_inert(site):
    jar = sign_in(site, "alice")
    token, jar = csrf(site, jar)
    article = a_relevant_article(site)
    status, _, _ = request(site["url"] + f"/-/review/article/{article}", relevance(token, HOSTILE), jar)
    assert status == 302
    assert reviews(site)[-1][3] == HOSTILE  # stored as text; the reviews table is still there
    for path in ["/-/review/audit", f"/article/{article}"]:
        _, _, html = request(site["url"] + path, cookies=jar)
        assert "&lt;script&gt;alert(&#39;hz&#39;)&lt;/script&gt;" in html, path
        assert "<script>alert('hz')" not in html and "<img src=x" not in html, path


def test_wrong_password_bad_redirect_and_get_writes(site):
    token, jar = csrf(site)
    data = {"csrftoken": token, "username": "alice", "password": "wrong-password", "next": "/"}
    status, set_cookies, html = request(site["url"] + "/-/review/login", data, jar)
    assert status == 403 and "hz_session" not in set_cookies and "用户名或密码不正确" in html
    data = dict(data, password=site["passwords"]["alice"], next="//evil.example/")
    status, _, _ = request(site["url"] + "/-/review/login", data, jar)
    assert status == 302  # signed in, but sent home, never off the site
    assert request(site["url"] + f"/-/review/article/{a_relevant_article(site)}")[0] in (403, 405)


def test_repeated_wrong_passwords_lock_that_name_for_a_while(site):
    for _ in range(5):
        token, jar = csrf(site)
        data = {"csrftoken": token, "username": "carol", "password": "guess", "next": "/"}
        assert request(site["url"] + "/-/review/login", data, jar)[0] == 403
    token, jar = csrf(site)
    data = {"csrftoken": token, "username": "carol", "password": site["passwords"]["carol"], "next": "/"}
    status, set_cookies, html = request(site["url"] + "/-/review/login", data, jar)
    assert status == 429 and "hz_session" not in set_cookies and "尝试次数过多，请 15 分钟后再试" in html
    sign_in(site, "alice")  # another name from the same address still signs in


def test_passwords_appear_nowhere(site):
    sign_in(site, "alice")
    blobs = {"log": site["log"].read_bytes()}
    for suffix in ("", "-wal"):
        path = Path(str(site["db"]) + suffix)
        if path.exists():
            blobs[path.name] = path.read_bytes()
    blobs["accounts"] = site["accounts"].read_bytes()
    for path in ["/", "/-/review", "/-/review/audit", "/-/review/login"]:
        blobs[path] = request(site["url"] + path)[2].encode()
    assert request(site["url"] + "/hzwatch/review_sessions")[0] == 403
    for name, password in site["passwords"].items():
        for where, blob in blobs.items():
            assert password.encode() not in blob, f"{name}'s password in {where}"
    accounts = load_accounts(site["accounts"])
    assert verify_password(site["passwords"]["bob"], accounts["bob"]) and not verify_password("x", accounts["bob"])
    assert oct(site["accounts"].stat().st_mode & 0o777) == "0o600"


def test_reviewers_file_inside_the_repository_is_refused(tmp_path):
    with pytest.raises(AccountsError, match="outside the repository"):
        load_accounts(REPO / "reviewers.txt", REPO)
    bad = tmp_path / "bad.txt"
    bad.write_text("alice:plaintext-password\n", encoding="utf-8")
    with pytest.raises(AccountsError, match="bad.txt:1"):
        load_accounts(bad)
    assert load_accounts(None) == {}  # no file, no reviewers: nobody can sign in
