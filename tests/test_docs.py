"""README.md's "Command line" table documents every command and every option, and nothing else
(in the style of sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

import re

import click
import pytest
from support_data import REPO

from monitor.cli import cli

SECTION = "## Command line"
CELL_SPLIT = re.compile(r"(?<!\\)\|")  # `\|` inside a cell is a literal bar
WORD = re.compile(r"[a-z][a-z0-9-]*")
LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def command_tree(cmd: click.Command = cli, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    """Every command and group under `cmd`, by its path of names (the root is ())."""
    out = {path: cmd}
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            out.update(command_tree(sub, (*path, name)))
    return out


COMMANDS = command_tree()


def long_options(cmd: click.Command) -> set[str]:
    """The long names of a command's visible options (`--help` is documented once, above the table)."""
    names = set()
    for param in cmd.params:
        if isinstance(param, click.Option) and not param.hidden:
            names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


def documented() -> dict[tuple[str, ...], set[str]]:
    """Command path -> the options listed for it, from the table rows of README's Command line section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows: dict[tuple[str, ...], set[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `hzwatch"):
            continue
        cells = [c.strip() for c in CELL_SPLIT.split(line.strip().strip("|"))]
        assert len(cells) == 3, f"expected | command | options | what it does |: {line}"
        words = cells[0].strip("`").split()[1:]
        path = []
        for word in words:  # command names come first, then the ARGUMENTS and [OPTIONAL…] parts
            if not WORD.fullmatch(word):
                break
            path.append(word)
        rows.setdefault(tuple(path), set()).update(LONG_OPTION.findall(cells[1]))
    assert rows, "no `hzwatch …` rows in the Command line table"
    return rows


DOCUMENTED = documented()


def _id(path: tuple[str, ...]) -> str:
    return " ".join(("hzwatch", *path))


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=_id)
def test_every_command_is_in_the_table(path):
    # A group counts as documented through its subcommands' rows.
    assert any(doc[: len(path)] == path for doc in DOCUMENTED), f"`{_id(path)}` is missing from README.md"


@pytest.mark.parametrize(
    "path", sorted(p for p, c in COMMANDS.items() if not isinstance(c, click.Group) or long_options(c)), ids=_id
)
def test_every_option_is_in_the_table(path):
    missing = long_options(COMMANDS[path]) - DOCUMENTED.get(path, set())
    assert not missing, f"`{_id(path)}` options missing from its README.md row: {sorted(missing)}"


@pytest.mark.parametrize("path", sorted(DOCUMENTED), ids=_id)
def test_every_documented_command_and_option_exists(path):
    assert path in COMMANDS, f"README.md names `{_id(path)}`, which the CLI does not have"
    stale = DOCUMENTED[path] - long_options(COMMANDS[path])
    assert not stale, f"README.md lists options `{_id(path)}` does not take: {sorted(stale)}"
