"""Chinese full-text search (db/search.py) against a plain substring scan of the fixture database."""

from __future__ import annotations

import pytest
from support_fixture_db import build_fixture_db

import db as dbpkg
from db import search
from db.articles import normalise_text, store_article
from db.records import Article

TERMS = ["人才", "住房", "数谷", "保障性住房", "一网通办", "中国数谷"]


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "hzwatch.db"
    build_fixture_db(path)
    db = dbpkg.connect(path)
    yield db
    db.close()


def substring_scan(db, term: str) -> set[int]:
    """The ground truth: stories with an article whose normalised title or body contains the term."""
    return {
        row["story_id"]
        for row in db.query("SELECT story_id, title, body_norm FROM articles")
        if term in normalise_text(row["title"]) or term in (row["body_norm"] or "")
    }


def test_tokens_split_cjk_keep_words_and_mark_boundaries():
    assert search.to_tokens("中国数谷") == "中 国 数 谷"
    assert search.to_tokens("AI人才 2024年") == f"AI 人 才 {search.BOUNDARY} 2024 年"
    # Punctuation between 人 and 才 must stay visible to the index, or 人才 would match it.
    assert search.to_tokens("人，才") == f"人 {search.BOUNDARY} 才"


def test_query_becomes_quoted_phrases_and_cannot_inject():
    assert search.match_expression("数谷") == '"数 谷"'
    assert search.match_expression("一網通辦") == '"一 网 通 办"'  # Traditional query, Simplified index
    assert search.match_expression("人才 住房") == '"人 才" AND "住 房"'
    assert search.match_expression('" OR title:*') == '"OR" AND "title"'
    assert search.match_expression("  ，。 ") == '""'
    assert search.match_expression("数谷", "title") == 'title : ("数 谷")'


@pytest.mark.parametrize("term", TERMS)
def test_search_equals_substring_scan(fixture_db, term):
    expected = substring_scan(fixture_db, term)
    assert expected, f"fixture has no article containing {term}"
    # one result per story: the copies of a syndicated report are one result
    found = [r["story_id"] for r in search.search(fixture_db, term, limit=100_000)]
    assert len(found) == len(set(found))
    assert set(found) == expected
    assert search.count(fixture_db, term) == len(expected)


def test_fixture_contains_the_traps(fixture_db):
    """The corpus really holds near-misses, so the equality above can fail."""
    bodies = [r["body_norm"] for r in fixture_db.query("SELECT body_norm FROM articles")]
    assert any("人,才" in b and "人才" not in b for b in bodies)  # NFKC: ，-> ,
    assert any("住 房" in b and "住房" not in b for b in bodies)
    assert any("保障性租赁住房" in b and "保障性住房" not in b for b in bodies)
    originals = [r["body"] for r in fixture_db.query("SELECT body FROM articles")]
    assert any("一網通辦" in b and "一网通办" not in b for b in originals)


def test_traditional_text_is_found_by_simplified_and_traditional_query(fixture_db):
    trad = {r["id"] for r in fixture_db.query("SELECT id FROM articles WHERE body LIKE '%數谷%'")}
    assert trad
    assert trad <= {r["id"] for r in search.search(fixture_db, "数谷", limit=100_000)}
    assert trad <= {r["id"] for r in search.search(fixture_db, "數谷", limit=100_000)}


def test_title_hits_come_first(fixture_db):
    rows = search.search(fixture_db, "数谷", limit=100_000)
    flags = [r["title_hit"] for r in rows]
    assert 1 in flags and 0 in flags
    assert flags == sorted(flags, reverse=True)
    for r in rows:
        assert bool(r["title_hit"]) == ("数谷" in normalise_text(r["title"]))


def test_several_terms_must_all_appear(fixture_db):
    both = substring_scan(fixture_db, "人才") & substring_scan(fixture_db, "数谷")
    assert {r["id"] for r in search.search(fixture_db, "人才 数谷", limit=100_000)} == both


