"""Page renderers: turn model objects into the markup each real site serves (templates/)."""

from __future__ import annotations

import html
import json
import posixpath
from functools import lru_cache
from string import Template
from urllib.parse import quote

from .model import HERE, Article, Site, load_yaml

esc = html.escape


@lru_cache(maxsize=None)
def tpl(name: str) -> Template:
    """A page template from replica/templates (cached)."""
    return Template((HERE / "templates" / name).read_text(encoding="utf-8"))


def _pages(total: int, per: int) -> int:
    return max(1, -(-total // per))


def _short(title: str, limit: int = 18) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "..."


# ---- 杭州网 (Founder CMS) ---------------------------------------------------------------------
def _hz_href(a: Article, i: int, host: str, list_dir: str) -> str:
    """Mix the three link forms the real list pages use (relative, root-relative, absolute)."""
    if a.family != "hznews":
        return f"https://{a.host}{a.path}"
    form = i % 3
    if form == 0:  # relative to the list page's directory: content/… on a channel, ../content/… on a node
        return posixpath.relpath(a.path, list_dir)
    return a.path if form == 1 else f"https://{host}{a.path}"


def _hz_side(site: Site) -> str:
    return "\n".join(
        f'   <li><a href="{u}" target="_blank">{esc(t)}</a></li>' for u, t in site.cfg["hznews"]["side_links"]
    )


def _hz_nav(site: Site) -> str:
    return "".join(
        f'\n<li><a href="/{ch}/index.htm">{name}</a></li>' for ch, name in site.cfg["hznews"]["channels"].items()
    )


def _hz_pager(page: int, pages: int, name) -> str:
    """Founder #displaypagenum pager; name(p) gives the file name of 1-based page p."""
    parts = [f'<a href="{name(1)}">首页</a>']
    if page > 1:
        parts.append(f'<a href="{name(page - 1)}">上一页</a>')
    for p in range(max(1, page - 4), min(pages, page + 4) + 1):
        parts.append(f'<span class="current">{p}</span>' if p == page else f'<a href="{name(p)}">{p}</a>')
    if page < pages:
        parts.append(f'<a href="{name(page + 1)}">下一页</a>')
    parts.append(f'<a href="{name(pages)}">尾页</a> 共{pages}页')
    return " ".join(parts)


def hznews_list(
    site: Site, arts: list[Article], page: int, per: int, name, list_name: str, host: str, list_dir: str
) -> str | None:
    """A channel or node list page (1-based page); None past the last page."""
    pages = _pages(len(arts), per)
    if page > pages:
        return None
    chunk = arts[(page - 1) * per : page * per]
    items = "\n".join(
        f'   <li><a href="{_hz_href(a, i, host, list_dir)}" target="_blank" title="{esc(a.title)}">{esc(a.title)}</a>'
        f'<span class="date">{a.date:%Y-%m-%d %H:%M}</span></li>'
        for i, a in enumerate(chunk)
    )
    return tpl("hznews_list.html").substitute(
        list_name=esc(list_name),
        nav=_hz_nav(site),
        items=items,
        pager=_hz_pager(page, pages, name),
        side=_hz_side(site),
    )


def _enp(a: Article, channel_name: str) -> str:
    """Founder enpproperty comment: present on about half the pages (SITES.md §1.3)."""
    if a.num % 2:
        return ""
    return (
        f"<!--enpproperty <articleid>{a.num}</articleid><date>{a.date:%Y-%m-%d %H:%M:%S}.0</date>"
        f"<author>{esc(a.author)}</author><title>{esc(a.title)}</title><keyword></keyword>"
        f"<subtitle>{esc(a.subtitle)}</subtitle><introtitle>{esc(a.kicker)}</introtitle><siteid>2</siteid>"
        f"<nodeid>0</nodeid><nodename>{channel_name}</nodename>/enpproperty-->"
    )


def _hz_article_pager(a: Article, page: int) -> str:
    if a.pages <= 1 or page == 0:
        return ""
    stem = a.path.rsplit("/", 1)[1][:-4]

    def name(p: int) -> str:
        return f"{stem}.htm" if p == 1 else f"{stem}_{p}.htm"

    lis = [f'<li class="page-all"><a href="{stem}_0.htm">全文</a></li>']
    if page > 1:
        lis.append(f'<li class="page-previous"><a href="{name(page - 1)}">上一页</a></li>')
    for p in range(1, a.pages + 1):
        lis.append(
            f'<li class="page-active"><span>{p}</span></li>' if p == page else f'<li><a href="{name(p)}">{p}</a></li>'
        )
    if page < a.pages:
        lis.append(f'<li class="page-next"><a href="{name(page + 1)}">下一页</a></li>')
    return '  <ul class="pages">' + "".join(lis) + "</ul>"


def hznews_article(site: Site, a: Article, page: int) -> str:
    """An article page (page 0 = all-pages view)."""
    ch_name = site.cfg["hznews"]["channels"].get(a.where, a.where)
    lst = site.hz_lists.get(a.where, [])
    related = [lst[(a.num * k) % len(lst)] for k in (3, 7, 11)] if lst else []
    paras = a.page_paras(page)
    return tpl("hznews_article.html").substitute(
        title=esc(a.title),
        channel_name=ch_name,
        channel=a.where,
        description=esc(paras[0][:80]) if paras else "",
        published=f"{a.date:%Y-%m-%d %H:%M:%S}",
        source=esc(a.source),
        enp=_enp(a, ch_name),
        subtitle_html=f'<h2 class="subtitle">{esc(a.subtitle)}</h2>' if a.subtitle else "",
        body="\n".join(f"<p>{esc(p)}</p>" for p in paras),
        pager=_hz_article_pager(a, page),
        author=esc(a.author),
        editor=esc(a.editor),
        related="\n".join(
            f'   <li><a href="{r.path}">{esc(r.title)}</a><span>{r.date:%Y-%m-%d}</span></li>'
            for r in related
            if r is not a
        ),
        side=_hz_side(site),
    )


# ---- 中国杭州 (Hanweb JCMS) -------------------------------------------------------------------
def _row(site: Site, host: str, col: dict, kind: str, payload, variant: str | None = None) -> str:
    rows = load_yaml("templates/gov_rows.yaml")
    variant = variant or col["rows"]
    if kind == "external":
        href, title, when = payload
    else:
        a = payload
        href, title, when = a.path, a.title, a.date
        if col.get("absolute_http"):
            href = f"http://{host}{href}"
        if kind == "pinned":
            title = site.cfg["gov"]["pinned_title_prefix"] + title
    return rows[variant].format(href=esc(href), title=esc(title), short=esc(_short(title)), date=f"{when:%Y-%m-%d}")


def gov_records(site: Site, host: str, col: str, start: int, end: int) -> tuple[list[str], int]:
    """Rendered records start..end (1-based, inclusive) and the total record count."""
    c = site.columns[(host, col)]
    rows = site.gov_rows(host, col)
    start = max(1, start)
    return [_row(site, host, c, k, p) for k, p in rows[start - 1 : end]], len(rows)


def gov_column(site: Site, host: str, col: str, page: int = 1) -> str | None:
    """Column index.html: first page of records inside <script type="text/xml"> (or jpaas fragment)."""
    c = site.columns[(host, col)]
    h = site.cfg["gov"]["hosts"][host]
    per = int(c["per_page"])
    if c["list"] == "jpaas":
        return tpl("gov_column_jpaas.html").substitute(
            col_name=c["name"],
            webname=h["webname"],
            col=col,
            webid=h["webid"],
            tplset=c.get("tplset", 1),
            per_page=per,
            fragment=jpaas_fragment(site, host, col, page, per),
        )
    recs, total = gov_records(site, host, col, (page - 1) * per + 1, page * per)
    if page > 1 and not recs:
        return None
    return tpl("gov_column.html").substitute(
        col_name=c["name"],
        webname=h["webname"],
        webname_q=quote(quote(h["webname"])),
        host=host,
        col=col,
        unit=c["unit"],
        webid=h["webid"],
        per_page=per,
        total=total,
        records="\n".join(f"<record><![CDATA[\n{r}\n]]></record>" for r in recs),
    )


def gov_dataproxy(site: Site, host: str, col: str, start: int, end: int, per: int) -> str:
    """dataproxy.jsp answer: <totalrecord>, <totalpage> and the requested records."""
    recs, total = gov_records(site, host, col, start, end)
    h = site.cfg["gov"]["hosts"][host]
    c = site.columns[(host, col)]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
        f'<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid={h["webid"]}'
        f'&path=/&columnid={col}&unitid={c["unit"]}&webname={quote(h["webname"])}&permissiontype=0"></a>]]></nextgroup>\n'
        f"<totalrecord>{total}</totalrecord>\n<totalpage>{_pages(total, max(per, 1))}</totalpage>\n"
        "<recordset>\n"
        + "\n".join(f"<record><![CDATA[\n{r}\n]]></record>" for r in recs)
        + "\n</recordset>\n</datastore>\n"
    )


def jpaas_fragment(site: Site, host: str, col: str, page: int, size: int) -> str:
    c = site.columns[(host, col)]
    rows = site.gov_rows(host, col)
    chunk = rows[(page - 1) * size : page * size]
    lis = "".join(_row(site, host, c, k, p, "jpaas") for k, p in chunk)
    pages = _pages(len(rows), size)
    return (
        f"<div class='default_pgContainer' count='{len(rows)}' pageNo='{page}' pageSize='{size}'>"
        f"<ul class='ajax-ul'>{lis}</ul>"
        f"<div class='default_pgPanel'><span class='default_pgTotalPage'>共{pages}页</span></div></div>"
    )


def gov_jpaas(site: Site, host: str, col: str, page: int, size: int) -> str:
    """jpaas unit API JSON."""
    frag = jpaas_fragment(site, host, col, page, size)
    shown = len(site.gov_rows(host, col)[(page - 1) * size : page * size])
    return json.dumps(
        {"success": True, "code": 200, "message": "操作成功", "data": {"html": frag, "count": str(shown)}},
        ensure_ascii=False,
    )


def gov_article(site: Site, a: Article) -> str:
    """Old-gen (div.article + #zoom) or new-gen (no div.article) JCMS article page."""
    h = site.cfg["gov"]["hosts"][a.host]
    c = site.columns[(a.host, a.where)]
    paras = a.paras()
    when = f"{a.date:%Y-%m-%d %H:%M}"
    if h.get("info_line") == "sgb":
        info = f'发布日期:{a.date:%Y-%m-%d}访问次数: <span id="visit"></span>信息来源:{esc(a.source)}'
    else:
        info = f'时间：{when}&nbsp;&nbsp;&nbsp;&nbsp;来源：{esc(a.source)}&nbsp;&nbsp;&nbsp;&nbsp;浏览次数：<span id="visit"></span>'
    xxgk = ""
    attachment = ""
    if c.get("xxgk"):
        xxgk = (
            '<table class="xxgkinfo" width="100%">'
            f"<tr><td>索引号:</td><td>001008001026002/{a.date.year}-{a.num % 1000000}</td><td>公开方式:</td><td>主动公开</td></tr>"
            f"<tr><td>文号:</td><td>杭政办函〔{a.date.year}〕{a.num % 97 + 1}号</td><td>公开日期:</td><td>{a.date:%Y-%m-%d}</td></tr>"
            f"<tr><td>发布单位:</td><td>{esc(h['short'])}</td><td>主题分类:</td><td>其他</td></tr></table>"
        )
        attachment = (
            f'<p>附件：<a href="/module/download/downfile.jsp?classid=0&amp;filename={a.num}.docx">'
            f"{esc(_short(a.title, 30))}.docx</a></p>"
        )
    new_gen = bool(a.hexid)
    body = "\n".join(f'<p style="text-indent:2em;">{esc(p)}</p>' for p in paras)
    return tpl("gov_article.html").substitute(
        title=esc(a.title),
        col_name=c["name"],
        webname=h["webname"],
        host=a.host,
        col=a.where,
        pubdate=when,
        source=esc(a.source),
        author=esc(a.author),
        description=esc(paras[0][:80]) if paras else "",
        xxgk=xxgk,
        info_line=info,
        body=body,
        attachment=attachment,
        artid=a.num,
        subtitle_html=f'<div class="subtitle">{esc(a.subtitle)}</div>' if a.subtitle else "",
        container_open='<div class="main-txt">' if new_gen else '<div class="article">',
        container_close="</div>",
        zoom_open='<div class="con-txt">' if new_gen else '<div id="zoom">',
        zoom_close="</div>",
        related="\n".join(
            f'<li><a href="{r.path}" target="_blank">{esc(r.title)}</a></li>'
            for r in site.col_lists[(a.host, a.where)][:3]
            if r is not a
        ),
    )


# ---- 杭州日报报业集团 e-papers ------------------------------------------------------------------
def _paper(site: Site, paper: str) -> dict:
    return site.cfg["epaper"]["papers"][paper]


def _date_cn(ymd: str) -> str:
    return f"{ymd[:4]}年{ymd[4:6]}月{ymd[6:]}日"


def _pdf(paper: str, pid: int, ymd: str, code: str) -> str:
    return f"/{paper}/page/{pid}/{ymd[:4]}-{ymd[4:6]}/{ymd[6:]}/{code}/{ymd}{code}_pdf.pdf"


def epaper_page_list(site: Site, paper: str, ymd: str, pages: list[dict]) -> str:
    p = _paper(site, paper)
    items = "\n".join(
        f'<li><a href="{_pdf(paper, p["id"], ymd, pg["code"])}" target="_blank" class="pdf">PDF</a> '
        f'<a href="page_detail_{p["id"]}_{ymd}{pg["code"]}.html" title="{pg["section"]}">'
        f"第{pg['code']}版：{pg['section']}</a></li>"
        for pg in pages
    )
    return tpl("epaper_page_list.html").substitute(paper_name=p["name"], date_cn=_date_cn(ymd), pages=items)


def epaper_page(site: Site, paper: str, ymd: str, pages: list[dict], code: str, kind: str) -> str | None:
    """page_detail / page_view / article_list for one 版."""
    p = _paper(site, paper)
    idx = next((i for i, pg in enumerate(pages) if pg["code"] == code), None)
    if idx is None:
        return None
    pg = pages[idx]
    common = dict(
        paper_name=p["name"],
        code=code,
        section=pg["section"],
        ymd=ymd,
        pid=p["id"],
        paper=paper,
        pdf=_pdf(paper, p["id"], ymd, code),
    )
    if kind == "page_detail":
        return tpl("epaper_page_detail.html").substitute(common)
    if kind == "page_view":
        areas = "\n".join(
            f'<area shape="rect" coords="10,{40 + 200 * i},590,{230 + 200 * i}" '
            f'href="{a.path.rsplit("/", 1)[1]}" target="_parent">'
            for i, a in enumerate(pg["articles"])
        )
        return tpl("epaper_page_view.html").substitute(common, areas=areas)
    items = "\n".join(
        f'<li><a href="{a.path.rsplit("/", 1)[1]}" target="_parent">{esc(a.title)}</a></li>' for a in pg["articles"]
    )
    nav = []
    if idx > 0:
        nav.append(f'<a href="article_list_{p["id"]}_{ymd}{pages[idx - 1]["code"]}.html">上一版</a>')
    if idx + 1 < len(pages):
        nav.append(f'<a href="article_list_{p["id"]}_{ymd}{pages[idx + 1]["code"]}.html">下一版</a>')
    return tpl("epaper_article_list.html").substitute(common, items=items, nav=" ".join(nav))


def epaper_article(site: Site, a: Article) -> str:
    p = _paper(site, a.where)
    ymd = f"{a.date:%Y%m%d}"
    pages = site.issues.get((a.where, ymd), [])
    pg = next((x for x in pages if x["code"] == a.page_code), {"articles": [a], "section": ""})
    arts = pg["articles"]
    i = arts.index(a) if a in arts else 0
    prev = f'<a href="{arts[i - 1].path.rsplit("/", 1)[1]}">上一篇</a>' if i > 0 else ""
    nxt = f'<a href="{arts[i + 1].path.rsplit("/", 1)[1]}">下一篇&gt;&gt;</a>' if i + 1 < len(arts) else ""
    paras = list(a.paras())
    if paras and a.author and not paras[0].startswith("本报讯"):
        paras[0] = f"本报讯（记者 {a.author.split()[0]}）" + paras[0]
    return tpl("epaper_article.html").substitute(
        title=esc(a.title),
        paper_name=p["name"],
        date_cn=_date_cn(ymd),
        code=a.page_code,
        section=pg["section"],
        kicker=esc(a.kicker),
        subtitle=esc(a.subtitle),
        date=f"{a.date:%Y-%m-%d}",
        ymd=ymd,
        body="\n".join(f"<p>\u3000\u3000{esc(x)}</p>" for x in paras),
        prev=prev,
        next=nxt,
    )


def epaper_404() -> str:
    return tpl("epaper_404.html").template


# ---- 浙江在线 -----------------------------------------------------------------------------------
def zjol_list(site: Site, page: int) -> str | None:
    per = int(site.cfg["zjol"]["per_page"])
    arts = site.zjol_list
    pages = _pages(len(arts), per)
    if page > pages:
        return None
    chunk = arts[(page - 1) * per : page * per]
    items = "\n".join(
        f'<li><a href="{a.path}" target="_blank">{esc(a.title)}</a>'
        f'<span class="time">{a.date:%Y-%m-%d %H:%M}</span></li>'
        for a in chunk
    )
    pager = _hz_pager(page, pages, lambda p: "index.shtml" if p == 1 else f"index_{p - 1}.shtml")
    return tpl("zjol_list.html").substitute(items=items, pager=pager)


def zjol_article(site: Site, a: Article) -> bytes:
    paras = a.paras()
    page = tpl("zjol_article.html").substitute(
        title=esc(a.title),
        description=esc(paras[0][:80]) if paras else "",
        meta_charset="gb2312" if a.encoding == "gbk" else "utf-8",
        date_cn=f"{a.date:%Y年%m月%d日 %H:%M:%S}",
        source=esc(a.source),
        body="\n".join(f"<p>{esc(x)}</p>" for x in paras),
        author=esc(a.author),
        editor=esc(a.editor),
    )
    return page.encode(a.encoding, errors="xmlcharrefreplace")


def js_shell(title: str) -> str:
    return tpl("js_shell.html").substitute(title=esc(title))
