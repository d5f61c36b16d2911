"""Every field of every extraction, one JSON line per case: diff two runs to prove a speed change
changed nothing (or to see exactly what it changed).

Cases: the 100 saved real pages (bytes, and as text) with no URL and under every profile; the
fixture pages with and without their URLs; every article (and its pager links) of the replica
sites over HTTP; the replica's fault corpus (replica/badcases.yaml: wrong and mixed encodings,
invalid bytes, error and shell pages) as served; a few malformed inputs.

    .venv/bin/python benchmarks/dump_extract.py > before.jsonl   # on the old code
    .venv/bin/python benchmarks/dump_extract.py > after.jsonl    # on the new code
    diff before.jsonl after.jsonl
"""

from __future__ import annotations

import http.client
import json
import logging
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from replica.server import start as start_replica  # noqa: E402
from scrapers.encoding import decode_html  # noqa: E402
from scrapers.extract import extract, pager_links, profile_names  # noqa: E402

FIXTURE_URLS = {
    "hznews_content_8697001.htm": "https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_8697001.htm",
    "hznews_content_8697001_2.htm": "https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_8697001_2.htm",
    "hznews_content_8686834.htm": "https://hznews.hangzhou.com.cn/xinzheng/content/2024-01/31/content_8686834.htm",
    "hanweb_art_812269.html": "https://www.hangzhou.gov.cn/art/2024/5/11/art_812269_59096831.html",
    "hanweb_newgen_nodiv.html": "https://www.hangzhou.gov.cn/col/col812266/art/2025/art_483d44943a4f4b898e1998389d4ee3b0.html",
    "hanweb_sgb_gb2312.html": "http://sgb.hangzhou.gov.cn/art/2024/3/18/art_1229346678_4246368.html",
    "hzdaily_article_detail.html": "http://hzdaily.hangzhou.com.cn/hzrb/2024/01/31/article_detail_1_20240131A031.html",
    "zjol_t20240821.shtml": "https://zjnews.zjol.com.cn/zjnews/hznews/202408/t20240821_30000001.shtml",
}
JUNK = [
    "<html><body><h1>控制字符标题</h1><p>控制\x0b字符\x1f\x00 "
    "杭州市政府发布通知，要求各地加强管理，确保各项工作落到实处。</p></body></html>",
    "<?xml version='1.0' encoding='gbk'?><html><body><p>x</p></body></html>",
    "<div>" * 3000 + "深层嵌套" + "</div>" * 3000,
    bytes(range(256)) * 20,
    b"\xff\xfe" + "杭州".encode("utf-16-le"),
    "<",
    "",
    b"",
    "<html><body><p>a</p></body></html><html><body><p>第二个文档的段落，内容在结束标签之后。</p></body></html>",
]


def emit(case: str, e) -> None:
    print(json.dumps({"case": case, **e.as_dict()}, ensure_ascii=False, sort_keys=True))


def main() -> None:
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    pages = sorted((REPO / "tests" / "data" / "pages").glob("*.html"))
    for f in pages:
        raw = f.read_bytes()
        emit(f"page:{f.name}", extract(raw))
        emit(f"page-text:{f.name}", extract(decode_html(raw)[0]))
        for name in profile_names():
            emit(f"page:{f.name}:profile={name}", extract(raw, profile=name))
    for f in sorted((REPO / "tests" / "fixtures" / "pages").iterdir()):
        raw = f.read_bytes()
        emit(f"fixture:{f.name}", extract(raw))
        if f.name in FIXTURE_URLS:
            emit(f"fixture:{f.name}:url", extract(raw, url=FIXTURE_URLS[f.name]))
    for i, junk in enumerate(JUNK):
        emit(f"junk:{i}", extract(junk, url="https://hznews.hangzhou.com.cn/xinzheng/content/2024-02/19/content_1.htm"))
    srv = start_replica(seed=0, rate_limit_nth=0)
    try:
        for a in srv.articles():
            with urllib.request.urlopen(srv.url(a["url"]), timeout=30) as r:
                raw, ctype = r.read(), r.headers.get("Content-Type")
            emit(f"replica:{a['url']}", extract(raw, url=a["url"], content_type=ctype))
            print(json.dumps({"case": f"pager:{a['url']}", "links": pager_links(raw, a["url"])}))
        bad_cases(srv)
    finally:
        srv.stop()


def bad_cases(srv) -> None:
    """The fault corpus as the replica serves it (cases that hang or trickle are left out)."""
    host = "https://hznews.hangzhou.com.cn"
    cases = yaml.safe_load((REPO / "replica" / "badcases.yaml").read_text(encoding="utf-8"))["cases"]
    for c in cases:
        if c.get("hang") or c["kind"] == "slow":
            continue
        try:
            with urllib.request.urlopen(srv.url(host + c["path"]), timeout=10) as r:
                raw, ctype = r.read(), r.headers.get("Content-Type")
        # an error status or a broken transfer: what was fetched is recorded, not extracted
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            print(json.dumps({"case": f"bad:{c['id']}", "fetch": type(exc).__name__}))
            continue
        emit(f"bad:{c['id']}", extract(raw, url=host + c["path"], content_type=ctype))


if __name__ == "__main__":
    main()
