"""Article extraction: CMS profiles, generic fallback, error pages, multi-page merge, real pages."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from support_data import EVAL_PAGES, FIXTURE_PAGES, REPO
from support_replica import fetch

from scrapers.extract import (
    Extracted,
    ExtractionError,
    detect_error_page,
    extract,
    merge_pages,
    pager_links,
    profile_for_url,
    strip_site_suffix,
)

LABELS = yaml.safe_load((REPO / "tests" / "extract_labels.yaml").read_text(encoding="utf-8"))["pages"]

HZNEWS_URL = "https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_8697001.htm"
HANWEB_URL = "https://www.hangzhou.gov.cn/art/2024/5/11/art_812269_59096831.html"
NEWGEN_URL = "https://www.hangzhou.gov.cn/col/col812266/art/2025/art_483d44943a4f4b898e1998389d4ee3b0.html"
SGB_URL = "http://sgb.hangzhou.gov.cn/art/2024/3/18/art_1229346678_4246368.html"
HZDAILY_URL = "http://hzdaily.hangzhou.com.cn/hzrb/2024/01/31/article_detail_1_20240131A031.html"
ZJOL_URL = "https://zjnews.zjol.com.cn/zjnews/hznews/202408/t20240821_30000001.shtml"

# page chrome that must never reach a body (a line made of it, or the trailer/editor/footer forms)
CHROME_LINE = re.compile(
    r"分享到|打印本页|关闭窗口|^【?\s*来源|^[（(【]?\s*(?:责任编辑|责编|编辑)\s*[:：|｜]|版权所有|Copyright|ICP备"
    r"|^相关(?:新闻|阅读|链接)|^(?:上一篇|下一篇)|扫一扫|^返回(?:主页|首页|顶部)|浏览次数|页面生成时间"
)


def fixture(name: str) -> bytes:
    return (FIXTURE_PAGES / name).read_bytes()


def assert_clean_body(body: str) -> None:
    assert body, "empty body"
    for line in body.split("\n"):
        assert not CHROME_LINE.search(line), f"chrome in body: {line!r}"


# ------------------------------------------------------------------------------- profiles by URL


@pytest.mark.parametrize(
    "url, profile",
    [
        (HZNEWS_URL, "founder-hznews"),
        ("https://hznews.hangzhou.com.cn/xinzheng/quxian/content/2020-10/20/content_7835334.htm", "founder-hznews"),
        ("https://hznews.hangzhou.com.cn/jingji/content/2026-02/13/content_9177823_0.htm", "founder-hznews"),
        ("https://hznews.hangzhou.com.cn/chengshi/content/2024-04/05/content_8711344_2.htm", "founder-hznews"),
        ("https://en.hangzhou.com.cn/News/content/2023-11/30/content_8652094.html", "founder-hznews"),
        ("https://www.hzzx.gov.cn/cshz/content/2025-05/22/content_9000483_0.htm", "founder-hznews"),
        (HANWEB_URL, "hanweb-jcms"),
        (NEWGEN_URL, "hanweb-jcms"),
        ("https://hrss.hangzhou.gov.cn/art/2025/3/18/art_1229782005_4338158.html", "hanweb-jcms"),
        (SGB_URL, "hanweb-jcms"),
        (
            "https://www.gongshu.gov.cn/col/col1229226160/art/2026/art_8be9c0a1d2e3f4a5b6c7d8e9f0a1b2f4.html",
            "hanweb-jcms",
        ),
        (HZDAILY_URL, "hzdaily-epaper"),
        ("https://mdaily.hangzhou.com.cn/mrsb/2026/03/04/article_detail_3_20260304A043.html", "hzdaily-epaper"),
        (ZJOL_URL, "zjol-trs"),
        ("https://www.hangzhou.gov.cn/col/col812255/index.html", "generic"),
        ("https://hznews.hangzhou.com.cn/xinzheng/index_1.htm", "generic"),
        ("https://example.com/news/1.html", "generic"),
        (None, "generic"),
    ],
)
def test_profile_for_url(url, profile):
    assert profile_for_url(url) == profile


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ExtractionError, match="unknown extraction profile 'nope'"):
        extract("<html><body><p>x</p></body></html>", profile="nope")


# ------------------------------------------------------------------------------- CMS fixtures


@pytest.fixture
def profiles_with(monkeypatch, tmp_path):
    """Run extraction against a copy of profiles.yaml changed by `edit(data)`."""
    from scrapers.extract import config

    def use(edit):
        data = yaml.safe_load(config.PROFILES_PATH.read_text(encoding="utf-8"))
        edit(data)
        path = tmp_path / "profiles.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        monkeypatch.setattr(config, "PROFILES_PATH", path)
        config.load_config.cache_clear()

    yield use
    config.load_config.cache_clear()


def test_field_order_is_data_and_a_profile_may_override_it(profiles_with):
    default = extract(fixture("hznews_content_8697001.htm"), url=HZNEWS_URL)
    assert default.methods["published"] == "meta:publishdate+dateline"
    # founder-hznews: only the URL's date for published; every other field keeps the generic order
    profiles_with(lambda d: d["profiles"]["founder-hznews"].update(fields={"published": ["url"]}))
    e = extract(fixture("hznews_content_8697001.htm"), url=HZNEWS_URL)
    assert (e.published, e.methods["published"]) == ("2024-02-19T00:00:00+08:00", "url")
    assert (e.title, e.source, e.author, e.editor, e.body) == (
        default.title,
        default.source,
        default.author,
        default.editor,
        default.body,
    )


def test_unknown_field_method_is_a_clear_error(profiles_with):
    profiles_with(lambda d: d["generic"]["fields"]["source"].append("crystal_ball"))
    with pytest.raises(ExtractionError, match="crystal_ball"):
        extract(fixture("hznews_content_8697001.htm"), url=HZNEWS_URL)


def test_founder_hznews_article():
    e = extract(fixture("hznews_content_8697001.htm"), url=HZNEWS_URL)
    assert e.profile == "founder-hznews"
    assert e.title == "杭州今年将新建配售型保障性住房6000套"
    # meta publishdate has only the day; the date line under the headline gives the time
    assert e.published == "2024-02-19T11:35:00+08:00"
    assert e.source == "杭州日报"
    assert (e.author, e.editor) == ("王小明", "李华")
    assert e.methods["body"] == "selector:div.zhengwen"
    assert e.methods["published"].startswith("meta:publishdate")
    assert e.body.startswith("记者从市住保房管局获悉")
    assert e.body.endswith("确保年底前完成年度目标任务。")
    assert e.body.count("\n") == 2
    assert_clean_body(e.body)
    assert e.error is None


def test_hanweb_jcms_article_uses_meta_and_zoom():
    e = extract(fixture("hanweb_art_812269.html"), url=HANWEB_URL, content_type="text/html")
    assert e.profile == "hanweb-jcms"
    assert e.title == "杭州市政务服务增值化改革再提速 “一网通办”收件率超过90%"
    assert e.published == "2024-05-11T09:30:00+08:00"
    assert e.source == "杭州日报"
    assert e.methods["published"] == "meta:PubDate" and e.methods["source"] == "meta:ContentSource"
    assert e.methods["body"] == "selector:#zoom"
    assert "索引号" not in e.body and "主动公开" not in e.body
    assert e.body.endswith("集成办理。")
    assert_clean_body(e.body)


def test_hanweb_new_generation_page_without_div_article_falls_back():
    e = extract(fixture("hanweb_newgen_nodiv.html"), url=NEWGEN_URL)
    assert e.profile == "hanweb-jcms"
    assert e.title == "杭州科技成果转移转化再添新平台"
    assert e.published == "2025-03-18T16:05:00+08:00"
    assert e.source == "市科技局"
    assert e.methods["body"] == "density"  # no profile body selector matched
    assert e.body.startswith("3月18日，杭州市技术转移转化中心")
    assert "相关链接" not in e.body and "杭州发布科技创新政策" not in e.body
    assert_clean_body(e.body)


def test_hanweb_department_variant_in_gbk():
    e = extract(fixture("hanweb_sgb_gb2312.html"), url=SGB_URL, content_type="text/html")
    assert e.title == "杭州市行政审批服务管理办公室2023年工作总结"
    assert e.published == "2024-03-18T00:00:00+08:00"
    assert e.source == "市审管办"
    assert "办不成事" in e.body and e.encoding == "gb18030"
    assert_clean_body(e.body)


def test_hzdaily_epaper_article():
    e = extract(fixture("hzdaily_article_detail.html"), url=HZDAILY_URL)
    assert e.profile == "hzdaily-epaper"
    assert e.kicker == "奋进“深化改革、强基固本”主题年"
    assert e.title == "我市今年引进35岁以下大学生超35万名"
    assert e.subtitle == "“春雨计划”“青荷计划”持续发力"
    assert e.published == "2024-01-31T00:00:00+08:00"
    assert (e.source, e.methods["source"]) == ("杭州日报", "url")
    assert e.author == "徐盈盈"  # not "徐盈盈 通讯员 王青"
    assert e.body.startswith("本报讯（记者 徐盈盈 通讯员 王青）")
    assert "上一篇" not in e.body and "下一篇" not in e.body
    assert_clean_body(e.body)


def test_hzdaily_source_follows_the_paper_code():
    url = HZDAILY_URL.replace("/hzrb/", "/dskb/")
    assert extract(fixture("hzdaily_article_detail.html"), url=url).source == "都市快报"


def test_zjol_trs_article():
    e = extract(fixture("zjol_t20240821.shtml"), url=ZJOL_URL)
    assert e.profile == "zjol-trs"
    assert e.title == "杭州市属国企改革深化提升行动取得阶段成效"
    assert e.published == "2024-08-21T11:49:52+08:00"
    assert e.source == "杭州日报"
    assert (e.author, e.editor) == ("陈洁", "吴梦")
    assert "您当前的位置" not in e.body and "浙江推进国资国企改革" not in e.body
    assert_clean_body(e.body)


@pytest.mark.parametrize(
    "name, title, published, source",
    [
        ("hznews_content_8697001.htm", "杭州今年将新建配售型保障性住房6000套", "2024-02-19T11:35:00+08:00", "杭州日报"),
        (
            "hanweb_art_812269.html",
            "杭州市政务服务增值化改革再提速 “一网通办”收件率超过90%",
            "2024-05-11T09:30:00+08:00",
            "杭州日报",
        ),
        ("hanweb_newgen_nodiv.html", "杭州科技成果转移转化再添新平台", "2025-03-18T16:05:00+08:00", "市科技局"),
        ("zjol_t20240821.shtml", "杭州市属国企改革深化提升行动取得阶段成效", "2024-08-21T11:49:52+08:00", "杭州日报"),
        ("hzdaily_article_detail.html", "我市今年引进35岁以下大学生超35万名", "2024-01-31T00:00:00+08:00", None),
    ],
)
def test_generic_extractor_without_url(name, title, published, source):
    """Without a URL the generic rules alone still find the fields (a new site on an unknown CMS)."""
    e = extract(fixture(name))
    assert e.profile == "generic"
    assert (e.title, e.published, e.source) == (title, published, source)
    assert_clean_body(e.body)


def test_url_date_is_the_last_resort():
    html = (
        "<html><head><title>标题_杭州网</title></head><body><h1>杭州推进城市更新</h1><div><p>"
        + "杭州推进城市更新，改善居住条件。" * 5
        + "</p></div></body></html>"
    )
    e = extract(html, url="https://hznews.hangzhou.com.cn/chengshi/content/2024-04/05/content_8711344.htm")
    assert e.published == "2024-04-05T00:00:00+08:00" and e.methods["published"] == "url"
    assert extract(html).published is None


def test_footer_and_related_dates_are_not_the_publish_time():
    html = """<html><head><title>杭州发布数据要素新政 - 杭州网</title></head><body>
    <h1>杭州发布数据要素新政</h1>
    <div class="info">最后更新：2024-06-30 18:00</div>
    <div class="content"><p>杭州市近日发布推进数据要素市场化配置改革的若干措施，打造“中国数谷”。</p>
    <p>措施提出，到2024年底培育数据企业1000家以上，建设数据交易场所。</p></div>
    <div class="xgxw"><ul><li><a href="/a.htm">杭州数据交易所上线</a> 2024-05-01</li></ul></div>
    <div class="footer">页面生成时间：2024-07-01 08:00:00</div></body></html>"""
    e = extract(html, url="https://hznews.hangzhou.com.cn/jingji/content/2024-06/28/content_8750000.htm")
    assert e.published == "2024-06-28T00:00:00+08:00"  # the URL's date, not 最后更新, footer or list dates
    assert e.title == "杭州发布数据要素新政"


def test_author_is_never_the_editor():
    html = """<html><head><title>杭州加快建设综合性国家科学中心</title></head><body>
    <h1>杭州加快建设综合性国家科学中心</h1><p class="info">2024-03-01 09:00 来源：杭州日报 编辑：张编辑</p>
    <div class="text"><p>记者从市科技局获悉，杭州正加快建设综合性国家科学中心，原子级制造等大科学装置加速布局。</p>
    <p>今年全市将新建高水平新型研发机构10家。</p><p>责任编辑：李责编</p></div></body></html>"""
    e = extract(html)
    assert e.editor in ("张编辑", "李责编")
    assert e.author is None
    assert e.source == "杭州日报"
    assert "责任编辑" not in e.body


@pytest.mark.parametrize(
    "info, lede, author",
    [
        ("2024-03-01 09:00 来源：杭州日报 作者：未知", "记者表示，杭州将加快建设。", None),
        ("2024-03-01 09:00 来源：杭州日报", "本报讯（记者 徐盈盈 通讯员 王青）杭州将加快建设。", "徐盈盈"),
        ("2024-03-01 09:00 来源：杭州日报 南都记者 余毅菁 向雪妮", "杭州将加快建设。", "余毅菁 向雪妮"),
        ("2024-03-01 09:00 来源：杭州日报 作者：陈智 整合", "杭州将加快建设。", "陈智"),
    ],
)
def test_bylines(info, lede, author):
    html = (
        f"<html><head><title>杭州加快建设新型研发机构</title></head><body><h1>杭州加快建设新型研发机构</h1>"
        f"<p class='info'>{info}</p><div class='text'><p>{lede}</p>"
        "<p>今年全市将新建高水平新型研发机构10家，推动科技成果转移转化。</p></div></body></html>"
    )
    e = extract(html)
    assert e.author == author
    assert e.source == "杭州日报"


# ------------------------------------------------------------------------------- error pages


@pytest.mark.parametrize(
    "name, reason",
    [
        ("error_404_hznews.htm", "not-found-page"),
        ("error_404_hzdaily.html", "not-found-page"),
        ("error_ratelimit_hrss.html", "rate-limited"),
        ("error_js_shell.htm", "empty-shell"),
    ],
)
def test_error_pages_are_recognised(name, reason):
    raw = fixture(name)
    assert extract(raw, url=HZNEWS_URL).error == reason
    assert detect_error_page(raw.decode("utf-8")) == reason


def test_real_articles_are_not_error_pages():
    for name in ("hznews_content_8697001.htm", "hanweb_art_812269.html", "hzdaily_article_detail.html"):
        assert extract(fixture(name)).error is None
    # an article that talks about 404 pages and rate limits is still an article
    html = (
        "<html><head><title>网站404页面治理见成效</title></head><body><h1>网站404页面治理见成效</h1><div><p>"
        + "全市政府网站清理404错误页面1200个，部分网站曾提示访问过于频繁，请稍后再试，现已优化。" * 20
        + "</p></div></body></html>"
    )
    assert extract(html).error is None
    assert detect_error_page(Extracted(title="正常标题", body="正文" * 50)) is None
    assert detect_error_page(Extracted(title="404页面", body="")) == "not-found-page"
    assert extract(b"").error == "empty-shell"
    assert extract("   ").error == "empty-shell"


# ------------------------------------------------------------------------------- multi-page


def test_pager_links_and_merge():
    page1 = fixture("hznews_content_8697001.htm")
    links = pager_links(page1, HZNEWS_URL)
    base = HZNEWS_URL.rsplit("/", 1)[0]
    assert links == [f"{base}/content_8697001_0.htm", f"{base}/content_8697001_2.htm"]
    url2 = f"{base}/content_8697001_2.htm"
    assert pager_links(fixture("hznews_content_8697001_2.htm"), url2) == [f"{base}/content_8697001_0.htm", HZNEWS_URL]
    assert pager_links(fixture("hanweb_art_812269.html"), HANWEB_URL) == []
    # the crawl reads them from the tree extract() parses anyway: the same links, no second parse
    assert extract(page1, url=HZNEWS_URL, pager=True).pager_links == links
    assert extract(fixture("hznews_content_8697001_2.htm"), url=url2, pager=True).pager_links == pager_links(
        fixture("hznews_content_8697001_2.htm"), url2
    )
    assert extract(fixture("hanweb_art_812269.html"), url=HANWEB_URL, pager=True).pager_links == []
    assert extract(page1, url=HZNEWS_URL).pager_links is None  # not asked for

    merged = merge_pages(
        [
            extract(page1, url=HZNEWS_URL),
            extract(fixture("hznews_content_8697001_2.htm"), url=url2),
            extract(page1, url=HZNEWS_URL),
        ]
    )
    assert merged.title == "杭州今年将新建配售型保障性住房6000套"
    assert merged.published == "2024-02-19T11:35:00+08:00"
    assert merged.body.startswith("记者从市住保房管局获悉")
    assert merged.body.endswith("实现申请、审核、配售“一网通办”。")
    assert merged.body.count("\n") == 4  # 3 + 2 paragraphs, the repeated page not doubled
    assert merged.methods["body"].endswith("+merged:3")
    with pytest.raises(ExtractionError):
        merge_pages([])


# ------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    "title, expected",
    [
        ("杭州今年将新建配售型保障性住房6000套 - 时政_杭州网", "杭州今年将新建配售型保障性住房6000套"),
        ("女儿出嫁，郑板桥画了几笔兰花当嫁妆--文化--人民网", "女儿出嫁，郑板桥画了几笔兰花当嫁妆"),
        ("土豆不“土” 土豆无“土” 松花江网", "土豆不“土” 土豆无“土”"),
        ("都市快报-全国首部 杭州为具身智能机器人立法", "全国首部 杭州为具身智能机器人立法"),
        ("强基固本——杭州深化改革纪实", "强基固本——杭州深化改革纪实"),
        ("COVID-19疫苗接种指南", "COVID-19疫苗接种指南"),
    ],
)
def test_strip_site_suffix(title, expected):
    assert strip_site_suffix(title) == expected


def test_cli_prints_json(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "monitor.cli",
        "extract",
        str(FIXTURE_PAGES / "hznews_content_8697001.htm"),
        "--url",
        HZNEWS_URL,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["title"] == "杭州今年将新建配售型保障性住房6000套"
    assert data["published"] == "2024-02-19T11:35:00+08:00"
    assert data["profile"] == "founder-hznews" and data["error"] is None
    assert {"title", "published", "source", "body"} <= set(data["methods"])
    # without a URL: generic
    out = subprocess.run(cmd[:5], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert json.loads(out.stdout)["profile"] == "generic"
    # user mistakes: one line, no traceback
    bad = subprocess.run(
        cmd[:4] + [str(tmp_path / "missing.html")], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "cannot read" in bad.stderr
    bad = subprocess.run(cmd[:5] + ["--profile", "nope"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert bad.returncode != 0 and "unknown extraction profile" in bad.stderr and "Traceback" not in bad.stderr


# ------------------------------------------------------------------------------- the 100 real pages


def _norm(s: str | None) -> str:
    return re.sub(r"\s+", "", s or "")


@pytest.fixture(scope="module")
def labelled_results():
    assert EVAL_PAGES.is_dir(), f"eval pages not found at {EVAL_PAGES}"
    return [(lab, extract((EVAL_PAGES / lab["file"]).read_bytes())) for lab in LABELS]


def test_labelled_titles(labelled_results):
    ok = [lab["file"] for lab, e in labelled_results if _norm(e.title) == _norm(lab["title"])]
    assert len(LABELS) >= 30
    assert len(ok) >= 29, f"titles right on {len(ok)}/{len(LABELS)}"


def test_labelled_publish_dates(labelled_results):
    dated = [(lab, e) for lab, e in labelled_results if lab.get("published")]
    day_ok = [lab for lab, e in dated if (e.published or "")[:10] == lab["published"][:10]]
    assert len(dated) >= 30
    assert len(day_ok) >= 28, f"publish day right on {len(day_ok)}/{len(dated)}"
    timed = [(lab, e) for lab, e in dated if len(lab["published"]) > 10]
    minute_ok = [lab for lab, e in timed if (e.published or "")[:16].replace("T", " ") == lab["published"]]
    assert len(minute_ok) >= len(timed) - 3, f"publish minute right on {len(minute_ok)}/{len(timed)}"
    # and every published value is ISO 8601 at +08:00
    for _, e in labelled_results:
        assert e.published is None or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", e.published)


def test_labelled_sources_and_authors(labelled_results):
    src = [(lab, e) for lab, e in labelled_results if lab.get("source")]
    src_ok = [lab for lab, e in src if _norm(e.source) == _norm(lab["source"])]
    assert len(src_ok) >= len(src) - 3, f"来源 right on {len(src_ok)}/{len(src)}"
    auth = [(lab, e) for lab, e in labelled_results if lab.get("author")]

    def key(s):
        return _norm(s).replace("、", "")

    auth_ok = [lab for lab, e in auth if key(e.author) == key(lab["author"])]
    assert len(auth_ok) >= len(auth) - 2, f"author right on {len(auth_ok)}/{len(auth)}"
    assert all(e.author != e.editor for _, e in labelled_results if e.author)


def test_no_chrome_in_real_page_bodies():
    assert EVAL_PAGES.is_dir()
    dirty, empty = [], []
    files = sorted(EVAL_PAGES.glob("*.html"))
    assert len(files) == 100
    for f in files:
        e = extract(f.read_bytes())
        if len(e.body) < 20:
            empty.append(f.name)
        if any(CHROME_LINE.search(line) for line in e.body.split("\n")):
            dirty.append(f.name)
    assert len(dirty) <= 3, f"chrome left in {dirty}"
    assert len(empty) <= 3, f"no body for {empty}"


@pytest.mark.parametrize(
    "junk",
    [
        "<html><body><h1>控制字符标题</h1><p>控制\x0b字符\x1f\x00 "
        "杭州市政府发布通知，要求各地加强管理，确保各项工作落到实处。</p></body></html>",
        "<?xml version='1.0' encoding='gbk'?><html><body><p>x</p></body></html>",
        "<div>" * 3000 + "深层嵌套" + "</div>" * 3000,
        bytes(range(256)) * 20,
        b"\xff\xfe" + "杭州".encode("utf-16-le"),
        "<",
        "",
        b"",
    ],
)
def test_bad_input_never_raises(junk):
    e = extract(junk, url="https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_1.htm")
    assert isinstance(e, Extracted)
    assert e.error is None or isinstance(e.error, str)
    assert isinstance(pager_links(junk, HZNEWS_URL), list)


# ------------------------------------------------------------------------------- the replica sites over HTTP

PAPERS = {"hzrb": "杭州日报", "dskb": "都市快报", "mrsb": "每日商报"}


def test_replica_articles_extract_with_their_profiles(replica):
    """Every article of every site family, fetched over HTTP with its real headers, against ground truth."""
    arts = replica.articles()
    assert {a["family"] for a in arts} >= {"hznews", "gov", "epaper", "zjol"}
    wrong = []
    for a in arts:
        status, headers, raw = fetch(replica, a["url"])
        assert status == 200, a["url"]
        e = extract(raw, url=a["url"], content_type=headers.get("Content-Type"))
        expected_profile = {
            "hznews": "founder-hznews",
            "gov": "hanweb-jcms",
            "epaper": "hzdaily-epaper",
            "zjol": "zjol-trs",
        }
        problems = []
        if e.profile != expected_profile[a["family"]]:
            problems.append(f"profile {e.profile}")
        if e.error:
            problems.append(f"error {e.error}")
        if _norm(e.title) != _norm(a["title"]):
            problems.append(f"title {e.title!r}")
        if (e.published or "")[:10] != a["date"][:10]:
            problems.append(f"published {e.published}")
        if a["family"] == "epaper":
            if e.source != PAPERS[a["where"]]:
                problems.append(f"source {e.source}")
        elif not e.source:
            problems.append("no 来源")
        if len(e.body) < 30 or "\ufffd" in e.body or any(CHROME_LINE.search(x) for x in e.body.split("\n")):
            problems.append(f"body {e.body[:60]!r}")
        if problems:
            wrong.append((a["url"], problems))
    assert not wrong, wrong[:5]


def test_pager_links_from_the_extractor_tree_include_links_it_drops():
    # <noscript> is dropped before the body is read; pager_links() of the raw page still sees the link
    html = f"<html><body><h1>标题</h1><p>{'正文。' * 100}</p><noscript><a href='content_8697001_2.htm'>2</a></noscript>"
    expected = [HZNEWS_URL.replace(".htm", "_2.htm")]
    assert pager_links(html, HZNEWS_URL) == expected
    assert extract(html, url=HZNEWS_URL, pager=True).pager_links == expected


def test_replica_multipage_merge_equals_all_pages_view(replica):
    multi = [a for a in replica.articles() if a["pages"] > 1]
    assert multi
    for a in multi:
        _, _, raw = fetch(replica, a["url"])
        first = extract(raw, url=a["url"])
        links = pager_links(raw, a["url"])
        assert links and links[0].endswith("_0.htm"), links
        assert extract(raw, url=a["url"], pager=True).pager_links == links
        pages, all_view = [first], None
        for u in links:
            _, _, raw_u = fetch(replica, u)
            e = extract(raw_u, url=u)
            if u.endswith("_0.htm"):
                all_view = e
            else:
                pages.append(e)
        assert len(pages) == a["pages"]
        merged = merge_pages(pages)
        assert merged.body == all_view.body and len(merged.body) > len(first.body)
        # what the spider does: page 1 + the all-pages view, stored once without repeats
        assert merge_pages([first, all_view]).body == all_view.body


BADCASE_EXPECT_ERROR = {
    "ok": False,
    "no_content": True,
    "rate_limited": True,
    "error_page": True,
    "js_shell": True,
    "empty": True,
    "not_html": True,
}


def test_replica_bad_cases_served_with_status_200(replica):
    """The fault corpus: encodings decode right, error/shell/empty pages get a reason, articles none."""
    cases = yaml.safe_load((REPO / "replica" / "badcases.yaml").read_text(encoding="utf-8"))["cases"]
    host = "https://hznews.hangzhou.com.cn"
    checked, wrong = 0, []
    for c in cases:
        if c["expect"] not in BADCASE_EXPECT_ERROR or c.get("hang") or c["kind"] in ("short_body", "slow"):
            continue
        try:
            status, headers, raw = fetch(replica, host + c["path"], timeout=5)
        except Exception:  # broken transfers are the crawler's business, not extraction's
            continue
        if status != 200:
            continue
        checked += 1
        e = extract(raw, url=host + c["path"], content_type=headers.get("Content-Type"))
        if BADCASE_EXPECT_ERROR[c["expect"]] != (e.error is not None):
            wrong.append((c["id"], c["note"], e.error))
        if c["expect"] == "ok" and ("\ufffd" in e.body or "\ufffd" in (e.title or "")):
            wrong.append((c["id"], c["note"], "U+FFFD"))
        if c["kind"] == "charset" and c.get("title"):
            if e.title != c["title"]:
                wrong.append((c["id"], c["note"], e.title))
    assert checked >= 30
    assert not wrong, wrong


@pytest.mark.parametrize(
    "name,data,says",
    [
        ("empty.html", b"", "文件是空的"),
        ("blank.html", b"  \n\t \n", "文件是空的"),
        ("report.html", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\n", "pdf"),
        ("random.html", bytes(range(256)) * 8, "binary"),
        ("shell.html", b"<html><body><div id='app'></div><script src='a.js'></script></body></html>", "没有抽取到文章"),
    ],
)
def test_cli_on_no_page_exits_non_zero_with_a_plain_message(tmp_path, name, data, says):
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "extract", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert says in line and name in line


def test_spiders_text_with_its_utf8_bytes_extracts_the_same():
    """A spider passes the page it decoded with its bytes (`extract(text, utf8=body)`): parsed from
    the bytes, every field of each of the 100 real pages equals what the text alone gives."""
    import dataclasses

    from scrapers.encoding import decode_html_utf8

    from_bytes = 0
    for page in sorted(EVAL_PAGES.glob("*.html")):
        text, _codec, utf8 = decode_html_utf8(page.read_bytes())
        from_bytes += utf8 is not None
        alone = dataclasses.asdict(extract(text, url="https://www.hangzhou.gov.cn/art/2024/5/11/x.html", pager=True))
        given = dataclasses.asdict(
            extract(text, url="https://www.hangzhou.gov.cn/art/2024/5/11/x.html", pager=True, utf8=utf8)
        )
        assert given.pop("encoding") == ("utf-8" if utf8 is not None else "unicode")
        alone.pop("encoding")
        assert given == alone, page.name
    assert from_bytes >= 90  # most real pages are UTF-8: the bytes path is what is compared
