"""Decoding fetched bytes: the charset a server claims is checked against the bytes."""

from __future__ import annotations

import codecs

import pytest

from scrapers.encoding import decode_html, header_charset, meta_charset
from scrapers.extract import extract

TEXT = "杭州市政务服务增值化改革再提速，“一网通办”收件率超过90%。配售型保障性住房6000套。"


def page(charset_meta: str | None) -> str:
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset_meta}">' if charset_meta else ""
    return f"<html><head>{meta}<title>测试页面</title></head><body><p>{TEXT}</p></body></html>"


@pytest.mark.parametrize(
    "html, codec, content_type",
    [
        (page("utf-8"), "utf-8", "text/html; charset=utf-8"),
        (page("utf-8"), "utf-8", "text/html"),  # gov.cn: no charset in the header
        (page(None), "utf-8", None),
        (page("gb2312"), "gbk", "text/html; charset=gb2312"),
        (page("gb2312"), "gbk", "text/html"),  # only <meta charset=gb2312>
        (page(None), "gbk", None),  # GBK with no declaration anywhere
        (page("gbk"), "gbk", "text/html; charset=utf-8"),  # wrong header: utf-8 on GBK bytes
        (page(None), "gbk", "text/html; charset=utf-8"),
        (page("utf-8"), "utf-8", "text/html; charset=iso-8859-1"),  # wrong header: latin-1 on UTF-8
        (page(None), "utf-8", "text/html; charset=ISO-8859-1"),
        (page("gbk"), "utf-8", "text/html; charset=gbk"),  # page re-encoded as UTF-8, stale labels
    ],
)
def test_decode_checks_claims_against_bytes(html, codec, content_type):
    body = html.encode(codec)
    text, used = decode_html(body, content_type)
    assert TEXT in text
    assert "\ufffd" not in text
    assert used in ({"utf-8"} if codec == "utf-8" else {"gb18030", "gbk", "gb2312"})


def test_utf8_bom_and_gb18030_only_characters():
    text, used = decode_html(codecs.BOM_UTF8 + page(None).encode("utf-8"), None)
    assert TEXT in text and not text.startswith("\ufeff")
    # 𠮷 exists only in GB18030, not GBK: pages labelled gb2312 still use such characters
    rare = page("gb2312").replace("测试页面", "𠮷字页面").encode("gb18030")
    text, used = decode_html(rare, "text/html; charset=gb2312")
    assert "𠮷字页面" in text and used == "gb18030"


def test_stray_bytes_pick_the_least_damaged_reading():
    body = page("utf-8").encode("utf-8").replace("。".encode(), b"\xff", 1)
    text, used = decode_html(body, "text/html; charset=utf-8")
    assert used == "utf-8"
    assert "收件率超过90%" in text and "\ufffd" not in text  # one stray byte dropped, not shown
    # many bad bytes: still the best reading, damage shown as U+FFFD
    body = page("utf-8").encode("utf-8").replace("，".encode(), b"\xff").replace("。".encode(), b"\xfe")
    text, used = decode_html(body * 3, "text/html; charset=utf-8")
    assert used == "utf-8" and "\ufffd" in text


def test_header_and_meta_parsing():
    assert header_charset("text/html; charset=GB2312") == "gb18030"
    assert header_charset('text/html; charset="utf-8"') == "utf-8"
    assert header_charset("text/html") is None
    assert header_charset("text/html; charset=bogus-x") is None
    assert meta_charset(b'<meta charset="gbk">') == "gb18030"
    assert meta_charset(b"<html><body>none</body></html>") is None


def test_extract_decodes_bytes_with_wrong_header(fixtures_pages):
    raw = (fixtures_pages / "hanweb_sgb_gb2312.html").read_bytes()
    wrong = extract(raw, content_type="text/html; charset=utf-8")
    assert wrong.title == "杭州市行政审批服务管理办公室2023年工作总结"
    assert "办不成事" in wrong.body and "\ufffd" not in wrong.body
    assert wrong.encoding == "gb18030"
    # what Scrapy would have done with that header: U+FFFD everywhere
    assert "\ufffd" in raw.decode("utf-8", errors="replace")


@pytest.fixture
def fixtures_pages(repo_root):
    return repo_root / "tests" / "fixtures" / "pages"
