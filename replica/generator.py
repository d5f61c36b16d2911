"""Deterministic synthetic articles for the large-site replica (word banks in generator.yaml)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def banks() -> dict:
    """Word banks, loaded once."""
    return yaml.safe_load((HERE / "generator.yaml").read_text(encoding="utf-8"))


class _Slots(dict):
    """Placeholder values drawn only when a template uses them (generation of 20k articles stays fast)."""

    def __init__(self, rnd: random.Random, when: datetime):
        super().__init__()
        self.rnd, self.when = rnd, when

    def __missing__(self, key: str):
        b, r = banks(), self.rnd
        value = {
            "district": lambda: r.choice(b["districts"]),
            "road": lambda: r.choice(b["roads"]),
            "venue": lambda: r.choice(b["venues"]),
            "name": lambda: r.choice(b["names"]),
            "n": lambda: 800 + int(r.random() * 8200),
            "n2": lambda: 3 + int(r.random() * 117),
            "pct": lambda: 82 + int(r.random() * 17),
            "pct2": lambda: 2 + int(r.random() * 28),
            "month": lambda: f"{self.when.month}月",
            "year": lambda: self.when.year + int(r.random() * 2),
        }[key]()
        self[key] = value
        return value


def _fill(template: str, rnd: random.Random, when: datetime) -> str:
    return template.format_map(_Slots(rnd, when))


def _topic(seed: int, plan: bool) -> dict:
    topics = banks()["plan_topics" if plan else "other_topics"]
    return topics[(seed * 2654435761 >> 7) % len(topics)]


def meta(seed: int, when: datetime, plan: bool) -> tuple[str, str, str, str]:
    """(headline, source, author, editor) for generated article `seed`."""
    rnd = random.Random(seed)
    b = banks()
    title = _fill(rnd.choice(_topic(seed, plan)["titles"]), rnd, when)
    names = b["names"]
    author = rnd.choice(names) if rnd.random() < 0.5 else " ".join(rnd.sample(names, 2))
    return title, rnd.choice(b["sources"]), author, rnd.choice(b["editors"])


def paragraphs(seed: int, when: datetime, plan: bool) -> list[str]:
    """Body paragraphs on the article's topic, regenerated on demand from the seed (never stored)."""
    rnd = random.Random(seed * 31 + 5)
    paras = list(_topic(seed, plan)["paras"])
    rnd.shuffle(paras)
    paras = paras[: rnd.randrange(min(2, len(paras)), len(paras) + 1)] + rnd.sample(
        banks()["generic_paras"], rnd.randrange(1, 3)
    )
    return [_fill(p, rnd, when) for p in paras]


def spread_dates(count: int, seed: int, start: datetime, end: datetime) -> list[datetime]:
    """`count` deterministic timestamps between start and end (working hours)."""
    rnd = random.Random(seed)
    span = int((end - start).total_seconds())
    out = []
    for _ in range(count):
        t = start + timedelta(seconds=rnd.randrange(span))
        out.append(t.replace(hour=rnd.randrange(7, 22), minute=rnd.randrange(60), second=rnd.randrange(60)))
    return out
