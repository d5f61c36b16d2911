"""Articles: stored once per canonical URL, content-hashed, grouped into stories of syndicated copies."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from db.clock import now_iso
from db.records import Article
from db.text import fold as normalise_text

NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"
SIMHASH_BITS = 64
# Hamming distance (of 64) under which two bodies count as the same text.
NEAR_DUP_SAME_TITLE = 12
NEAR_DUP_OTHER_TITLE = 5
MIN_TITLE_KEY = 6
RECENT_WINDOW_DAYS = 3
SAME_STORY_DAYS = 7

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
# Numbers as written (digits with a decimal point; NFKC has made full-width digits ASCII), and in a
# body also Chinese numerals, which carry periods too (上半年 / 前三季度 / 一季度).
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_BODY_NUMBER = re.compile(r"\d+(?:\.\d+)?|[〇零一二两三四五六七八九十百千万亿半]+")
_PINNED = re.compile(r"^[\[【(（]?\s*置顶\s*[\]】)）]?")


def title_key(title: str | None) -> str:
    """Headline reduced to its letters and digits (no punctuation, spaces, 置顶 marks)."""
    t = normalise_text(title or "")
    t = _PINNED.sub("", t)
    return _PUNCT.sub("", t).lower()


def content_hash(title: str | None, body: str | None) -> str:
    """Stable hash of the normalised title and body."""
    h = hashlib.sha256()
    h.update(title_key(title).encode())
    h.update(b"\0")
    h.update(_PUNCT.sub("", normalise_text(body)).encode())
    return h.hexdigest()


def simhash(text: str | None) -> str:
    """64-bit simhash of character trigrams, as 16 hex digits."""
    return _simhash_norm(normalise_text(text))


# _BIT_TABLES[k] maps a byte to 1 when its bit k is set: bytes.translate + count tally one bit
# position over all features in C instead of a Python loop per feature.
_BIT_TABLES = [bytes((v >> k) & 1 for v in range(256)) for k in range(8)]


# Trigram -> blake2b digest: news text repeats its phrases, so most trigrams were hashed before
# (one blake2b call costs ~1 µs; a body has thousands of trigrams). Bounded: about 15 MB when full.
_GRAM_DIGESTS: dict[str, bytes] = {}
_GRAM_CACHE_MAX = 100_000


def _simhash_norm(norm: str) -> str:
    """simhash() of an already normalised text."""
    t = _PUNCT.sub("", norm)
    if not t:
        return "0" * 16
    grams = [t[i : i + 3] for i in range(max(1, len(t) - 2))]
    cache = _GRAM_DIGESTS
    missing = set(grams).difference(cache)
    if len(cache) + len(missing) > _GRAM_CACHE_MAX:
        cache.clear()
        missing = set(grams)
    blake = hashlib.blake2b
    for g in missing:
        cache[g] = blake(g.encode(), digest_size=8).digest()
    digests = b"".join(map(cache.__getitem__, grams))
    n = len(grams)
    out = 0
    # bit set when more features have it than not (the sum of +1/-1 per feature is > 0)
    for pos in range(8):
        column = digests[pos::8]
        for k in range(8):
            if 2 * column.translate(_BIT_TABLES[k]).count(1) > n:
                out |= 1 << ((7 - pos) * 8 + k)
    return f"{out:016x}"


def hamming(a: str | None, b: str | None) -> int:
    """Bit distance of two hex simhashes."""
    if not a or not b:
        return SIMHASH_BITS
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def known_urls(db: sqlite_utils.Database, urls: Iterable[str]) -> set[str]:
    """The subset of `urls` already stored."""
    urls = list(dict.fromkeys(urls))
    found: set[str] = set()
    for i in range(0, len(urls), 500):
        chunk = urls[i : i + 500]
        marks = ",".join("?" for _ in chunk)
        found.update(r[0] for r in db.execute(f"SELECT url FROM articles WHERE url IN ({marks})", chunk))
    return found


def is_known(db: sqlite_utils.Database, url: str) -> bool:
    """True if an article with this canonical URL is stored."""
    return db.execute("SELECT 1 FROM articles WHERE url = ?", [url]).fetchone() is not None


def _days_apart(a: str | None, b: str | None) -> int:
    """Whole days between two ISO dates (0 when either is unknown)."""
    try:
        return abs((datetime.fromisoformat(a[:10]) - datetime.fromisoformat(b[:10])).days)
    except (TypeError, ValueError):
        return 0


def numbers_key(title: str | None, body: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The numbers a report states: those in its title (in order) and the set of those in its body.

    Two reports that differ here carry different figures, as-of dates or counts: they are two events
    (a monthly "截至X月底…" report is news every month), however alike their wording.
    """
    return (
        tuple(_NUMBER.findall(normalise_text(title))),
        tuple(sorted(set(_BODY_NUMBER.findall(normalise_text(body))))),
    )


