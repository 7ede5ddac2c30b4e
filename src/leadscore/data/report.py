"""The validation report: every violation, notices, and row counts per table.

A *violation* is a broken rule; it rejects its row (or, when ``row`` is ``None``, the whole
table). A *notice* is information that does not fail validation: a detected CSV dialect, an
exact duplicate row that was dropped, a check that could not run.

Counting contract, per table: ``rows_used + rows_rejected == rows_read``; deduplicated rows
are part of ``rows_rejected``. A row with several violations is listed once per violation but
counted once.

``row`` is the line number in the file for CSV (the header is line 1; quoted fields that
contain line breaks are counted), and the 1-based row position for Parquet and SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import polars as pl

__all__ = [
    "VIOLATION_SCHEMA",
    "Notice",
    "RowKind",
    "TableSummary",
    "ValidationReport",
    "Violation",
    "empty_violations",
    "table_violation",
]

RowKind = Literal["line", "row"]

VIOLATION_SCHEMA: Final[dict[str, pl.DataType]] = {
    "table": pl.String(),
    "row": pl.Int64(),
    "column": pl.String(),
    "rule": pl.String(),
    "value": pl.String(),
    "message": pl.String(),
}


def empty_violations() -> pl.DataFrame:
    """A violations frame with no rows and the documented columns."""
    return pl.DataFrame(schema=VIOLATION_SCHEMA)


def table_violation(table: str, column: str | None, rule: str, message: str) -> pl.DataFrame:
    """A violations frame with one violation of a whole table (``row`` and ``value`` null)."""
    row = {"table": table, "row": None, "column": column, "rule": rule, "value": None}
    return pl.DataFrame([{**row, "message": message}], schema=VIOLATION_SCHEMA)


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (table, row, column), which rule, the offending value, why."""

    table: str
    row: int | None
    column: str | None
    rule: str
    value: str | None
    message: str


@dataclass(frozen=True)
class Notice:
    """Information that does not fail validation (``kind`` says what sort)."""

    table: str | None
    kind: str
    message: str
    row: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "row": self.row, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class TableSummary:
    """Row counts of one table; ``rows_used + rows_rejected == rows_read`` always holds.
    ``source`` is empty for a table that was not found."""

    table: str
    source: str
    row_kind: RowKind
    rows_read: int
    rows_rejected: int
    rows_deduplicated: int

    @property
    def rows_used(self) -> int:
        return self.rows_read - self.rows_rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source or None,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
            "rows_deduplicated": self.rows_deduplicated,
        }


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """The outcome of validating a data source.

    ``violations`` is a polars frame with the columns of :data:`VIOLATION_SCHEMA`, sorted by
    table, row and column, so that millions of violations stay cheap to hold.
    """

    tables: Mapping[str, TableSummary]
    violations: pl.DataFrame = field(default_factory=empty_violations)
    notices: tuple[Notice, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no rule is broken (notices do not count)."""
        return self.violations.height == 0

    @property
    def n_violations(self) -> int:
        return self.violations.height

    def violation_records(self, limit: int | None = None) -> list[Violation]:
        """The violations as dataclasses, the first ``limit`` of them when given."""
        frame = self.violations if limit is None else self.violations.head(limit)
        return [Violation(**row) for row in frame.iter_rows(named=True)]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``ok``, ``tables``, ``violations``, ``notices``."""
        return {
            "ok": self.ok,
            "tables": {name: summary.to_dict() for name, summary in self.tables.items()},
            "violations": self.violations.to_dicts(),
            "notices": [notice.to_dict() for notice in self.notices],
        }

    def summary_line(self) -> str:
        """One sentence for logs and exception messages."""
        deduplicated = sum(s.rows_deduplicated for s in self.tables.values())
        rejected = sum(s.rows_rejected for s in self.tables.values()) - deduplicated
        return (
            f"{self.n_violations} violation(s); {rejected} row(s) rejected by rules, "
            f"{deduplicated} exact duplicate(s) dropped"
        )
