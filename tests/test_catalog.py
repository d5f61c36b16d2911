"""The plan catalog: the real YAML loads with the issue's IDs; broken YAML fails with clear errors."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support_data import PLAN, REPO

import db as dbmod
from db.catalog import sync_catalog
from db.records import Article, MatchResult
from monitor.matching.catalog import CatalogError, load_catalog, plan_files
from monitor.matching.matcher import Matcher

REFORMS = [f"R{n:02d}" for n in range(1, 13)]
TASKS = [
    "T-science-center",
    "T-rd-institutes",
    "T-corridor",
    "T-sme-digital",
    "T-austerity",
    "T-dual-use",
    "T-three-sources",
    "T-burden-firewall",
    "T-housing",
    "T-high-school",
    "T-talent-policy",
    "T-talent-top",
    "T-graduates",
    "T-evaluation",
]
TARGETS = {
    "tgt-onenet-intake-90": (90, "%"),
    "tgt-onenet-window-90": (90, "%"),
    "tgt-housing-6000": (6000, "套"),
    "tgt-top-talent-15": (15, "名"),
    "tgt-leading-talent-500": (500, "名"),
    "tgt-graduates-350k": (35, "万名"),
}


def _match(matcher, data: dict) -> dict:
    """The matcher's JSON output for a labelled-article dict (as `hzwatch match` prints it)."""
    result = matcher.match(Article.from_labelled(data))
    assert isinstance(result, MatchResult)
    return result.to_json()


@pytest.fixture(scope="module")
def catalog():
    """The 2024 plan (most checks below are about its content)."""
    return load_catalog([PLAN])


def test_bundled_plan_has_the_issue_ids(catalog):
    assert [p.id for p in load_catalog().plans] == ["hangzhou-2024", "hangzhou-2026"]
    assert [p.id for p in catalog.plans] == ["hangzhou-2024"]
    plan = catalog.plans[0]
    assert plan.title == "深化改革、强基固本主题年"
    assert plan.city == "杭州"
    assert (plan.announced, plan.watch_from) == (dt.date(2024, 2, 19), dt.date(2024, 1, 1))
    assert (plan.reform_count, plan.task_count) == (12, 23)
    assert len(plan.districts) == 13 and "西湖区" in plan.districts and "建德市" in plan.districts
    assert "市政府" in plan.bodies and "市委" in plan.bodies
    kinds = {}
    for item in plan.items:
        kinds.setdefault(item.kind, []).append(item.id)
    assert kinds["project"] == REFORMS
    assert kinds["task"] == TASKS
    assert len(kinds["group"]) == 4 and len(kinds["aim"]) == 4
    groups = {i.title for i in plan.items if i.kind == "group"}
    assert groups == {"创新动能培育", "营商环境建设", "要素资源配置", "政府效能提升"}
    for item in plan.items:
        if item.reported:
            assert item.aliases, f"{item.id} has no aliases"
            assert item.definition, f"{item.id} has no defining sentence"
            assert catalog.items[item.parent].kind in ("group", "aim")


def test_theme_terms_are_whole_phrases(catalog):
    # A YAML flow list splits on commas: '深化改革,强基固本' must stay one phrase.
    theme = catalog.plans[0].theme
    assert "深化改革,强基固本" in theme and "深化改革、强基固本" in theme
    assert all(len(t) >= 7 for t in theme), theme


def test_targets(catalog):
    assert set(catalog.targets) == set(TARGETS)
    for tid, (value, unit) in TARGETS.items():
        t = catalog.targets[tid]
        assert (t.value, t.unit, t.due) == (value, unit, dt.date(2024, 12, 31))
        assert t.comparator == ">="
        assert t.item in catalog.items and t.indicator
    assert catalog.targets["tgt-housing-6000"].item == "T-housing"
    assert "保障性租赁住房" in catalog.targets["tgt-housing-6000"].decoys


def _squash(s: str) -> str:
    return re.sub(r"[\s“”\"（）()，,、；;。]", "", s)


