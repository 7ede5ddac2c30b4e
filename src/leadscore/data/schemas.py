"""The data contract: pandera schemas of the canonical tables and of the flat lead table.

Three canonical tables (DESIGN.md, "Data contract"):

* ``leads``       one row per lead, ``lead_id`` unique;
* ``touchpoints`` one row per event, ``event_id`` unique (it makes ingestion idempotent);
* ``outcomes``    one row per decided lead: ``converted_at`` (with ``revenue``) or ``lost_at``.

Timestamps are timezone-aware UTC. Extra columns are allowed everywhere. Categorical columns
with an open vocabulary (``source``, ``industry``, ``channel``, ``action`` ...) must be non-empty
lower-case identifiers; a mapping file translates a CRM's own spellings onto them.

The schemas check one table at a time; rules that span tables (references, order of dates,
duplicates with conflicting content) live in :mod:`leadscore.data.validation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import pandera.polars as pa
import polars as pl

from leadscore.data.countries import ISO_COUNTRIES

__all__ = [
    "CANONICAL_TABLES",
    "COMPANY_INITIATED",
    "INITIATED_BY",
    "LEAD_INITIATED",
    "TIMESTAMP",
    "ColumnSpec",
    "TableSpec",
    "flat_schema",
    "table_schema",
    "table_spec",
    "timestamps",
]

TIMESTAMP: Final = pl.Datetime("us", "UTC")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
INITIATED_BY: Final = ("lead", "company")
LEAD_INITIATED: Final = "lead"
COMPANY_INITIATED: Final = "company"

_IDENTIFIER = r"^[a-z0-9][a-z0-9_\-]*$"


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its type, whether it must be present and filled, and its rules."""

    name: str
    dtype: pl.DataType
    required: bool = True
    nullable: bool = False
    unique: bool = False
    checks: tuple[pa.Check, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its name, its columns and its key (if any)."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: str | None

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(col.name for col in self.columns)

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(col.name for col in self.columns if col.required)


def _identifier(what: str) -> pa.Check:
    return pa.Check.str_matches(_IDENTIFIER, error=f"{what} is a lower-case identifier")


_LEADS = TableSpec(
    name="leads",
    key="lead_id",
    columns=(
        ColumnSpec("lead_id", pl.String(), unique=True, description="unique id of the lead"),
        ColumnSpec("created_at", TIMESTAMP, description="when the lead entered the CRM (UTC)"),
        ColumnSpec("source", pl.String(), checks=(_identifier("source"),)),
        ColumnSpec(
            "industry",
            pl.String(),
            required=False,
            nullable=True,
            checks=(_identifier("industry"),),
        ),
        ColumnSpec(
            "company_size",
            pl.Int64(),
            required=False,
            nullable=True,
            checks=(pa.Check.ge(1, error="company_size counts employees, at least 1"),),
        ),
        ColumnSpec(
            "country",
            pl.String(),
            required=False,
            nullable=True,
            checks=(pa.Check.isin(sorted(ISO_COUNTRIES), error="ISO 3166 alpha-2 code"),),
        ),
        ColumnSpec(
            "job_level",
            pl.String(),
            required=False,
            nullable=True,
            checks=(_identifier("job_level"),),
        ),
        ColumnSpec(
            "deal_value",
            pl.Float64(),
            required=False,
            nullable=True,
            checks=(pa.Check.ge(0, error="deal_value is at least 0"),),
        ),
        ColumnSpec(
            "owner", pl.String(), required=False, nullable=True, description="the sales rep"
        ),
    ),
)

_TOUCHPOINTS = TableSpec(
    name="touchpoints",
    key="event_id",
    columns=(
        ColumnSpec("event_id", pl.String(), unique=True, description="unique id of the event"),
        ColumnSpec("lead_id", pl.String()),
        ColumnSpec("timestamp", TIMESTAMP),
        ColumnSpec("channel", pl.String(), checks=(_identifier("channel"),)),
        ColumnSpec("action", pl.String(), checks=(_identifier("action"),)),
        ColumnSpec(
            "initiated_by",
            pl.String(),
            checks=(pa.Check.isin(list(INITIATED_BY), error="initiated_by is lead or company"),),
        ),
        ColumnSpec("campaign", pl.String(), required=False, nullable=True),
        ColumnSpec("value", pl.Float64(), required=False, nullable=True),
    ),
)

_OUTCOMES = TableSpec(
    name="outcomes",
    key=None,
    columns=(
        ColumnSpec("lead_id", pl.String()),
        ColumnSpec("converted_at", TIMESTAMP, nullable=True),
        ColumnSpec("lost_at", TIMESTAMP, nullable=True),
        ColumnSpec(
            "revenue",
            pl.Float64(),
            required=False,
            nullable=True,
            checks=(pa.Check.ge(0, error="revenue is at least 0"),),
        ),
    ),
)

CANONICAL_TABLES: Final[dict[str, TableSpec]] = {
    spec.name: spec for spec in (_LEADS, _TOUCHPOINTS, _OUTCOMES)
}


def timestamps(name: str, values: Sequence[datetime | None]) -> pl.Series:
    """A :data:`TIMESTAMP` series of datetimes (naive ones are taken as UTC).

    Built from integers: polars builds a time-zoned series from datetimes with a query,
    which costs more than scoring a lead.
    """
    micros = [None if value is None else _micros(value) for value in values]
    return pl.Series(name, micros, dtype=pl.Int64).cast(TIMESTAMP)


def _micros(value: datetime) -> int:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MICROSECOND


def table_spec(name: str) -> TableSpec:
    """The spec of canonical table ``name`` (leads, touchpoints or outcomes)."""
    try:
        return CANONICAL_TABLES[name]
    except KeyError:
        known = ", ".join(CANONICAL_TABLES)
        raise KeyError(f"unknown table {name!r}; the canonical tables are {known}") from None


def _one_outcome(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("converted_at").is_null() ^ pl.col("lost_at").is_null())


def table_schema(name: str) -> pa.DataFrameSchema:
    """The pandera schema of a canonical table, for frames already cast to canonical types."""
    spec = table_spec(name)
    columns = {
        col.name: pa.Column(
            col.dtype,
            checks=list(col.checks),
            nullable=col.nullable,
            unique=col.unique,
            required=col.required,
            description=col.description or None,
        )
        for col in spec.columns
    }
    checks: list[pa.Check] = []
    if name == "outcomes":
        checks.append(
            pa.Check(_one_outcome, error="exactly one of converted_at and lost_at is set")
        )
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=name)


def flat_schema(target: str, id_column: str | None = None) -> pa.DataFrameSchema:
    """The pandera schema of a flat lead table: a filled target and, if named, a unique id."""
    columns: dict[str, pa.Column] = {target: pa.Column(nullable=False, required=True)}
    if id_column is not None:
        columns[id_column] = pa.Column(nullable=False, unique=True, required=True)
    return pa.DataFrameSchema(columns, strict=False, name="flat")
