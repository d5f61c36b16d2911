"""Matcher throughput: articles/s through `hzwatch match --jsonl` and through Matcher.match.

Articles are the labelled cases in tests/eval_cases (and ../shared/eval/dev when present),
each padded with its own text to about --chars characters, repeated to --count articles.
Usage: .venv/bin/python benchmarks/bench_matcher.py [--count 5000] [--chars 2000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def articles(count: int, chars: int) -> list[dict]:
    dirs = [REPO / "tests" / "eval_cases", REPO.parent / "shared" / "eval" / "dev"]
    base = []
    for d in dirs:
        for path in sorted(d.glob("*.json")) if d.is_dir() else []:
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("label", None)
            text = data["text"]
            while len(text) < chars:
                text += "\n" + data["text"]
            data["text"] = text[:chars]
            base.append(data)
    return [base[i % len(base)] for i in range(count)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--chars", type=int, default=2000)
    args = ap.parse_args()
    arts = articles(args.count, args.chars)

    from monitor.matcher import Matcher

    t0 = time.perf_counter()
    matcher = Matcher()
    build = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    relevant = sum(matcher.match(a)["relevant"] for a in arts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"catalog build: {build * 1000:.0f} ms")
    print(f"Matcher.match: {len(arts) / wall:,.0f} articles/s wall, {len(arts) / cpu:,.0f} per CPU-second "
          f"({args.chars} chars, {relevant}/{len(arts)} relevant)")

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for a in arts:
            fh.write(json.dumps(a, ensure_ascii=False) + "\n")
        path = fh.name
    t0 = time.perf_counter()
    before = os.times()
    with open(path, encoding="utf-8") as stdin:
        proc = subprocess.run([sys.executable, "-m", "monitor.cli", "match", "--jsonl", "-"],
                              stdin=stdin, capture_output=True, cwd=REPO, check=True)
    elapsed = time.perf_counter() - t0
    after = os.times()
    child_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    lines = proc.stdout.decode("utf-8").count("\n")
    assert lines == len(arts), (lines, len(arts))
    print(f"hzwatch match --jsonl: {len(arts) / elapsed:,.0f} articles/s "
          f"wall, {len(arts) / child_cpu:,.0f} per CPU-second "
          f"({len(arts)} articles in {elapsed:.2f} s, process start-up included)")


if __name__ == "__main__":
    main()