def test_definitions_come_from_the_seed(catalog):
    # source.seed names the source text, relative to the plan file; it ships with the plan.
    seed = (PLAN.parent / catalog.plans[0].source["seed"]).read_text(encoding="utf-8")
    for tid in ("T-housing", "T-graduates", "T-talent-top", "R08", "T-austerity"):
        definition = catalog.items[tid].definition
        for clause in re.split(r"[；。]", definition):
            assert _squash(clause) in _squash(seed), (tid, clause)


def _write(tmp_path, mutate) -> Path:
    data = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _item(data, item_id):
    return next(i for i in data["items"] if i["id"] == item_id)


@pytest.mark.parametrize(
    "mutate, where, key, words",
    [
        (lambda d: _item(d, "R03").update(parent="G-nowhere"), "item R03", "parent", "unknown parent"),
        (lambda d: d["items"].append(dict(_item(d, "R05"))), "item R05", "id", "duplicate id"),
        (lambda d: _item(d, "R04")["aliases"].append("一网通办"), "item R04", "aliases", "duplicate alias"),
        (lambda d: d["figures"]["goal"].append("(力争"), "plan hangzhou-2024", "figures.goal", "bad pattern"),
        (
            lambda d: d["figures"]["periods"][0].update(pattern="截至(?P<month>"),
            "plan hangzhou-2024",
            "figures.periods[0].pattern",
            "bad pattern",
        ),
        (lambda d: _item(d, "T-housing").pop("title"), "item T-housing", "title", "missing"),
        (lambda d: d.pop("watch_from"), "plan hangzhou-2024", "watch_from", "missing"),
        (lambda d: d.update(announced="19 Feb 2024"), "plan hangzhou-2024", "announced", "not a date"),
        (lambda d: _item(d, "R02").pop("context"), "item R02", "context", "weak terms need context"),
        (lambda d: _item(d, "R02").update(kind="programme"), "item R02", "kind", "unknown kind"),
        (lambda d: d["targets"][0].update(item="R99"), "target tgt-onenet-intake-90", "item", "unknown parent"),
        (lambda d: d["targets"][2].update(comparator="about"), "target tgt-housing-6000", "comparator", "unknown"),
        (
            lambda d: d["targets"][5]["figures"].pop("indicator"),
            "target tgt-graduates-350k",
            "figures.indicator",
            "missing",
        ),
        (lambda d: _item(d, "T-dual-use")["aliases"].append("x"), "item T-dual-use", "aliases", "too short"),
    ],
)
def test_validation_errors_name_file_item_and_key(tmp_path, mutate, where, key, words):
    path = _write(tmp_path, mutate)
    with pytest.raises(CatalogError) as info:
        load_catalog([path])
    message = str(info.value)
    assert str(path) in message
    assert where in message
    assert f"key '{key}'" in message
    assert words in message


def test_unreadable_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=re.escape(str(path))):
        load_catalog([path])


def test_misspelt_matching_key_is_an_error(tmp_path):
    # A misspelt key used to fall back to its default without a word.
    text = PLAN.read_text(encoding="utf-8")
    assert "  relevance_min: 1.0" in text and "    min_share: 0.4" in text
    for old, new, key in [
        ("  relevance_min: 1.0", "  relevence_min: 3.0", "matching.relevence_min"),
        ("    min_share: 0.4", "    min_shares: 0.4", "matching.locality.min_shares"),
    ]:
        path = tmp_path / "misspelt.yaml"
        path.write_text(text.replace(old, new), encoding="utf-8")
        with pytest.raises(CatalogError) as info:
            load_catalog([path])
        message = str(info.value)
        assert str(path) in message and f"key '{key}'" in message and "unknown key" in message
        assert info.value.key == key


