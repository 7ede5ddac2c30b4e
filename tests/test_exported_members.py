"""Every package re-exports a sorted ``__all__`` whose names exist."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "leadscore",
    "leadscore.cluster",
    "leadscore.data",
    "leadscore.data.simulator",
    "leadscore.errors",
    "leadscore.features",
    "leadscore.service",
    "leadscore.store",
    "leadscore.training",
]


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (the order ruff's RUF022 keeps)."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_key)
    missing = [member for member in exported if not hasattr(module, member)]
    assert missing == []


def test_errors_form_one_tree() -> None:
    from leadscore import errors

    for member in errors.__all__:
        assert issubclass(getattr(errors, member), errors.LeadscoreError)
