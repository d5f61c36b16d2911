"""`hzwatch extract FILE.html`: run the article extractor on a saved page and print JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("extract")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", default=None, help="The page's original URL (chooses the CMS profile, last-resort date).")
@click.option(
    "--profile",
    default=None,
    help="Extraction profile from scrapers/profiles.yaml (default: from --url, else generic).",
)
@click.option("--content-type", default=None, help="Content-Type header the page was served with (charset hint).")
@click.option("--body/--no-body", default=True, show_default=True, help="Include the body text.")
def extract_cmd(file: Path, url: str | None, profile: str | None, content_type: str | None, body: bool) -> None:
    """Extract title, publish time, 来源, author, editor and body from a saved HTML page."""
    from scrapers.extract import ExtractionError, extract

    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from exc
    from scrapers.spiders.failures import binary_kind

    if not raw.strip():
        raise click.ClickException(f"{file}: 文件是空的，没有可抽取的网页 (the file is empty)")
    kind = binary_kind(raw)
    if kind:
        raise click.ClickException(f"{file}: 不是 HTML 网页，而是 {kind} 文件 (not an HTML page but {kind} data)")
    try:
        result = extract(raw, url=url, profile=profile, content_type=content_type)
    except ExtractionError as exc:
        raise click.ClickException(str(exc)) from exc
    keys = [
        "title",
        "subtitle",
        "published",
        "source",
        "author",
        "editor",
        "body",
        "methods",
        "profile",
        "encoding",
        "error",
    ]
    data = result.as_dict()
    out = {k: data[k] for k in keys if body or k != "body"}
    if result.kicker:
        out["kicker"] = result.kicker
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    if result.error:
        # the JSON above says what was found; the exit status says it is no article
        raise click.ClickException(f"{file}: 没有抽取到文章 (no article: {result.error})")


extract = extract_cmd