def test_matching_settings_are_typed_with_defaults(tmp_path, catalog):
    from monitor.matching.settings import LocalitySettings, MatchingSettings

    settings = catalog.plans[0].matching
    assert isinstance(settings, MatchingSettings) and isinstance(settings.locality, LocalitySettings)
    assert (settings.relevance_min, settings.context_window, settings.locality.min_share) == (1.0, 80, 0.4)
    # Without a matching block every default holds (those of the bundled plan).
    path = _write(tmp_path, lambda d: d.pop("matching"))
    assert load_catalog([path]).plans[0].matching == settings
    path = _write(tmp_path, lambda d: d["matching"].update(context_window="wide"))
    with pytest.raises(CatalogError, match=r"key 'matching.context_window': must be a number"):
        load_catalog([path])


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: demo\ntitle: t\nmatching:\n  title_weight: 2.0\n   weak_weight: 0.5\n", encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog([path])
    message = str(info.value)
    assert str(path) in message
    assert "line 5, column 15" in message, message
    assert "mapping values are not allowed" in message


def test_every_error_in_a_file_is_reported(tmp_path):
    def two_errors(d):
        d.update(announced="19 Feb 2024")
        _item(d, "R03").update(parent="G-nowhere")

    path = _write(tmp_path, two_errors)
    with pytest.raises(CatalogError) as info:
        load_catalog([path])
    message = str(info.value)
    assert len(info.value.errors) == 2, message
    assert "2 problems" in message
    assert "plan hangzhou-2024: key 'announced': not a date" in message
    assert "item R03: key 'parent': unknown parent 'G-nowhere'" in message


def test_plans_check_prints_every_error(tmp_path):
    def three_errors(d):
        d["matching"]["title_wieght"] = 2.0
        d["figures"]["goal"].append("(力争")
        _item(d, "T-housing").pop("title")

    path = _write(tmp_path, three_errors)
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "plans", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error  ")]
    assert len(lines) == 3, proc.stderr
    assert any("key 'matching.title_wieght': unknown key" in line for line in lines)
    assert any("key 'figures.goal': bad pattern" in line for line in lines)
    assert any("item T-housing: key 'title': missing" in line for line in lines)
    assert "3 problems in the plan catalog" in proc.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "plans", "check"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert ok.returncode == 0 and ok.stdout.startswith("ok  hangzhou-2024"), ok.stderr


def test_same_id_in_two_plan_files_is_an_error(tmp_path):
    copy = tmp_path / "copy.yaml"
    copy.write_text(PLAN.read_text(encoding="utf-8").replace("id: hangzhou-2024", "id: hz-copy"), encoding="utf-8")
    with pytest.raises(CatalogError, match="duplicate id"):
        load_catalog([PLAN, copy])


def test_another_plan_is_just_another_file(tmp_path):
    plan = {
        "id": "hangzhou-2025",
        "title": "2025年改革攻坚",
        "city": "杭州",
        "announced": "2025-02-10",
        "watch_from": "2025-01-01",
        "reform_count": 1,
        "task_count": 0,
        "districts": ["余杭区"],
        "items": [
            {"id": "G25", "kind": "group", "title": "组"},
            {
                "id": "P25-ai",
                "kind": "project",
                "parent": "G25",
                "title": "人工智能第一城",
                "aliases": ["人工智能创新发展第一城"],
            },
        ],
        "targets": [],
    }
    path = tmp_path / "hangzhou-2025.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    catalog = load_catalog(plan_files() + [path])
    assert [p.id for p in catalog.plans] == ["hangzhou-2024", "hangzhou-2026", "hangzhou-2025"]
    matcher = Matcher(catalog)
    result = _match(
        matcher,
        {
            "url": "https://www.hangzhou.com.cn/2025/03/01/x.htm",
            "title": "杭州争创人工智能创新发展第一城",
            "published": "2025-03-01",
            "text": "杭州市召开大会，全力争创全国人工智能创新发展第一城，余杭区作交流发言。",
        },
    )
    assert result["relevant"] and result["projects"] == ["P25-ai"]


