"""Validation primitives for the plan catalog: the error type and a collector that keeps every
problem of a file, so that one `hzwatch plans check` names them all.

Each reader here takes a `Problems` collector, records what is wrong with the value (naming the
file, the item and the key) and returns a usable stand-in (an empty list, None), so that
validation can go on to the next key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db.text import normalize

if TYPE_CHECKING:
    import yaml


class CatalogError(ValueError):
    """A plan file that cannot be used; the message names the file, the item and the key.

    `errors` lists every problem found (one line each in the message); the attributes
    path/where/key/problem are those of the first.
    """

    def __init__(self, path: Path | str, where: str, key: str, problem: str):
        self.path, self.where, self.key, self.problem = str(path), where, key, problem
        self.errors: list[CatalogError] = [self]
        super().__init__(f"{path}: {where}: key '{key}': {problem}")

    @classmethod
    def combine(cls, errors: Iterable[CatalogError]) -> CatalogError:
        """One error standing for all of `errors` (which must not be empty)."""
        flat = [e for error in errors for e in error.errors]
        if len(flat) == 1:
            return flat[0]
        first = flat[0]
        combined = cls(first.path, first.where, first.key, first.problem)
        combined.errors = flat
        combined.args = (f"{len(flat)} problems:\n" + "\n".join(str(e) for e in flat),)
        return combined


class Problems:
    """The problems found in one file so far."""

    def __init__(self, path: Path | str):
        self.path = path
        self.errors: list[CatalogError] = []

    def add(self, where: str, key: str, problem: str) -> None:
        self.errors.append(CatalogError(self.path, where, key, problem))

    def raise_any(self) -> None:
        """Raise one CatalogError for everything recorded, if anything was."""
        if self.errors:
            raise CatalogError.combine(self.errors)


def parse_yaml(problems: Problems, text: str) -> Any:
    """yaml.safe_load (with libyaml when available); a syntax error is recorded with its line and
    column, and gives None. (yaml is imported here: a start-up that reads the catalog from the
    disk cache never needs it.)"""
    import yaml

    # libyaml's safe loader when built in: the same documents, parsed about ten times faster.
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        problems.add("file", "yaml", yaml_problem(exc))
        return None


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line, with the line and column (1-based) where the parser stopped."""
    import yaml

    mark = getattr(exc, "problem_mark", None)
    if not isinstance(exc, yaml.MarkedYAMLError) or mark is None:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = f"syntax error at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    if exc.context and exc.context_mark is not None:
        cm = exc.context_mark
        text += f" ({exc.context} that starts at line {cm.line + 1}, column {cm.column + 1})"
    elif exc.context:
        text += f" ({exc.context})"
    return text


def mapping(problems: Problems, where: str, key: str, value: Any) -> dict:
    """`value` when a mapping (None: empty), else {} with the problem recorded."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(where, key, "must be a mapping")
        return {}
    return value


def known_keys(problems: Problems, where: str, prefix: str, data: dict, allowed: Iterable[str]) -> None:
    """Record every key of `data` not in `allowed` (a misspelt key must not fall back silently)."""
    allowed = set(allowed)
    for key in data:
        if key not in allowed:
            problems.add(where, f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(allowed))})")


def require(problems: Problems, where: str, data: Any, keys: tuple[str, ...]) -> bool:
    """Are all `keys` present and non-empty in the mapping `data`? Records each one missing."""
    if not isinstance(data, dict):
        problems.add(where, "-", "must be a mapping")
        return False
    ok = True
    for key in keys:
        if data.get(key) in (None, "", []):
            problems.add(where, key, "missing")
            ok = False
    return ok


def date(problems: Problems, where: str, key: str, value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.add(where, key, f"not a date (YYYY-MM-DD): {value!r}")
        return None


def terms(problems: Problems, where: str, key: str, value: Any) -> list[str]:
    """A list of terms, normalised; bad terms are recorded and left out."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(where, key, "must be a list of strings")
        return []
    out = []
    for term in value:
        if not isinstance(term, (str, int)) or not str(term).strip():
            problems.add(where, key, f"empty or non-string term: {term!r}")
            continue
        norm = normalize(str(term))
        if len(norm) < 2:
            problems.add(where, key, f"term too short to match safely: {term!r}")
            continue
        out.append(norm)
    return out


def compile_pattern(problems: Problems, where: str, key: str, pattern: Any) -> re.Pattern | None:
    try:
        return re.compile(str(pattern))
    except re.error as exc:
        problems.add(where, key, f"bad pattern {pattern!r}: {exc}")
        return None


def patterns(problems: Problems, where: str, key: str, value: Any) -> tuple[re.Pattern, ...]:
    """A list of regular expressions, compiled; bad ones are recorded and left out."""
    if not value:
        return ()
    if not isinstance(value, list):
        problems.add(where, key, "must be a list of patterns")
        return ()
    compiled = (compile_pattern(problems, where, key, p) for p in value)
    return tuple(p for p in compiled if p is not None)
