"""The canned story lists read newest first from an index since m018 (metadata.yml latest_matches,
feed_matches): on the fixture database, with undated articles, articles without a story and copies
dated apart, every page equals the query as it was before (kept here as the reference), which grouped
every relevant article."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
import yaml
from support_fixture_db import build_fixture_db

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "datasette" / "plugins"))
import sql_functions  # noqa: E402

# a group with sub-items, a sub-item, items of the 2026 plan, and one that does not exist
ITEMS = ("G-business", "A-life", "R03", "T-housing", "Y26-consumption", "NOPE")

REFERENCE = {
    "latest_matches": """
with relevant as materialized (
  select story_id, min(published) as published, count(*) as copies
  from articles where relevant = 1 group by story_id
),
page as (
  select * from relevant order by published desc, story_id desc
  limit 1000 offset (max(cast(coalesce(nullif(:page, ''), '1') as integer), 1) - 1) * 1000
)
select a.id as article_id, a.title, a.published, a.source_name,
       (select count(*) - 1 from articles c where c.story_id = p.story_id) as other_copies,
       (select group_concat(title, '；') from (
          select distinct i.title from articles a2 join matches m on m.article_id = a2.id
          join items i on i.id = m.item_id where a2.story_id = p.story_id and a2.relevant = 1)) as items,
       p.story_id
from page p
join articles a on a.id = (select a3.id from articles a3 where a3.story_id = p.story_id and a3.relevant = 1
                           order by a3.published, a3.id limit 1)
order by p.published desc, p.story_id desc
""",
    "feed_item": """
with stories as materialized (
  select a.story_id, min(a.published) as published
  from matches m join articles a on a.id = m.article_id
  where a.relevant = 1
    and m.item_id in (select :item union select id from items where parent_id = :item)
  group by a.story_id
  order by published desc, a.story_id desc
  limit 100
)
select 'hzwatch:story:' || s.story_id || ':' || :item as atom_id,
       a.title as atom_title,
       iso_tz(coalesce(a.published, a.fetched_at)) as atom_updated,
       a.url as atom_link,
       coalesce(cn_time(a.published), '') || ' ' || coalesce(a.source_name, '')
         || coalesce((select '；另有' || (count(*) - 1) || '家转载' from articles c
                      where c.story_id = s.story_id having count(*) > 1), '') as atom_content
from stories s
join articles a on a.id = (select a3.id from articles a3 where a3.story_id = s.story_id and a3.relevant = 1
                           order by a3.published, a3.id limit 1)
order by s.published desc, s.story_id desc
""",
    "feed_matches": """
with stories as materialized (
  select a.story_id, min(a.published) as published
  from articles a
  where a.relevant = 1 and exists (select 1 from matches m where m.article_id = a.id)
  group by a.story_id
  order by published desc, a.story_id desc
  limit 100
)
select 'hzwatch:story:' || s.story_id as atom_id,
       a.title as atom_title,
       iso_tz(coalesce(a.published, a.fetched_at)) as atom_updated,
       a.url as atom_link,
       '涉及：' || coalesce((select group_concat(title, '；') from (
          select distinct i.title from articles a2 join matches m on m.article_id = a2.id
          join items i on i.id = m.item_id where a2.story_id = s.story_id and a2.relevant = 1)), '')
         || char(10) || coalesce(cn_time(a.published), '') || ' ' || coalesce(a.source_name, '')
         || coalesce((select '；另有' || (count(*) - 1) || '家转载' from articles c
                      where c.story_id = s.story_id having count(*) > 1), '') as atom_content
from stories s
join articles a on a.id = (select a3.id from articles a3 where a3.story_id = s.story_id and a3.relevant = 1
                           order by a3.published, a3.id limit 1)
