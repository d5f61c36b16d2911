"""Gather one plan's report as of a date: items in plan order with their latest reports, targets
with their credible figure and status (all numbers from db/report.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlite_utils

from db import report as reads
from db.clock import now_iso, today_beijing

KINDS = {"group": "改革组", "project": "改革项目", "aim": "目标方向", "task": "工作任务"}
SOURCE_KINDS = {3: "责任单位", 2: "市级党报", 1: "其他媒体"}
STATUSES = ("达标", "未达标", "未报告", "未到期")
LATEST_PER_ITEM = 3


class ReportError(ValueError):
    """A report that cannot be made (no such plan, a bad date)."""


@dataclass
class Report:
    plan: dict
    as_of: str  # ISO date
    generated: str  # ISO timestamp
    items: list[dict] = field(default_factory=list)  # plan order; each with depth, kind_text, latest
    targets: list[dict] = field(default_factory=list)
    reports: int = 0  # stories linked to any of the plan's items (the roots' counts hold their children's)

    def status_counts(self) -> dict[str, int]:
        return {s: sum(1 for t in self.targets if t["status"] == s) for s in STATUSES}


def _tree_order(items: list[dict]) -> list[dict]:
    """Items as the plan page shows them: each root, then its children, depth-first, by position."""
    children: dict[str | None, list[dict]] = {}
    for item in items:
        children.setdefault(item["parent_id"], []).append(item)
    out: list[dict] = []

    def walk(parent: str | None, depth: int) -> None:
        for item in sorted(children.get(parent, []), key=lambda i: i["position"]):
            out.append({**item, "depth": depth})
            walk(item["item_id"], depth + 1)

    walk(None, 0)
    return out


def build_report(db: sqlite_utils.Database, plan_id: str, as_of: dt.date | str | None = None) -> Report:
    """The report of `plan_id` as of `as_of` (default: today in Beijing)."""
    plan = reads.plan(db, plan_id)
    if plan is None:
        known = "、".join(reads.plan_ids(db)) or "无"
        raise ReportError(f"没有这个计划：{plan_id}（已有：{known}）")
    try:
        day = dt.date.fromisoformat(str(as_of)) if as_of else today_beijing()
    except ValueError as exc:
        raise ReportError(f"日期格式应为 2024-12-31：{as_of}") from exc
    iso = day.isoformat()
    items = _tree_order(reads.items(db, plan_id, iso))
    for item in items:
        item["kind_text"] = KINDS.get(item["kind"], item["kind"])
        item["latest"] = reads.latest_reports(db, item["item_id"], iso, LATEST_PER_ITEM)
    targets = reads.targets(db, plan_id, iso)
    for target in targets:
        target["source_kind"] = SOURCE_KINDS.get(target["rank"], "") if target["rank"] else ""
    reports = reads.reports(db, plan_id, iso)
    return Report(plan=plan, as_of=iso, generated=now_iso(), items=items, targets=targets, reports=reports)
