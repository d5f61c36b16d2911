"""The `hzwatch` command line: a thin click layer over the stage packages.

Enters: the user's arguments. Leaves: calls into `scrapers/`, `db/`, `monitor/matching/`,
`monitor/alerting/` and `monitor/service/`, and one-line errors with exit codes (only this layer
turns exceptions into exit codes). One module per command group; shared options live in
`options.py`, so no command module imports this package back.
"""

from __future__ import annotations

import click

from monitor.cli import core, crawl, extract, match, report, review, run, serve

# Every command or sub-group, in help order.
COMMANDS: list[click.Command] = [
    core.init,
    core.plans,
    match.match,
    match.eval_cmd,
    report.report,
    review.review,
    crawl.crawl,
    crawl.sources,
    extract.extract,
    run.run,
    run.status,
    run.alerts,
    serve.serve,
    serve.publish,
    serve.demo,
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hzwatch")
def cli() -> None:
    """hzwatch: monitor Hangzhou news for the city's plans (the 2024 theme year, the 2026 work report …)."""


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="hzwatch")
