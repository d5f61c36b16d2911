"""Fault suite: what survives a killed crawl, bad input, and readers during writes.

Everything is real: the replica sites (replica.server) on 127.0.0.1, `hzwatch crawl` in its own
process, SQLite on disk, Datasette over HTTP. Small and fast by default; set
HZWATCH_FAULTS_LONG=1 (or pass --faults-long) for the long mode (20 kills instead of 3).
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

from support_faults import (REPO, crawl_argv, datasette, env, init_db, integrity, query, remap_flags,
                            run_hz)

LONG = os.environ.get("HZWATCH_FAULTS_LONG", "") not in ("", "0")
KILLS = 20 if LONG else 3
SEED = int(os.environ.get("HZWATCH_FAULTS_SEED", "0") or 0) or random.SystemRandom().randrange(1, 10**6)
# Hosts the crawl must never fetch: the offsite links and redirect targets the replica serves,
# mapped to the replica too so a wandering crawler shows up in its log instead of on the internet.
ARTICLE_FIELDS = "url, title, body, published"
# In CI the kill test crawls one source of each list family but the e-papers (whose day walk takes
# most of a full crawl's time); the long mode crawls every source.
KILL_SOURCES = [] if LONG else ["hznews", "gov-www", "zjol-hz", "gov-hrss", "gov-fgj"]


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


@pytest.fixture(scope="module")
def replica():
    from replica import server as replica_server

    # No throttle page: a reference crawl and a killed one must see the same site.
    srv = replica_server.start(seed=0, rate_limit_nth=0)
    yield srv
    srv.stop()


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

def test_sigkill_at_random_points_loses_and_duplicates_nothing(replica, tmp_path):
    ref_db = tmp_path / "ref" / "hzwatch.db"
    db = tmp_path / "killed" / "hzwatch.db"
    for d in (ref_db, db):
        d.parent.mkdir()
        init_db(d)
    t0 = time.monotonic()
    run_hz(*crawl_argv(replica, ref_db, *KILL_SOURCES)[3:], timeout=600)
    ref_seconds = time.monotonic() - t0
    reference = articles(ref_db)
    truth = {a["url"] for a in replica.articles()}
    assert len(reference) >= 50, f"reference crawl stored only {len(reference)} articles"
    assert set(reference) <= truth | _badcase_urls(), "reference crawl stored URLs the replica never served"

    rnd = random.Random(SEED)
    kills = []
    for i in range(KILLS):
        # Early points hit start-up and migrations; later ones list walks, fetches and writes.
        delay = rnd.uniform(0.2, max(0.5, ref_seconds * 0.9))
        proc = subprocess.Popen(crawl_argv(replica, db, *KILL_SOURCES), cwd=REPO, env=env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=delay)
            kills.append((round(delay, 2), "finished first"))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            stored = query(db, "SELECT COUNT(*) FROM articles")[0][0] if db.exists() else 0
            kills.append((round(delay, 2), f"killed with {stored} articles stored"))
        assert integrity(db) == "ok", f"integrity_check failed after kill {i + 1} {kills[-1]} (seed {SEED})"
    print(f"seed {SEED}; reference {ref_seconds:.1f} s, {len(reference)} articles; kills: {kills}")

    # One normal run afterwards must bring everything that is missing.
    run_hz(*crawl_argv(replica, db, *KILL_SOURCES)[3:], timeout=600)
    assert integrity(db) == "ok"
    got = articles(db)
    missing = sorted(set(reference) - set(got))
    extra = sorted(set(got) - set(reference))
    assert not missing, f"{len(missing)} articles lost after kills {kills} (seed {SEED}): {missing[:5]}"
    assert not extra, f"{len(extra)} articles beyond the reference crawl (duplicates under other URLs?): {extra[:5]}"
    # A kill between two writes must not leave a half-stored article.
    differ = [u for u in reference if got[u] != reference[u]]
    assert not differ, f"{len(differ)} articles differ from the reference crawl: {differ[:3]}"
    # Matches: one per (article, item); every article matched as in the reference.
    ref_m = Counter(r[0] for r in query(ref_db, "SELECT a.url FROM matches m JOIN articles a ON a.id = m.article_id"))
    got_m = Counter(r[0] for r in query(db, "SELECT a.url FROM matches m JOIN articles a ON a.id = m.article_id"))
    assert got_m == ref_m, f"matches differ from the reference crawl for {len(set(ref_m.items()) ^ set(got_m.items()))} articles"


def _badcase_urls() -> set[str]:
    bad = yaml.safe_load((REPO / "replica" / "badcases.yaml").read_text(encoding="utf-8"))
    return {f"https://{bad['host']}{c['path']}" for c in bad["cases"]}


def test_killed_runs_are_not_left_running(replica, tmp_path):
    """A crawl killed mid-run is closed as killed/failed by the next run, never left 'running' or 'ok'."""
    db = tmp_path / "hzwatch.db"
    init_db(db)
    proc = subprocess.Popen(crawl_argv(replica, db, *KILL_SOURCES), cwd=REPO, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    # Kill once a run row exists, i.e. in the middle of the crawl.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and query(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'")[0][0]:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "crawl finished before a run row appeared; cannot kill it mid-run"
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_ids = [r[0] for r in query(db, "SELECT id FROM runs WHERE status = 'running'")]
    assert killed_ids
    run_hz(*crawl_argv(replica, db, *KILL_SOURCES)[3:], timeout=600)
    rows = query(db, f"SELECT id, status, ended FROM runs WHERE id IN ({','.join('?' * len(killed_ids))})",
                 killed_ids)
    bad = [r for r in rows if r[1] in ("running", "ok")]
    assert not bad, f"killed runs still recorded as {bad}"
    latest = query(db, "SELECT source_id, status FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY source_id)")
    assert all(status not in ("running", "failed") for _, status in latest), latest


# ---- Bad-input corpus ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def badcase_server():
    from replica import server as replica_server

    # Hanging cases stall longer than the crawler's --fast download timeout (10 s).
    srv = replica_server.start(articles=0, seed=0, hang_seconds=15)
    yield srv
    srv.stop()


def test_bad_input_corpus(badcase_server, tmp_path):
    from replica import badcases

    corpus = badcases.corpus()
    cases = corpus["cases"]
    assert len(cases) >= 50
    db = tmp_path / "hzwatch.db"
    init_db(db)
    srv = badcase_server
    srv.reset()
    proc = run_hz(*badcase_crawl_args(srv, db, tmp_path), timeout=240, check=False)
    assert proc.returncode == 0, f"crawl of the bad-input corpus exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert integrity(db) == "ok"

    runs = query(db, "SELECT id, status, pages_fetched, failures FROM runs")
    assert runs, "no runs row for the bad-input crawl"
    assert all(r[1] not in ("running", "failed") for r in runs), f"runs: {runs}"

    host = corpus["host"]
    stored = {r[0]: r[1] for r in query(db, "SELECT url, title FROM articles")}
    failures: dict[str, list[str]] = {}
    for url, reason in query(db, "SELECT url, reason FROM fetch_failures"):
        failures.setdefault(url, []).append(reason)

    problems, seen = [], Counter()
    for case in cases:
        url = f"https://{host}{case['path']}"
        hops = [u for u in failures if u.startswith(url.rsplit(".", 1)[0])]
        reasons = sorted({r for u in hops for r in failures[u]})
        if case["expect"] == "ok":
            target = url
            if case["kind"] == "redirect" and url not in stored:
                # a same-host redirect may be stored under its target
                target = next((u for u in stored if "/chengshi/" in u), url)
            if target not in stored:
                problems.append(f"{case['id']} ({case['note']}): not stored; failures {reasons}")
            elif "\ufffd" in (stored[target] or ""):
                problems.append(f"{case['id']} ({case['note']}): title has U+FFFD: {stored[target][:40]!r}")
            elif case.get("title") and case["kind"] == "charset" and case["title"] not in (stored[target] or ""):
                problems.append(f"{case['id']} ({case['note']}): title decoded as {stored[target][:40]!r}")
        else:
            if url in stored:
                problems.append(f"{case['id']} ({case['note']}): stored as an article (expected {case['expect']})")
            if not reasons:
                problems.append(f"{case['id']} ({case['note']}): no fetch_failures row (expected {case['expect']})")
            seen[(case["expect"], ",".join(reasons))] += 1
    print("expected -> recorded reasons:", json.dumps({f"{e} -> {r}": n for (e, r), n in sorted(seen.items())},
                                                       ensure_ascii=False, indent=1))
    assert not problems, f"{len(problems)} of {len(cases)} bad cases mishandled:\n" + "\n".join(problems)

    # Nothing outside the allowed domains was fetched.
    allowed = _allowed_hosts()
    off = Counter(e["host"] for e in srv.requests() if e["host"] not in allowed)
    assert not off, f"requests to hosts outside every source: {dict(off)}"


def badcase_crawl_args(srv, db: Path, work: Path) -> list[str]:
    """`hzwatch crawl` arguments that crawl the bad-input corpus list as an hznews-family source."""
    from replica import badcases

    corpus = badcases.corpus()
    sources = yaml.safe_load((REPO / "scrapers" / "sources.yaml").read_text(encoding="utf-8"))
    base = next(s for s in sources["sources"] if s.get("site") == corpus["host"])
    entry = dict(base, id="badcases", name="坏样本", article_paths=["/badcases/"],
                 lists=[{"url": f"https://{corpus['host']}{corpus['list']}", "page": "index_{n}.htm", "first": 1}], max_pages=1)
    sources["sources"] = [entry]
    path = work / "sources-badcases.yaml"
    path.write_text(yaml.safe_dump(sources, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return ["crawl", "badcases", "--sources-file", str(path), "--db", str(db), "--fast", "--since", "2024-01-01",
            *remap_flags(srv), *offsite_flags(srv)]


# ---- Datasette reads while a crawl writes ---------------------------------------------------------------

def test_datasette_reads_during_crawl(tmp_path):
    from replica import server as replica_server

    srv = replica_server.start(articles=300, seed=3, rate_limit_nth=0)
    db = tmp_path / "hzwatch.db"
    try:
        init_db(db)
        with datasette(db) as ds:
            err_file = open(tmp_path / "crawl.stderr", "wb")
            proc = subprocess.Popen(crawl_argv(srv, db, *KILL_SOURCES), cwd=REPO, env=env(),
                                    stdout=subprocess.DEVNULL, stderr=err_file)
            item = query(db, "SELECT id FROM items ORDER BY position LIMIT 1")
            paths = ["/", f"/{db.stem}/articles.json?_sort_desc=id&_size=20", f"/{db.stem}/runs.json",
                     "/search?q=" + quote("住房"), f"/{db.stem}/articles?_sort_desc=id"]
            if item:
                paths.append(f"/item/{quote(item[0][0])}")
            statuses, errors, during, rounds = Counter(), [], 0, 0
            counts_seen = set()
            while proc.poll() is None:
                rounds += 1
                latest = query(db, "SELECT MAX(id), COUNT(*) FROM articles")[0]
                counts_seen.add(latest[1])
                batch = paths + ([f"/article/{latest[0]}", f"/{db.stem}/articles/{latest[0]}.json"] if latest[0] else [])
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
            print(f"{during} Datasette requests in {rounds} rounds during the crawl; statuses {dict(statuses)}; "
                  f"article counts seen {sorted(counts_seen)[:3]}..{final}")
            assert "database is locked" not in ds.stderr()
    finally:
        srv.stop()
    assert not errors, f"{len(errors)} failed reads during the crawl: {errors[:3]}"
    assert during >= 20, f"only {during} reads overlapped the crawl: the test proved nothing"
    assert len(counts_seen) >= 3, f"the crawl wrote too little during the reads ({sorted(counts_seen)})"
    assert set(statuses) <= {200}, dict(statuses)
