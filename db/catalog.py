"""Plan catalog tables (plans, items, targets, aliases), synced from the YAML catalog."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from db.clock import now_iso
from db.figures import refresh_figures

_KIND_ORDER = {"group": 0, "aim": 0, "project": 1, "task": 1}


def sync_catalog(db: sqlite_utils.Database, catalog: Any) -> dict:
    """Upsert the catalog's plans, items, targets and aliases; delete rows no longer in YAML.

    `catalog` is a monitor.matching.catalog.Catalog (typed loosely: db/ imports no later stage).
    Returns the number of rows now in each table for the catalog, e.g. {"plans": 1, "items": 34, …}.
    """
    now = now_iso()
    plans, items, targets, aliases = [], [], [], []
    for plan in catalog.plans:
        plans.append(
            {
                "id": plan.id,
                "title": plan.title,
                "city": plan.city,
                "announced": plan.announced.isoformat(),
                "watch_from": plan.watch_from.isoformat(),
                "reform_count": plan.reform_count,
                "task_count": plan.task_count,
                "source_file": plan.path.name,
                "source_text": json.dumps(plan.source, ensure_ascii=False, default=str),
                "city_papers": json.dumps(getattr(plan, "city_papers", []), ensure_ascii=False),
                "synced_at": now,
            }
        )
        for item in sorted(plan.items, key=lambda i: (_KIND_ORDER[i.kind], i.position)):
            items.append(
                {
                    "id": item.id,
                    "plan_id": plan.id,
                    "parent_id": item.parent,
                    "kind": item.kind,
                    "title": item.title,
                    "definition": item.definition,
                    "position": item.position,
                }
            )
            for kind, terms in (
                ("alias", item.aliases),
                ("weak", item.weak),
                ("broad", item.broad),
                ("context", item.context),
                ("exclude", item.exclude),
            ):
                aliases += [{"item_id": item.id, "term": t, "kind": kind} for t in dict.fromkeys(terms)]
        aliases += [{"item_id": plan.id, "term": t, "kind": "theme"} for t in dict.fromkeys(plan.theme)]
        for target in plan.targets:
            targets.append(
                {
                    "id": target.id,
                    "plan_id": plan.id,
                    "item_id": target.item,
                    "metric": target.metric,
                    "comparator": target.comparator,
                    "value": target.value,
                    "unit": target.unit,
                    "due": target.due.isoformat(),
                    "responsible": json.dumps(getattr(target, "responsible", []), ensure_ascii=False),
                    # a count reported for a period runs up over the year; a rate is a state
                    "cumulative": 1 if target.period_required else 0,
                }
            )
    plan_ids = [p["id"] for p in plans]
    item_ids = [i["id"] for i in items]
    target_ids = [t["id"] for t in targets]
    with db.atomic():
        # Children first so foreign keys hold while rows leave.
        db.execute("DELETE FROM aliases")
        _delete_missing(db, "targets", target_ids)
        _delete_missing(db, "items", item_ids)
        _delete_missing(db, "plans", plan_ids)
        if plans:
            db["plans"].upsert_all(plans, pk="id")
        if items:
            db["items"].upsert_all(items, pk="id")
        if targets:
            db["targets"].upsert_all(targets, pk="id")
        if aliases:
            db["aliases"].insert_all(aliases, pk=("item_id", "term", "kind"), ignore=True)
        refresh_figures(db)  # targets whose rules changed (the triggers marked them)
    return {table: db[table].count for table in ("plans", "items", "targets", "aliases")}


def _delete_missing(db: sqlite_utils.Database, table: str, keep: list[str]) -> None:
    marks = ",".join("?" for _ in keep) or "NULL"
    db.execute(f"DELETE FROM {table} WHERE id NOT IN ({marks})", keep)
