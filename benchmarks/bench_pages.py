"""Page latencies over HTTP on a large database, the first request after a write and the median after.

    .venv/bin/python benchmarks/bench_pages.py --db benchmarks/out/search-1000000/hzwatch.db
    .venv/bin/python benchmarks/bench_pages.py --db … --repo /path/to/another/checkout   # its code

Datasette is started as `hzwatch serve` starts it (monitor.service.serve, of the checkout --repo).
Every page is requested once after the start ("start": templates compiled, files read). Then, before
each page's next request the database is written as a crawl writes it: one new relevant
article, matched to an item with a figure for a target, then the stored figures refreshed (the
writer's finish). That commit starts a new page-cache generation, so the first request computes
everything it reads; then --repeat more requests give the median (page cache on). The writes stay in
the database (a few articles of a test source); use a copy of a database you want to keep.

--mid-crawl: the writes leave their figures unstored, as between a crawl batch's commit and the
crawl's end (tgt-housing-6000 stays marked in figure_dirty; its pages say new figures are being
counted); at the end the figures are stored once, as the crawl's end does, and that is timed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import httpx

PLAN = "hangzhou-2024"
PAGES = [
    f"/plan/{PLAN}/item/R08",
    f"/plan/{PLAN}/item/T-housing",
    f"/plan/{PLAN}/item/T-talent-policy",
    f"/plan/{PLAN}/target/tgt-housing-6000",
    f"/plan/{PLAN}/target/tgt-graduates-350k",
    f"/plan/{PLAN}/target/tgt-graduates-350k?page=400",
    "/article/1",
    "/",
    f"/plan/{PLAN}",
]
# Reads timed with --more (m018): the supervision report, the feeds, the canned story lists and search.
MORE = [
    f"/plan/{PLAN}/report.html",
    f"/plan/{PLAN}/report.xlsx",
    "/feeds/target.atom?target=tgt-housing-6000",
    "/feeds/matches.atom",
    f"/feeds/plan.atom?plan={PLAN}",
    "/feeds/item.atom?item=R03",
    "/{db}/latest_matches.json",
    "/{db}/search.json?q=深化改革强基固本",
]


def write_once(db_path: Path, n: int, refresh: bool = True) -> float:
    """One crawl-like write (with the figures stored unless not `refresh`); returns its seconds."""
    import db as dbpkg
    from db.articles import store_article
    from db.figures import refresh_figures
    from db.matches import save_match
    from db.records import Article, Evidence, Figure, MatchResult

    started = time.perf_counter()
    db = dbpkg.connect(db_path)
    day = f"2024-{(n % 9) + 3:02d}-{(n % 27) + 1:02d}"
    article = Article(
        url=f"https://bench.example.cn/pages/{time.time_ns()}.html",
        title=f"基准测试写入第{n}篇：保障性住房",
        body=f"截至{day}，全市新建配售型保障性住房{1000 + n}套。",
        published=f"{day}T10:00:00+08:00",
        source_name="基准测试",
        site="bench.example.cn",
    )
    result = MatchResult(
        relevant=True,
        score=3.0,
        items=["T-housing"],
        evidence=[Evidence("T-housing", "保障性住房", 0, 5, "保障性住房")],
        progress=[Figure("tgt-housing-6000", 1000.0 + n, "套", day, article.body)],
    )
    with db.atomic():
        article_id, _ = store_article(db, article)
        save_match(db, article_id, result, "bench")
    if refresh:
        refresh_figures(db)
    db.close()
    return time.perf_counter() - started


def get(client: httpx.Client, url: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    r = client.get(url, params=params)
    if r.status_code != 200:
        raise RuntimeError(f"{url}: HTTP {r.status_code}: {r.text[:300]}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--mid-crawl", action="store_true", help="writes leave their figures unstored (see above)")
    p.add_argument("--more", action="store_true", help="time the MORE reads instead (no dashboard)")
    a = p.parse_args(argv)
    repo, db_path = Path(a.repo).resolve(), Path(a.db).resolve()
    sys.path[:0] = [str(repo), str(repo / "tests")]
    import yaml
    from support_fixture_db import start_logged, stop

    from monitor.service.serve import METADATA, datasette_argv, datasette_env

    write_once(db_path, 0)  # (pending migrations applied here, outside the figures)
    charts = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["plugins"]["datasette-dashboards"]["tracker"]
    sqls = {slug: re.sub(r"\[\[.*?\]\]", "", c["query"]) for slug, c in charts["charts"].items()}
    proc, url = start_logged(
        datasette_argv(db_path, port=0), db_path.parent / "datasette.log", env=datasette_env(), cwd=str(db_path.parent)
    )
    rows = []
    try:
        client = httpx.Client(base_url=url, timeout=300, follow_redirects=True)

        def dashboard() -> float:
            total = get(client, "/-/dashboards/tracker")
            for sql in sqls.values():
                total += get(client, f"/{db_path.stem}.json", {"sql": sql, "_shape": "objects"})
            return total

        pages = [page.format(db=db_path.stem) for page in (MORE if a.more else PAGES)]
        tasks = [(page, lambda u=page: get(client, u)) for page in pages]
        if not a.more:
            tasks.append(("dashboard (page + all chart data)", dashboard))
            for slug, sql in sqls.items():
                tasks.append((f"  chart {slug}", lambda s=sql: get(client, f"/{db_path.stem}.json", {"sql": s})))
        started = {name: fn() for name, fn in tasks}
        for n, (name, fn) in enumerate(tasks, start=1):
            wrote = write_once(db_path, n, refresh=not a.mid_crawl)
            first = fn()
            runs = sorted(fn() for _ in range(a.repeat))
            rows.append((name, started[name], wrote, first, statistics.median(runs), runs[-1]))
            print(f"{name:48} write {wrote * 1000:7.0f}  first {first * 1000:7.0f}", file=sys.stderr, flush=True)
        if a.mid_crawl:
            page = client.get(f"/plan/{PLAN}/target/tgt-housing-6000").text
            print(f"target page says new figures are being counted: {'正在计入' in page}", file=sys.stderr)
        client.close()
    finally:
        stop(proc)
    print(f"\n{db_path} via {repo}, ms: 'start' the first request since the server started, 'write' the")
    print("write's own time, 'first' the first request after it, then the median and max of the next ones")
    print(f"{'request':48} {'start':>7} {'write':>7} {'first':>7} {'median':>7} {'max':>7}")
    for name, *ms in rows:
        print(f"{name:48} " + " ".join(f"{x * 1000:7.0f}" for x in ms))
    if a.mid_crawl:
        import db as dbpkg
        from db.figures import dirty_targets, refresh_figures

        db = dbpkg.connect(db_path)
        dirty = dirty_targets(db)
        started_refresh = time.perf_counter()
        refresh_figures(db)
        print(
            f"crawl's end: figures of {', '.join(dirty) or 'no target'} stored in "
            f"{(time.perf_counter() - started_refresh) * 1000:,.0f} ms"
        )
        db.close()


if __name__ == "__main__":
    main()