def test_paging_and_empty_query(fixture_db):
    all_ids = [r["id"] for r in search.search(fixture_db, "住房", limit=100_000)]
    pages = search.search(fixture_db, "住房", limit=10) + search.search(fixture_db, "住房", limit=10, offset=10)
    assert [r["id"] for r in pages] == all_ids[:20]
    assert search.search(fixture_db, "   ") == []
    assert search.count(fixture_db, "") == 0


def test_index_article_is_idempotent_and_follows_updates(tmp_path):
    db = dbpkg.connect(tmp_path / "hzwatch.db")
    url = "https://www.hangzhou.gov.cn/art/1.html"
    article_id, _ = store_article(db, Article(**{"url": url, "title": "旧标题", "body": "中国数谷建设"}))
    for _ in range(3):
        assert search.index_article(db, article_id)
    assert db.execute(f"SELECT count(*) FROM {search.FTS_TABLE}").fetchone()[0] == 1
    assert [r["id"] for r in search.search(db, "数谷")] == [article_id]

    store_article(db, Article(**{"url": url, "title": "新标题", "body": "保障性住房开工"}))
    search.index_article(db, article_id)
    assert search.search(db, "数谷") == []
    assert [r["id"] for r in search.search(db, "保障性住房")] == [article_id]
    assert db.execute(f"SELECT count(*) FROM {search.FTS_TABLE}").fetchone()[0] == 1


def test_sync_index_catches_up_missing_changed_and_deleted(tmp_path):
    db = dbpkg.connect(tmp_path / "hzwatch.db")
    a, _ = store_article(db, Article(**{"url": "https://x.cn/a", "title": "甲", "body": "人才新政"}))
    b, _ = store_article(db, Article(**{"url": "https://x.cn/b", "title": "乙", "body": "住房保障"}))
    assert search.sync_index(db) == {"indexed": 2, "removed": 0}
    assert search.sync_index(db) == {"indexed": 0, "removed": 0}
    # A crawl that updated an article without reindexing it, and one that deleted another.
    store_article(db, Article(**{"url": "https://x.cn/a", "title": "甲", "body": "一网通办"}))
    db.execute("DELETE FROM articles WHERE id = ?", [b])
    assert search.sync_index(db) == {"indexed": 1, "removed": 1}
    assert [r["id"] for r in search.search(db, "一网通办")] == [a]
    assert search.search(db, "人才") == [] and search.search(db, "住房") == []
    assert search.reindex(db) == 1


def test_a_rebuild_across_batches_finds_what_indexing_one_by_one_finds(tmp_path, monkeypatch):
    """reindex (no deletes, merging deferred) gives the same hits as indexing article by article,
    spans several batches, and leaves FTS5's automerge setting as it found it."""
    monkeypatch.setattr(search, "REBUILD_BATCH", 3)
    db = dbpkg.connect(tmp_path / "hzwatch.db")
    bodies = ["人才新政", "住房保障", "一网通办", "中国数谷", "人才住房", "数谷人才", "保障性住房", "杭州"]
    for i, body in enumerate(bodies):
        article_id, _ = store_article(db, Article(**{"url": f"https://x.cn/{i}", "title": f"标题{i}", "body": body}))
        search.index_article(db, article_id)
    terms = ["人才", "住房", "数谷", "一网通办", "杭州", "标题", "保障"]
    before = {t: [r["id"] for r in search.search(db, t)] for t in terms}
    assert search.reindex(db) == len(bodies)
    assert {t: [r["id"] for r in search.search(db, t)] for t in terms} == before
    assert len(before["人才"]) == 3 and len(before["标题"]) == len(bodies)
    assert db.execute(f"SELECT count(*) FROM {search.FTS_TABLE}").fetchone()[0] == len(bodies)
    assert db.execute(f"SELECT count(*) FROM {search.STATE_TABLE}").fetchone()[0] == len(bodies)
    config = dict(db.execute(f"SELECT k, v FROM {search.FTS_TABLE}_config").fetchall())
    assert config.get("automerge", search.DEFAULT_AUTOMERGE) == search.DEFAULT_AUTOMERGE
