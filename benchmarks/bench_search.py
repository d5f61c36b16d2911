"""Search, item page and dashboard latency through Datasette over HTTP, at 100,000 articles.

    .venv/bin/python benchmarks/bench_search.py                 # 100,000 articles
    .venv/bin/python benchmarks/bench_search.py --million       # 1,000,000 (about 10x longer)
    .venv/bin/python benchmarks/bench_search.py --articles 20000 --reuse

Generates a database of synthetic Hangzhou-style articles (character frequencies taken from the
21 labelled real articles in tests/data/eval_dev, plan phrases mixed in at realistic
rates), builds the search index, starts Datasette exactly as `hzwatch serve` does (arbitrary SQL
off) on a free port, and prints median / p95 / max latency of each request.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

PLAN = "hangzhou-2024"
TERMS = ["人才", "住房", "数谷", "保障性住房", "一网通办", "中国数谷", "杭州", "深化改革强基固本"]
# Plan phrases: (sentence, share of articles containing it, item it supports, target figure)
PHRASES = [
    (
        "我市加快推进人才强市建设，今年已引进35岁以下大学生{n}万名。",
        0.04,
        "T-graduates",
        ("tgt-graduates-350k", "万名", 36),
    ),
    ("市住保房管局表示，今年新建配售型保障性住房{n}套。", 0.02, "T-housing", ("tgt-housing-6000", "套", 6300)),
    ("全市筹集保障性租赁住房{n}套（间），住房租赁市场平稳。", 0.03, "T-housing", None),
    ("“中国数谷”建设加速，数据要素市场化配置改革取得新进展。", 0.02, "R08", None),
    ("政务服务“一网通办”收件率达到{n}%。", 0.02, "R03", ("tgt-onenet-intake-90", "%", 95)),
    ("顶尖人才和领军人才引育成效明显，新引育顶尖人才{n}名。", 0.01, "T-talent-top", ("tgt-top-talent-15", "名", 16)),
    ("市委人才办介绍，人才服务“一件事”改革持续推进。", 0.05, "T-talent-policy", None),
    ("企业负责人说，留住这些人，才是关键。", 0.01, None, None),
]

# Items a generated candidate (待确认) names: the phrases' items, some with a target (the queue's
# priority 2), some without.
CANDIDATE_ITEMS = sorted({item for _text, _share, item, _target in PHRASES if item})


def char_pool() -> tuple[list[str], list[int]]:
    """Characters and their counts in the labelled real articles (realistic token frequencies)."""
    counts: dict[str, int] = {}
    dev = REPO / "tests" / "data" / "eval_dev"
    texts = [json.loads(p.read_text(encoding="utf-8"))["text"] for p in sorted(dev.glob("*.json"))]
    assert texts, f"no labelled articles in {dev}"
    for text in texts:
        for ch in text:
            if "\u4e00" <= ch <= "\u9fff":
                counts[ch] = counts.get(ch, 0) + 1
    chars = sorted(counts)
    return chars, [counts[c] for c in chars]


def _one_article(rng: random.Random, aid: int, filler, items: set, sources: list, recent_stories: list) -> tuple:
    """One synthetic article: its row, its matches and progress rows, and its story row if it starts one."""
    from db.articles import normalise_text

    month, day = rng.randint(1, 12), rng.randint(1, 28)
    published = f"2024-{month:02d}-{day:02d}T{rng.randint(7, 20):02d}:00:00+08:00"
    sentences, linked, progress = [], [], []
    for _ in range(rng.randint(12, 40)):  # about 300-1,300 characters of filler
        sentences.append(filler(rng.randint(12, 30)) + "。")
    for text, share, item, target in PHRASES:
        if rng.random() < share:
            value = round(target[2] * month / 12 * rng.uniform(0.9, 1.05), 1) if target else 0
            sentence = text.format(n=value)
            sentences.insert(rng.randrange(len(sentences) + 1), sentence)
            if item in items:
                linked.append(item)
            if target:
                progress.append((aid, target[0], value, target[1], published[:10], sentence))
    title = filler(rng.randint(8, 18))
    if linked and rng.random() < 0.3:
        title = PHRASES[[p[2] for p in PHRASES].index(linked[0])][0][:12].replace("{n}", "") + title[:6]
    body = "\n".join(sentences)
    sid, sname = sources[aid % 3]
    # About one article in six is a syndicated copy of a recent story (the others start one).
    story_row = None
    if recent_stories and rng.random() < 0.15:
        story = rng.choice(recent_stories)
    else:
        story = aid
        story_row = (aid, title, aid, published)
        recent_stories.append(aid)
        del recent_stories[:-50]
    # About one article in twelve without a link is a candidate (待确认) for an item, as the matcher
    # leaves some articles with plan evidence below the threshold (decided by the id, so the rest of
    # the database is what it was before candidates were generated).
    candidate = None
    if not linked and aid % 12 == 5:
        item = CANDIDATE_ITEMS[aid // 12 % len(CANDIDATE_ITEMS)]
        candidate = json.dumps(
            [{"item": item, "term": title[:4], "start": 0, "end": 4, "snippet": title}], ensure_ascii=False
        )
    article = (
        aid,
        f"https://www.hangzhou.gov.cn/art/{aid}.html",
        sid,
        "www.hangzhou.gov.cn",
        title,
        published,
        sname,
        body,
        normalise_text(body),
        hashlib.md5(body.encode()).hexdigest(),
        published,
        int(bool(linked)),
        float(len(linked)),
        published,
        story,
        candidate,
    )
    matches = [(aid, item, 1.0, json.dumps([{"term": item}])) for item in set(linked)]
    return article, matches, progress, story_row


CHUNK = 10_000  # articles per generation task
_POOL: dict = {}  # per worker process: the weighted character pool and the plan's item ids


def _init_worker(seed: int, items: set) -> None:
    """Build the weighted character pool once per worker (choices() per sentence dominated a run)."""
    chars, weights = char_pool()
    _POOL["text"] = "".join(random.Random(seed).choices(chars, weights, k=2_000_000))
    _POOL["items"] = items


def _chunk(task: tuple[int, int, int]) -> tuple[list, list, list, list]:
    """Rows for articles first..first+count-1 (deterministic per chunk)."""
    seed, first, count = task
    rng = random.Random(seed * 1_000_003 + first)
    pool, items = _POOL["text"], _POOL["items"]

    def filler(k: int) -> str:
        start = rng.randrange(len(pool) - k)
        return pool[start : start + k]

    sources = [("hzrb", "杭州日报"), ("hzgov", "杭州市人民政府门户网站"), ("hzwnews", "杭州网")]
    out: tuple[list, list, list, list] = ([], [], [], [])
    recent_stories: list[int] = []
    for aid in range(first, first + count):
        article, matches, progress, story = _one_article(rng, aid, filler, items, sources, recent_stories)
        out[0].append(article)
        out[1].extend(matches)
        out[2].extend(progress)
        if story:
            out[3].append(story)
    return out


def generate(path: Path, n: int, seed: int = 1) -> dict:
    """Write n synthetic articles with matches and progress; return timings.

    Rows are generated by worker processes (one per core) while this process inserts them.
    """
    import multiprocessing

    import db as dbpkg
    from db.catalog import sync_catalog
    from db.search import reindex
    from monitor.matching.catalog import load_catalog

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db = dbpkg.connect(path)
    # Benchmark database only: no durability needed while generating (a crash means a rerun).
    for pragma in ("synchronous = OFF", "cache_size = -400000", "temp_store = MEMORY"):
        db.execute(f"PRAGMA {pragma}")
    sync_catalog(db, load_catalog())
    for sid, name in [("hzrb", "杭州日报"), ("hzgov", "杭州市人民政府门户网站"), ("hzwnews", "杭州网")]:
        db["sources"].upsert({"id": sid, "name": name, "strategy": "list"}, pk="id")
    items = {r["id"] for r in db.query("SELECT id FROM items")}
    cols = (
        "id, url, source_id, site, title, published, source_name, body, body_norm, content_hash, "
        "fetched_at, relevant, score, matched_at, story_id, candidate"
    )
    tasks = [(seed, first, min(CHUNK, n + 1 - first)) for first in range(1, n + 1, CHUNK)]
    t0 = time.perf_counter()
    workers = max(1, min(len(tasks), multiprocessing.cpu_count()))
    with multiprocessing.get_context("fork").Pool(workers, _init_worker, (seed, items)) as pool:
        for articles, matches, progress, stories in pool.imap(_chunk, tasks):
            with db.atomic():
                db.conn.executemany(
                    "INSERT INTO stories (id, title_key, first_article_id, created_at) VALUES (?, ?, ?, ?)", stories
                )
                db.conn.executemany(f"INSERT INTO articles ({cols}) VALUES ({','.join('?' * 16)})", articles)
                db.conn.executemany(
                    "INSERT OR IGNORE INTO matches (article_id, item_id, score, evidence) VALUES (?, ?, ?, ?)",
                    matches,
                )
                db.conn.executemany(
                    "INSERT INTO progress (article_id, target_id, value, unit, as_of, quote) VALUES (?, ?, ?, ?, ?, ?)",
                    progress,
                )
    generated = time.perf_counter() - t0
    t1 = time.perf_counter()
    indexed = reindex(db)
    indexing = time.perf_counter() - t1
    db.close()
    return {
        "generate_s": round(generated, 1),
        "generate_rate_per_s": round(n / generated),
        "index_s": round(indexing, 1),
        "indexed": indexed,
        "index_rate_per_s": round(indexed / indexing),
    }


def prepare(path: Path) -> dict:
    """Migrate a (reused) database and refresh what the pages read; return the time it took."""
    import db as dbpkg
    from db.figures import refresh_figures

    t = time.perf_counter()
    db = dbpkg.connect(path)  # pending migrations (on a database built by an older version)
    refresh_figures(db)
    # No planner statistics: the service never runs ANALYZE, so the pages must be fast without them
    # (databases built by earlier versions of this script had them).
    db.execute("DROP TABLE IF EXISTS sqlite_stat1")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {"prepare_s": round(time.perf_counter() - t, 1)}


def sizes(path: Path) -> dict:
    """Database file size and the search index's share of it (pages of the FTS5 shadow tables)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        total = conn.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone()[0]
        fts = conn.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'articles_search%'").fetchone()[
            0
        ]
    finally:
        conn.close()
    return {
        "db_mb": round(total / 2**20),
        "search_index_mb": round(fts / 2**20),
        "search_index_share": f"{fts / total:.0%}",
    }


