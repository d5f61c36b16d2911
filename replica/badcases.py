"""Bad-input corpus (issue 6): each case of badcases.yaml turned into a (mis)behaving response."""

from __future__ import annotations

import random
import socket
import struct
import zlib
from datetime import datetime
from functools import lru_cache

from . import render
from .model import Article, Site, load_yaml
from .responses import Raw, Resp

PARAS = [
    "这是一篇用于检验采集器健壮性的测试文章，正文内容完整，包含多个段落。",
    "记者从市住保房管局获悉，截至6月底，全市已新建配售型保障性住房3200套。",
    "相关负责人表示，下一步将持续推进各项改革任务落地见效。",
]


def corpus() -> dict:
    """The parsed badcases.yaml."""
    return load_yaml("badcases.yaml")


@lru_cache(maxsize=None)
def _by_path() -> dict[str, dict]:
    return {c["path"]: c for c in corpus()["cases"]}


def find(path: str) -> dict | None:
    """The case served at `path` (also the helper URLs of redirect pairs/chains)."""
    return _by_path().get(path) or _by_path().get(path.replace("_9.htm", ".htm"))


def _article_html(site: Site, case: dict, **over) -> str:
    title = case.get("title", "测试文章") * int(case.get("repeat", 1))
    when = datetime.fromisoformat(case.get("date", "2024-03-01 09:30:00"))
    a = Article(
        key=case["id"],
        family="hznews",
        host=corpus()["host"],
        where="badcases",
        date=when,
        title=title,
        source="杭州日报",
        author="测试",
        editor="测试",
        body=over.get("body", PARAS),
        num=int(case["path"].rsplit("_", 1)[1][:-4]) | 1,
        path=case["path"],
    )
    return render.hznews_article(site, a, 1)


def _html(body: str | bytes, status: int = 200, ctype: str = "text/html; charset=utf-8", headers=None) -> Resp:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Resp(status, data, ctype, headers or [])


@lru_cache(maxsize=None)
def _binary(kind: str) -> bytes:
    if kind == "png":
        raw = b"".join(b"\x00" + bytes([x % 256 for x in range(64 * 3)]) for _ in range(64))

        def chunk(t, d):
            return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b"")
        )
    if kind == "pdf":
        return b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    if kind == "zip":
        return b"PK\x03\x04" + bytes(random.Random(3).getrandbits(8) for _ in range(4000))
    return bytes(random.Random(7).getrandbits(8) for _ in range(8000))


@lru_cache(maxsize=2)
def _huge(mb: int) -> bytes:
    para = ("<p>" + "杭州市持续推进配售型保障性住房建设，一网通办收件率稳步提升。" * 10 + "</p>\n").encode()
    head = b"<html><head><meta charset='utf-8'><title>20MB\xe8\xb6\x85\xe5\xa4\xa7\xe9\xa1\xb5\xe9\x9d\xa2</title></head><body>"
    reps = mb * 1024 * 1024 // len(para) + 1
    return head + para * reps + b"</body></html>"


@lru_cache(maxsize=2)
def _bomb(mb: int) -> bytes:
    """gzip of `mb` MB of zeros. After a full flush deflate restarts, so every 1 MB block compresses to
    the same bytes: compress two blocks, repeat the second (real compression of 512 MB takes ~7 s)."""
    block = b"\x00" * (1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mb):
        crc = zlib.crc32(block, crc)
    return (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
        + first
        + again * (mb - 1)
        + comp.flush()
        + struct.pack("<II", crc & 0xFFFFFFFF, (mb << 20) & 0xFFFFFFFF)
    )


def _write_raw(handler, data: bytes) -> None:
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
    except OSError:
        pass


