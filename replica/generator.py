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


def _fill(template: str, rnd: random.Random, when: datetime) -> str:
    b = banks()
    return template.format(
        district=rnd.choice(b["districts"]), road=rnd.choice(b["roads"]), venue=rnd.choice(b["venues"]),
        name=rnd.choice(b["names"]), n=rnd.randrange(800, 9000), n2=rnd.randrange(3, 120),
        pct=rnd.randrange(82, 99), pct2=rnd.randrange(2, 30), month=f"{when.month}月",
        year=when.year + rnd.randrange(0, 2))


def _topic(seed: int, plan: bool) -> dict:
    topics = banks()["plan_topics" if plan else "other_topics"]
    return topics[random.Random(seed * 13 + 3).randrange(len(topics))]


def headline(seed: int, when: datetime, plan: bool) -> str:
    """A plausible headline for generated article number `seed`."""
    rnd = random.Random(seed)
    return _fill(rnd.choice(_topic(seed, plan)["titles"]), rnd, when)


def byline(seed: int) -> tuple[str, str, str]:
    """(source, author, editor) for a generated article."""
    rnd = random.Random(seed * 7 + 1)
    b = banks()
    return rnd.choice(b["sources"]), " ".join(rnd.sample(b["names"], rnd.choice((1, 2)))), rnd.choice(b["editors"])


def paragraphs(seed: int, when: datetime, plan: bool) -> list[str]:
    """Body paragraphs on the article's topic, regenerated on demand from the seed (never stored)."""
    rnd = random.Random(seed * 31 + 5)
    paras = list(_topic(seed, plan)["paras"])
    rnd.shuffle(paras)
    paras = paras[: rnd.randrange(min(2, len(paras)), len(paras) + 1)] + rnd.sample(banks()["generic_paras"], rnd.randrange(1, 3))
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
