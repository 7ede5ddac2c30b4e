"""Duplicate rows: exact copies are dropped with a notice, conflicting copies are errors.

Rows are grouped by the table's unique key (``lead_id`` of leads, ``event_id`` of
touchpoints), or by their whole content when the table has no key (outcomes). Within a group of
two or more rows:

* all rows equal in every canonical column -> an *exact duplicate*: the first occurrence is
  used, the later ones are *deduplicated* (rejected, reported as notices, not violations);
* otherwise a *conflict*: every row of the group breaks the ``unique`` rule.

Values are compared after parsing (``2024-03-01T14:05Z`` equals ``2024-03-01 14:05:00+00:00``);
a value that failed to parse is compared by its raw text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl

from leadscore.data.rules import ROW, raw_name, type_flag

__all__ = [
    "GROUP",
    "SIGNATURE",
    "DuplicateResolution",
    "group_expr",
    "resolve_duplicates",
    "signature_expr",
]

GROUP: Final = "__ls_group"
SIGNATURE: Final = "__ls_signature"
_NULL: Final = "\x00"
_SEPARATOR: Final = "\x1f"


def signature_expr(canonical: Sequence[str]) -> pl.Expr:
    """One text per row that is equal exactly when the rows are equal in every canonical
    column (parsed values; raw text where parsing failed)."""
    parts = [
        pl.when(pl.col(type_flag(name)))
        .then(pl.format("{}{}", pl.lit(_NULL), pl.col(raw_name(name))))
        .otherwise(pl.col(name).cast(pl.String))
        .fill_null(_NULL)
        for name in canonical
    ]
    return pl.concat_str(parts, separator=_SEPARATOR)


def group_expr(key: str | None, canonical: Sequence[str]) -> pl.Expr:
    """The value rows are grouped by: the key, or the whole row when there is no key."""
    return pl.col(key) if key is not None else signature_expr(canonical)


@dataclass(frozen=True, eq=False)
class DuplicateResolution:
    """``deduplicated``: ``ROW`` and ``first`` (the row it copies); ``conflicts``: ``ROW``,
    ``GROUP`` and ``n`` (rows in the group)."""

    deduplicated: pl.DataFrame
    conflicts: pl.DataFrame


def resolve_duplicates(rows: pl.DataFrame) -> DuplicateResolution:
    """Decide exact vs conflicting for ``rows``: every row of the duplicated groups, with
    ``ROW``, ``GROUP`` and ``SIGNATURE`` (:func:`signature_expr`)."""
    if rows.height == 0:
        return DuplicateResolution(
            pl.DataFrame(schema={ROW: pl.Int64, "first": pl.Int64}),
            pl.DataFrame(schema={ROW: pl.Int64, GROUP: pl.String, "n": pl.UInt32}),
        )
    marked = rows.with_columns(
        pl.col(ROW).cast(pl.Int64),
        pl.col(SIGNATURE).n_unique().over(GROUP).alias("variants"),
        pl.len().over(GROUP).alias("n"),
        pl.col(ROW).cast(pl.Int64).min().over(GROUP).alias("first"),
    )
    exact = marked.filter(pl.col("variants") == 1)
    deduplicated = exact.filter(pl.col(ROW) != pl.col("first")).select(ROW, "first").sort(ROW)
    conflicts = (
        marked.filter(pl.col("variants") > 1)
        .select(ROW, pl.col(GROUP).cast(pl.String), pl.col("n").cast(pl.UInt32))
        .sort(ROW)
    )
    return DuplicateResolution(deduplicated, conflicts)
