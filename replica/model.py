"""In-memory model of the replicated sites: articles, their real URL paths, and every list."""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from . import generator

HERE = Path(__file__).resolve().parent
FAMILIES = ("hznews", "gov", "epaper", "zjol")


@lru_cache(maxsize=None)
def load_yaml(name: str):
    """Parse one of the package's YAML data files (cached: files are read-only)."""
    return yaml.safe_load((HERE / name).read_text(encoding="utf-8"))


def _dt(value) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 9, 0)
    return datetime.fromisoformat(str(value))


@dataclass(eq=False)
class Article:
    key: str
    family: str
    host: str
    where: str  # hznews channel, gov column id, epaper paper code, "hznews" for zjol
    date: datetime
    title: str
    subtitle: str = ""
    kicker: str = ""
    source: str = ""
    author: str = ""
    editor: str = ""
    body: list[str] | None = None  # None: regenerated from gen_seed on demand
    gen_seed: int = 0
    plan: bool = False
    pages: int = 1
    num: int = 0
    hexid: str = ""
    path: str = ""
    page_code: str = ""  # epaper 版 code (A01)
    seq: int = 0  # epaper position on its page
    encoding: str = "utf-8"
    wrong_header: bool = False
    pinned: bool = False
    extra: dict = field(default_factory=dict)

    def paras(self) -> list[str]:
        """Body paragraphs (stored for hand-written articles, regenerated for generated ones)."""
        if self.body is not None:
            return self.body
        return generator.paragraphs(self.gen_seed, self.date, self.plan)

    def page_paras(self, page: int) -> list[str]:
        """Paragraphs shown on page `page` of a multi-page article (0 = all pages)."""
        paras = self.paras()
        if self.pages <= 1 or page == 0:
            return paras
        size = -(-len(paras) // self.pages)
        return paras[(page - 1) * size : page * size]


class Site:
    """All four site families, built deterministically from content.yaml + generated articles."""

    def __init__(self, articles: int | None = None, seed: int = 0):
        self.cfg = load_yaml("sites.yaml")
        self.seed = seed
        self.lock = threading.RLock()
        self.started = time.time()
        self.paths: dict[tuple[str, str], tuple[Article, int]] = {}
        self.hz_lists: dict[str, list[Article]] = {ch: [] for ch in self.cfg["hznews"]["channels"]}
        self.columns: dict[tuple[str, str], dict] = {}
        self.col_lists: dict[tuple[str, str], list[Article]] = {}
        self.pinned: dict[tuple[str, str], Article] = {}
        self.issues: dict[tuple[str, str], list[dict]] = {}  # (paper, YYYYMMDD) -> pages
        self.zjol_list: list[Article] = []
        self.versions: dict[str, tuple[int, float]] = {}
        self.clock = _dt(self.cfg["clock_end"])
        self._counters: dict[str, int] = {}
        self._hz_ids: set[int] = set()
        for host, h in self.cfg["gov"]["hosts"].items():
            for c in h["columns"]:
                self.columns[(host, str(c["col"]))] = c
                self.col_lists[(host, str(c["col"]))] = []
        arts = self._content()
        n = self.cfg.get("default_generated", 240) if articles is None else articles
        arts += self._generate(n, seed)
        arts += self._pinned_articles()
        arts.sort(key=lambda a: (a.date, a.key))
        for a in arts:
            self._place(a)
        self._build_issues()
        for lst in [*self.hz_lists.values(), *self.col_lists.values(), self.zjol_list]:
            lst.sort(key=lambda a: (a.date, a.key), reverse=True)
        self._mark_zjol_encodings()

    # ---- building -------------------------------------------------------------------------
    def _content(self) -> list[Article]:
        out = []
        for item in load_yaml("content.yaml"):
            for j, where in enumerate([item["site"], *item.get("also", [])]):
                body = [p.strip() for p in str(item["body"]).strip().split("\n") if p.strip()]
                out.append(
                    self._article(
                        f"{item['key']}#{j}" if j else item["key"],
                        where,
                        _dt(item["date"]),
                        title=item["title"],
                        subtitle=item.get("subtitle", ""),
                        kicker=item.get("kicker", ""),
                        source=item.get("source", "杭州日报"),
                        author=item.get("author", ""),
                        editor=item.get("editor", ""),
                        body=body,
                        plan=bool(item.get("plan")),
                        pages=int(item.get("pages", 1)) if j == 0 else 1,
                    )
                )
        return out

    def _targets(self) -> list[tuple[str, float]]:
        w = self.cfg["generator_weights"]
        out = [(f"hznews/{ch}", w["hznews_channel"]) for ch in self.hz_lists]
        for (host, col), c in self.columns.items():
            out.append((f"gov/{host}/{col}", c.get("weight", w["gov_column"])))
        out += [(f"epaper/{p}", w["epaper_paper"]) for p in self.cfg["epaper"]["papers"]]
        out.append(("zjol", w["zjol"]))
        return out

    def _generate(
        self,
        n: int,
        seed: int,
        start: datetime | None = None,
        target: str | None = None,
        dates: list[datetime] | None = None,
    ) -> list[Article]:
        rnd = random.Random(seed * 1000003 + n)
        targets = self._targets()
        names = [t for t, _ in targets]
        cum = list(itertools.accumulate(w for _, w in targets))
        if dates is None:
            early = int(n * 0.03)
            dates = generator.spread_dates(
                early, seed + 1, datetime(2023, 6, 1), datetime(2023, 12, 31)
            ) + generator.spread_dates(n - early, seed + 2, datetime(2024, 1, 1), self.clock)
        out = []
        for i, when in enumerate(dates):
            where = target or rnd.choices(names, cum_weights=cum)[0]
            gseed = seed * 7919 + i + (0 if start is None else int(start.timestamp()))
            plan = rnd.random() < 0.45
            title, src, author, editor = generator.meta(gseed, when, plan)
            pages = 2 if where.startswith("hznews") and target is None and rnd.random() < 0.05 else 1
            out.append(
                self._article(
                    f"gen-{seed}-{gseed}",
                    where,
                    when,
                    title=title,
                    source=src,
                    author=author,
                    editor=editor,
                    body=None,
                    gen_seed=gseed,
                    plan=plan,
                    pages=pages,
                )
            )
        return out

    def _pinned_articles(self) -> list[Article]:
        out = []
        for (host, col), c in self.columns.items():
            h = self.cfg["gov"]["hosts"][host]
            a = self._article(
                f"pinned-{host}-{col}",
                f"gov/{host}/{col}",
                datetime(2023, 3, 1, 10, 0),
                title=f"{h['short']}{c['name']}栏目信息发布说明",
                source=h["short"],
                body=[f"本栏目发布{h['short']}{c['name']}相关信息。", "如需转载，请注明来源。"],
            )
            a.pinned = True
            out.append(a)
        return out

    def _article(self, key, where, when, **kw) -> Article:
        parts = where.split("/")
        fam = parts[0]
        if fam == "hznews":
            host, w = self.cfg["hznews"]["host"], parts[1]
        elif fam == "gov":
            host, w = parts[1], parts[2]
        elif fam == "epaper":
            host, w = self.cfg["epaper"]["host"], parts[1]
            kw["page_code"] = parts[2] if len(parts) > 2 else ""
        elif fam == "zjol":
            host, w = self.cfg["zjol"]["host"], "hznews"
        else:
            raise ValueError(f"unknown site family in {where!r}")
        return Article(key=key, family=fam, host=host, where=w, date=when, **kw)

    def _next(self, counter: str, start: int, step: int) -> int:
        n = self._counters.get(counter, start - step) + step
        self._counters[counter] = n
        return n

    def _hz_id(self, when: datetime) -> int:
        if not hasattr(self, "_anchors"):
            self._anchors = [(_dt(d).timestamp(), v) for d, v in self.cfg["hznews"]["id_anchors"]]
            self._anchor_ts = [a for a, _ in self._anchors]
        anchors = self._anchors
        t = when.timestamp()
        i = min(max(bisect_right(self._anchor_ts, t), 1), len(anchors) - 1)
        (t0, v0), (t1, v1) = anchors[i - 1], anchors[i]
        num = int(v0 + (v1 - v0) * (t - t0) / (t1 - t0))
        while num in self._hz_ids:
            num += 1
        self._hz_ids.add(num)
        return num

    def _place(self, a: Article, front: bool = False) -> None:
        """Give `a` its id and real URL path, and register it in its list."""
        d = a.date
        if a.family == "hznews":
            a.num = self._hz_id(d)
            base = f"/{a.where}/content/{d:%Y-%m}/{d:%d}/content_{a.num}"
            a.path = base + ".htm"
            self.paths[(a.host, a.path)] = (a, 1)
            if a.pages > 1:
                self.paths[(a.host, base + "_0.htm")] = (a, 0)
                for p in range(2, a.pages + 1):
                    self.paths[(a.host, f"{base}_{p}.htm")] = (a, p)
            lst = self.hz_lists[a.where]
        elif a.family == "gov":
            c = self.columns[(a.host, a.where)]
            a.num = self._next(f"gov-{a.host}-{a.where}", int(c["id_base"]), 37)
            new_from = c.get("new_gen_from")
            if new_from and d >= _dt(new_from).replace(hour=0):
                a.hexid = hashlib.md5(f"{a.host}|{a.where}|{a.key}".encode()).hexdigest()
                a.path = f"/col/col{a.where}/art/{d.year}/art_{a.hexid}.html"
            else:
                a.path = f"/art/{d.year}/{d.month}/{d.day}/art_{a.where}_{a.num}.html"
            self.paths[(a.host, a.path)] = (a, 1)
            if a.pinned:
                self.pinned[(a.host, a.where)] = a
                return
            lst = self.col_lists[(a.host, a.where)]
        elif a.family == "zjol":
            a.num = self._next("zjol", int(self.cfg["zjol"]["id_base"]), 113)
            a.path = f"{self.cfg['zjol']['path']}/{d:%Y%m}/t{d:%Y%m%d}_{a.num}.shtml"
            self.paths[(a.host, a.path)] = (a, 1)
            lst = self.zjol_list
        else:  # epaper: paths assigned per issue in _build_issues / _add_issue
            self.issues.setdefault((a.where, f"{d:%Y%m%d}"), []).append(a)
            return
        if front:
            lst.insert(0, a)
        else:
            lst.append(a)

    def _build_issues(self) -> None:
        raw, self.issues = self.issues, {}
        for (paper, ymd), arts in sorted(raw.items()):
            self._add_issue(paper, ymd, arts)

    def _add_issue(self, paper: str, ymd: str, arts: list[Article]) -> None:
        ecfg = self.cfg["epaper"]
        pcfg = ecfg["papers"][paper]
        per = ecfg["per_page_articles"]
        fixed = [a for a in arts if a.page_code]
        loose = [a for a in arts if not a.page_code]
        used = {a.page_code for a in fixed}
        pages: dict[str, list[Article]] = {}
        for a in fixed:
            pages.setdefault(a.page_code, []).append(a)
        n = 1
        for i in range(0, len(loose), per):
            while f"A{n:02d}" in used:
                n += 1
            pages[f"A{n:02d}"] = loose[i : i + per]
            n += 1
        out = []
        for idx, code in enumerate(sorted(pages)):
            sections = pcfg["sections"]
            page = {"code": code, "section": sections[idx % len(sections)], "articles": pages[code]}
            for seq, a in enumerate(page["articles"], 1):
                a.page_code, a.seq = code, seq
                a.path = f"/{paper}/{ymd[:4]}/{ymd[4:6]}/{ymd[6:]}/article_detail_{pcfg['id']}_{ymd}{code}{seq}.html"
                self.paths[(a.host, a.path)] = (a, 1)
            out.append(page)
        self.issues[(paper, ymd)] = out

    def _mark_zjol_encodings(self) -> None:
        z = self.cfg["zjol"]
        gbk = [a for a in reversed(self.zjol_list) if a.num // 113 % z["gbk_every"] == 0]
        for i, a in enumerate(gbk):
            a.encoding = "gbk"
            a.wrong_header = i == z["wrong_header_index"]

    # ---- lists ----------------------------------------------------------------------------
    def version(self, key: str) -> tuple[int, float]:
        """(generation, last-modified epoch) of a list; bumped by publish()."""
        return self.versions.get(key, (0, self.started))

    def _bump(self, key: str) -> None:
        gen, prev = self.version(key)
        # Last-Modified has 1 s resolution: a change must always move it forward
        self.versions[key] = (gen + 1, max(time.time(), float(int(prev) + 1)))

    def gov_rows(self, host: str, col: str) -> list[tuple[str, object]]:
        """Column records in list order: ('pinned'|'art'|'external', payload) incl. duplicates."""
        g = self.cfg["gov"]
        arts = self.col_lists[(host, col)]
        rows: list[tuple[str, object]] = [("art", a) for a in arts]
        dup = g["duplicate_row_at"]
        if len(rows) > dup:
            rows.insert(dup + 1, rows[dup])
        ext = g["external_rows"].get(host, g["external_rows"]["default"])
        rows.insert(min(len(rows), 6), ("external", (ext[0], ext[1], arts[5].date if len(arts) > 5 else self.clock)))
        if (host, col) in self.pinned:
            rows.insert(0, ("pinned", self.pinned[(host, col)]))
        return rows

    def node_list(self, node: dict) -> list[Article]:
        """Articles on a node list: the channel's plan-related articles."""
        return [a for a in self.hz_lists[node["channel"]] if a.plan]

    def all_articles(self) -> list[Article]:
        """Every article (each once), newest first."""
        seen = {id(a): a for a, _ in self.paths.values()}
        return sorted(seen.values(), key=lambda a: (a.date, a.key), reverse=True)

    # ---- publishing -----------------------------------------------------------------------
    def publish(self, n: int, target: str = "hznews") -> list[Article]:
        """Add n new single-page articles newest-first to the lists of `target`.

        target: a family (hznews, gov, epaper, zjol: spread round-robin over its lists) or one list
        (hznews/chengshi, gov/www.hangzhou.gov.cn/812262, epaper/dskb, zjol).
        """
        with self.lock:
            names = [t for t, _ in self._targets() if t == target or t.startswith(target + "/")]
            if not names:
                raise ValueError(f"unknown publish target {target!r}")
            if target.startswith("epaper"):
                last = max((datetime.strptime(ymd, "%Y%m%d") for (_, ymd) in self.issues), default=self.clock)
                self.clock = max(self.clock, last) + timedelta(days=1)
            made = []
            for i in range(n):
                self.clock += timedelta(minutes=17)
                where = names[i % len(names)]
                made += self._generate(
                    1, self.seed + 100 + len(self.versions) + i, start=self.clock, target=where, dates=[self.clock]
                )
            issues: dict[tuple[str, str], list[Article]] = {}
            for a in made:
                if a.family == "epaper":
                    issues.setdefault((a.where, f"{a.date:%Y%m%d}"), []).append(a)
                    self._bump(f"epaper:{a.where}")
                    continue
                self._place(a, front=True)
                self._bump(self.list_key(a))
            for (paper, ymd), arts in issues.items():
                self._add_issue(paper, ymd, arts)
            return made

    @staticmethod
    def list_key(a: Article) -> str:
        """Version key of the list that shows `a`."""
        if a.family == "hznews":
            return f"hznews:{a.where}"
        if a.family == "gov":
            return f"gov:{a.host}:{a.where}"
        return a.family if a.family == "zjol" else f"epaper:{a.where}"
