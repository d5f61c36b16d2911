"""A realistic fixture database for the Datasette, search and browser tests.

The plan is synced from the real catalog; the 21 labelled real articles in tests/data/eval_dev
are stored through db.articles (with their labelled items and figures as matches and progress),
plus generated articles built to trip a search that is not exact: terms split by punctuation
or spaces (人，才 / 住 房), Traditional characters (一網通辦, 數谷), terms nested in longer ones
(数谷 in 中国数谷), look-alikes (保障性租赁住房 is not 保障性住房), and scraped <script> text.
Sources, runs, fetch failures and alert outbox rows make every canned query return something.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from support_data import EVAL_DEV
from support_wait import wait_until

SCRIPT_TITLE = "<script>alert(1)</script>人才新政发布"
SCRIPT_BODY = "正文里有脚本<script>alert(1)</script>以及<b>粗体</b>和&lt;实体&gt;，人才政策继续加码。"

SOURCES = [
    {
        "id": "hzrb",
        "name": "杭州日报",
        "site": "hzdaily.hangzhou.com.cn",
        "city": "杭州",
        "strategy": "list",
        "interval_minutes": 60,
    },
    {
        "id": "hzgov",
        "name": "杭州市人民政府门户网站",
        "site": "www.hangzhou.gov.cn",
        "city": "杭州",
        "strategy": "list",
        "interval_minutes": 120,
    },
    {
        "id": "hzwnews",
        "name": "杭州网",
        "site": "news.hangzhou.com.cn",
        "city": "杭州",
        "strategy": "rss",
        "interval_minutes": 30,
        "empty_runs": 4,
        "layout_warning": "连续4次列表页未找到文章，版面可能已改变",
    },
]

# Sentence templates: {n} a number, chosen per article. Some hold traps for the search tests.
SENTENCES = [
    "我市加快推进人才强市建设，今年已引进35岁以下大学生{n}万名。",
    "市住保房管局表示，今年新建配售型保障性住房{n}套，保障性住房建设稳步推进。",
    "全市筹集保障性租赁住房{n}套（间），住房租赁市场平稳。",
    "“中国数谷”建设加速，数据要素市场化配置改革取得新进展。",
    "杭州打造「中國數谷」，推動數據要素流通與交易。",
    "政务服务“一网通办”收件率达到{n}%，窗口单事项办理更加便捷。",
    "區縣政務服務「一網通辦」持續深化，企業辦事更省心。",
    "企业负责人说，留住这些人，才是关键。",
    "新建住 房租赁服务点{n}个，方便群众就近办理。",
    "上证指数谷底反弹，市场情绪回暖。",
    "西湖边游人如织，谷雨时节茶农忙采摘。",
    "AI 与 5G 应用场景加快落地，２０２４年数字经济核心产业增加值增长{n}%。",
    "顶尖人才和领军人才引育成效明显，新引育顶尖人才{n}名。",
    "市委人才办介绍，人才服务“一件事”改革持续推进。",
    "城市更新与住房保障“配租+配售”并举，群众获得感不断增强。",
    "我们要把数谷打造成为数据产业高地。",
    "会议强调，要以深化改革、强基固本为主题，扎实推进各项工作。",
    "天气晴好，市民周末出游意愿强烈。",
]
TITLES = [
    "人才强市建设再提速",
    "保障性住房建设跑出加速度",
    "中国数谷建设观察",
    "一网通办让群众少跑腿",
    "杭州发布住房保障新举措",
    "數谷觀察：數據要素改革",
    "西湖茶事",
    "改革攻坚看杭州",
    "基层减负在行动",
    "人 才公寓开放申请",
    "住房租赁新政解读",
    "指数谷底反弹",
]
# Generated articles: which item each title/sentence family supports (for matches/progress).
TERM_ITEMS = {
    "人才": "T-talent-policy",
    "大学生": "T-graduates",
    "保障性住房": "T-housing",
    "数谷": "R08",
    "一网通办": "R03",
    "顶尖人才": "T-talent-top",
    "深化改革": "R01",
}
TERM_TARGETS = {
    "大学生{n}万名": ("tgt-graduates-350k", "万名"),
    "保障性住房{n}套": ("tgt-housing-6000", "套"),
    "收件率达到{n}%": ("tgt-onenet-intake-90", "%"),
    "顶尖人才{n}名": ("tgt-top-talent-15", "名"),
}


def _sync_plan(db) -> None:
    from db.catalog import sync_catalog
    from monitor.matching.catalog import load_catalog

    sync_catalog(db, load_catalog())


def _store(db, art: dict) -> int:
    from db.articles import store_article
    from db.records import Article

    article_id, _status = store_article(db, Article(**art))
    return article_id


def _eval_articles(db, rng: random.Random) -> None:
    """Store the labelled real articles with their labelled items and figures."""
    paths = sorted(EVAL_DEV.glob("*.json"))
    assert paths, f"no labelled articles in {EVAL_DEV}"
    for path in paths:
        case = json.loads(path.read_text(encoding="utf-8"))
        label = case["label"]
        published = (case.get("published") or "2024-06-01") + "T09:00:00+08:00"
        article_id = _store(
            db,
            {
                "url": case["url"],
                "source_id": rng.choice(SOURCES)["id"],
                "site": case.get("site"),
                "title": case.get("title"),
                "published": published,
                "source_name": "杭州日报",
                "body": case.get("text"),
            },
        )
        _set_verdict(db, article_id, bool(label["relevant"]))
        if label["relevant"]:
            for item_id in label.get("projects") or []:
                _match(db, article_id, item_id, [])
        for fig in label.get("progress") or []:
            db["progress"].insert(
                {
                    "article_id": article_id,
                    "target_id": fig["target"],
                    "value": fig["value"],
                    "unit": fig["unit"],
                    "as_of": fig.get("as_of"),
                    "quote": fig.get("quote"),
                }
            )


def _set_verdict(db, article_id: int, relevant: bool) -> None:
    db.execute(
        "UPDATE articles SET relevant = ?, score = ?, matcher_version = 'fixture', "
        "matched_at = fetched_at WHERE id = ?",
        [int(relevant), 3.0 if relevant else 0.5, article_id],
    )


def _match(db, article_id: int, item_id: str, evidence: list[dict]) -> None:
    if not db.execute("SELECT 1 FROM items WHERE id = ?", [item_id]).fetchone():
        return
    db["matches"].upsert(
        {
            "article_id": article_id,
            "item_id": item_id,
            "score": 1.0 + len(evidence),
            "evidence": json.dumps(evidence, ensure_ascii=False),
        },
        pk=("article_id", "item_id"),
    )


# Figures that grow through the year towards (or past) each target, as real reports do.
FIGURE_SCALE = {"万名": 36.0, "套": 6300.0, "收件率": 95.0, "顶尖人才": 16.0}


def _figure(sentence: str, month: int, rng: random.Random) -> float:
    for key, full_year in FIGURE_SCALE.items():
        if key in sentence:
            if key == "收件率":
                return round(80 + (full_year - 80) * month / 12 + rng.uniform(-1, 1), 1)
            value = full_year * month / 12 * rng.uniform(0.9, 1.05)
            return round(value, 1) if full_year < 100 else int(value)
    return rng.choice([3, 12, 25, 40, 85])


def _generated_articles(db, rng: random.Random, count: int) -> None:
    for k in range(count):
        month = rng.randint(1, 12)
        day = rng.randint(1, 28)
        published = f"2024-{month:02d}-{day:02d}T{rng.randint(7, 20):02d}:30:00+08:00"
        picked = rng.sample(SENTENCES, rng.randint(3, 7))
        numbers = [_figure(s, month, rng) for s in picked]
        lines = [s.format(n=n) for s, n in zip(picked, numbers, strict=True)]
        title = rng.choice(TITLES) + ("" if k % 5 else f"（{k}）")
        body = "\n".join(lines)
        source = rng.choice(SOURCES)
        article_id = _store(
            db,
            {
                "url": f"https://{source['site']}/art/2024/{month}/{k}.html",
                "source_id": source["id"],
                "site": source["site"],
                "title": title,
                "published": published,
                "source_name": source["name"],
                "body": body,
            },
        )
        norm = db.execute("SELECT body_norm FROM articles WHERE id = ?", [article_id]).fetchone()[0]
        evidence_by_item: dict[str, list] = {}
        for term, item_id in TERM_ITEMS.items():
            pos = norm.find(term)
            if pos >= 0:
                evidence_by_item.setdefault(item_id, []).append(
                    {"term": term, "start": pos, "end": pos + len(term), "snippet": norm[max(pos - 10, 0) : pos + 15]}
                )
        relevant = bool(evidence_by_item) and k % 7 != 0
        _set_verdict(db, article_id, relevant)
        if evidence_by_item and not relevant:  # a candidate (待确认): its evidence, no matches rows
            candidate = [{"item": i, **e} for i, ev in evidence_by_item.items() for e in ev]
            db.execute(
                "UPDATE articles SET candidate = ? WHERE id = ?",
                [json.dumps(candidate, ensure_ascii=False), article_id],
            )
        if relevant:
            for item_id, evidence in evidence_by_item.items():
                _match(db, article_id, item_id, evidence)
            for sentence, n, line in zip(picked, numbers, lines, strict=True):
                for pattern, (target_id, unit) in TERM_TARGETS.items():
                    if pattern in sentence:
                        db["progress"].insert(
                            {
                                "article_id": article_id,
                                "target_id": target_id,
                                "value": n,
                                "unit": unit,
                                "as_of": published[:10],
                                "quote": line,
                            }
                        )


# One article per trap, each without the real term, so the search tests can fail.
TRAP_ARTICLES = [
    ("企业家座谈", "企业负责人说，留住这些人，才是关键。"),  # 人，才 is not 人才
    ("便民服务点开放", "新建住 房租赁服务点3个，方便群众就近办理。"),  # 住 房 is not 住房
    ("租赁房源筹集", "全市筹集保障性租赁住房1200套（间）。"),  # not 保障性住房
    ("區縣政務觀察", "區縣政務服務「一網通辦」持續深化，企業辦事更省心。"),  # Traditional only
    ("市场观察", "上证指数谷底反弹，市场情绪回暖。"),  # 数谷 inside 指数谷底
]


def _trap_articles(db) -> None:
    for n, (title, body) in enumerate(TRAP_ARTICLES):
        article_id = _store(
            db,
            {
                "url": f"https://www.hangzhou.gov.cn/art/trap/{n}.html",
                "source_id": "hzgov",
                "site": "www.hangzhou.gov.cn",
                "title": title,
                "published": f"2024-0{n + 3}-15T09:00:00+08:00",
                "source_name": "杭州市人民政府",
                "body": body,
            },
        )
        _set_verdict(db, article_id, False)


def _script_article(db) -> int:
    article_id = _store(
        db,
        {
            "url": "https://news.hangzhou.com.cn/art/xss.html",
            "source_id": "hzwnews",
            "site": "news.hangzhou.com.cn",
            "title": SCRIPT_TITLE,
            "published": "2024-05-20T10:00:00+08:00",
            "source_name": "<i>杭州网</i>",
            "body": SCRIPT_BODY,
        },
    )
    _set_verdict(db, article_id, True)
    _match(
        db,
        article_id,
        "T-talent-policy",
        [{"term": "人才", "start": 0, "end": 2, "snippet": "<script>alert(1)</script>人才"}],
    )
    return article_id


def _syndicated_copy(db, article_id: int) -> int:
    """A copy of the article on another site: the same story (one row wherever a reader counts)."""
    row = db.execute("SELECT title, body, published FROM articles WHERE id = ?", [article_id]).fetchone()
    copy_id = _store(
        db,
        {
            "url": "https://www.hangzhou.gov.cn/art/2024/5/20/art_copy.html",
            "source_id": "hzgov",
            "site": "www.hangzhou.gov.cn",
            "title": row[0],
            "published": row[2],
            "source_name": "杭州网",
            "body": row[1],
        },
    )
    _set_verdict(db, copy_id, True)
    _match(db, copy_id, "T-talent-policy", [{"term": "人才", "start": 0, "end": 2, "snippet": "人才"}])
    return copy_id


def _operations(db) -> None:
    """Runs, fetch failures, list pages and alert outbox rows (sources exist already)."""
    for i, src in enumerate(SOURCES):
        for j, status in enumerate(["ok", "partial", "failed" if i == 2 else "ok"]):
            run_id = (
                db["runs"]
                .insert(
                    {
                        "source_id": src["id"],
                        "started": f"2024-12-0{j + 1}T08:00:00+08:00",
                        "ended": f"2024-12-0{j + 1}T08:01:00+08:00",
                        "status": status,
                        "pages_fetched": 20 + j,
                        "new_articles": 3 * j,
                        "failures": json.dumps({"timeout": j}) if j else None,
                        "error": "连接超时" if status == "failed" else None,
                    }
                )
                .last_pk
            )
            if j:
                db["fetch_failures"].insert(
                    {
                        "run_id": run_id,
                        "source_id": src["id"],
                        "url": f"https://{src['site']}/broken/{j}.html",
                        "reason": "timeout",
                        "detail": "<b>read timeout</b>",
                        "at": f"2024-12-0{j + 1}T08:00:30+08:00",
                    }
                )
        db.execute("UPDATE sources SET last_run_id = ? WHERE id = ?", [run_id, src["id"]])
        db["list_pages"].upsert(
            {
                "url": f"https://{src['site']}/list.html",
                "source_id": src["id"],
                "etag": '"abc"',
                "fetched_at": "2024-12-03T08:00:00+08:00",
                "items_found": 20,
            },
            pk="url",
        )
    relevant = [r["id"] for r in db.query("SELECT id FROM articles WHERE relevant = 1 ORDER BY id LIMIT 6")]
    for n, article_id in enumerate(relevant):
        story = db.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()[0]
        status = ["sent", "sent", "pending", "failed", "sending", "pending"][n]
        db["outbox"].insert(
            {
                "subscription": "dingtalk-team" if n % 2 else "email-office",
                "story_id": story,
                "article_id": article_id,
                "status": status,
                "attempts": 3 if status == "failed" else 1,
                "last_error": "HTTP 500" if status == "failed" else None,
                "created_at": f"2024-12-0{n + 1}T09:00:00+08:00",
                "sent_at": f"2024-12-0{n + 1}T09:00:05+08:00" if status == "sent" else None,
            }
        )


def build_fixture_db(path: str | Path, generated: int = 400, seed: int = 7) -> dict:
    """Create the fixture database at `path`; return ids the tests need."""
    import db as dbpkg
    from db.figures import refresh_figures
    from db.search import reindex

    rng = random.Random(seed)
    db = dbpkg.connect(path)
    _sync_plan(db)
    _operations_sources_only(db)
    _eval_articles(db, rng)
    _generated_articles(db, rng, generated)
    _trap_articles(db)
    script_id = _script_article(db)
    copy_id = _syndicated_copy(db, script_id)
    _operations(db)
    reindex(db)
    refresh_figures(db)  # as a crawl's end does: the pages read the stored figures
    first_item = db.execute("SELECT item_id FROM matches GROUP BY item_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    info = {
        "script_article_id": script_id,
        "syndicated_article_id": copy_id,
        "busy_item": first_item,
        "articles": db["articles"].count,
    }
    db.close()
    return info


def _operations_sources_only(db) -> None:
    # Articles reference sources; create them first so source names resolve from the start.
    for src in SOURCES:
        db["sources"].upsert(dict(src, config=json.dumps(src, ensure_ascii=False)), pk="id")


def start_logged(
    argv: list[str],
    log_path: Path,
    env: dict | None = None,
    cwd: str | None = None,
    pattern: str = r"(http://127\.0\.0\.1:\d+)",
    timeout: float = 60.0,
):
    """Start a server subprocess logging to a file (a pipe could fill and block it); return (proc, URL)."""
    import re
    import subprocess

    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
    log.close()

    def url_in_log() -> str | None:
        text = Path(log_path).read_text(encoding="utf-8", errors="replace")
        m = re.search(pattern, text)
        if m:
            return m.group(1)
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{text[-3000:]}")
        return None

    try:
        return proc, wait_until(url_in_log, timeout, f"the server's URL in {log_path}", step=0.1)
    except AssertionError as exc:
        proc.kill()
        raise RuntimeError(f"{exc}:\n{Path(log_path).read_text()[-3000:]}") from None


def stop(proc) -> None:
    """Stop a server started by start_logged (only that process)."""
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
