"""The `hzwatch` command line: a thin click layer over the stage modules.

Each stage keeps its commands in its own module (`monitor/cli_<stage>.py`); they are
registered here. Only this layer turns exceptions into exit codes and one-line errors.
"""
from __future__ import annotations

import importlib

import click

# (module, attribute) of every command or sub-group, in help order.
COMMANDS = [
    ("monitor.cli_core", "init"),
    ("monitor.cli_core", "plans"),
    ("monitor.cli_match", "match"),
    ("monitor.cli_match", "eval_cmd"),
    ("monitor.cli_crawl", "crawl"),
    ("monitor.cli_crawl", "sources"),
    ("monitor.cli_extract", "extract"),
    ("monitor.cli_run", "run"),
    ("monitor.cli_run", "status"),
    ("monitor.cli_run", "alerts"),
    ("monitor.cli_serve", "serve"),
    ("monitor.cli_serve", "publish"),
    ("monitor.cli_serve", "demo"),
]

db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    envvar="HZWATCH_DB",
    default="hzwatch.db",
    show_default=True,
    help="SQLite database file (or set HZWATCH_DB).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hzwatch")
def cli() -> None:
    """hzwatch: monitor Hangzhou news for the 2024 深化改革、强基固本 theme-year plan."""


def _register() -> None:
    for module_name, attr in COMMANDS:
        module = importlib.import_module(module_name)
        cli.add_command(getattr(module, attr))


def main() -> None:
    _register()
    cli(prog_name="hzwatch")


if __name__ == "__main__":
    main()
