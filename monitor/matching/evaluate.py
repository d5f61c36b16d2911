"""Scoring the matcher on labelled articles (the shape of ../shared/eval/dev/*.json).

Relevance: article-level P/R/F1. Items: micro P/R/F1 over (article, item) pairs. Progress:
a labelled figure is right when a figure for the same target has the same value; a figure
with no label is a false figure. accuracy = right / (labelled + false figures).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.records import Article, Figure, MatchResult


class EvalError(ValueError):
    """A labelled-case directory or file that cannot be read."""


@dataclass
class Case:
    name: str
    article: Article
    label: dict


def load_cases(directory: str | Path) -> list[Case]:
    """Every *.json labelled article in `directory`, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise EvalError(f"not a directory: {directory}")
    cases = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EvalError(f"{path}: cannot read labelled case: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("label"), dict):
            raise EvalError(f"{path}: no 'label' object")
        label = data["label"]
        for key in ("relevant", "projects"):
            if key not in label:
                raise EvalError(f"{path}: label has no '{key}'")
        cases.append(Case(path.stem, Article.from_labelled(data), label))
    if not cases:
        raise EvalError(f"no *.json cases in {directory}")
    return cases


def labelled_ids(cases: list[Case]) -> set[str]:
    """Every item and target id the labels name."""
    ids: set[str] = set()
    for case in cases:
        ids.update(str(i) for i in case.label.get("projects") or [])
        ids.update(str(f.get("target")) for f in case.label.get("progress") or [] if isinstance(f, dict))
    return ids


def label_plans(cases: list[Case], catalog: Any) -> list[str]:
    """The plans the labels belong to (the plans holding their ids), in catalog order.

    Labels are written against one plan's ids: scoring them against every plan would count
    another plan's (correct) links as errors. Labels naming no id (all negatives) belong to the
    oldest plan, the one the labelled sets were written for.
    """
    found = {catalog.plan_of(ref) for ref in labelled_ids(cases)} - {None}
    if not found:
        oldest = min(catalog.plans, key=lambda p: p.announced)
        return [oldest.id]
    return [p.id for p in catalog.plans if p.id in found]


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _same_value(a: Any, b: Any) -> bool:
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _disagreement(case: Case, kind: str, expected: Any, got: Any, detail: str) -> dict[str, Any]:
    return {"case": case.name, "kind": kind, "expected": expected, "got": got, "detail": detail}


def _score_relevance(case: Case, got: MatchResult, rel: dict[str, int], out: list[dict]) -> None:
    want = case.label["relevant"]
    if got.relevant and want:
        rel["tp"] += 1
    elif got.relevant:
        rel["fp"] += 1
        out.append(_disagreement(case, "relevance", False, True, f"score {got.score}"))
    elif want:
        rel["fn"] += 1
        out.append(_disagreement(case, "relevance", True, False, f"score {got.score}"))


def _score_items(case: Case, got: MatchResult, items: dict[str, int], out: list[dict]) -> None:
    gi, wi = set(got.items), set(case.label.get("projects") or [])
    items["tp"] += len(gi & wi)
    items["fp"] += len(gi - wi)
    items["fn"] += len(wi - gi)
    if gi != wi:
        detail = f"missing {sorted(wi - gi)} extra {sorted(gi - wi)}"
        out.append(_disagreement(case, "items", sorted(wi), sorted(gi), detail))


def _score_progress(case: Case, got: MatchResult, prog: dict[str, int], out: list[dict]) -> None:
    unmatched: list[Figure] = list(got.progress)
    for fig in case.label.get("progress") or []:
        prog["labelled"] += 1
        hit = next((g for g in unmatched if g.target == fig["target"] and _same_value(g.value, fig["value"])), None)
        if hit:
            unmatched.remove(hit)
            prog["right"] += 1
            prog["as_of_right"] += hit.as_of == fig.get("as_of")
        else:
            expected = f"{fig['target']}={fig['value']}"
            out.append(_disagreement(case, "progress-missed", expected, None, fig.get("quote", "")[:60]))
    for g in unmatched:
        prog["false"] += 1
        got_text = f"{g.target}={g.value} @{g.as_of}"
        out.append(_disagreement(case, "progress-false", None, got_text, (g.quote or "")[:60]))


def evaluate(matcher: Any, cases: list[Case]) -> dict[str, Any]:
    """Score `matcher` (a `Matcher`) on `cases`; returns figures and every disagreement."""
    rel = {"tp": 0, "fp": 0, "fn": 0}
    items = {"tp": 0, "fp": 0, "fn": 0}
    prog = {"labelled": 0, "right": 0, "false": 0, "as_of_right": 0}
    candidates = {"count": 0, "labelled_relevant": 0}  # counted apart: neither relevant nor linked
    disagreements: list[dict] = []
    for case in cases:
        got: MatchResult = matcher.match(case.article)
        if got.candidate:
            candidates["count"] += 1
            candidates["labelled_relevant"] += bool(case.label["relevant"])
        _score_relevance(case, got, rel, disagreements)
        _score_items(case, got, items, disagreements)
        _score_progress(case, got, prog, disagreements)
    denominator = prog["labelled"] + prog["false"]
    prog["accuracy"] = round(prog["right"] / denominator, 4) if denominator else 1.0
    return {
        "cases": len(cases),
        "relevance": _prf(**rel),
        "items": _prf(**items),
        "progress": prog,
        "candidates": candidates,
        "disagreements": disagreements,
    }


def format_report(report: dict[str, Any]) -> str:
    """A plain-text summary and a table of every disagreement."""
    r, i, p = report["relevance"], report["items"], report["progress"]
    lines = [
        f"cases: {report['cases']}" + (f"  (plan {', '.join(report['plans'])})" if report.get("plans") else ""),
        f"relevance  P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  "
        f"(tp {r['tp']} fp {r['fp']} fn {r['fn']})",
        f"items      P {i['precision']:.3f}  R {i['recall']:.3f}  F1 {i['f1']:.3f}  "
        f"(tp {i['tp']} fp {i['fp']} fn {i['fn']})",
        f"progress   accuracy {p['accuracy']:.3f}  (right {p['right']}/{p['labelled']}, "
        f"false figures {p['false']}, as_of right {p['as_of_right']})",
        f"candidates {report['candidates']['count']} (待确认; labelled relevant: "
        f"{report['candidates']['labelled_relevant']})",
    ]
    if report["disagreements"]:
        lines.append("")
        lines.append(f"{'case':<28} {'kind':<16} {'expected':<28} got")
        for d in report["disagreements"]:
            lines.append(
                f"{d['case']:<28} {d['kind']:<16} {str(d['expected']):<28} {d['got']}"
                + (f"  ({d['detail']})" if d.get("detail") else "")
            )
    else:
        lines.append("no disagreements")
    return "\n".join(lines)
