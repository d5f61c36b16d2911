"""Commands for the matcher: `match` (one article, a JSONL stream, or the database) and `eval`."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from typing import TYPE_CHECKING, Any

import click

from db.records import Article
from monitor.cli.options import db_option

if TYPE_CHECKING:
    from monitor.matching.matcher import Matcher

plan_option = click.option(
    "--plan",
    "plan_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Plan YAML file(s); default: every file in monitor/plans/ (or in $HZWATCH_PLANS).",
)


def _matcher(plan_paths: tuple[str, ...] | list[str]) -> Matcher:
    from monitor.cli.options import load_catalog_or_fail
    from monitor.matching.matcher import Matcher

    return Matcher(load_catalog_or_fail(plan_paths))


def _article(data: Any, where: str) -> Article:
    """A labelled-article JSON object (url, site, title, published, text, source) as an Article."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object with url, title, published, text")
    if not isinstance(data.get("text") or "", str) or not isinstance(data.get("title") or "", str):
        raise ValueError(f"{where}: 'title' and 'text' must be strings")
    return Article.from_labelled(data)


def _regular_file(stream: Any) -> bool:
    """Is `stream` a regular file (not a pipe, terminal or socket)?"""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False


# Built once: json.dumps with keyword arguments builds a new encoder for every call.
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _dump(obj: Any, pretty: bool = False) -> str:
    if not pretty:
        return _LINE_ENCODER.encode(obj)
    return json.dumps(obj, ensure_ascii=False, indent=2)


@click.command()
@click.argument("source", required=False, type=click.File("r", encoding="utf-8"))
@click.option("--jsonl", is_flag=True, help="SOURCE holds one article per line; one result per line.")
@click.option("--all", "all_", is_flag=True, help="Re-match stored articles whose matcher version differs.")
@click.option("--force", is_flag=True, help="With --all: re-match every stored article (resumes if interrupted).")
@click.option(
    "--batch", type=click.IntRange(1), default=500, show_default=True, help="With --all: articles per commit."
)
@db_option
@plan_option
def match(
    source: Any, jsonl: bool, all_: bool, force: bool, batch: int, db_path: str, plan_paths: tuple[str, ...]
) -> None:
    """Match an article (JSON FILE or - for stdin) against the plan; print the result as JSON.

    \b
    hzwatch match article.json
    hzwatch match --jsonl - < articles.jsonl > results.jsonl
    hzwatch match --all [--force] [--db hzwatch.db]
    """
    if all_:
        if source is not None:
            raise click.ClickException("--all reads the database; give no FILE")
        _match_all(db_path, force, plan_paths, batch)
        return
    if force:
        raise click.ClickException("--force only goes with --all")
    if source is None:
        raise click.ClickException("give a JSON FILE, - for stdin, or --all")
    matcher = _matcher(plan_paths)
    if jsonl:
        out = sys.stdout
        # One result per input line, flushed at once: a caller feeding a pipe may wait for each
        # answer. Input from a regular file waits on nobody: results go out in blocks (one write
        # per 8 KB instead of one per article).
        if hasattr(out, "reconfigure") and not _regular_file(source):
            out.reconfigure(line_buffering=True)
        errors = 0
        for n, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                result = matcher.match(_article(json.loads(line), f"line {n}")).to_json()
            except (json.JSONDecodeError, ValueError) as exc:
                # Keep one output line per input line so results stay aligned.
                errors += 1
                msg = (
                    str(exc)
                    if isinstance(exc, ValueError) and not isinstance(exc, json.JSONDecodeError)
                    else f"line {n}: not JSON: {exc}"
                )
                click.echo(f"hzwatch match: {msg}", err=True)
                result = {"error": msg}
            out.write(_dump(result) + "\n")
        out.flush()
        if errors:
            raise SystemExit(1)
        return
    try:
        article = _article(json.load(source), getattr(source, "name", "input"))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{getattr(source, 'name', 'input')}: not JSON: {exc}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_dump(matcher.match(article).to_json(), pretty=True))