def test_sync_catalog_upserts_and_deletes(tmp_path, catalog):
    database = dbmod.connect(tmp_path / "hz.db")
    counts = sync_catalog(database, catalog)
    assert counts["plans"] == 1 and counts["items"] == 34 and counts["targets"] == 6
    assert counts["aliases"] > 200
    row = database["targets"].get("tgt-graduates-350k")
    assert (row["value"], row["unit"], row["item_id"]) == (35, "万名", "T-graduates")
    assert database["items"].get("R03")["parent_id"] == "G-business"
    assert database.execute("select count(*) from aliases where term = '一网通办'").fetchone()[0] == 1

    smaller = _write(tmp_path, lambda d: d.update(items=[i for i in d["items"] if i["id"] != "R12"]))
    counts = sync_catalog(database, load_catalog([smaller]))
    assert counts["items"] == 33
    assert not list(database.query("select id from items where id = 'R12'"))
    assert not list(database.query("select * from aliases where item_id = 'R12'"))
    # Idempotent.
    assert sync_catalog(database, load_catalog([smaller])) == counts


def test_serving_a_database_syncs_the_plan_catalog(tmp_path):
    """A database filled by crawls alone (issue 14: matches, but empty items/targets) gets its plan
    as soon as it is opened for serving."""
    import subprocess
    import sys

    path = tmp_path / "crawled.db"
    db = dbmod.connect(path)
    assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0
    db.close()
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "serve", "--db", str(path), "--print-argv"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    db = dbmod.connect(path)
    assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] > 0
    assert db.execute("SELECT COUNT(*) FROM targets").fetchone()[0] > 0


# ---------------------------------------------------------------- several plans


def test_the_2026_plan(tmp_path):
    catalog = load_catalog()
    plan = next(p for p in catalog.plans if p.id == "hangzhou-2026")
    assert all(i.id.startswith(("Y26-", "A26-")) for i in plan.items)
    assert len(plan.items) == 17 and len(plan.targets) == 15
    assert all(t.id.startswith("tgt26-") and t.due == dt.date(2026, 12, 31) for t in plan.targets)
    # Worded like a 2024 target, a different target: its own id, year and value.
    old, new = catalog.targets["tgt-leading-talent-500"], catalog.targets["tgt26-leading-talent-300"]
    assert (old.value, old.due.year, new.value, new.due.year) == (500, 2024, 300, 2026)
    for seed in ("hangzhou-com-cn-20260122-task-book.md", "chinanews-20260122-talent.md"):
        assert "URL" in (REPO / "monitor" / "plans" / "sources" / seed).read_text(encoding="utf-8")


def test_a_figure_goes_to_the_plan_of_its_year(matcher):
    text = (
        "2026年，杭州市新引育顶尖人才16名、省级及以上领军人才310名，新引育35周岁以下大学生36.2万名。"
        "全市全年举办演唱会120场，更新住宅老旧电梯3200台。"
    )
    got = _match(
        matcher,
        {
            "url": "https://www.hangzhou.gov.cn/art/2026/12/20/x.html",
            "title": "杭州2026年人才工作成绩单",
            "published": "2026-12-20",
            "text": text,
        },
    )
    figures = {(p["target"], p["value"]) for p in got["progress"]}
    assert ("tgt26-top-talent-15", 16) in figures and ("tgt26-graduates-350k", 36.2) in figures
    assert ("tgt26-leading-talent-300", 310) in figures
    assert ("tgt26-concerts-100", 120) in figures and ("tgt26-elevators-3000", 3200) in figures
    assert not any(p["target"].startswith("tgt-") for p in got["progress"])  # none on 2024's targets
    assert "Y26-talent-top" in got["projects"]


def test_catalog_directory_from_the_environment(tmp_path):
    (tmp_path / "only.yaml").write_text(PLAN.read_text(encoding="utf-8"), encoding="utf-8")
    env = {"HZWATCH_PLANS": str(tmp_path)}
    code = "from monitor.matching.catalog import load_catalog; print([p.id for p in load_catalog().plans])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
    assert proc.stdout.strip() == "['hangzhou-2024']", proc.stderr


def test_duplicate_target_id_across_files_names_the_other_file(tmp_path):
    text = (REPO / "monitor" / "plans" / "hangzhou-2026.yaml").read_text(encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(text.replace("id: hangzhou-2026", "id: other").replace("Y26-", "Z26-"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"target tgt26-gdp-growth-5.*duplicate id \(also in .*hangzhou-2026"):
        load_catalog(plan_files() + [other])
