"""Where the tests' files are: all inside the repository (tests/data/README.md says where each set came from)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
DATA = TESTS / "data"
EVAL_DEV = DATA / "eval_dev"  # the 21 labelled real articles (shape and label rules: its README.md)
EVAL_PAGES = DATA / "pages"  # 100 saved real pages, original bytes; provenance in SOURCES.md
EVAL_CASES = TESTS / "eval_cases"  # our own labelled cases, same shape as EVAL_DEV
FIXTURE_PAGES = TESTS / "fixtures" / "pages"
PLAN = REPO / "monitor" / "plans" / "hangzhou-2024.yaml"


def match_json(matcher, data: dict) -> dict:
    """The matcher's JSON output for a labelled-article dict (as `hzwatch match` prints it)."""
    from db.records import Article, MatchResult

    result = matcher.match(Article.from_labelled(data))
    assert isinstance(result, MatchResult)
    return result.to_json()
