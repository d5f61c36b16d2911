"""Commands for people's reviews: `review passwd` (a reviewer account), `review export` (reviewed
articles as labelled cases for `hzwatch eval`), `review stats` (the matcher against people)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.options import db_option, open_db

if TYPE_CHECKING:
    from db.records import Article, MatchResult


@click.group()
def review() -> None:
    """Reviewer accounts, and what people's reviews teach about the matcher."""


@review.command("passwd")
@click.argument("name")
@click.option(
    "--reviewers",
    "accounts_file",
    type=click.Path(dir_okay=False),
    envvar="HZWATCH_REVIEWERS",
    required=True,
    help="The reviewers file, kept outside the repository (or set HZWATCH_REVIEWERS).",
)
@click.password_option("--password", prompt="密码", help="Prompted for (twice) unless given.")
def passwd(name: str, accounts_file: str, password: str) -> None:
    """Add a reviewer or set a reviewer's password (only its PBKDF2 hash is written)."""
    from db.reviewers import AccountsError, load_accounts, set_account
    from monitor.service.serve import REPO

    if len(password) < 10:
        raise click.ClickException("a password needs at least 10 characters")
    path = Path(accounts_file)
    try:
        load_accounts(path if path.exists() else None, REPO)
        set_account(path, name, password)
    except AccountsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"reviewer {name} saved in {path}")


def _case_name(article: dict, article_id: int) -> str:
    slug = re.sub(r"[^0-9A-Za-z]+", "-", article["url"].split("//", 1)[-1]).strip("-")[:60]
    return f"review-{article_id:06d}-{slug or 'article'}"


@review.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@db_option
def export(directory: str, db_path: str) -> None:
    """Write every reviewed article as a labelled case (DIR/review-*.json) for `hzwatch eval DIR`."""
    from db.review_lists import labelled_article, reviewed_article_ids

    db = open_db(db_path)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ids = reviewed_article_ids(db)
    for article_id in ids:
        case = labelled_article(db, article_id)
        path = out / f"{_case_name(case, article_id)}.json"
        path.write_text(json.dumps(case, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    click.echo(f"{len(ids)} reviewed articles written to {out}")


class _Recorded:
    """A stand-in matcher that answers with what the matcher said when the article was reviewed."""

    def __init__(self, results: dict[str, MatchResult]):
        self.results = results

    def match(self, article: Article) -> MatchResult:
        return self.results[article.url]


def _machine_as_result(machine: dict):
    from db.records import Figure, MatchResult

    return MatchResult(
        relevant=bool(machine["relevant"]),
        score=machine["score"] or 0.0,
        items=[m["item_id"] for m in machine["matches"]] if machine["relevant"] else [],
        progress=[Figure(f["target_id"], f["value"], f["unit"], f["as_of"], f["quote"]) for f in machine["progress"]]
        if machine["relevant"]
        else [],
    )


@review.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@db_option
def stats(as_json: bool, db_path: str) -> None:
    """The matcher's precision and recall against people's decisions on reviewed articles."""
    from db.records import Article
    from db.review_lists import labelled_article, reviewed_article_ids
    from monitor.matching.evaluate import Case, evaluate, format_report

    db = open_db(db_path)
    cases, results = [], {}
    for article_id in reviewed_article_ids(db):
        data = labelled_article(db, article_id)
        if data["matcher"] is None:
            continue
        cases.append(Case(_case_name(data, article_id), Article.from_labelled(data), data["label"]))
        results[data["url"]] = _machine_as_result(data["matcher"])
    if not cases:
        raise click.ClickException("no reviewed articles yet: review some on the site first")
    report = evaluate(_Recorded(results), cases)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_report(report))