def timed(client: httpx.Client, url: str, params: dict | None = None) -> float:
    t = time.perf_counter()
    r = client.get(url, params=params)
    elapsed = time.perf_counter() - t
    if r.status_code != 200:
        raise RuntimeError(f"{url} {params}: HTTP {r.status_code}: {r.text[:300]}")
    return elapsed


def measure(client: httpx.Client, name: str, fn, repeat: int) -> dict:
    try:
        first = fn()
        runs = sorted(fn() for _ in range(repeat))
    except RuntimeError as exc:  # an error answer (e.g. the SQL time limit): printed, the others still run
        print(f"{name}: {str(exc)[:160]}", file=sys.stderr, flush=True)
        return {"request": name, "error": str(exc)[:300]}
    return {
        "request": name,
        "first_ms": round(first * 1000),
        "median_ms": round(statistics.median(runs) * 1000),
        "p95_ms": round(runs[max(0, int(len(runs) * 0.95) - 1)] * 1000),
        "max_ms": round(runs[-1] * 1000),
    }


def bench_http(path: Path, repeat: int) -> list[dict]:
    import yaml

    from monitor.service.serve import METADATA, datasette_argv, datasette_env

    sys.path.insert(0, str(REPO / "tests"))
    from support_fixture_db import start_logged, stop

    proc, url = start_logged(
        datasette_argv(path, port=0), path.parent / "datasette.log", env=datasette_env(), cwd=str(path.parent)
    )
    results = []
    try:
        client = httpx.Client(base_url=url, timeout=120)
        for term in TERMS:
            results.append(
                measure(client, f"/search?q={term}", lambda t=term: timed(client, "/search", {"q": t}), repeat)
            )
        for term in TERMS:
            results.append(
                measure(
                    client,
                    f"canned search.json q={term}",
                    lambda t=term: timed(client, f"/{path.stem}/search.json", {"q": t, "_shape": "array"}),
                    repeat,
                )
            )
        for item in ["R08", "T-housing", "T-talent-policy"]:
            url = f"/plan/{PLAN}/item/{item}"  # (/item/{id} redirects here)
            results.append(measure(client, url, lambda u=url: timed(client, u), repeat))
        results.append(
            measure(
                client,
                f"/plan/{PLAN}/target/tgt-housing-6000",
                lambda: timed(client, f"/plan/{PLAN}/target/tgt-housing-6000"),
                repeat,
            )
        )
        results.append(measure(client, "/article/1", lambda: timed(client, "/article/1"), repeat))
        results.append(measure(client, "/ (home)", lambda: timed(client, "/"), repeat))
        results.append(measure(client, f"/plan/{PLAN} (plan home)", lambda: timed(client, f"/plan/{PLAN}"), repeat))
        charts = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["plugins"]["datasette-dashboards"]["tracker"][
            "charts"
        ]

        def dashboard() -> float:
            import re

            total = timed(client, "/-/dashboards/tracker")
            for chart in charts.values():  # the browser fetches every chart's data
                total += timed(
                    client,
                    f"/{path.stem}.json",
                    {"sql": re.sub(r"\[\[.*?\]\]", "", chart["query"]), "_shape": "objects"},
                )
            return total

        results.append(measure(client, "dashboard (page + all chart data)", dashboard, repeat))
        for slug, chart in charts.items():
            import re

            sql = re.sub(r"\[\[.*?\]\]", "", chart["query"])
            results.append(
                measure(
                    client,
                    f"  chart {slug}",
                    lambda s=sql: timed(client, f"/{path.stem}.json", {"sql": s, "_shape": "objects"}),
                    repeat,
                )
            )
        for name in ["latest_matches", "target_progress", "coverage", "feed_matches"]:
            results.append(
                measure(client, f"canned {name}", lambda n=name: timed(client, f"/{path.stem}/{n}.json"), repeat)
            )
        client.close()
    finally:
        stop(proc)
    return results


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=100_000)
    p.add_argument("--million", action="store_true", help="1,000,000 articles")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "out"))
    p.add_argument("--reuse", action="store_true", help="reuse an existing database of that size")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--generate-only", action="store_true", help="build the database, print its figures, stop")
    a = p.parse_args(argv)
    started = time.perf_counter()
    n = 1_000_000 if a.million else a.articles
    path = Path(a.out) / f"search-{n}" / "hzwatch.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    if a.reuse and path.exists():
        build = {"reused": str(path)}
    else:
        print(f"generating {n:,} articles in {path} …", file=sys.stderr, flush=True)
        build = generate(path, n)
        print(json.dumps(build, ensure_ascii=False), flush=True)  # at once: the steps below take a while
    if a.generate_only:
        return
    build.update(prepare(path))
    t = time.perf_counter()
    build.update(sizes(path))
    build["sizes_s"] = round(time.perf_counter() - t, 1)
    print(json.dumps(build, ensure_ascii=False), flush=True)
    t = time.perf_counter()
    results = bench_http(path, a.repeat)
    http_s = time.perf_counter() - t
    print(f"\n{n:,} articles, Datasette over HTTP, {a.repeat} runs after a first one (ms)")
    print(f"{'request':44} {'first':>7} {'median':>7} {'p95':>7} {'max':>7}")
    for r in results:
        if "error" in r:
            print(f"{r['request']:44} failed: {r['error'][:60]}")
        else:
            print(f"{r['request']:44} {r['first_ms']:7} {r['median_ms']:7} {r['p95_ms']:7} {r['max_ms']:7}")
    print(f"\nHTTP measurements: {http_s:.0f} s; whole benchmark: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
