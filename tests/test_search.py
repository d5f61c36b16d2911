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
    """reindex (no deletes, merging deferred; in this process or in workers) stores what indexing
    article by article stored and gives the same hits, spans several batches, and leaves FTS5's
    automerge setting as it found it."""
    monkeypatch.setattr(search, "REBUILD_BATCH", 3)
    db = dbpkg.connect(tmp_path / "hzwatch.db")
    bodies = ["人才新政", "住房保障", "一网通办", "中国数谷", "人才住房", "数谷人才", "保障性住房", "杭州"]
    for i, body in enumerate(bodies):
        article_id, _ = store_article(db, Article(**{"url": f"https://x.cn/{i}", "title": f"标题{i}", "body": body}))
        search.index_article(db, article_id)
    terms = ["人才", "住房", "数谷", "一网通办", "杭州", "标题", "保障"]
    before = {t: [r["id"] for r in search.search(db, t)] for t in terms}
    stored = db.execute(f"SELECT rowid, title, body FROM {search.FTS_TABLE} ORDER BY rowid").fetchall()
    assert search.reindex(db, workers=1) == len(bodies)  # in this process
    assert db.execute(f"SELECT rowid, title, body FROM {search.FTS_TABLE} ORDER BY rowid").fetchall() == stored
    assert search.reindex(db, workers=2) == len(bodies)  # tokens made by two worker processes
    assert db.execute(f"SELECT rowid, title, body FROM {search.FTS_TABLE} ORDER BY rowid").fetchall() == stored
    assert {t: [r["id"] for r in search.search(db, t)] for t in terms} == before
    assert len(before["人才"]) == 3 and len(before["标题"]) == len(bodies)
    assert db.execute(f"SELECT count(*) FROM {search.FTS_TABLE}").fetchone()[0] == len(bodies)
    assert db.execute(f"SELECT count(*) FROM {search.STATE_TABLE}").fetchone()[0] == len(bodies)
    config = dict(db.execute(f"SELECT k, v FROM {search.FTS_TABLE}_config").fetchall())
    assert config.get("automerge", search.DEFAULT_AUTOMERGE) == search.DEFAULT_AUTOMERGE


# ------------------------------------------------------------------ frequent terms: newest first, a lower bound


@pytest.fixture(scope="module")
def shared_stories(tmp_path_factory):
    """A copy of the fixture database where many hits of 人才 are copies of one another's stories
    (syndication), so that which copy stands for a story, and the story count, can be wrong."""
    path = tmp_path_factory.mktemp("stories") / "hzwatch.db"
    build_fixture_db(path)
    db = dbpkg.connect(path)
    ids = [r["id"] for r in db.query("SELECT id FROM articles ORDER BY id")]
    for n, article_id in enumerate(ids):
        if n % 3 == 1:  # every third article joins the story of an article stored a little earlier or later
            other = ids[(n * 7) % len(ids)]
            db.execute(
                "UPDATE articles SET story_id = (SELECT story_id FROM articles WHERE id = ?) WHERE id = ?",
                [other, article_id],
            )
    yield db
    db.close()


def scan_hits(db, term: str) -> list[tuple[int, int]]:
    """(article id, story) of every article containing the term, by a substring scan, in id order."""
    return [
        (row["id"], row["story_id"] if row["story_id"] is not None else -row["id"])
        for row in db.query("SELECT id, story_id, title, body_norm FROM articles ORDER BY id")
        if term in normalise_text(row["title"]) or term in (row["body_norm"] or "")
    ]


def newest_per_story(hits: list[tuple[int, int]]) -> list[int]:
    """Newest stored first, each story once: its newest matching copy."""
    seen, out = set(), []
    for article_id, story in sorted(hits, reverse=True):
        if story not in seen:
            seen.add(story)
            out.append(article_id)
    return out


@pytest.mark.parametrize("term", ["人才", "数谷", "保障性住房"])
def test_more_hits_than_the_cap_are_newest_first_with_a_lower_bound(shared_stories, monkeypatch, term):
    db = shared_stories
    hits = scan_hits(db, term)
    stories = {s for _, s in hits}
    assert len(stories) < len(hits)  # copies among the hits: the check below can fail
    cap = len(hits) // 3
    monkeypatch.setattr(search, "HIT_CAP", cap)
    expected = newest_per_story(hits)
    lower = len({s for _, s in hits[-(cap + 1) :]})  # stories among the newest cap + 1 hits
    assert lower < len(stories)
    total, capped, rows = search.search_page(db, term, 20, 0)
    assert capped and total == lower
    assert [r["id"] for r in rows] == expected[:20]
    # every page, to the end: each story once, as its newest matching copy
    found, offset = [], 0
    while True:
        total, capped, rows = search.search_page(db, term, 25, offset)
        assert capped and total == lower
        if not rows:
            break
        found += [r["id"] for r in rows]
        offset += 25
    assert found == expected and len(found) == len(stories)


