"""The evaluation package: a sorted ``__all__`` that resolves, and its layer rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import leadscore.evaluation

SOURCES = sorted(Path(leadscore.evaluation.__file__).parent.glob("*.py"))
ALLOWED_INTERNAL = (
    "leadscore.evaluation",
    "leadscore.features",
    "leadscore.data",
    "leadscore.errors",
)
FORBIDDEN_EXTERNAL = ("mlflow", "lightgbm", "shap", "matplotlib.pyplot")


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def test_all_is_sorted_and_resolves() -> None:
    exported = list(leadscore.evaluation.__all__)
    assert exported == sorted(exported, key=_isort_key)
    assert [name for name in exported if not hasattr(leadscore.evaluation, name)] == []


@pytest.mark.parametrize("path", SOURCES, ids=[path.name for path in SOURCES])
def test_imports_follow_the_layer_rule(path: Path) -> None:
    imported = _imports(path)
    internal = {name for name in imported if _within(name, ("leadscore",))}
    assert {name for name in internal if not _within(name, ALLOWED_INTERNAL)} == set()
    assert {name for name in imported if _within(name, FORBIDDEN_EXTERNAL)} == set()
