"""Datasette's own page templates in Chinese without copying them: the phrases to change are data
(chrome_zh.yaml beside this file), applied to Datasette's template source as it is loaded. The
project's own templates (datasette/templates) are never touched."""

from __future__ import annotations

import re
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


class Chrome:
    """chrome_zh.yaml read once: template phrases, words for hz_zh, description patterns for hz_describe."""

    def __init__(self, path: Path = RULES) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        self.rules: dict[str, list[Rule]] = {
            name: [(str(r[0]), str(r[1]), int(r[2]) if len(r) > 2 else 1) for r in entries]
            for name, entries in data.items()
            if name.endswith(".html")
        }
        self.words = {str(k): str(v) for k, v in (data.get("words") or {}).items()}
        operators = sorted((w for w in self.words if w[:1].islower()), key=len, reverse=True)
        self._operators = re.compile(r"(?<![\w\"])(" + "|".join(map(re.escape, operators)) + r")(?![\w\"])")
        self._describe = [(re.compile(str(p)), str(r)) for p, r in data.get("describe") or []]

    def word(self, value: object) -> object:
        return self.words.get(str(value), value)

    def describe(self, text: object) -> str:
        """Datasette's English description of a table's filters and sort, in Chinese; the quoted
        values (what the reader typed or clicked) are left as they are."""
        parts = re.split(r'("(?:[^"\\]|\\.)*")', str(text or ""))
        for i in range(0, len(parts), 2):  # even parts are outside quotes
            part = self._operators.sub(lambda m: self.words[m.group(1)], parts[i])
            for pattern, chinese in self._describe:
                part = pattern.sub(chinese, part)
            parts[i] = part
        return "".join(parts)


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
    chrome = Chrome()
    env.filters["hz_zh"] = chrome.word
    env.filters["hz_describe"] = chrome.describe
    loader = TranslatingLoader(env.loader, chrome.rules)
    for name in chrome.rules:  # fail at start-up, not on the first visit of the page
        loader.get_source(env, name)
    env.loader = loader
