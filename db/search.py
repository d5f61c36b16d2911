"""Chinese full-text search: FTS5 with one CJK character per token, queries as phrases.

Why this design (see ../shared/NOTES.md): `trigram` misses 1–2 character terms and jieba
needs a dictionary that the user's query never passes through. Indexing every CJK character
as its own token (Latin words and numbers kept whole) and turning the query into a phrase
("数 谷") finds exactly the articles that contain the term, at any length.

A boundary token (a private-use character) stands for every run of punctuation or space, so
that "人，才" in a text is not found by the query 人才.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sqlite3
import unicodedata
from collections import deque
from functools import lru_cache
from typing import Iterable, Iterator

import sqlite_utils

from db.clock import now_iso
from db.text import fold

FTS_TABLE = "articles_search"
STATE_TABLE = "articles_search_state"
BOUNDARY = "\ue000"  # unicode61 keeps private-use characters as token characters
TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0
BATCH = 500
REBUILD_BATCH = 5000  # articles per transaction in a whole rebuild
DEFAULT_AUTOMERGE = 4  # FTS5's default, restored after a rebuild


def normalise(text: str | None) -> str:
    """Traditional → Simplified etc.: the same normalisation that produces `articles.body_norm`."""
    return fold(text)


# Runs of anything that is not a letter or digit (punctuation, spaces, symbols, "_").
_NON_ALNUM = re.compile(r"[\W_]+")
# A token: one letter/digit at or above U+2000 (CJK, kana, Hangul), a run of letters/digits below
# it (Latin, Greek, Cyrillic words and numbers), or the boundary.
_TOKEN = re.compile(r"[^\W_\u0000-\u1fff]|[^\W_\u2000-\U0010ffff]+|" + BOUNDARY)


def _tokens(text: str) -> list[str]:
    """Split text into tokens: whole Latin words/numbers, single CJK characters, boundaries."""
    # C-level regex passes rather than a Python loop per character; body_norm is already NFKC.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _TOKEN.findall(_NON_ALNUM.sub(BOUNDARY, text))


def to_tokens(text: str | None) -> str:
    """The text as the index stores it: tokens separated by spaces."""
    return " ".join(_tokens(text or ""))


@lru_cache(maxsize=256)
def _phrases(q: str | None) -> tuple[tuple[str, ...], ...]:
    """The query's terms as token sequences (each space-separated term one phrase)."""
    phrases = []
    for term in re.split(r"\s+", normalise(q or "").strip()):
        tokens = _tokens(term)
        while tokens and tokens[0] == BOUNDARY:
            tokens.pop(0)
        while tokens and tokens[-1] == BOUNDARY:
            tokens.pop()
        if tokens:
            phrases.append(tuple(tokens))
    return tuple(phrases)


def match_expression(q: str | None, column: str | None = None) -> str:
    """An FTS5 MATCH expression for a user query: each space-separated term becomes a phrase.

    Returns '""' (matches nothing, never an error) when the query has no searchable text.
    """
    # Tokens hold only letters, digits or BOUNDARY: no quote can reach the expression.
    phrases = ['"' + " ".join(tokens) + '"' for tokens in _phrases(q)]
    if not phrases:
        return '""'
    expr = " AND ".join(phrases)
    if column:
        return f"{column} : ({expr})"
    return expr


def in_title(title: str | None, q: str | None) -> int:
    """1 if the title holds every term of `q` as the index sees it (what `title : (...)` would match).

    Checked per hit in Python (the SQL function cjk_in_title): a second MATCH on the title column
    reads every posting of every character again, as long as the first pass."""
    phrases = _phrases(q)
    if not phrases:
        return 0
    text = normalise(title).lower()
    if not all(token.lower() in text for phrase in phrases for token in phrase):  # most titles: no token
        return 0
    joined = " " + " ".join(_tokens(text)) + " "
    return int(all(" " + " ".join(phrase).lower() + " " in joined for phrase in phrases))


def _stamp(row: dict) -> str:
    # content_hash changes with the title or body even within one second; timestamps are a fallback.
    return row.get("content_hash") or row.get("updated_at") or row.get("fetched_at") or ""


def _entry(row: dict, now: str) -> tuple[tuple, tuple]:
    """An article row as the index stores it (rowid, title tokens, body tokens) and its state row."""
    body = row["body_norm"] if row.get("body_norm") is not None else normalise(row.get("body"))
    return (row["id"], to_tokens(normalise(row.get("title"))), to_tokens(body)), (row["id"], _stamp(row), now)


