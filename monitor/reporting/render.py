"""Render a Report: a printable HTML page (the Jinja template report.html) and an .xlsx workbook."""

from __future__ import annotations

import io
from pathlib import Path

import jinja2

from db.clock import chinese_time
from monitor.reporting.build import STATUSES, Report

TEMPLATE = Path(__file__).with_name("report.html")
ITEM_HEADERS = [
    "编号",
    "条目",
    "类别",
    "上级条目",
    "报道数（篇）",
    "最新报道日期",
    "最新报道（日期、来源、标题、链接）",
]
TARGET_HEADERS = [
    "编号",
    "指标",
    "所属条目",
    "目标",
    "截止日期",
    "最新可信数字",
    "截至日期",
    "完成度（%）",
    "状态",
    "数字来源",
    "来源报道",
    "链接",
    "报告过的数字（个）",
    "存疑（个）",
    "存疑说明",
]


def num(value: float | str | None) -> str:
    """6000.0 -> 6000, 35.5 -> 35.5: figures as people write them."""
    if value is None:
        return ""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["cn_time"] = lambda v: chinese_time(v) or ""
    env.filters["cn_date"] = lambda v: chinese_time(str(v)[:10]) if v else ""
    env.filters["num"] = num
    return env


def render_html(report: Report, base_url: str = "") -> str:
    """The printable page; `base_url` (the site's) links each report to its page there."""
    template = _environment().from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(r=report, statuses=STATUSES, base_url=base_url.rstrip("/"))


def _latest_text(item: dict) -> str:
    lines = []
    for r in item["latest"]:
        day = chinese_time(str(r["published"])[:10]) if r["published"] else "日期未知"
        lines.append(f"{day} {r['source_name'] or r['site'] or ''} {r['title']} {r['url']}")
    return "\n".join(lines)


def _target_row(t: dict) -> list:
    return [
        t["target_id"],
        t["metric"],
        t["item_title"],
        f"{t['comparator_text']}{num(t['target_value'])}{t['unit']}",
        chinese_time(t["due"]) or "",
        t["latest_value"],
        chinese_time(t["as_of"]) or "",
        t["percent_of_target"],
        t["status"],
        t["source_kind"],
        f"{t['article_title']}（{t['source_name'] or t['site'] or ''}，{chinese_time(str(t['published'])[:10])}）"
        if t["article_title"]
        else "",
        t["url"] or "",
        t["figures"],
        t["doubtful"],
        t["doubts"] or "",
    ]


def render_xlsx(report: Report) -> bytes:
    """The workbook: 概况 (the plan and the status counts), 条目 (one row per item), 目标 (one row per target)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    summary = book.active
    summary.title = "概况"
    counts = report.status_counts()
    summary.append(["计划", report.plan["title"]])
    summary.append(["计划编号", report.plan["id"]])
    summary.append(["截至", chinese_time(report.as_of)])
    summary.append(["生成时间", chinese_time(report.generated)])
    summary.append(["条目数", len(report.items)])
    summary.append(["相关报道（篇，转载不重复计）", report.reports])
    summary.append(["量化目标数", len(report.targets)])
    for status in STATUSES:
        summary.append([f"目标{status}（个）", counts[status]])
    updating = [t["metric"] for t in report.targets if t.get("updating")]
    if updating:
        summary.append(["新数字尚在计入的目标（表中为上次计算的结果）", "、".join(updating)])
    items = book.create_sheet("条目")
    items.append(ITEM_HEADERS)
    parents = {i["item_id"]: i["title"] for i in report.items}
    for item in report.items:
        items.append(
            [
                item["item_id"],
                "　" * item["depth"] + item["title"],
                item["kind_text"],
                parents.get(item["parent_id"], ""),
                item["reports"],
                chinese_time(str(item["latest_report"])[:10]) if item["latest_report"] else "",
                _latest_text(item),
            ]
        )
    targets = book.create_sheet("目标")
    targets.append(TARGET_HEADERS)
    for t in report.targets:
        targets.append(_target_row(t))
    for sheet, widths in (
        (items, [16, 40, 10, 24, 12, 16, 90]),
        (targets, [26, 30, 24, 18, 16, 14, 16, 12, 8, 10, 50, 40]),
    ):
        for n, width in enumerate(widths):
            sheet.column_dimensions[chr(ord("A") + n)].width = width
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