def _same_numbers(db: sqlite_utils.Database, story_id: int, numbers: tuple, exclude_id: int | None) -> bool:
    """True if an article of the story states exactly `numbers` (a true copy, not a sibling report)."""
    for title, body in db.execute(
        "SELECT title, body FROM articles WHERE story_id = ? AND id IS NOT ? ORDER BY id LIMIT 20",
        [story_id, exclude_id],
    ):
        if numbers_key(title, body) == numbers:
            return True
    return False


def _find_story(
    db: sqlite_utils.Database,
    key: str,
    sh: str,
    chash: str,
    published: str | None,
    exclude_id: int | None,
    numbers: tuple,
) -> int | None:
    """The story of an earlier true copy of this report: same content hash, or nearly the same text
    (same headline, or a re-titled copy within days) stating the same numbers; None for a new story."""
    row = db.execute(
        "SELECT story_id FROM articles WHERE content_hash = ? AND story_id IS NOT NULL AND id IS NOT ? LIMIT 1",
        [chash, exclude_id],
    ).fetchone()
    if row:
        return row[0]
    candidates: list[int] = []
    mine = int(sh, 16)
    if len(key) >= MIN_TITLE_KEY:
        for story_id, other, other_pub in db.execute(
            "SELECT a.story_id, a.simhash, a.published FROM stories s JOIN articles a ON a.story_id = s.id "
            "WHERE s.title_key = ? AND a.id IS NOT ?",
            [key, exclude_id],
        ):
            # a recurring headline (weather warnings, notices) months apart is another story
            if hamming(sh, other) <= NEAR_DUP_SAME_TITLE and _days_apart(published, other_pub) <= SAME_STORY_DAYS:
                candidates.append(story_id)
    if published and mine:
        # Re-titled syndicated copies: nearly the same body published within a few days.
        # `published` range (an index search) equals substr(published, 1, 10) BETWEEN day-3 AND day+3
        # for ISO dates; ORDER BY id keeps the order of the former table scan.
        day = published[:10]
        for story_id, other in db.execute(
            "SELECT story_id, simhash FROM articles WHERE story_id IS NOT NULL AND id IS NOT ? "
            "AND published >= date(?, ?) AND published < date(?, ?) ORDER BY id LIMIT 2000",
            [exclude_id, day, f"-{RECENT_WINDOW_DAYS} days", day, f"+{RECENT_WINDOW_DAYS + 1} days"],
        ):
            if other and (mine ^ int(other, 16)).bit_count() <= NEAR_DUP_OTHER_TITLE:
                candidates.append(story_id)
    # Near-identical wording is not enough: a copy states the same numbers (checked last: it reads bodies).
    for story_id in dict.fromkeys(candidates):
        if _same_numbers(db, story_id, numbers, exclude_id):
            return story_id
    return None


@dataclass
class Prepared:
    """One article ready to be written: its stored columns, the keys that find its story, and the row
    already stored under its URL (id, content hash, story), if any."""

    url: str
    fields: dict
    key: str
    numbers: tuple
    stored: tuple | None

    @property
    def unchanged(self) -> bool:
        return self.stored is not None and self.stored[1] == self.fields["content_hash"]


