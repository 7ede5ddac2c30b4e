"""The exception tree of leadscore.

Every error the library raises on purpose derives from ``LeadscoreError``;
errors of other libraries are wrapped at the boundary with ``raise ... from exc``.

    LeadscoreError
    ├── ConfigError          a configuration or mapping file is wrong
    ├── DataError            input data cannot be read or does not meet the contract
    │   └── ValidationFailed the data was read, and rows broke rules (carries the report)
    ├── StoreError           the service's database cannot be reached or refused an operation
    └── UsageError           arguments contradict each other
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "DataError",
    "LeadscoreError",
    "StoreError",
    "UsageError",
    "ValidationFailed",
]


class LeadscoreError(Exception):
    """Base class of every error leadscore raises on purpose."""


class ConfigError(LeadscoreError):
    """A configuration or mapping file is missing, malformed or inconsistent."""


class DataError(LeadscoreError):
    """Input data cannot be read or does not meet the data contract."""


class ValidationFailed(DataError):
    """Rows broke rules of the data contract; ``report`` holds every violation."""

    def __init__(self, message: str, report: Any) -> None:
        super().__init__(message)
        self.report = report


class StoreError(LeadscoreError):
    """The service's database cannot be reached, or it refused an operation."""


class UsageError(LeadscoreError):
    """Arguments given to a command or function contradict each other."""