def _match_all(db_path: str, force: bool, plan_paths: tuple[str, ...], batch_size: int = 500) -> None:
    """Re-match stored articles a batch per transaction, with a progress bar, elapsed time and rate.

    A forced run records after each batch the last article done (db.matches.rematch_*): run the same
    command again after an interruption and it continues there. Without --force the matcher version
    already says what is left. The stored figures are refreshed once at the end (db/figures.py).
    """
    import time

    from tqdm import tqdm

    from db import matches as db_matches
    from db.figures import refresh_figures
    from monitor.cli.options import open_db

    db = open_db(db_path)
    matcher = _matcher(plan_paths)
    after_id = 0
    if force:
        resume = db_matches.rematch_resume_point(db, matcher.version)
        if resume:
            after_id = resume["last_article_id"]
            click.echo(
                f"继续上次中断的重新匹配（开始于 {resume['started_at']}，已完成 {resume['matched']} 篇，"
                f"从文章 {after_id} 之后继续）",
                err=True,
            )
        else:
            db_matches.rematch_start(db, matcher.version)
    total = db_matches.count_articles_needing_match(db, matcher.version, force, after_id)
    counts = {"done": 0, "relevant": 0, "failed": 0}
    started = time.monotonic()
    try:
        with tqdm(total=total, desc="重新匹配", unit="篇", file=sys.stderr, disable=None) as bar:
            for batch in db_matches.iter_article_batches(db, matcher.version, force, after_id, batch_size):
                _match_batch(db, matcher, batch, counts, bar, force)
    except KeyboardInterrupt:
        click.echo(f"\n已中断：本次完成 {counts['done']} 篇；再次运行同一命令即从中断处继续。", err=True)
        raise SystemExit(130) from None
    if force:
        db_matches.rematch_finish(db)
    refresh_figures(db)
    elapsed = time.monotonic() - started
    click.echo(
        f"matched {counts['done']} articles with matcher {matcher.version}: {counts['relevant']} relevant"
        + (f", {counts['failed']} failed" if counts["failed"] else "")
    )
    rate = counts["done"] / elapsed if elapsed > 0 else 0.0
    click.echo(f"用时 {elapsed:.1f} 秒，每秒 {rate:,.0f} 篇")


def _match_batch(db: Any, matcher: Matcher, batch: list, counts: dict, bar: Any, force: bool) -> None:
    """Match and save one batch in one transaction (with the resume point when forced)."""
    from db import matches as db_matches

    done = 0
    with db.atomic():
        for article in batch:
            try:
                result = matcher.match(article)
            except Exception as exc:  # one bad article must not stop the re-match
                counts["failed"] += 1
                click.echo(f"hzwatch match: article {article.id} ({article.url}): {exc}", err=True)
                bar.update(1)
                continue
            db_matches.save_match(db, article.id, result, matcher.version)
            done += 1
            counts["relevant"] += bool(result.relevant)
            bar.update(1)
        if force and batch:
            db_matches.rematch_advance(db, batch[-1].id, done)
    counts["done"] += done


@click.command("eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--min-f1", type=float, default=None, help="Exit 1 when relevance F1 is below this.")
@click.option(
    "--baseline",
    type=click.Choice(["keyword"]),
    default=None,
    help="Score a baseline instead: keyword = any plan keyword present is relevant, items by alias.",
)
@plan_option
def eval_cmd(
    directory: str, as_json: bool, min_f1: float | None, baseline: str | None, plan_paths: tuple[str, ...]
) -> None:
    """Score the matcher on a directory of labelled articles (*.json with a 'label').

    Only the plan(s) whose ids the labels use are matched (--plan FILE: only those files).
    """
    from monitor.cli.options import load_catalog_or_fail
    from monitor.matching.evaluate import EvalError, evaluate, format_report, label_plans, load_cases
    from monitor.matching.matcher import Matcher

    try:
        cases = load_cases(directory)
    except EvalError as exc:
        raise click.ClickException(str(exc)) from exc
    catalog = load_catalog_or_fail(plan_paths)
    plans = label_plans(cases, catalog)
    if baseline == "keyword":
        from monitor.matching.baseline import KeywordBaseline

        scorer = KeywordBaseline(catalog.only(plans))
    else:
        scorer = Matcher(catalog.only(plans))
    report = {"plans": plans, **evaluate(scorer, cases)}
    click.echo(_dump(report, pretty=True) if as_json else format_report(report))
    if min_f1 is not None and report["relevance"]["f1"] < min_f1:
        click.echo(f"relevance F1 {report['relevance']['f1']:.3f} is below --min-f1 {min_f1}", err=True)
        raise SystemExit(1)
