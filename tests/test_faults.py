"""Fault suite: what survives a killed crawl, bad input, and readers during writes.

Everything is real: the replica sites (replica.server) on 127.0.0.1, `hzwatch crawl` in its own
process, SQLite on disk, Datasette over HTTP. Small and fast by default; set
HZWATCH_FAULTS_LONG=1 for the long mode (20 kills instead of 3, every source).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from support_faults import REPO, crawl_argv, datasette, env, init_db, integrity, query, remap_flags, run_hz
from support_wait import wait_until

LONG = os.environ.get("HZWATCH_FAULTS_LONG", "") not in ("", "0")
KILLS = 20 if LONG else 3
SEED = int(os.environ.get("HZWATCH_FAULTS_SEED", "0") or 0) or random.SystemRandom().randrange(1, 10**6)
# Hosts the crawl must never fetch: the offsite links and redirect targets the replica serves,
# mapped to the replica too so a wandering crawler shows up in its log instead of on the internet.
ARTICLE_FIELDS = "url, title, body, published"
# In CI the kill test crawls one source of each list family but the e-papers (whose day walk takes
# most of a full crawl's time); the long mode crawls every source.
KILL_SOURCES = [] if LONG else ["hznews", "gov-www", "zjol-hz"]
# A first-run backfill cap would let later runs reach further back than the reference crawl.
NO_CAP = ["--max-pages", "5000"]


def _offsite_hosts() -> list[str]:
    """Every host the replica links or redirects to that no source allows (from its data files)."""
    from urllib.parse import urlsplit

    sites = yaml.safe_load((REPO / "replica" / "sites.yaml").read_text(encoding="utf-8"))
    bad = yaml.safe_load((REPO / "replica" / "badcases.yaml").read_text(encoding="utf-8"))
    hosts = {urlsplit(u).hostname for u, _ in sites["hznews"].get("side_links", [])}
    for case in bad["cases"]:
        for key in ("to", "text"):
            value = str(case.get(key) or "")
            for token in value.replace("'", " ").replace('"', " ").replace("=", " ").split():
                if token.startswith(("http://", "https://")):
                    hosts.add(urlsplit(token).hostname)
    allowed = _allowed_hosts()
    return sorted(h for h in hosts if h and h not in allowed)


def _allowed_hosts() -> set[str]:
    from scrapers.sources import load_sources

    out = set()
    for s in load_sources():
        out.add(s.get("site"))
        out.update(s.get("allowed_hosts") or [])
    return {h for h in out if h}


def offsite_flags(server) -> list[str]:
    out = []
    for host in _offsite_hosts():
        out += ["--remap", f"{host}={server.base_url}/{host}"]
    return out


def articles(db: Path) -> dict[str, tuple]:
    rows = query(db, f"SELECT {ARTICLE_FIELDS} FROM articles")
    urls = [r[0] for r in rows]
    dup = [u for u, n in Counter(urls).items() if n > 1]
    assert not dup, f"duplicated article URLs: {dup[:5]}"
    return {r[0]: r[1:] for r in rows}


# ---- SIGKILL at random points ---------------------------------------------------------------------------


@pytest.mark.timeout(1800 if LONG else 300)
def test_sigkill_at_random_points_loses_and_duplicates_nothing(replica, tmp_path):
    # `replica` (conftest) serves no throttle page: the reference crawl and the killed ones see the same site.
    ref_db = tmp_path / "ref" / "hzwatch.db"
    ref_db.parent.mkdir()
    init_db(ref_db)
    t0 = time.monotonic()
    run_hz(*crawl_argv(replica, ref_db, *KILL_SOURCES, *NO_CAP)[3:], timeout=600)
    ref_seconds = time.monotonic() - t0
    reference = articles(ref_db)
    truth = {a["url"] for a in replica.articles()}
    assert len(reference) >= 50, f"reference crawl stored only {len(reference)} articles"
    assert set(reference) <= truth, "reference crawl stored URLs the replica never served"

    rnd = random.Random(SEED)
    budget, rounds = KILLS, 0
    # Once a database holds every article the remaining kills would only hit idle re-runs, so the
    # long mode starts another round on a fresh database; each round is checked on its own.
    while budget > 0:
        rounds += 1
        db = tmp_path / f"killed{rounds}" / "hzwatch.db"
        db.parent.mkdir()
        init_db(db)
        kills = []
        while budget > 0 and _count(db) < len(reference):
            budget -= 1
            kills.append(_kill_once(replica, db, rnd, len(kills), ref_seconds, len(reference)))
            assert integrity(db) == "ok", f"integrity_check failed after {kills} (seed {SEED})"
        print(f"seed {SEED}; reference {ref_seconds:.1f} s, {len(reference)} articles; round {rounds}: {kills}")
        _check_after_kills(replica, ref_db, db, reference, kills)


def _kill_once(replica, db: Path, rnd: random.Random, i: int, ref_seconds: float, total: int) -> str:
    """Start a crawl and SIGKILL its process group at a random point; say where it was killed."""
    stored = _count(db)
    # Every third kill lands by time in the first seconds (start-up, migrations, list walk); the
    # others when a random number of further articles has been written (mid-stream writes).
    by_time = i % 3 == 0
    delay = rnd.uniform(0.2, min(3.0, ref_seconds * 0.5))
    target = stored + rnd.randint(1, max(1, total - stored - 1))
    proc = subprocess.Popen(
        crawl_argv(replica, db, *KILL_SOURCES, *NO_CAP),
        cwd=REPO,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    started = time.monotonic()

    def kill_point_or_end() -> bool:
        if proc.poll() is not None:
            return True
        return time.monotonic() - started >= delay if by_time else _count(db) >= target

    try:
        wait_until(kill_point_or_end, 600, "the kill point or the end of the crawl", step=0.01)
    finally:  # never leave a crawl running behind the test
        elapsed = time.monotonic() - started
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if finished:
        return f"finished before the kill ({_count(db)} stored)"
    return f"killed at {elapsed:.1f} s with {_count(db)} stored" + ("" if by_time else f" (target {target})")


def _check_after_kills(replica, ref_db: Path, db: Path, reference: dict, kills: list[str]) -> None:
    left_running = [r[0] for r in query(db, "SELECT id FROM runs WHERE status = 'running'")]
    # One normal run afterwards must bring everything that is missing.
    run_hz(*crawl_argv(replica, db, *KILL_SOURCES, *NO_CAP)[3:], timeout=600)
    assert integrity(db) == "ok"
    got = articles(db)
    missing = sorted(set(reference) - set(got))
    extra = sorted(set(got) - set(reference))
    assert not missing, f"{len(missing)} articles lost after {kills} (seed {SEED}): {missing[:5]}"
    assert not extra, f"{len(extra)} articles beyond the reference crawl (duplicates under other URLs?): {extra[:5]}"
    # A kill between two writes must not leave a half-stored article.
    differ = [u for u in reference if got[u] != reference[u]]
    assert not differ, f"{len(differ)} articles differ from the reference crawl: {differ[:3]}"
    # Matches: one per (article, item) and the same as in the reference crawl.
    sql = "SELECT a.url, m.item_id FROM matches m JOIN articles a ON a.id = m.article_id"
    ref_m, got_m = Counter(query(ref_db, sql)), Counter(query(db, sql))
    assert got_m == ref_m, (
        f"matches differ from the reference crawl: {list(((ref_m - got_m) + (got_m - ref_m)).items())[:5]}"
    )
    # Stories (what alerts are sent per): the same grouping of articles, no story split in two.
    ref_s, got_s = _story_groups(ref_db), _story_groups(db)
    assert got_s == ref_s, f"story grouping differs: {sorted(map(sorted, ref_s ^ got_s))[:3]}"
    # Runs killed mid-crawl are closed by the next run, never left 'running' nor passed off as 'ok'.
    if left_running:
        rows = query(db, f"SELECT id, status FROM runs WHERE id IN ({','.join('?' * len(left_running))})", left_running)
        wrong = [r for r in rows if r[1] in ("running", "ok")]
        assert not wrong, f"killed runs still recorded as {wrong}"
    latest = query(db, "SELECT source_id, status FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY source_id)")
    assert all(status not in ("running", "failed") for _, status in latest), latest


def _story_groups(db: Path) -> set[frozenset]:
    groups: dict = {}
    for url, story in query(db, "SELECT url, story_id FROM articles"):
        groups.setdefault(story if story is not None else url, set()).add(url)
    return {frozenset(g) for g in groups.values()}


def _count(db: Path) -> int:
    try:
        return query(db, "SELECT COUNT(*) FROM articles")[0][0]
    except Exception:  # not created yet, or killed during the migration
        return 0


# ---- Bad-input corpus ------------------------------------------------------------------------------------

# What a recorded reason should say for each expected outcome of badcases.yaml (any one keyword).
REASON_WORDS = {
    "not_html": ("not_html", "binary", "content_type", "content-type", "non_html", "decode"),
    "too_large": ("large", "size"),
    "redirect_loop": ("redirect",),
    "redirect_offsite": ("offsite", "off_site", "redirect", "domain"),
    "http_error": ("http_",),
    "rate_limited": ("rate", "429", "throttl"),
    "timeout": ("timeout", "timed_out"),
    "error_page": ("not_found", "error_page", "404", "soft", "rate", "busy"),
    "js_shell": ("shell", "js", "script", "empty"),
    "empty": ("empty",),
    "no_content": ("no_", "empty", "content", "title", "body"),
}


@pytest.fixture(scope="module")
def badcase_crawl(tmp_path_factory):
    """One crawl of the whole bad-input corpus (replica/badcases.yaml); its results for the tests below."""
    from replica import badcases
    from replica import server as replica_server

    # Hanging cases stall longer than the crawler's --fast download timeout (10 s).
    srv = replica_server.start(articles=0, seed=0, hang_seconds=15)
    work = tmp_path_factory.mktemp("badcases")
    db = work / "hzwatch.db"
    try:
        init_db(db)
        srv.reset()
        proc = run_hz(*badcase_crawl_args(srv, db, work), timeout=300, check=False)
        log = srv.requests()
    finally:
        srv.stop()
    corpus = badcases.corpus()
    failures: dict[str, list[str]] = {}
    for url, reason in query(db, "SELECT url, reason FROM fetch_failures"):
        failures.setdefault(url, []).append(reason)
    stored = {r[0]: r[1] for r in query(db, "SELECT url, title FROM articles")}
    cases = []
    for case in corpus["cases"]:
        url = f"https://{corpus['host']}{case['path']}"
        stem = url.rsplit(".", 1)[0]
        # redirect pairs and chains record their failure on a hop (…_9.htm, ?hop=N)
        reasons = sorted({r for u, rs in failures.items() if u.startswith(stem) for r in rs})
        cases.append(dict(case, url=url, reasons=reasons))
    return {"proc": proc, "db": db, "log": log, "cases": cases, "stored": stored, "failures": failures}


def test_bad_input_crawl_completes_and_stays_on_allowed_domains(badcase_crawl):
    proc, db = badcase_crawl["proc"], badcase_crawl["db"]
    assert len(badcase_crawl["cases"]) >= 50
    assert proc.returncode == 0, f"crawl of the bad-input corpus exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert integrity(db) == "ok"
    runs = query(db, "SELECT id, status, pages_fetched, failures FROM runs")
    assert runs, "no runs row for the bad-input crawl"
    assert all(r[1] not in ("running", "failed") for r in runs), f"runs: {runs}"
    allowed = _allowed_hosts()
    off = Counter(e["host"] for e in badcase_crawl["log"] if e["host"] not in allowed)
    assert not off, f"requests to hosts outside every source: {dict(off)}"
    # stored URLs and details name the real sites, never the replica's local address
    local = query(
        db, "SELECT url, detail FROM fetch_failures WHERE url LIKE '%127.0.0.1%' OR detail LIKE '%127.0.0.1%'"
    )
    assert not local, f"replica address stored: {local[:3]}"
    fetched = {e["path"].split("?")[0] for e in badcase_crawl["log"]}
    unfetched = [c["id"] for c in badcase_crawl["cases"] if c["path"] not in fetched]
    assert not unfetched, f"bad cases never requested (list not followed?): {unfetched}"


def test_bad_input_each_case_stored_or_recorded(badcase_crawl):
    stored, problems = badcase_crawl["stored"], []
    for case in badcase_crawl["cases"]:
        url, reasons, label = case["url"], case["reasons"], f"{case['id']} ({case['note']})"
        if case["expect"] == "ok":
            target = url
            if case["kind"] == "redirect" and url not in stored:
                # a same-host redirect may be stored under its target
                target = next((u for u in stored if "/chengshi/" in u), url)
            if target not in stored:
                problems.append(f"{label}: not stored; failures {reasons}")
            elif "\ufffd" in (stored[target] or ""):
                problems.append(f"{label}: title has U+FFFD: {stored[target][:40]!r}")
            elif case.get("title") and case["kind"] == "charset" and case["title"] not in (stored[target] or ""):
                problems.append(f"{label}: title decoded as {stored[target][:40]!r}")
        else:
            if url in stored:
                problems.append(f"{label}: stored as an article (expected {case['expect']})")
            if not reasons:
                problems.append(f"{label}: no fetch_failures row (expected {case['expect']})")
    assert not problems, f"{len(problems)} of {len(badcase_crawl['cases'])} bad cases mishandled:\n" + "\n".join(
        problems
    )


def test_bad_input_reasons_say_what_happened(badcase_crawl):
    seen, vague = Counter(), []
    for case in badcase_crawl["cases"]:
        words = REASON_WORDS.get(case["expect"])
        if not words or not case["reasons"]:
            continue  # 'ok', 'truncated', 'connection_error': any reason will do; missing rows fail above
        seen[(case["expect"], ",".join(case["reasons"]))] += 1
        if not any(w in r.lower() for r in case["reasons"] for w in words):
            vague.append(f"{case['id']} ({case['note']}): expected {case['expect']}, recorded {case['reasons']}")
    print(
        "expected -> recorded:",
        json.dumps({f"{e} -> {r}": n for (e, r), n in sorted(seen.items())}, ensure_ascii=False, indent=1),
    )
    assert not vague, f"{len(vague)} failures recorded with a reason that does not say what happened:\n" + "\n".join(
        vague
    )


def badcase_crawl_args(srv, db: Path, work: Path) -> list[str]:
    """`hzwatch crawl` arguments that crawl the bad-input corpus list as an hznews-family source."""
    from replica import badcases

    corpus = badcases.corpus()
    sources = yaml.safe_load((REPO / "scrapers" / "sources.yaml").read_text(encoding="utf-8"))
    base = next(s for s in sources["sources"] if s.get("site") == corpus["host"])
    entry = dict(
        base,
        id="badcases",
        name="坏样本",
        article_paths=["/badcases/"],
        lists=[{"url": f"https://{corpus['host']}{corpus['list']}", "page": "index_{n}.htm", "first": 1}],
        max_pages=1,
    )
    sources["sources"] = [entry]
    path = work / "sources-badcases.yaml"
    path.write_text(yaml.safe_dump(sources, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return [
        "crawl",
        "badcases",
        "--sources-file",
        str(path),
        "--db",
        str(db),
        "--fast",
        "--since",
        "2024-01-01",
        *remap_flags(srv),
        *offsite_flags(srv),
    ]


# ---- Datasette reads while a crawl writes ---------------------------------------------------------------


def test_datasette_reads_during_crawl(tmp_path):
    from replica import server as replica_server

    srv = replica_server.start(articles=300, seed=3, rate_limit_nth=0)
    db = tmp_path / "hzwatch.db"
    try:
        init_db(db)
        with datasette(db) as ds:
            err_file = open(tmp_path / "crawl.stderr", "wb")
            proc = subprocess.Popen(
                crawl_argv(srv, db, *KILL_SOURCES), cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=err_file
            )
            item = query(db, "SELECT id FROM items ORDER BY position LIMIT 1")
            paths = [
                "/",
                f"/{db.stem}/articles.json?_sort_desc=id&_size=20",
                f"/{db.stem}/runs.json",
                "/search?q=" + quote("住房"),
                f"/{db.stem}/articles?_sort_desc=id",
            ]
            if item:
                paths.append(f"/item/{quote(item[0][0])}")
            statuses, errors, during, rounds = Counter(), [], 0, 0
            counts_seen = set()
            while proc.poll() is None:
                rounds += 1
                latest = query(db, "SELECT MAX(id), COUNT(*) FROM articles")[0]
                counts_seen.add(latest[1])
                batch = paths + (
                    [f"/article/{latest[0]}", f"/{db.stem}/articles/{latest[0]}.json"] if latest[0] else []
                )
                for p in batch:
                    status, body = ds.get(p)
                    statuses[status] += 1
                    during += 1
                    if status >= 500 or "database is locked" in body:
                        errors.append((p, status, body[:300]))
            proc.wait()
            err_file.close()
            err = (tmp_path / "crawl.stderr").read_text(encoding="utf-8", errors="replace")
            assert proc.returncode == 0, f"crawl failed while Datasette read: {err[-2000:]}"
            final = query(db, "SELECT COUNT(*) FROM articles")[0][0]
            print(
                f"{during} Datasette requests in {rounds} rounds during the crawl; statuses {dict(statuses)}; "
                f"article counts seen {sorted(counts_seen)[:3]}..{final}"
            )
            assert "database is locked" not in ds.stderr()
    finally:
        srv.stop()
    assert not errors, f"{len(errors)} failed reads during the crawl: {errors[:3]}"
    assert during >= 20, f"only {during} reads overlapped the crawl: the test proved nothing"
    assert len(counts_seen) >= 3, f"the crawl wrote too little during the reads ({sorted(counts_seen)})"
    assert set(statuses) <= {200}, dict(statuses)
