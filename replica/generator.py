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
        unit=rnd.choice(b["units"]), name=rnd.choice(b["names"]),
        n=rnd.randrange(800, 9000), n2=rnd.randrange(3, 120), pct=rnd.randrange(82, 99),
        pct2=rnd.randrange(2, 30), month=f"{when.month}月", year=when.year + rnd.randrange(0, 2),
    )


def headline(seed: int, when: datetime, plan: bool) -> str:
    """A plausible headline for generated article number `seed`."""
    rnd = random.Random(seed)
    return _fill(rnd.choice(banks()["plan_titles" if plan else "other_titles"]), rnd, when)


def byline(seed: int) -> tuple[str, str, str]:
    """(source, author, editor) for a generated article."""
    rnd = random.Random(seed * 7 + 1)
    b = banks()
    return rnd.choice(b["sources"]), " ".join(rnd.sample(b["names"], rnd.choice((1, 2)))), rnd.choice(b["editors"])


def paragraphs(seed: int, when: datetime, plan: bool, count: int | None = None) -> list[str]:
    """Body paragraphs, regenerated on demand from the seed (never stored)."""
    rnd = random.Random(seed * 31 + 5)
    b = banks()
    pool = b["plan_paras"] if plan else b["other_paras"]
    n = count or rnd.randrange(4, 8)
    return [_fill(rnd.choice(pool), rnd, when) for _ in range(n)]


def spread_dates(count: int, seed: int, start: datetime, end: datetime) -> list[datetime]:
    """`count` deterministic timestamps between start and end (working hours)."""
    rnd = random.Random(seed)
    span = int((end - start).total_seconds())
    out = []
    for _ in range(count):
        t = start + timedelta(seconds=rnd.randrange(span))
        out.append(t.replace(hour=rnd.randrange(7, 22), minute=rnd.randrange(60), second=rnd.randrange(60)))
    return out
