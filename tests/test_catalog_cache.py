"""The parsed catalog kept in the disk cache (monitor/matching/catalog_cache.py): read back, it
matches articles exactly as a freshly parsed one; a changed plan file, a damaged entry or a plan
with problems is parsed again (and the last is not stored)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support_data import REPO

from monitor.matching import catalog_cache
from monitor.matching.catalog import CatalogError, load_catalog, plan_files
from monitor.matching.matcher import Matcher


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("HZWATCH_CACHE", str(folder))
    return folder


def _results(catalog: object) -> list[dict]:
    from db.records import Article

    matcher = Matcher(catalog)
    out = []
    for d in ("tests/eval_cases", "tests/data/eval_dev"):
        for path in sorted((REPO / d).glob("*.json")):
            out.append(matcher.match(Article.from_labelled(json.loads(path.read_text("utf-8")))).to_json())
    return out


def test_cached_catalog_matches_like_a_parsed_one(cache: Path) -> None:
    first = catalog_cache.load()  # parsed and stored
    assert (cache / "catalog.pickle").exists()
    second = catalog_cache.load()  # read back
    assert second is not first and second.hash == first.hash and second.files == first.files
    assert [p.id for p in second.plans] == [p.id for p in load_catalog().plans]
    assert _results(second) == _results(load_catalog())


def test_changed_plan_file_is_parsed_again(cache: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    shutil.copy(plan_files()[0], plan)
    before = catalog_cache.load([plan])
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace(before.plans[0].title, "改过的标题", 1), encoding="utf-8")
    after = catalog_cache.load([plan])
    assert after.plans[0].title == "改过的标题" and after.hash != before.hash


def test_damaged_entry_is_parsed_again(cache: Path) -> None:
    catalog_cache.load()
    entry = cache / "catalog.pickle"
    head, _, body = entry.read_bytes().partition(b"\n")
    entry.write_bytes(head + b"\n" + body[:-10])  # cut short: the hash no longer fits
    again = catalog_cache.load()
    assert [p.id for p in again.plans] == [p.id for p in load_catalog().plans]
    assert entry.read_bytes().partition(b"\n")[2] != body[:-10]  # stored whole again


def test_plan_with_problems_is_not_stored(cache: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nitems: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError):
        catalog_cache.load([broken])
    assert not (cache / "catalog.pickle").exists()