def respond(site: Site, case: dict, path: str, query: dict, hang_seconds: float, stop) -> Resp | Raw:
    """The response for one bad case."""
    k = case["kind"]
    if k == "charset":
        html = _article_html(site, case)
        meta = case.get("meta")
        html = html.replace(
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />',
            f'<meta http-equiv="Content-Type" content="text/html; charset={meta}" />' if meta else "",
        )
        data = html.encode(case["encoding"], errors="xmlcharrefreplace")
        if case.get("inject_bytes"):
            data = data.replace("<p>".encode(), b"<p>\xff\xfe\xc3(", 2)
        hdr = case.get("header")
        return Resp(200, data, f"text/html; charset={hdr}" if hdr else "text/html")
    if k in ("truncated", "short_body", "broken_chunked", "bad_gzip"):
        data = _article_html(site, case).encode("utf-8")
        if k == "truncated":
            return Resp(200, data[: int(len(data) * case["fraction"])], "text/html; charset=utf-8")
        if k == "bad_gzip":
            return Resp(200, data, "text/html; charset=utf-8", [("Content-Encoding", "gzip")])
        return Raw(lambda h: _broken(h, data, k))
    if k == "garbage_html":
        html = _article_html(site, case)
        html = html.replace(
            '<div class="main w1000">',
            '<div class="main w1000"><table><tr><td><b><i>\x00\x01\x02</div></div></span><p<p>>',
        )
        return _html(html.replace("</body>", "</td></div><div>\x0b\x0c<!-- unclosed comment"))
    if k == "nested":
        d = int(case.get("depth", 10000))
        html = _article_html(site, case)
        return _html(html.replace("<body>", "<body>" + "<div>" * d, 1).replace("</body>", "</div>" * d + "</body>"))
    if k in ("long_title", "no_date", "future_date", "inject"):
        html = _article_html(
            site,
            case,
            body=PARAS + (["<script>alert(document.cookie)</script> 1' OR '1'='1"] if k == "inject" else []),
        )
        if k == "no_date":
            import re

            html = re.sub(r'<div class="le_12black">.*?</div>', '<div class="le_12black">来源:杭州日报</div>', html)
            html = re.sub(r'<meta name="publishdate"[^>]*>', "", html)
            html = re.sub(r"<!--enpproperty.*?/enpproperty-->", "", html)
        return _html(html)
    if k == "no_title":
        import re

        html = _article_html(site, case)
        html = re.sub(r"<title>.*?</title>", "<title></title>", html)
        html = re.sub(r'<div class="tit1">.*?</div>', "", html)
        html = re.sub(r"<!--enpproperty.*?/enpproperty-->", "", html)
        return _html(html)
    if k == "no_body":
        return _html(_article_html(site, case, body=[]))
    if k == "duplicate":
        arts = site.hz_lists["chengshi"]
        return _html(render.hznews_article(site, arts[-1], 1))
    if k == "binary":
        return Resp(200, _binary(case["data"]), case.get("content_type"))
    if k == "plain":
        return Resp(200, case["text"].encode("utf-8"), case["content_type"])
    if k == "huge":
        return Resp(200, _huge(int(case["megabytes"])), "text/html; charset=utf-8")
    if k == "gzip_bomb":
        return Resp(200, _bomb(int(case["megabytes"])), "text/html; charset=utf-8", [("Content-Encoding", "gzip")])
    if k == "redirect":
        to = case["to"]
        if to == "self":
            to = f"https://{corpus()['host']}{path}"
        elif to == "article":
            to = site.hz_lists["chengshi"][0].path
        return Resp(case["status"], b"", "text/html", [("Location", to)])
    if k == "redirect_pair":
        other = path.replace(".htm", "_9.htm") if not path.endswith("_9.htm") else path.replace("_9.htm", ".htm")
        return Resp(case["status"], b"", "text/html", [("Location", other)])
    if k == "redirect_chain":
        hop = int(query.get("hop", "0"))
        if hop >= int(case["length"]):
            return _html(_article_html(site, case))
        return Resp(302, b"", "text/html", [("Location", f"{path}?hop={hop + 1}")])
    if k == "meta_refresh":
        return _html(
            f"<html><head><meta http-equiv='refresh' content='0;url={case['to']}'><title></title></head><body></body></html>"
        )
    if k == "status":
        st = int(case["status"])
        headers = [("Retry-After", str(case["retry_after"]))] if case.get("retry_after") else []
        if "text" in case:
            return _html(case["text"], st, headers=headers)
        return _html(
            f"<html><head><title>{st} Error</title></head><body><h1>{st}</h1><hr><center>nginx</center></body></html>",
            st,
            headers=headers,
        )
    if k in ("hang", "hang_after_headers", "trickle", "reset"):
        return Raw(lambda h: _stall(h, k, hang_seconds, stop))
    if k == "soft":
        if "template" in case:
            t = case["template"]
            body = render.js_shell("数据开放平台") if t == "js_shell.html" else render.tpl(t).template
            return _html(body)
        return _html(case["text"])
    raise ValueError(f"unknown bad case kind {k!r}")


def _broken(h, data: bytes, kind: str) -> int:
    if kind == "short_body":
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(data) + 5000}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        _write_raw(h, head + data[: len(data) // 2])
    else:
        _write_raw(
            h,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + f"{64:x}\r\n".encode() + data[:64] + b"\r\nZZZZ\r\n" + data[64:200],
        )
    h.close_connection = True
    return 200


def _stall(h, kind: str, seconds: float, stop) -> int:
    h.close_connection = True
    if kind == "reset":
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        return 0
    if kind == "hang":
        stop.wait(seconds)
        return 0
    body = ("<html><body>" + "慢" * 40 + "</body></html>").encode()
    _write_raw(
        h, f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    if kind == "hang_after_headers":
        stop.wait(seconds)
        return 200
    for i in range(len(body)):
        if stop.wait(1.0) or i > seconds:
            break
        _write_raw(h, body[i : i + 1])
    return 200


def index_html(site: Site) -> str:
    """/badcases/index.htm: a Founder-style list linking every case."""
    cases = corpus()["cases"]
    items = "\n".join(
        f'   <li><a href="{c["path"]}" target="_blank" title="{c["id"]} {c["kind"]}">'
        f'{c["id"]} {render.esc(c["note"])}</a><span class="date">2024-03-01 09:30</span></li>'
        for c in cases
    )
    return render.tpl("hznews_list.html").substitute(list_name="坏样本", nav="", items=items, pager="共1页", side="")
