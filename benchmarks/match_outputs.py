"""Dump every `hzwatch match --jsonl` and `hzwatch eval --json` output, to diff matcher changes.

For every labelled set (tests/eval_*, tests/data/eval_dev, ../shared/eval/dev) and for the
articles of benchmarks/bench_matcher.py (each mode, one copy of each distinct article), it runs
`python -m monitor.cli match --jsonl -` over the articles (full catalog) and `eval --json DIR`,
and writes one file per run into OUT. Diff two OUT directories (before and after a change):
`diff -r OUT_BEFORE OUT_AFTER` must print nothing.
Usage: .venv/bin/python benchmarks/match_outputs.py OUT
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SETS = [
    REPO / "tests" / "eval_cases",
    REPO / "tests" / "eval_blind",
    REPO / "tests" / "eval_blind2",
    REPO / "tests" / "eval_real",
    REPO / "tests" / "eval_real_en",
    REPO / "tests" / "data" / "eval_dev",
    REPO.parent / "shared" / "eval" / "dev",
]


def _run(args: list[str], stdin: str | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        check=False,
    )
    return proc.stdout + (f"\nstderr: {proc.stderr}\nrc: {proc.returncode}\n" if proc.returncode else "")


def _jsonl(articles: list[dict]) -> str:
    return "".join(
        json.dumps({k: v for k, v in a.items() if k != "label"}, ensure_ascii=False) + "\n" for a in articles
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for d in SETS:
        if not d.is_dir():
            continue
        name = "_".join(d.relative_to(REPO.parent).parts[1:])
        paths = sorted(d.glob("*.json"))
        arts = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
        lines = _run(["match", "--jsonl", "-"], _jsonl(arts)).splitlines()
        named = "".join(f"{p.name}\t{line}\n" for p, line in zip(paths, lines, strict=False))
        (args.out / f"{name}.match.jsonl").write_text(named, encoding="utf-8")
        (args.out / f"{name}.eval.json").write_text(_run(["eval", "--json", str(d)]), encoding="utf-8")
    from benchmarks.bench_matcher import articles

    invented = [REPO / "tests" / "eval_cases", REPO / "tests" / "data" / "eval_dev"]
    for mode in ("filler", "crawl", "repeat"):
        for name, dirs in (("real", None), ("cases", invented)):
            arts = articles(10**9, 2000, mode, distinct=True, dirs=dirs)
            out = _run(["match", "--jsonl", "-"], _jsonl(arts))
            (args.out / f"bench_{name}_{mode}.match.jsonl").write_text(out, encoding="utf-8")
    print(f"wrote {len(list(args.out.iterdir()))} files to {args.out}")


if __name__ == "__main__":
    main()