def prepare_article(db: sqlite_utils.Database, art: Article) -> Prepared:
    """Normalise and hash one article and read what is stored under its URL (nothing is written)."""
    title, body = art.title or "", art.body or ""
    # normalise each text once (OpenCC over a long body is the costly step): the same values as
    # content_hash(), simhash() and title_key()
    title_norm, body_norm = normalise_text(title), normalise_text(body)
    key = _PUNCT.sub("", _PINNED.sub("", title_norm)).lower()
    h = hashlib.sha256(key.encode())
    h.update(b"\0")
    h.update(_PUNCT.sub("", body_norm).encode())
    fields = {
        "source_id": art.source_id,
        "site": art.site,
        "title": title,
        "subtitle": art.subtitle,
        "published": art.published,
        "source_name": art.source_name,
        "author": art.author,
        "editor": art.editor,
        "publisher": art.publisher,
        "body": body,
        "body_norm": body_norm,
        "content_hash": h.hexdigest(),
        "simhash": _simhash_norm(body_norm if body else title_norm),
        "methods": json.dumps(art.methods, ensure_ascii=False, sort_keys=True),
    }
    numbers = (tuple(_NUMBER.findall(title_norm)), tuple(sorted(set(_BODY_NUMBER.findall(body_norm)))))
    stored = db.execute("SELECT id, content_hash, story_id FROM articles WHERE url = ?", [art.url]).fetchone()
    return Prepared(art.url, fields, key, numbers, stored)


def store_article(db: sqlite_utils.Database, art: Article, verdict: dict | None = None) -> tuple[int, str]:
    """Insert or update one article by canonical URL; returns (article id, new|updated|unchanged).

    Call inside `db.atomic()` to store it together with its match.
    """
    return write_article(db, prepare_article(db, art), verdict)


def write_article(db: sqlite_utils.Database, prep: Prepared, verdict: dict | None = None) -> tuple[int, str]:
    """Write a prepared article (nothing when unchanged) with its story, in one row write.

    `verdict` (db.matches.verdict_columns: relevant, score …) goes into the same INSERT or UPDATE, so
    the row is written once: every write of an articles row fires the page-count triggers (m016, m018),
    which cost more than the row itself. Its story is found before the row is written for the same
    reason; a new story's first article is set just after (stories has no triggers).
    """
    if prep.unchanged:
        return prep.stored[0], UNCHANGED
    stamp = now_iso()
    fields = dict(prep.fields, **(verdict or {}))
    exclude_id = prep.stored[0] if prep.stored else None
    with db.atomic():
        # an updated article stays in its story (an edit is not a new story)
        story_id = prep.stored[2] if prep.stored else None
        if story_id is None:
            f = prep.fields
            story_id = _find_story(
                db, prep.key, f["simhash"], f["content_hash"], f["published"], exclude_id, prep.numbers
            )
        new_story = story_id is None
        if new_story:
            story_id = db.execute(
                "INSERT INTO stories (title_key, created_at) VALUES (?, ?)", [prep.key, stamp]
            ).lastrowid
        fields["story_id"] = story_id
        if prep.stored:
            article_id, status = prep.stored[0], UPDATED
            cols = ", ".join(f"{k} = ?" for k in fields)
            db.execute(
                f"UPDATE articles SET {cols}, updated_at = ? WHERE id = ?", [*fields.values(), stamp, article_id]
            )
        else:
            cols = ", ".join(["url", *fields, "fetched_at"])
            marks = ", ".join("?" for _ in range(len(fields) + 2))
            sql = f"INSERT INTO articles ({cols}) VALUES ({marks})"
            article_id, status = db.execute(sql, [prep.url, *fields.values(), stamp]).lastrowid, NEW
        if new_story:
            db.execute("UPDATE stories SET first_article_id = ? WHERE id = ?", [article_id, story_id])
    return article_id, status


def get_article(db: sqlite_utils.Database, article_id: int) -> dict | None:
    """One articles row as a dict."""
    rows = list(db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
    return rows[0] if rows else None
