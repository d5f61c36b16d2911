"""The house rules a newcomer relies on, checked on the code itself: stages import only earlier
stages, and no product module or function grows past what one can read in a sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRODUCT = ["scrapers", "monitor", "db", "datasette/plugins"]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# What each top-level package may import of the project (db/ is the base: records, clock, storage).
MAY_IMPORT = {"db": {"db"}, "scrapers": {"db", "scrapers"}, "monitor": {"db", "scrapers", "monitor", "replica"}}


def _modules() -> list[Path]:
    return sorted(p for top in PRODUCT for p in (REPO / top).rglob("*.py") if "__pycache__" not in p.parts)


def _imported_packages(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & {"db", "scrapers", "monitor", "replica"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_module_size_imports_and_function_length(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(REPO)
    assert text.count("\n") <= MAX_MODULE_LINES, f"{rel}: {text.count(chr(10))} lines > {MAX_MODULE_LINES}"
    tree = ast.parse(text)
    top = rel.parts[0]
    if top in MAY_IMPORT:
        wrong = _imported_packages(tree) - MAY_IMPORT[top]
        assert not wrong, f"{rel} imports {sorted(wrong)}: a later stage"
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{rel}:{node.lineno} {node.name} is {length} lines"


def test_the_checks_see_the_stages() -> None:
    """The rules above would pass vacuously on an empty tree: they must see every stage's code."""
    tops = {p.relative_to(REPO).parts[0] for p in _modules()}
    assert {"scrapers", "monitor", "db"} <= tops
    assert len(_modules()) >= 30
