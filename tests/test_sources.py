"""scrapers/sources.yaml: the real sources are there, merged right, and bad entries fail clearly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scrapers.sources import SOURCES_FILE, SourceConfigError, get_sources, load_sources

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sources():
    return {s.id: s for s in load_sources()}


def test_every_required_site_family_is_configured_with_real_urls(sources):
    hz = sources["hznews"]
    urls = [lst["url"] for lst in hz.config["lists"]]
    for ch in ("xinzheng", "chengshi", "jingji", "shehui"):
        assert f"https://hznews.hangzhou.com.cn/{ch}/index.htm" in urls
    assert any("/node_" in u for u in urls)
    assert hz.strategy == "channel_list" and hz.profile == "founder-hznews"

    www = sources["gov-www"]
    cols = {str(c["col"]) for c in www.config["columns"]}
    assert {"812255", "812262", "812266", "812268", "812269", "1229063385"} <= cols
    assert www.site == "www.hangzhou.gov.cn" and www.strategy == "jcms_column"
    hosts = {s.site for s in sources.values() if s.strategy == "jcms_column"}
    for bureau in ("fgj", "hrss", "sgb", "data", "kj", "gzw"):
        assert f"{bureau}.hangzhou.gov.cn" in hosts
    assert "1229782005" in {str(c["col"]) for c in sources["gov-hrss"].config["columns"]}

    papers = {s.config["paper"] for s in sources.values() if s.strategy == "epaper_day"}
    assert papers == {"hzrb", "dskb", "mrsb"}
    assert sources["dskb"].site == "hzdaily.hangzhou.com.cn"
    assert any("zjnews.zjol.com.cn/zjnews/hznews/" in lst["url"] for lst in sources["zjol-hz"].config["lists"])


def test_cms_entries_are_shared_and_sources_override_only_what_differs(sources):
    bureaus = [s for s in sources.values() if s.strategy == "jcms_column"]
    assert {s.profile for s in bureaus} == {"hanweb-jcms"}
    assert len({s.config["article_pattern"] for s in bureaus}) == 1
    # hrss overrides politeness (rate-limit page), the others keep the cms default
    assert sources["gov-hrss"].politeness["delay"] > sources["gov-kj"].politeness["delay"]
    assert sources["gov-kj"].politeness["concurrency"] == 1
    for s in sources.values():
        assert s.city == "杭州"
        assert s.name and any("\u4e00" <= ch <= "\u9fff" for ch in s.name)
        assert s.interval_minutes or s.interval_cron
        assert s.allowed_hosts == [s.site]


def test_article_pattern_accepts_both_jcms_url_generations(sources):
    import re

    rx = re.compile(sources["gov-www"].config["article_pattern"])
    assert rx.search("/art/2024/5/11/art_812269_59096831.html")
    assert rx.search("/col/col812266/art/2026/art_483d44943a4f4b898e1998389d4ee3b0.html")
    assert not rx.search("/col/col812266/index.html")
    assert not rx.search("/module/download/downfile.jsp")


def _write(tmp_path, data) -> Path:
    p = tmp_path / "sources.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _bundled():
    return yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))


def test_new_site_on_a_known_cms_is_yaml_only(tmp_path):
    data = _bundled()
    data["sources"].append(
        {
            "id": "gov-mzj",
            "name": "杭州市民政局",
            "cms": "hanweb",
            "site": "mzj.hangzhou.gov.cn",
            "columns": [{"col": 1229123456, "name": "工作动态"}],
        }
    )
    (src,) = get_sources(["gov-mzj"], _write(tmp_path, data))
    assert src.strategy == "jcms_column" and src.profile == "hanweb-jcms"
    assert src.allowed_hosts == ["mzj.hangzhou.gov.cn"]
    assert src.config["dataproxy"] == "/module/jpage/dataproxy.jsp"


@pytest.mark.parametrize(
    "mutate, key, words",
    [
        (lambda s: s.update(strategy="sitemap"), "strategy", "unknown strategy"),
        (lambda s: s.update(cms="wordpress"), "cms", "unknown cms"),
        (lambda s: s.update(interval="sometimes"), "interval", "cron"),
        (lambda s: s.update(interval=0), "interval", "positive"),
        (lambda s: s.update(article_pattern="content_(\\d+"), "article_pattern", "bad regex"),
        (lambda s: s.update(profile="no-such-profile"), "profile", "unknown extraction profile"),
        (lambda s: s.update(columns=[{"col": "abc"}]), "columns[0].col", "numeric"),
        (lambda s: s.pop("site"), "site", "site host"),
        (lambda s: s.update(politeness={"delay": "fast"}), "politeness.delay", "number"),
        (lambda s: s.update(name=None), "name", "missing"),
    ],
)
def test_bad_entry_names_file_source_and_key(tmp_path, mutate, key, words):
    data = _bundled()
    entry = next(s for s in data["sources"] if s["id"] == "gov-kj")
    mutate(entry)
    path = _write(tmp_path, data)
    with pytest.raises(SourceConfigError) as err:
        load_sources(path)
    msg = str(err.value)
    assert str(path) in msg and "'gov-kj'" in msg and f"'{key}'" in msg and words in msg
    assert err.value.source == "gov-kj" and err.value.key == key


def test_duplicate_ids_and_broken_yaml(tmp_path):
    data = _bundled()
    data["sources"].append(dict(data["sources"][0]))
    with pytest.raises(SourceConfigError, match="duplicate source id"):
        load_sources(_write(tmp_path, data))
    bad = tmp_path / "broken.yaml"
    bad.write_text("sources: [\n  - id: x\n", encoding="utf-8")
    with pytest.raises(SourceConfigError, match="not valid YAML"):
        load_sources(bad)
    with pytest.raises(SourceConfigError, match="no such source"):
        get_sources(["nope"])


def test_cli_sources_check_lists_and_fails_cleanly(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "sources", "check"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    assert "gov-hrss" in ok.stdout and "sources valid" in ok.stdout
    data = _bundled()
    data["sources"][0]["strategy"] = "rss"
    path = _write(tmp_path, data)
    bad = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "sources", "check", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "unknown strategy 'rss'" in bad.stderr and "'hznews'" in bad.stderr


def test_a_source_documented_nowhere_public_is_unverified_off_by_default_and_named():
    """No invented site knowledge (issue 14): the 数据资源局 column id came from the replica."""
    import subprocess
    import sys

    from scrapers.sources import get_sources, load_sources

    by_id = {s.id: s for s in load_sources()}
    assert not by_id["gov-data"].verified and not by_id["gov-data"].enabled
    assert all(s.verified and s.enabled for sid, s in by_id.items() if sid != "gov-data")
    assert "gov-data" not in {s.id for s in get_sources()}  # `hzwatch crawl` with no ids
    assert [s.id for s in get_sources(["gov-data"])] == ["gov-data"]  # named: crawled
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "sources", "check"], cwd=repo, capture_output=True, text=True
    )
    assert out.returncode == 0
    assert "unverified: gov-data" in out.stdout and "off gov-data" in out.stdout
    assert out.stdout.count("unverified:") == 1
