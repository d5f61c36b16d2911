"""Datasette's own page templates in Chinese without copying them: the phrases to change are data
(chrome_zh.yaml beside this file), applied to Datasette's template source as it is loaded. The
project's own templates (datasette/templates) are never touched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from jinja2 import BaseLoader, Environment

import datasette as datasette_package
from datasette import hookimpl

RULES = Path(__file__).resolve().with_name("chrome_zh.yaml")
DATASETTE_TEMPLATES = Path(datasette_package.__file__).resolve().parent / "templates"


class ChromeError(RuntimeError):
    """A phrase of chrome_zh.yaml is not in its template as often as it says."""


Rule = tuple[str, str, int]


def load(path: Path = RULES) -> tuple[dict[str, list[Rule]], dict[str, str]]:
    """The file read once: ({template name: [(English, Chinese, how many times it occurs)]},
    {English word Datasette's code supplies: Chinese} for the hz_zh filter)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = {
        name: [(str(r[0]), str(r[1]), int(r[2]) if len(r) > 2 else 1) for r in entries]
        for name, entries in data.items()
        if name.endswith(".html")
    }
    return rules, {str(k): str(v) for k, v in (data.get("words") or {}).items()}


def translate(name: str, source: str, rules: list[Rule]) -> str:
    """The template source with each phrase replaced; ChromeError unless each occurs as often as said."""
    for english, chinese, times in rules:
        found = source.count(english)
        if found != times:
            raise ChromeError(f"chrome_zh.yaml: {english!r} occurs {found} times in Datasette's {name}, not {times}")
        source = source.replace(english, chinese)
    return source


class TranslatingLoader(BaseLoader):
    """Wraps Datasette's loader: its own templates come back with the phrases translated."""

    def __init__(self, inner: BaseLoader, rules: dict[str, list[Rule]]):
        self.inner, self.rules = inner, rules

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        name = template.removeprefix("default:")
        if name in self.rules and filename and Path(filename).resolve().parent == DATASETTE_TEMPLATES:
            source = translate(name, source, self.rules[name])
        return source, filename, uptodate

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


@hookimpl
def prepare_jinja2_environment(env: Environment) -> None:
    rules, words = load()
    env.filters["hz_zh"] = lambda value: words.get(str(value), value)
    loader = TranslatingLoader(env.loader, rules)
    for name in rules:  # fail at start-up, not on the first visit of the page
        loader.get_source(env, name)
    env.loader = loader
