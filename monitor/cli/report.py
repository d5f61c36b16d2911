"""`hzwatch report`: the item-by-item supervision report of one plan as of a date (HTML or .xlsx)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from monitor.cli.options import db_option, open_db


@click.command()
@click.option("--plan", "plan_id", required=True, help="Plan id, e.g. hangzhou-2024 (the plans table lists them).")
@click.option("--as-of", "as_of", default=None, help="Report as of this date, YYYY-MM-DD (default: today, Beijing).")
@click.option("--format", "fmt", type=click.Choice(["html", "xlsx"]), default="html", show_default=True)
@click.option("--out", "out", default=None, help="Output file (default: PLAN-报告-DATE.html|xlsx; - for stdout).")
@db_option
def report(plan_id: str, as_of: str | None, fmt: str, out: str | None, db_path: str) -> None:
    """Write the supervision report of a plan: each item with its reports, each target with its
    credible latest figure, completion, status (达标/未达标/未报告/未到期) and doubts.

    \b
    hzwatch report --plan hangzhou-2024 --format xlsx
    hzwatch report --plan hangzhou-2026 --as-of 2026-06-30 --out 2026上半年.html
    """
    from db.clock import chinese_time
    from db.figures import refresh_figures
    from monitor.reporting import ReportError, build_report, render_html, render_xlsx

    db = open_db(db_path)
    try:
        refresh_figures(db)  # figures of a crawl or re-match still running are stored first: exact
        made = build_report(db, plan_id, as_of)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.close()
    data = render_xlsx(made) if fmt == "xlsx" else render_html(made).encode("utf-8")
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(out or f"{plan_id}-报告-{made.as_of}.{fmt}")
    path.write_bytes(data)
    counts = made.status_counts()
    click.echo(
        f"{path}：{made.plan['title']}，截至{chinese_time(made.as_of)}：{len(made.items)} 个条目，"
        f"{made.reports} 篇报道，{len(made.targets)} 个目标（" + "，".join(f"{k}{v}" for k, v in counts.items()) + "）"
    )
