"""The matcher against the dev set, our own labelled cases, and its building blocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support_data import EVAL_CASES as CASES
from support_data import EVAL_DEV as DEV
from support_data import REPO
from support_data import match_json as _match

import db as dbmod
from db.catalog import sync_catalog
from db.matches import iter_articles_needing_match, save_match
from db.records import Article, Evidence, MatchResult
from db.text import normalize, normalize_map
from monitor.matching.catalog import load_catalog
from monitor.matching.matcher import MATCHER_VERSION, Matcher, infer_date

OUTPUT_KEYS = {"relevant", "candidate", "score", "projects", "items", "targets", "progress", "evidence"}


def _load(path: Path) -> tuple[dict, dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k != "label"}, data["label"]


def test_dev_set_is_there():
    assert len(list(DEV.glob("*.json"))) == 21


@pytest.mark.parametrize("path", sorted(DEV.glob("*.json")), ids=lambda p: p.stem)
def test_dev_article(matcher, path):
    article, label = _load(path)
    result = _match(matcher, article)
    assert set(result) == OUTPUT_KEYS
    assert result["relevant"] == label["relevant"], label["notes"]
    assert sorted(result["projects"]) == sorted(label["projects"]), label["notes"]
    assert result["targets"] == sorted(label["targets"])
    assert len(result["progress"]) == len(label["progress"])


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_own_case(matcher_2024, path):
    article, label = _load(path)
    result = _match(matcher_2024, article)
    assert result["relevant"] == label["relevant"], label["notes"]
    assert sorted(result["projects"]) == sorted(label["projects"]), label["notes"]
    assert result["targets"] == sorted(label["targets"])
    got = sorted((p["target"], p["value"], p["unit"], p["as_of"], p["quote"]) for p in result["progress"])
    want = sorted((p["target"], p["value"], p["unit"], p["as_of"], p["quote"]) for p in label["progress"])
    assert got == want


def test_own_cases_cover_every_target_and_the_hard_negatives():
    labels = [_load(p)[1] for p in sorted(CASES.glob("*.json"))]
    assert len(labels) >= 25
    covered = {p["target"] for lab in labels for p in lab["progress"]}
    assert covered == set(load_catalog().only(["hangzhou-2024"]).targets)
    assert sum(not lab["relevant"] for lab in labels) >= 8


def test_evidence_points_into_the_original(matcher):
    article, _ = _load(CASES / "p05-traditional-mirror.json")
    result = _match(matcher, article)
    doc = article["title"] + "\n" + article["text"]
    assert result["evidence"]
    for e in result["evidence"]:
        assert normalize(doc[e["start"] : e["end"]]) == e["term"], e
        assert doc[e["start"] : e["end"]] in e["snippet"].replace("\n", " ")


def test_common_reform_words_are_not_the_theme(matcher):
    text = "杭州市召开会议，要求深化改革，强基础、固根本，推动各项工作落实。会议强调强基固本。"
    r = _match(
        matcher,
        {
            "url": "https://www.hangzhou.com.cn/2024/05/01/x.htm",
            "title": "杭州市召开工作会议",
            "published": "2024-05-01",
            "text": text,
        },
    )
    assert not r["relevant"]


def test_title_hits_weigh_more(matcher):
    body = "杭州市发布消息。" + "今天天气晴好。" * 20
    in_title = _match(
        matcher,
        {
            "url": "https://www.hangzhou.com.cn/a",
            "title": "杭州推进平急两用设施建设",
            "published": "2024-05-01",
            "text": body,
        },
    )
    in_body = _match(
        matcher,
        {
            "url": "https://www.hangzhou.com.cn/a",
            "title": "今日要闻",
            "published": "2024-05-01",
            "text": body + "平急两用。",
        },
    )
    assert in_title["relevant"] and in_title["projects"] == ["T-dual-use"]
    # One mention in the body is a report too (real reports name an item once), but a weaker one.
    assert in_body["relevant"] and in_body["projects"] == ["T-dual-use"]
    assert in_title["score"] == 1.0 and in_body["score"] == 0.5


def test_theme_level_article(matcher):
    r = _match(
        matcher,
        {
            "url": "https://hzdaily.hangzhou.com.cn/hzrb/2024/03/01/x.html",
            "title": "奋进主题年",
            "published": None,
            "text": "全市上下奋进“深化改革、强基固本”主题年，以杭州的稳进立为全省大局多做贡献。",
        },
    )
    assert r["relevant"] and r["projects"] == []
    assert r["evidence"][0]["item"] == "hangzhou-2024"


@pytest.mark.parametrize(
    "url, date",
    [
        ("http://hzdaily.hangzhou.com.cn/hzrb/2024/01/31/article_detail_1_20240131A031.html", "2024-01-31"),
        ("http://zjrb.zjol.com.cn/html/2024-01/31/content_3718090.htm?div=-1", "2024-01-31"),
        ("http://tibet.cn/cn/Instant/local/202206/t20220628_7230553.html", "2022-06-28"),
        ("https://edu.hangzhou.gov.cn/art/2025/4/23/art_1228921845_58945540.html", "2025-04-23"),
        ("https://news.qq.com/rain/a/20241230A06MRR00", "2024-12-30"),
        ("http://wuhuxiaoyouquan.cn/Content/2024/05-16/1726081537.html", "2024-05-16"),
        ("http://focus.szonline.cn/zx/2023/0119/64368.html", "2023-01-19"),
        ("https://www.example.gov.cn/col/202403/", "2024-03-01"),
        ("https://nginx-hzwcm.hangzhou.com.cn/hzwcm/site3/mweb/ja98q/content_9166010.html", None),
        (None, None),
    ],
)
def test_infer_date(url, date):
    got = infer_date(url)
    assert (got.isoformat() if got else None) == date


def test_old_date_from_url_makes_it_irrelevant(matcher):
    text = "杭州市持续推进平急两用公共基础设施建设，全市平急两用项目加快落地。"
    base = {"title": "杭州平急两用设施建设", "published": None, "text": text}
    assert _match(matcher, dict(base, url="https://www.hangzhou.com.cn/2024/03/01/content_1.htm"))["relevant"]
    assert not _match(matcher, dict(base, url="https://www.hangzhou.com.cn/2023/03/01/content_1.htm"))["relevant"]


def test_unknown_date_falls_back_to_years_in_the_text(matcher):
    text = "杭州市持续推进平急两用公共基础设施建设，全市平急两用项目加快落地。"
    base = {"url": "https://example.org/a", "title": "杭州平急两用设施建设", "published": None}
    assert _match(matcher, dict(base, text=text + "2024年计划开工30个。"))["relevant"]
    assert not _match(matcher, dict(base, text=text + "2022年计划开工30个。"))["relevant"]


def test_other_city_in_title_wins(matcher):
    r = _match(
        matcher,
        {
            "url": "https://example.org/a",
            "title": "宁波推进平急两用设施建设",
            "published": "2024-05-01",
            "text": "宁波市推进平急两用设施建设，学习借鉴杭州经验，平急两用项目加快落地。",
        },
    )
    assert not r["relevant"]


def test_source_field_counts_for_locality(matcher):
    text = "我市推进平急两用设施建设，平急两用项目加快落地。"
    base = {"url": "https://example.org/a", "title": "平急两用设施建设提速", "published": "2024-05-01", "text": text}
    assert _match(matcher, dict(base, source="杭州日报"))["relevant"]
    assert not _match(matcher, dict(base, source="宁波日报"))["relevant"]
    assert not _match(matcher, base)["relevant"]


def test_normalize():
    assert normalize("預(yù)付式消費") == "预付式消费"
    assert normalize("“一網通辦”") == "一网通办"
    assert normalize("收件率达９２．３％") == "收件率达92.3%"
    assert normalize("深化改革 强基固本\u3000主题年") == "深化改革强基固本主题年"
    assert normalize("hello  world\u200b") == "hello world"
    assert normalize("基层治理“141”体系") == "基层治理141体系"
    assert normalize("第一段\r\n\r\n  第二段") == "第一段\n第二段"
    assert normalize(None) == ""


def test_normalize_map_points_back():
    text = "　　國家市場監(jiān)督管理總局，“一網通辦”收件率达９２％。\n\n 下一段 text  here"
    norm, index = normalize_map(text)
    assert len(index) == len(norm) + 1 and index[len(norm)] == len(text)
    for i, ch in enumerate(norm):
        original = text[index[i]]
        assert normalize(original) in (ch, "") or ch in " \n", (i, ch, original)


def test_version_includes_the_catalog_hash(tmp_path):
    plan = REPO / "monitor" / "plans" / "hangzhou-2024.yaml"
    assert MATCHER_VERSION == Matcher().version
    changed = tmp_path / "hangzhou-2024.yaml"
    changed.write_text(plan.read_text(encoding="utf-8").replace("[平急两用]", "[平急两用, 平战结合]"), encoding="utf-8")
    other = Matcher(load_catalog([changed]))
    assert other.version != MATCHER_VERSION
    assert other.version.split("+")[0] == MATCHER_VERSION.split("+")[0]


def test_bad_input_does_not_crash(matcher):
    r = _match(matcher, {"url": None, "title": None, "published": "not a date", "text": None})
    assert r["relevant"] is False and set(r) == OUTPUT_KEYS
    r = _match(matcher, {})
    assert r["relevant"] is False


# ---------------------------------------------------------------- storage


def _store(database, articles):
    ids = []
    for n, a in enumerate(articles):
        ids.append(
            database["articles"]
            .insert(
                {
                    "url": a["url"] + f"#{n}",
                    "site": a.get("site"),
                    "title": a["title"],
                    "published": a.get("published"),
                    "body": a["text"],
                    "source_name": a.get("source"),
                }
            )
            .last_pk
        )
    return ids


def test_save_match_and_iter(tmp_path, matcher):
    database = dbmod.connect(tmp_path / "hz.db")
    sync_catalog(database, matcher.catalog)
    articles = [_load(p)[0] for p in sorted(CASES.glob("p0*.json"))[:4]]
    ids = _store(database, articles)
    pending = list(iter_articles_needing_match(database, matcher.version))
    assert [a.id for a in pending] == ids
    assert all(isinstance(a, Article) for a in pending)
    assert (pending[0].title, pending[0].body, pending[0].source_name) == (
        articles[0]["title"],
        articles[0]["text"],
        articles[0].get("source"),
    )
    for a in pending:
        save_match(database, a.id, matcher.match(a), matcher.version)
    assert list(iter_articles_needing_match(database, matcher.version)) == []
    assert len(list(iter_articles_needing_match(database, matcher.version, force=True))) == 4
    row = database["articles"].get(ids[0])
    assert row["relevant"] == 1 and row["matcher_version"] == matcher.version and row["matched_at"]
    items = [r["item_id"] for r in database.query("select item_id from matches where article_id = ?", [ids[0]])]
    assert items == ["T-housing"]
    progress = list(database.query("select * from progress where article_id = ?", [ids[0]]))
    assert [(p["target_id"], p["value"], p["as_of"]) for p in progress] == [("tgt-housing-6000", 3200, "2024-06-30")]
    # Saving again replaces, never duplicates.
    save_match(database, ids[0], matcher.match(pending[0]), matcher.version)
    assert database.execute("select count(*) from progress where article_id = ?", [ids[0]]).fetchone()[0] == 1
    # A verdict that turns negative clears the rows.
    save_match(database, ids[0], MatchResult(), "other")
    assert database.execute("select count(*) from matches where article_id = ?", [ids[0]]).fetchone()[0] == 0
    assert [a.id for a in iter_articles_needing_match(database, matcher.version)] == [ids[0]]
    # A candidate keeps its evidence in articles.candidate and gets no matches rows; relevant again
    # clears it.
    unsure = MatchResult(
        candidate=True, score=0.25, evidence=[Evidence("T-housing", "公租房", 0, 3, "走访公租房住户。")]
    )
    save_match(database, ids[0], unsure, matcher.version)
    row = database["articles"].get(ids[0])
    assert row["relevant"] == 0 and json.loads(row["candidate"])[0]["item"] == "T-housing"
    assert database.execute("select count(*) from matches where article_id = ?", [ids[0]]).fetchone()[0] == 0
    save_match(database, ids[0], matcher.match(pending[0]), matcher.version)
    assert database["articles"].get(ids[0])["candidate"] is None


# A weak term with one context word near it, in a Hangzhou report of the period: real plan evidence
# below the threshold. It is a candidate (待确认), not a report; the same words with nothing of the
# plan near them, or in another city's news, are neither.
CANDIDATE = "杭州市住保房管局工作人员走访公租房住户，了解房源维修情况。" + "今天天气晴好。" * 10


def test_candidate_below_threshold_keeps_its_evidence(matcher):
    page = {"url": "https://www.hangzhou.gov.cn/art/2024/5/1/a.html", "title": "走访", "published": "2024-05-01"}
    r = _match(matcher, {**page, "text": CANDIDATE})
    assert r["relevant"] is False and r["candidate"] is True and r["projects"] == []
    assert [(e["item"], e["term"]) for e in r["evidence"]] == [("T-housing", "公租房")]
    assert r["evidence"][0]["snippet"] == "杭州市住保房管局工作人员走访公租房住户，了解房源维修情况。"
    bare = _match(matcher, {**page, "text": "杭州市民走访公租房。" + "今天天气晴好。" * 10})
    assert bare["relevant"] is False and bare["candidate"] is False
    elsewhere = {**page, "url": "https://www.ningbo.gov.cn/art/2024/5/1/a.html", "site": "宁波市人民政府"}
    assert _match(matcher, {**elsewhere, "text": CANDIDATE.replace("杭州", "宁波")})["candidate"] is False


# ---------------------------------------------------------------- CLI


def hz(*args, stdin=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_cli_match_one_article():
    article = (DEV / "045.json").read_text(encoding="utf-8")
    proc = hz("match", "-", stdin=article)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["relevant"] and result["projects"] == ["R08"]
    proc = hz("match", str(CASES / "p02-onenet-rates.json"))
    assert [p["value"] for p in json.loads(proc.stdout)["progress"]] == [92.3, 95.1]


def test_cli_match_jsonl_streams_and_survives_bad_lines():
    lines = [json.dumps(_load(p)[0], ensure_ascii=False) for p in sorted(DEV.glob("*.json"))]
    lines.insert(3, "{not json")
    proc = hz("match", "--jsonl", "-", stdin="\n".join(lines) + "\n")
    out = proc.stdout.splitlines()
    assert len(out) == 22
    assert "error" in json.loads(out[3]) and "line 4" in proc.stderr
    assert proc.returncode == 1
    assert sum(json.loads(line).get("relevant", False) for line in out) == 12


def test_cli_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    proc = hz("match", str(bad))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "JSON object" in proc.stderr
    proc = hz("match")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    proc = hz("eval", str(tmp_path))
    assert proc.returncode != 0 and "no 'label'" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = hz("eval", str(tmp_path / "empty"))
    assert proc.returncode != 0 and "no *.json cases" in proc.stderr


def test_cli_match_all(tmp_path):
    dbfile = tmp_path / "hz.db"
    assert hz("init", "--db", str(dbfile)).returncode == 0
    database = dbmod.connect(dbfile)
    _store(database, [_load(p)[0] for p in sorted(DEV.glob("*.json"))])
    database.conn.close()
    proc = hz("match", "--all", env={"HZWATCH_DB": str(dbfile)})
    assert proc.returncode == 0, proc.stderr
    assert "matched 21 articles" in proc.stdout and "12 relevant" in proc.stdout
    assert hz("match", "--all", "--db", str(dbfile)).stdout.startswith("matched 0 articles")
    assert "matched 21" in hz("match", "--all", "--force", "--db", str(dbfile)).stdout
    database = dbmod.connect(dbfile)
    assert database.execute("select count(*) from articles where relevant = 1").fetchone()[0] == 12
    assert database.execute("select count(*) from matches").fetchone()[0] == 17


def test_archived_old_report_is_old(matcher):
    text = "杭州市人民政府市长向大会报告工作。全市深化“平急两用”设施建设，推进政务服务“一网通办”。"
    old = {
        "url": "https://example.org/archive/1",
        "published": "2024-06-01",
        "text": text,
        "title": "政府工作报告（2019年1月21日在杭州市第十三届人民代表大会第四次会议上）",
    }
    assert not _match(matcher, old)["relevant"]
    review = dict(old, title="2023年杭州平急两用设施建设回顾")
    assert _match(matcher, review)["relevant"]


def test_generic_talent_words_alone_are_not_enough(matcher):
    text = (
        "杭州某科技公司近日发布新产品。公司负责人说，公司重视高层次人才，人才服务到位。"
        "这款产品面向海外市场，预计年内上市。"
    )
    r = _match(
        matcher,
        {
            "url": "https://www.hangzhou.com.cn/2024/05/01/x.htm",
            "title": "杭州一企业发布新品",
            "published": "2024-05-01",
            "text": text,
        },
    )
    assert not r["relevant"]


def test_site_name_counts_like_a_source(matcher):
    text = "我市推进平急两用设施建设，平急两用项目加快落地。"
    base = {"url": "https://example.org/a", "title": "平急两用设施建设提速", "published": "2024-05-01", "text": text}
    assert _match(matcher, dict(base, site="杭州日报 (hzdaily.hangzhou.com.cn)"))["relevant"]
    assert not _match(matcher, dict(base, site="银川市人民政府 (yinchuan.gov.cn)"))["relevant"]


def test_cli_jsonl_answers_each_line_at_once():
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "match", "--jsonl", "-"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        for path in (DEV / "009.json", DEV / "026.json"):
            proc.stdin.write(json.dumps(_load(path)[0], ensure_ascii=False) + "\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())  # would hang if results were buffered
            assert answer["relevant"] == (path.stem == "009")
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_position_map_replays_normalize_exactly():
    import random

    from db.text import _tracked

    alphabet = list(" \t\u3000\xa0\n\r中文國，,a1“”(jiān)&nbsp;\u2003x.、\u200b")
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 18)))
        norm, index = normalize_map(text)
        assert _tracked(text)[0] == norm, repr(text)
        assert index[len(norm)] == len(text)
        for i, ch in enumerate(norm):
            original = text[index[i]]
            assert ch == " " or ch == "\n" or normalize(original) == ch, (repr(text), i)


def test_verbatim_evidence_offsets_equal_the_full_map(matcher, monkeypatch):
    import monitor.matching.positions as positions

    articles = [_load(p)[0] for p in sorted(DEV.glob("*.json")) + sorted(CASES.glob("*.json"))]
    # Each text twice over too: later occurrences of every term and quote sentence.
    articles += [dict(a, text=a["text"] + "\n" + a["text"]) for a in articles]

    def placed(a):
        r = _match(matcher, a)
        return r["evidence"], [p["quote"] for p in r["progress"]]

    fast = [placed(a) for a in articles]
    assert sum(len(q) for _e, q in fast) > 20
    monkeypatch.setattr(positions, "verbatim", lambda *args: None)
    assert [placed(a) for a in articles] == fast


def test_t2s_is_skipped_only_for_text_it_would_not_change():
    from db.text import _T2S, _t2s

    for text in ["杭州市数据资源局", "杭州市數據資源局", "臺灣", "乾隆", "干部", "著名", "A1,。"]:
        assert _t2s(text) == _T2S.convert(text), text


# ---------------------------------------------------------------- item evidence rules


def _items(matcher, title, text, published="2024-06-01"):
    r = _match(
        matcher,
        {
            "url": "https://www.hangzhou.gov.cn/art/2024/6/1/art_1_2.html",
            "title": title,
            "published": published,
            "text": text,
        },
    )
    return r["projects"] if r["relevant"] else None


def test_word_inside_another_items_term_belongs_to_that_item(matcher):
    # 人才 in 顶尖人才 / 人才分类评价 is evidence for those tasks, not for the talent policy.
    text = "杭州市今年以来新引育顶尖人才8名、领军人才260余名，人才分类评价扩面，顶尖人才加快集聚。"
    assert _items(matcher, "杭州顶尖人才引育提速", text) == ["T-talent-top", "T-evaluation"]


def test_talent_office_as_news_source_is_not_talent_policy(matcher):
    text = (
        "记者从杭州市委人才办获悉，今年以来全市新引进35岁以下大学生22.4万名。"
        "市委人才办有关负责人表示，青荷驿站将继续扩容。"
    )
    assert _items(matcher, "杭州引进大学生22.4万名", text) == ["T-graduates"]
    # The office acting on the policy in talent news is evidence.
    acting = text + "市委人才办联合企业推出一批实习岗位，面向全球青年招募。"
    assert _items(matcher, "杭州引进大学生22.4万名", acting) == ["T-talent-policy", "T-graduates"]


def test_broad_talent_words_need_talent_news(matcher):
    # A 人才服务 desk in a business service centre is not the talent-policy task …
    text = (
        "杭州市企业综合服务中心启用，设政策服务、人才服务、金融服务等专区，"
        "深化政务服务增值化改革，为企业提供增值化政务服务。"
    )
    assert _items(matcher, "杭州企业综合服务中心启用", text) == ["R03"]
    # … but the task's own wording (人才强市) lists it anywhere.
    own = text + "中心还将服务人才强市建设。"
    assert "T-talent-policy" in _items(matcher, "杭州企业综合服务中心启用", own)


def test_weak_talent_word_alone_does_not_list_the_policy(matcher):
    # Two bare 人才 near 引进 would have listed the task before: it now needs its own terms.
    text = (
        "杭州今年以来新引进35岁以下大学生22万名，人才净流入率居前列。"
        "青荷驿站为来杭大学生提供免费住宿，引进的人才可申请人才租赁住房。"
    )
    assert _items(matcher, "杭州引进大学生22万名", text) == ["T-graduates"]


def test_passing_burden_words_are_not_the_firewall_task(matcher):
    text = (
        "杭州市清理规范临聘借调人员，临聘人员数量压减两成。负责人表示，清理规范是为基层减负，也让人员力量向一线倾斜。"
    )
    assert _items(matcher, "杭州清理规范临聘借调人员", text) == ["R12"]
    firewall = text + "全市同步健全为基层减负防火墙工作机制，整治形式主义。"
    assert _items(matcher, "杭州清理规范临聘借调人员", firewall) == ["R12", "T-burden-firewall"]


def test_soe_wording_from_the_plan(matcher):
    text = "杭州市印发企业市内跨区迁移一件事改革方案。同时支持市属国企参与区县(市)园区开发，完善属地利益分享机制。"
    assert _items(matcher, "杭州推进市域一体化改革", text) == ["R06", "R07"]


@pytest.mark.parametrize(
    "old, new, key",
    [
        ("    needs_alias: true\n", "    needs_alias: maybe\n", "needs_alias"),
        ("    months_after: 3\n", "    months_after: 13\n", "figures.review.months_after"),
        ("    end_next_year: ['今年', '本年度']\n", "    end_next_year: '今年'\n", "figures.review.end_next_year"),
    ],
)
def test_catalog_rejects_bad_new_keys(tmp_path, old, new, key):
    from monitor.matching.catalog import PLANS_DIR, CatalogError

    text = (PLANS_DIR / "hangzhou-2024.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog([path])
    assert key in str(err.value)


def test_passing_mention_of_rd_institutes(matcher):
    text = (
        "杭州市深化三定三评人才分类评价改革，把人才认定权下放到链主企业、新型研发机构，"
        "今年新增授权评价单位60家。三定三评扩面提质。"
    )
    assert _items(matcher, "杭州深化三定三评人才分类评价", text) == ["T-evaluation"]
    own = text + "同时，杭州今年新组建高水平新型研发机构8家，招引新型研发机构落户。"
    assert "T-rd-institutes" in _items(matcher, "杭州深化三定三评人才分类评价", own)


def test_review_of_the_year_before_the_plan(matcher):
    text = (
        "2023年，市人力社保局各项工作取得明显成效。全年新引进35岁以下大学生35.9万名，"
        "深化春雨计划，青荷驿站服务来杭求职大学生20万人次。"
    )
    base = {
        "url": "https://hrss.hangzhou.gov.cn/art/2024/1/12/art_1_1.html",
        "published": "2024-01-12",
        "title": "杭州市人力资源和社会保障局2023年工作总结",
        "text": text,
    }
    assert not _match(matcher, base)["relevant"]
    # The same summary that also speaks of this year is news about the plan.
    assert _match(matcher, dict(base, text=text + "今年将继续实施春雨计划和青荷计划。"))["relevant"]


def test_intermediary_wording_is_the_third_party_reform(matcher):
    text = (
        "杭州市持续深化政务服务增值化改革，企业综合服务中心体系迭代。"
        "同时清理涉企中介服务事项，网上中介超市入驻机构新增300家，规范中介服务收费。"
    )
    assert _items(matcher, "杭州政务服务增值化改革提速", text) == ["R03", "R04"]


def test_a_district_government_site_is_hangzhou(matcher):
    # A district bureau's summary names neither 杭州 nor the district in its text; its site does.
    article = {
        "url": "https://www.example-district.cn/art/2024/7/31/art_1.html",
        "site": "拱墅区人民政府",
        "title": "2024年上半年工作总结",
        "published": "2024-07-31",
        "text": "2024年上半年以来，区综合行政执法局紧扣主题主线，深入推进大综合一体化行政执法改革。",
    }
    assert _match(matcher, article)["projects"] == ["R11"]
    assert not _match(matcher, {**article, "site": "鄞州区人民政府"})["relevant"]
