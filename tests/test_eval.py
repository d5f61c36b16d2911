"""`hzwatch eval`: the scores on the dev set and our cases, and a report that shows disagreements."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support_data import EVAL_CASES as CASES
from support_data import EVAL_DEV as DEV
from support_data import REPO

from monitor.matching.catalog import load_catalog
from monitor.matching.evaluate import EvalError, evaluate, format_report, load_cases


@pytest.mark.parametrize("directory", [DEV, CASES], ids=["dev", "own"])
def test_perfect_scores(matcher_2024, directory):
    report = evaluate(matcher_2024, load_cases(directory))
    assert report["relevance"]["f1"] == 1.0
    assert report["items"]["f1"] == 1.0
    assert report["progress"]["accuracy"] == 1.0
    assert report["disagreements"] == []


def test_own_cases_have_figures(matcher_2024):
    report = evaluate(matcher_2024, load_cases(CASES))
    assert report["progress"]["labelled"] >= 12
    assert report["progress"]["as_of_right"] == report["progress"]["labelled"]


def _copy_with(tmp_path, name, change):
    data = json.loads((CASES / name).read_text(encoding="utf-8"))
    change(data["label"])
    (tmp_path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_disagreements_are_reported(matcher_2024, tmp_path):
    _copy_with(tmp_path, "x01-shanghai-onenet.json", lambda lab: lab.update(relevant=True, projects=["R03"]))
    _copy_with(tmp_path, "p01-housing-june.json", lambda lab: lab["progress"][0].update(value=3300))
    _copy_with(tmp_path, "n12-corridor-rd.json", lambda lab: lab["projects"].remove("T-corridor"))
    report = evaluate(matcher_2024, load_cases(tmp_path))
    assert report["relevance"] == {"tp": 2, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.6667, "f1": 0.8}
    assert report["items"]["fp"] == 1 and report["items"]["fn"] == 1
    assert report["progress"] == {"labelled": 1, "right": 0, "false": 1, "as_of_right": 0, "accuracy": 0.0}
    kinds = sorted(d["kind"] for d in report["disagreements"])
    assert kinds == ["items", "items", "progress-false", "progress-missed", "relevance"]
    table = format_report(report)
    assert "x01-shanghai-onenet" in table and "progress-false" in table and "tgt-housing-6000=3200" in table


def test_bad_case_files(tmp_path):
    (tmp_path / "a.json").write_text("{", encoding="utf-8")
    with pytest.raises(EvalError, match="a.json"):
        load_cases(tmp_path)
    with pytest.raises(EvalError, match="not a directory"):
        load_cases(tmp_path / "missing")


def test_cli_eval(tmp_path):
    env = {**os.environ}

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "monitor.cli", "eval", *a],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=120,
        )

    proc = run(str(DEV))
    assert proc.returncode == 0, proc.stderr
    assert "relevance  P 1.000  R 1.000  F1 1.000" in proc.stdout
    proc = run(str(CASES), "--json", "--min-f1", "0.95")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["relevance"]["f1"] == 1.0
    _copy_with(tmp_path, "x01-shanghai-onenet.json", lambda lab: lab.update(relevant=True))
    _copy_with(tmp_path, "p01-housing-june.json", lambda lab: None)
    proc = run(str(tmp_path), "--min-f1", "0.9")
    assert proc.returncode == 1
    assert "below --min-f1" in proc.stderr and "x01-shanghai-onenet" in proc.stdout


# Sets written by people who had not read the matcher. They are not tuned to 100%: these floors
# are the scores they reached when they were written into the suite, so a change that loses
# ground on them fails here and must say why (like trafilatura's evaluation gate).
BLIND_FLOORS = {
    "eval_blind": {"relevance": 1.0, "items": 0.98, "progress": 1.0},
    "eval_blind2": {"relevance": 1.0, "items": 0.97, "progress": 0.84},
}


@pytest.mark.parametrize("name", sorted(BLIND_FLOORS))
def test_blind_sets_hold_their_floors(matcher_2024, name):
    report = evaluate(matcher_2024, load_cases(REPO / "tests" / name))
    floors = BLIND_FLOORS[name]
    assert report["relevance"]["f1"] >= floors["relevance"]
    assert report["items"]["f1"] >= floors["items"]
    assert report["progress"]["accuracy"] >= floors["progress"]
    # A false figure on a progress chart is worse than a missing one: none, ever.
    assert report["progress"]["false"] == 0


# What `hzwatch eval` printed for every labelled set before the 2026 plan was added: adding a plan
# must not move them (eval scores the labels' own plan only).
BEFORE_2026 = {
    "eval_cases": ((29, 0, 0), (43, 0, 0), (21, 21, 0)),
    "eval_blind": ((33, 0, 0), (57, 2, 0), (20, 20, 0)),
    "eval_blind2": ((24, 0, 0), (49, 2, 1), (11, 13, 0)),
    "eval_real": ((14, 1, 20), (15, 2, 27), (0, 0, 0)),
    "eval_real_en": ((1, 0, 19), (1, 0, 23), (0, 0, 0)),
    "data/eval_dev": ((12, 0, 0), (17, 0, 0), (0, 0, 0)),
}


@pytest.mark.parametrize("name", sorted(BEFORE_2026))
def test_eval_scores_the_labels_plan_only(name):
    from monitor.matching.evaluate import label_plans
    from monitor.matching.matcher import Matcher

    catalog = load_catalog()
    assert len(catalog.plans) >= 2  # otherwise this would check nothing
    cases = load_cases(REPO / "tests" / name)
    assert label_plans(cases, catalog) == ["hangzhou-2024"]
    report = evaluate(Matcher(catalog.only(["hangzhou-2024"])), cases)
    rel, items, prog = BEFORE_2026[name]
    assert tuple(report["relevance"][k] for k in ("tp", "fp", "fn")) == rel
    assert tuple(report["items"][k] for k in ("tp", "fp", "fn")) == items
    assert (report["progress"]["right"], report["progress"]["labelled"], report["progress"]["false"]) == prog


def test_cli_eval_names_the_plan_and_all_plans_would_differ():
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "eval", str(CASES), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["plans"] == ["hangzhou-2024"] and report["items"]["f1"] == 1.0
    # Scored against every plan, the 2026 plan's (right) links would count as errors.
    from monitor.matching.matcher import Matcher

    assert evaluate(Matcher(load_catalog()), load_cases(CASES))["items"]["fp"] > 0