order by s.published desc, s.story_id desc
""",
}


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    path = tmp_path_factory.mktemp("lists") / "fixture.db"
    build_fixture_db(path, generated=300)
    c = sqlite3.connect(path)
    sql_functions.prepare_connection(c)
    yield c
    c.close()


def _same(c: sqlite3.Connection) -> int:
    queries = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    canned = queries["databases"]["hzwatch"]["queries"]
    compared = 0
    # with the items (and their parents) of the articles without a story: their group takes a place
    storyless = c.execute(
        "SELECT m.item_id, i.parent_id FROM matches m JOIN articles a ON a.id = m.article_id"
        " LEFT JOIN items i ON i.id = m.item_id WHERE a.story_id IS NULL AND a.relevant = 1"
    ).fetchall()
    items = [*ITEMS, *sorted({x for row in storyless for x in row if x})]
    for name, reference in REFERENCE.items():
        for page in ("", "1", "2", "0"):
            for item in items if ":item" in reference else [None]:
                params = {"page": page} if ":page" in reference else {}
                if item:
                    params["item"] = item
                want = c.execute(reference, params).fetchall()
                assert c.execute(canned[name]["sql"], params).fetchall() == want, (name, page, item)
                compared += len(want)
    return compared


def _pages_of_100(c: sqlite3.Connection) -> None:
    # latest_matches pages 1,000 stories: with fewer in the fixture, page 2 is compared empty; compare a
    # page boundary too, with the page size made 100 in both texts
    queries = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    new = queries["databases"]["hzwatch"]["queries"]["latest_matches"]["sql"].replace("1000", "100")
    old = REFERENCE["latest_matches"].replace("1000", "100")
    for page in ("1", "2", "3"):
        want = c.execute(old, {"page": page}).fetchall()
        assert c.execute(new, {"page": page}).fetchall() == want, page
        assert want or page == "3"


def _feeds_of_3(c: sqlite3.Connection) -> None:
    # the feeds carry 100 stories, more than an item has in the fixture: compare them cut at 3 as well
    queries = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    canned = queries["databases"]["hzwatch"]["queries"]
    items = [r[0] for r in c.execute("SELECT id FROM items")]
    for name in ("feed_item", "feed_matches"):
        new, old = (text.replace("limit 100", "limit 3") for text in (canned[name]["sql"], REFERENCE[name]))
        for item in items if name == "feed_item" else [None]:
            params = {"item": item} if item else {}
            assert c.execute(new, params).fetchall() == c.execute(old, params).fetchall(), (name, item)


def test_the_story_lists_equal_the_reference(conn):
    assert _same(conn) > 100
    _pages_of_100(conn)
    _feeds_of_3(conn)


def test_odd_articles_keep_the_lists_equal(conn, tmp_path):
    path = tmp_path / "odd.db"
    conn.execute("VACUUM INTO ?", [str(path)])
    c = sqlite3.connect(path)
    sql_functions.prepare_connection(c)
    newest = [r[0] for r in c.execute("SELECT id FROM articles WHERE relevant = 1 ORDER BY published DESC LIMIT 8")]
    story = c.execute("SELECT story_id FROM articles WHERE id = ?", [newest[4]]).fetchone()[0]
    with c:
        c.execute("UPDATE articles SET published = NULL WHERE id IN (?, ?)", newest[:2])  # undated
        # an undated copy in a story with dated ones (the story keeps its first date)
        c.execute(
            "UPDATE articles SET published = NULL WHERE id = (SELECT max(id) FROM articles WHERE relevant = 1"
            " AND story_id IN (SELECT story_id FROM articles WHERE relevant = 1 AND published IS NOT NULL"
            " GROUP BY story_id HAVING count(*) > 1))"
        )
        c.execute("UPDATE articles SET story_id = NULL WHERE id IN (?, ?)", newest[2:4])  # without a story
        # a copy of a newer story published earlier: the story moves down the list
        c.execute(
            "UPDATE articles SET story_id = ?, published = '2024-01-02T08:00:00+08:00' WHERE id = ?", [story, newest[5]]
        )
        # a story whose only articles are undated
        c.execute(
            "UPDATE articles SET published = NULL WHERE story_id = (SELECT story_id FROM articles WHERE id = ?)",
            [newest[6]],
        )
    assert _same(c) > 100
    _pages_of_100(c)
    _feeds_of_3(c)
    c.close()
