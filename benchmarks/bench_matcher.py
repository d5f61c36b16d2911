"""Matcher throughput: articles/s through `hzwatch match --jsonl` and through Matcher.match.

Articles are the real labelled pages of tests/eval_real and tests/data/eval_dev (150 articles
as published, none invented), each padded with other real news (negatives of tests/eval_real
naming no plan term) or its own text to about --chars characters, repeated to --count articles.
The `match --jsonl` run is pinned to one core (taskset, where there is one) and its figures count
the process from start to exit (start-up included), per wall-clock second and per CPU-second.
Usage: .venv/bin/python benchmarks/bench_matcher.py [--count 5000] [--chars 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def articles(
    count: int, chars: int, mode: str = "filler", distinct: bool = False, dirs: list[Path] | None = None
) -> list[dict]:
    """Labelled cases as articles of about `chars` characters.

    mode "filler": each case's text, then paragraphs of the non-relevant cases until long enough
    (like a real page: one story plus other news); "crawl": the same, one relevant case in ten;
    "repeat": the case's own text repeated (every alias and figure sentence several times).
    distinct: each distinct article once (`count` is ignored). dirs: where the cases come from.
    """
    # Real pages only: tests/eval_cases are invented sentences, shorter and denser than news.
    real = [REPO / "tests" / "eval_real", REPO / "tests" / "data" / "eval_dev"]
    cases = []
    for d in dirs or real:
        for path in sorted(d.glob("*.json")):
            cases.append(json.loads(path.read_text(encoding="utf-8")))
    # Filler is other news: non-relevant texts that name no plan item at all.
    from db.text import normalize
    from monitor.matching.catalog import load_catalog

    terms = [t for i in load_catalog().items.values() for t in i.aliases + i.weak]
    filler = "\n".join(
        c["text"]
        for c in cases
        + ([] if dirs is None else [json.loads(p.read_text("utf-8")) for p in sorted(real[0].glob("*.json"))])
        if not c["label"]["relevant"] and not any(t in normalize(c["text"]) for t in terms)
    )
    if len(filler) < 1000:
        raise SystemExit("bench_matcher: too little filler text (negatives naming no plan term)")
    base = []
    if mode == "crawl":  # a crawl is mostly other news: 1 case in 10 relevant
        pos = [c for c in cases if c["label"]["relevant"]]
        neg = [c for c in cases if not c["label"]["relevant"]]
        cases = [pos[i % len(pos)] if i % 10 == 0 else neg[i % len(neg)] for i in range(10 * len(neg))]
    for data in cases:
        data = {k: v for k, v in data.items() if k != "label"}
        text, k = data["text"], 0
        while len(text) < chars:
            if mode == "repeat":
                text += "\n" + data["text"]
            else:
                text += "\n" + filler[k : k + 400]
                k = (k + 400) % max(1, len(filler) - 400)
        data["text"] = text[:chars]
        base.append(data)
    if distinct:
        return base
    # Fresh objects for every article, as a crawl or a JSONL stream gives them.
    return [json.loads(json.dumps(base[i % len(base)])) for i in range(count)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--chars", type=int, default=2000)
    ap.add_argument(
        "--mode",
        choices=["filler", "crawl", "repeat"],
        default="filler",
        help="filler: every case padded with other news; crawl: the same with 1 relevant "
        "case in 10; repeat: each case padded with itself (worst case)",
    )
    args = ap.parse_args()
    arts = articles(args.count, args.chars, args.mode)
    from db.text import holds_traditional

    traditional = sum(holds_traditional(a["title"] + a["text"]) for a in arts)
    print(f"articles holding Traditional characters (converted by OpenCC): {traditional}/{len(arts)}")
    # A fixed pure-Python loop: about 0.45 s on an idle core of this machine kind; on a shared
    # machine, scale the figures below by (this / 0.45).
    c0 = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    print(f"reference loop: {time.process_time() - c0:.2f} CPU-s (idle core: about 0.45)")

    from db.records import Article
    from monitor.matching.matcher import Matcher

    t0 = time.perf_counter()
    matcher = Matcher()
    build = time.perf_counter() - t0
    records = [Article.from_labelled(a) for a in arts]  # as a crawl or the JSONL reader hands them on
    t0, c0 = time.perf_counter(), time.process_time()
    relevant = sum(matcher.match(a).relevant for a in records)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"catalog build: {build * 1000:.0f} ms")
    print(
        f"Matcher.match: {len(arts) / wall:,.0f} articles/s wall, {len(arts) / cpu:,.0f} per CPU-second "
        f"({args.chars} chars, mode {args.mode}, {relevant}/{len(arts)} relevant)"
    )

    # The floor of this design: what `match --jsonl` does around the matching itself (read a JSON
    # line, normalise title and body with OpenCC, one Aho-Corasick scan, the date, write a result)
    # with no matching at all; with the measured start-up below, the most the CLI could reach.
    lines_in = [json.dumps(a, ensure_ascii=False) for a in arts]
    empty = matcher.match(Article(url="", title="", body="")).to_json()
    t0, c0 = time.perf_counter(), time.process_time()
    for line in lines_in:
        matcher._read(Article.from_labelled(json.loads(line)))
        json.dumps(empty, ensure_ascii=False)
    floor_cpu = time.process_time() - c0
    print(
        f"floor without matching (JSON in, normalise, scan, date, JSON out): {len(arts) / floor_cpu:,.0f} "
        f"per CPU-second ({floor_cpu / len(arts) * 1e6:.0f} µs an article)"
    )

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for a in arts:
            fh.write(json.dumps(a, ensure_ascii=False) + "\n")
        path = fh.name
    t0 = time.perf_counter()
    before = os.times()
    cmd = [sys.executable, "-m", "monitor.cli", "match", "--jsonl", "-"]
    if shutil.which("taskset") and hasattr(os, "sched_getaffinity"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]  # one core
    with open(path, encoding="utf-8") as stdin:
        proc = subprocess.run(
            cmd,
            stdin=stdin,
            capture_output=True,
            cwd=REPO,
            check=True,
        )
    elapsed = time.perf_counter() - t0
    after = os.times()
    child_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    lines = proc.stdout.decode("utf-8").count("\n")
    assert lines == len(arts), (lines, len(arts))
    if sys.dont_write_bytecode:  # PYTHONDONTWRITEBYTECODE: modules without a .pyc compile at every start
        print("(PYTHONDONTWRITEBYTECODE is set: start-up compiles any project module without bytecode)")
    print(
        f"hzwatch match --jsonl: {len(arts) / elapsed:,.0f} articles/s "
        f"wall, {len(arts) / child_cpu:,.0f} per CPU-second "
        f"({len(arts)} articles in {elapsed:.2f} s, process start-up included)"
    )


if __name__ == "__main__":
    main()