def _write_entries(db: sqlite_utils.Database, fts: list[tuple], state: list[tuple], fresh: bool) -> int:
    conn = db.conn
    if not fresh:
        conn.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", [(r[0],) for r in fts])
    conn.executemany(f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (?, ?, ?)", fts)
    conn.executemany(
        f"INSERT OR REPLACE INTO {STATE_TABLE} (article_id, stamp, indexed_at) VALUES (?, ?, ?)",
        state,
    )
    return len(fts)


def _index_rows(db: sqlite_utils.Database, rows: Iterable[dict], fresh: bool = False) -> int:
    """Index rows of `articles`; `fresh`: the index holds none of them (no delete first)."""
    fts, state = _entries(list(rows), now_iso())
    return _write_entries(db, fts, state, fresh) if fts else 0


_ARTICLE_COLUMNS = "id, title, body, body_norm, content_hash, updated_at, fetched_at"


def index_article(db: sqlite_utils.Database, article_id: int) -> bool:
    """(Re)index one article after it was stored or updated; idempotent. False if it is gone."""
    rows = list(db.query(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", [article_id]))
    with db.atomic():
        if not rows:
            db.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", [article_id])
            db.execute(f"DELETE FROM {STATE_TABLE} WHERE article_id = ?", [article_id])
            return False
        _index_rows(db, rows)
    return True


def index_articles(db: sqlite_utils.Database, ids: Iterable[int]) -> int:
    """(Re)index these stored articles in one go (the crawl's batch, before it commits); idempotent.

    One savepoint per 500 articles: FTS5 writes its pending terms to disk at every savepoint, so
    indexing articles one savepoint each left one index segment per article to merge."""
    return _index_ids(db, list(dict.fromkeys(ids)))


def _index_ids(db: sqlite_utils.Database, ids: list[int]) -> int:
    done = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        marks = ",".join("?" * len(chunk))
        rows = db.query(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({marks})", chunk)
        with db.atomic():
            done += _index_rows(db, rows)
    return done


def reindex(db: sqlite_utils.Database, workers: int | None = None) -> int:
    """Rebuild the whole search index from `articles`; return the number of articles indexed.

    A rebuild inserts into an empty index: no per-row delete, large transactions by id range, and
    FTS5's incremental merging off until one 'optimize' at the end (measured at 20,000 articles:
    about a fifth less CPU than indexing batch by batch with merges). The articles are turned into
    tokens by `workers` processes (default: one per core) while this process reads the articles and
    writes the index in id order: tokenising was half the work (measured on 5,000 articles of the
    1M benchmark database: 170 µs an article, against 130 µs for FTS5's insert).
    """
    with db.atomic():
        db.execute(f"DELETE FROM {FTS_TABLE}")
        db.execute(f"DELETE FROM {STATE_TABLE}")
    low, high = db.execute("SELECT min(id), max(id) FROM articles").fetchone()
    if low is None:
        return 0
    ranges = [(after, after + REBUILD_BATCH) for after in range(low - 1, high, REBUILD_BATCH)]
    workers = (os.cpu_count() or 1) if workers is None else workers
    db.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('automerge', 0)")
    done = 0
    try:
        for fts, state in _rebuild_entries(db, ranges, workers):
            with db.atomic():
                done += _write_entries(db, fts, state, fresh=True)
    finally:
        db.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('automerge', {DEFAULT_AUTOMERGE})")
    db.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
    return done


def _rebuild_entries(
    db: sqlite_utils.Database, ranges: list[tuple[int, int]], workers: int
) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """Index and state rows of each id range, in order. This process reads the articles; with
    several ranges and workers, worker processes make the tokens (at most 2 ranges a worker in
    flight). Workers never open the database: a reader active all the time would keep SQLite from
    ever resetting its write-ahead log, which then grew by the whole index."""
    now = now_iso()

    def rows(after: int, upto: int) -> list[dict]:
        sql = f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id > ? AND id <= ? ORDER BY id"
        return list(db.query(sql, [after, upto]))

    if workers < 2 or len(ranges) < 2:
        for after, upto in ranges:
            yield _entries(rows(after, upto), now)
        return
    # fork: the workers need nothing but this module's functions (a rebuild runs in a benchmark or a
    # test, single-threaded); spawn and forkserver import the caller's main module again in each worker
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending: deque = deque()
        for after, upto in ranges:
            pending.append(pool.apply_async(_entries, (rows(after, upto), now)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _entries(rows: list[dict], now: str) -> tuple[list[tuple], list[tuple]]:
    """(Also in a worker process) the index rows and state rows of these article rows."""
    entries = [_entry(row, now) for row in rows]
    return [e[0] for e in entries], [e[1] for e in entries]


def sync_index(db: sqlite_utils.Database) -> dict[str, int]:
    """Index articles that are missing or changed since indexing; drop deleted ones."""
    stale = [
        r["id"]
        for r in db.query(
            f"""SELECT a.id FROM articles a LEFT JOIN {STATE_TABLE} s ON s.article_id = a.id
                WHERE s.article_id IS NULL
                   OR s.stamp IS NOT coalesce(a.content_hash, a.updated_at, a.fetched_at, '')"""
        )
    ]
    gone = [
        r["article_id"]
        for r in db.query(f"SELECT article_id FROM {STATE_TABLE} WHERE article_id NOT IN (SELECT id FROM articles)")
    ]
    with db.atomic():
        for article_id in gone:
            db.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", [article_id])
            db.execute(f"DELETE FROM {STATE_TABLE} WHERE article_id = ?", [article_id])
    return {"indexed": _index_ids(db, stale), "removed": len(gone)}


# How many matching articles are ranked by relevance. A frequent term (more hits than this) is
# listed newest first instead: ranking its hits would read every posting of every character of it
# (measured at 1,000,000 articles: 0.4-3.6 s), while the newest hits come from the end of the index
# and the query stops after one page. Its count is then a lower bound (the stories among the newest
# HIT_CAP + 1 hits), shown as such.
HIT_CAP = 2000

# One row per story (the copies of a syndicated report are one result). Two orders, one statement:
# - at most HIT_CAP hits: title hits first, then bm25 with the title weighted above the body; a
#   story's row is its best-ranked copy; `total` is the exact number of stories;
# - more: newest stored first (article id, which is the FTS rowid, so FTS5 reads the index backwards
#   and stops after the page); a story's row is its newest matching copy (no newer copy of it
#   matches); `total` is a lower bound and `capped` is 1.
# Only the page's rows are joined to `articles` for display. The canned query `search` of
# datasette/metadata.yml is this statement with the page size and cap written in.
SEARCH_SQL = f"""
WITH hits AS MATERIALIZED (
  -- in index order: reading the index backwards to its end costs more (measured at 1M: 0.21 s
  -- against 0.14 s for a term found nowhere, whose every candidate row is read)
  SELECT rowid AS id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :expr LIMIT :cap + 1
),
counted0 AS MATERIALIZED (
  SELECT count(*) > :cap AS capped, count(*) AS hit_rows,
         count(DISTINCT coalesce(a.story_id, -a.id)) AS stories
  FROM hits h JOIN articles a INDEXED BY idx_articles_id_story ON a.id = h.id
),
latest AS MATERIALIZED (
  SELECT rowid AS id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :expr ORDER BY rowid DESC
  LIMIT (SELECT CASE WHEN capped THEN :cap + 1 ELSE 0 END FROM counted0)
),
storied AS MATERIALIZED (
  SELECT h.id, a.story_id,
         row_number() OVER (PARTITION BY coalesce(a.story_id, -a.id) ORDER BY h.id DESC) AS n
  FROM latest h JOIN articles a INDEXED BY idx_articles_id_story ON a.id = h.id
),
counted AS MATERIALIZED (
  SELECT capped, hit_rows, CASE WHEN capped THEN (SELECT sum(n = 1) FROM storied) ELSE stories END AS stories
  FROM counted0
),
scored AS MATERIALIZED (
  SELECT rowid AS id, bm25({FTS_TABLE}, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS rank
  FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :expr
  LIMIT (SELECT CASE WHEN capped OR hit_rows = 0 THEN 0 ELSE -1 END FROM counted)
),
best AS (
  SELECT h.id, h.rank, cjk_in_title(t.title, :q) AS title_hit, a.story_id,
         row_number() OVER (PARTITION BY coalesce(a.story_id, -a.id)
                            ORDER BY cjk_in_title(t.title, :q) DESC, h.rank, a.published, a.id) AS n
  FROM scored h JOIN articles a INDEXED BY idx_articles_id_story ON a.id = h.id JOIN articles t ON t.id = h.id
),
ranked AS (
  SELECT id, rank, title_hit, story_id, -title_hit AS o1, rank AS o2, id AS o3 FROM best WHERE n = 1
  ORDER BY title_hit DESC, rank, id
  LIMIT :limit OFFSET :offset
),
-- The newest HIT_CAP + 1 hits hold every match stored after the oldest of them: a page within their
-- stories comes from them; a later page reads the index backwards again, and a story's row is the
-- copy no newer copy of which matches.
recent AS (
  SELECT id, NULL AS rank, NULL AS title_hit, story_id, 0 AS o1, -id AS o2, 0 AS o3 FROM storied WHERE n = 1
  ORDER BY id DESC
  LIMIT (SELECT CASE WHEN capped AND :offset + :limit <= stories THEN :limit ELSE 0 END FROM counted)
  OFFSET :offset
),
newest AS (
  SELECT s.rowid AS id, NULL AS rank, NULL AS title_hit, a.story_id, 0 AS o1, -s.rowid AS o2, 0 AS o3
  FROM {FTS_TABLE} s CROSS JOIN articles a INDEXED BY idx_articles_id_story ON a.id = s.rowid
  WHERE s.{FTS_TABLE} MATCH :expr
    AND NOT EXISTS (
      SELECT 1 FROM articles c CROSS JOIN {FTS_TABLE} t ON t.rowid = c.id
      WHERE c.story_id = a.story_id AND c.id > a.id AND t.{FTS_TABLE} MATCH :expr)
  ORDER BY s.rowid DESC
  LIMIT (SELECT CASE WHEN capped AND :offset + :limit > stories THEN :limit ELSE 0 END FROM counted)
  OFFSET :offset
),
page AS (SELECT * FROM ranked UNION ALL SELECT * FROM recent UNION ALL SELECT * FROM newest)
SELECT a.id, a.title, a.published, a.source_name, a.site, a.url, x.relevant,
       coalesce(page.title_hit, cjk_in_title(a.title, :q)) AS title_hit, page.rank,
       counted.stories AS total, counted.capped, page.story_id,
       (SELECT count(*) - 1 FROM articles c WHERE c.story_id = page.story_id) AS other_copies
FROM page JOIN articles a ON a.id = page.id CROSS JOIN counted
  JOIN articles x INDEXED BY idx_articles_id_story ON x.id = page.id -- `relevant` without the body's pages
ORDER BY page.o1, page.o2, page.o3
"""


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL function the search statement needs (Datasette's connections get it from a plugin)."""
    conn.create_function("cjk_in_title", 2, in_title, deterministic=True)


def search(db: sqlite_utils.Database, q: str, limit: int = 50, offset: int = 0) -> list[dict]:
    """Stories with an article whose title or body contains every term of `q`, one row each: best
    first, or newest first when more than HIT_CAP articles match (rows then have `capped` 1)."""
    expr = match_expression(q)
    if expr == '""':
        return []
    register_functions(db.conn)
    params = {"expr": expr, "q": q, "cap": HIT_CAP, "limit": int(limit), "offset": int(offset)}
    return list(db.query(SEARCH_SQL, params))


def search_page(db: sqlite_utils.Database, q: str, limit: int = 50, offset: int = 0) -> tuple[int, bool, list[dict]]:
    """(number of stories, whether that number is only a lower bound, one page of results)."""
    rows = search(db, q, limit, offset)
    if rows:
        return rows[0]["total"], bool(rows[0]["capped"]), rows
    if not offset:
        return 0, False, rows
    return capped_count(db, q) + (rows,)


def capped_count(db: sqlite_utils.Database, q: str) -> tuple[int, bool]:
    """(stories among the newest HIT_CAP + 1 hits, whether there are more hits than HIT_CAP)."""
    expr = match_expression(q)
    if expr == '""':
        return 0, False
    hits, stories = db.execute(
        f"SELECT count(*), count(DISTINCT coalesce(a.story_id, -a.id)) FROM "
        f"(SELECT rowid AS id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? ORDER BY rowid DESC LIMIT ?) h "
        "JOIN articles a ON a.id = h.id",
        [expr, HIT_CAP + 1],
    ).fetchone()
    return stories, hits > HIT_CAP


def count(db: sqlite_utils.Database, q: str) -> int:
    """How many stories match `q`, exactly (reads every hit: slow for a frequent term in a large
    database). The index holds no deleted articles: index_article/sync_index drop them."""
    expr = match_expression(q)
    if expr == '""':
        return 0
    return db.execute(
        f"SELECT count(DISTINCT coalesce(a.story_id, -a.id)) FROM {FTS_TABLE} "
        f"JOIN articles a ON a.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH ?",
        [expr],
    ).fetchone()[0]
