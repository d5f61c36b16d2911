"""The `hzwatch` command line: a thin click layer over the stage packages.

Enters: the user's arguments. Leaves: calls into `scrapers/`, `db/`, `monitor/matching/`,
`monitor/alerting/` and `monitor/service/`, and one-line errors with exit codes (only this layer
turns exceptions into exit codes). One module per command group; shared options live in
`options.py`, so no command module imports this package back.
"""

from __future__ import annotations

import importlib

import click

# Every command or sub-group: its name and where it lives (module of monitor.cli, attribute).
# A command's module is imported only when that command runs (help imports them all), so the
# start-up of `hzwatch match` does not pay for the crawler's, the server's or the reports' imports.
COMMAND_PLACES: dict[str, tuple[str, str]] = {
    "init": ("core", "init"),
    "plans": ("core", "plans"),
    "match": ("match", "match"),
    "eval": ("match", "eval_cmd"),
    "report": ("report", "report"),
    "review": ("review", "review"),
    "crawl": ("crawl", "crawl"),
    "sources": ("crawl", "sources"),
    "extract": ("extract", "extract"),
    "run": ("run", "run"),
    "status": ("run", "status"),
    "alerts": ("run", "alerts"),
    "serve": ("serve", "serve"),
    "publish": ("serve", "publish"),
    "demo": ("serve", "demo"),
}


class _LazyGroup(click.Group):
    """A group that imports a command's module on first use; `commands` still lists them all."""

    @property
    def commands(self) -> dict[str, click.Command]:
        for name in COMMAND_PLACES:
            self._load(name)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value

    def _load(self, name: str) -> click.Command:
        command = self._commands.get(name)
        if command is None:
            module, attr = COMMAND_PLACES[name]
            command = self._commands[name] = getattr(importlib.import_module(f"monitor.cli.{module}"), attr)
        return command

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMAND_PLACES:
            return self._load(cmd_name)
        return self._commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_PLACES) | set(self._commands))


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hzwatch")
def cli() -> None:
    """hzwatch: monitor Hangzhou news for the city's plans (the 2024 theme year, the 2026 work report …)."""


def main() -> None:
    cli(prog_name="hzwatch")
