"""The on-disk start-up cache (db/diskcache.py): a value comes back only for its own key and
intact; anything else reads as missing, and a cache that cannot be written is no error."""

from __future__ import annotations

from pathlib import Path

import pytest

from db import diskcache, text


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("HZWATCH_CACHE", str(folder))
    return folder


def test_round_trip_and_stale_key(cache: Path) -> None:
    assert diskcache.read("x.txt", "k1") is None  # no folder yet
    diskcache.write("x.txt", "k1", "杭州\n数谷")
    assert diskcache.read("x.txt", "k1") == "杭州\n数谷"
    assert diskcache.read("x.txt", "k2") is None  # another key (e.g. another OpenCC version)
    assert [p.name for p in cache.iterdir()] == ["x.txt"]  # no temporary file left behind


def test_damaged_entry_reads_as_missing(cache: Path) -> None:
    diskcache.write("x.txt", "k", "abcdef")
    path = cache / "x.txt"
    path.write_text(path.read_text(encoding="utf-8")[:-2], encoding="utf-8")  # cut short
    assert diskcache.read("x.txt", "k") is None
    path.write_bytes(b"\xff\xfe not utf-8")
    assert diskcache.read("x.txt", "k") is None


def test_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("HZWATCH_CACHE", str(blocker / "cache"))
    diskcache.write("x.txt", "k", "v")  # cannot create the folder: no error
    assert diskcache.read("x.txt", "k") is None


def test_t2s_characters_same_with_and_without_cache(cache: Path) -> None:
    computed = text._changed_by_t2s()  # empty cache: computed, then stored
    assert (cache / "t2s_changed.txt").exists()
    cached = text._changed_by_t2s()  # read back
    assert cached.pattern == computed.pattern == text._TRADITIONAL.pattern
    assert cached.search("臺灣") and not cached.search("杭州数谷")
    (cache / "t2s_changed.txt").write_text("garbage", encoding="utf-8")
    assert text._changed_by_t2s().pattern == computed.pattern  # damaged: computed again