def test_at_most_the_cap_keeps_the_exact_count_and_relevance(shared_stories, monkeypatch):
    db = shared_stories
    hits = scan_hits(db, "保障性住房")
    stories = {s for _, s in hits}
    for cap, want_capped in [(len(hits), False), (len(hits) - 1, True)]:
        monkeypatch.setattr(search, "HIT_CAP", cap)
        total, capped, rows = search.search_page(db, "保障性住房", 1000, 0)
        assert capped is want_capped
        if not capped:
            assert total == len(stories)
            assert {r["story_id"] if r["story_id"] is not None else -r["id"] for r in rows} == stories
            flags = [r["title_hit"] for r in rows]
            assert flags == sorted(flags, reverse=True)  # relevance order: title hits first
            assert rows[0]["rank"] is not None
        else:
            assert [r["id"] for r in rows] == newest_per_story(hits)
            assert all(r["rank"] is None for r in rows)


def test_title_check_agrees_with_the_index(fixture_db):
    """cjk_in_title (a Python check per hit) says what a MATCH on the title column says."""
    titles = dict(fixture_db.execute("SELECT id, title FROM articles").fetchall())
    for q in TERMS + ["數谷", "人才 数谷", "杭州", "2024", "AI"]:
        by_index = {
            r[0]
            for r in fixture_db.execute(
                f"SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH ?",
                [search.match_expression(q, "title")],
            )
        }
        by_check = {i for i, title in titles.items() if search.in_title(title, q)}
        assert by_check == by_index, q
    assert search.in_title("人，才新政", "人才") == 0 and search.in_title("中国數谷", "数谷") == 1


def canned_search_sql(cap: int, page_size: int) -> str:
    """The canned query `search` of metadata.yml with its hit cap and page size set."""
    import yaml

    from monitor.service.serve import METADATA

    sql = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["databases"]["hzwatch"]["queries"]["search"]["sql"]
    for old, new, times in [("2001", f"{cap + 1}", 2), ("count(*) > 2000", f"count(*) > {cap}", 1)]:
        assert sql.count(old) == times, old
        sql = sql.replace(old, new)
    assert sql.count("1000") == 10  # the page size: the limits and offsets of the three orders
    return sql.replace("1000", str(page_size))


@pytest.mark.parametrize("term", ["人才", "保障性住房"])
def test_canned_search_is_the_page_query(shared_stories, monkeypatch, term):
    """search.json (metadata.yml) gives the rows, order, total and cap flag of db.search, in both orders
    and on pages within and past the newest hits the cap lets it read at first."""
    import sys

    from monitor.service.serve import PLUGINS

    sys.path.insert(0, str(PLUGINS))
    import sql_functions

    db = shared_stories
    sql_functions.prepare_connection(db.conn)
    hits = len(scan_hits(db, term))
    for cap, size in [(2000, 1000), (2000, 7), (hits - 1, 1000), (hits // 4, 7)]:
        monkeypatch.setattr(search, "HIT_CAP", cap)
        for page in range(1, 80):
            mine = search.search(db, term, size, (page - 1) * size)
            canned = [dict(r) for r in db.query(canned_search_sql(cap, size), {"q": term, "page": str(page)})]
            assert [r["article_id"] for r in canned] == [r["id"] for r in mine], (cap, size, page)
            if not mine:
                break
            assert {(r["total"], r["capped"]) for r in canned} == {(mine[0]["total"], mine[0]["capped"])}
            assert mine[0]["capped"] == (cap < hits)
        assert not mine, "ran out of pages before the results did"


def test_search_page_says_newest_first_and_marks_the_lower_bound(shared_stories, monkeypatch):
    """The /search page of a frequent term (Datasette in this process, so that the cap can be lowered)."""
    import asyncio
    import re

    from datasette.app import Datasette

    from monitor.service.serve import PLUGINS, SETTINGS, TEMPLATES, load_metadata

    db = shared_stories
    hits = scan_hits(db, "人才")
    cap = len(hits) // 3
    monkeypatch.setattr(search, "HIT_CAP", cap)
    path = db.execute("PRAGMA database_list").fetchone()[2]
    ds = Datasette(
        [path],
        metadata=load_metadata(),
        template_dir=str(TEMPLATES),
        plugins_dir=str(PLUGINS),
        settings=dict(SETTINGS, default_allow_sql="off"),
    )

    async def get(page: int) -> str:
        r = await ds.client.get("/search?q=%E4%BA%BA%E6%89%8D&page=" + str(page))
        assert r.status_code == 200
        return r.text

    first, second = asyncio.run(get(1)), asyncio.run(get(2))
    lower = len({s for _, s in hits[-(cap + 1) :]})
    m = re.search(r'找到至少 <strong[^>]*data-lower-bound="1"[^>]*>(\d+)</strong>', first)
    assert m and int(m.group(1)) == lower
    assert re.findall(r'id="hz-order">([^<]*)<', first) == ["按收录时间从新到旧排列"]
    newest = newest_per_story(hits)
    ids = [int(x) for x in re.findall(r'data-article-id="(\d+)"', first + second)]
    assert ids == newest[:40]
    assert "下一页" in second and "上一页" in second
