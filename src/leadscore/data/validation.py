"""Validating one table, streaming, materialising only what is to be reported.

Three lazy passes over the table run on the polars streaming engine:

1. count the rows and find the duplicated keys (for outcomes also the leads converted on one
   row and lost on another, :mod:`.references`);
2. cast and flag every rule (:mod:`.rules`, :mod:`.references`) and collect only the rows that
   break something or share a duplicated key (:mod:`.duplicates` decides exact or conflicting);
3. only for CSV files with something to report, and only when the file has line breaks inside
   quoted fields: find those rows, to turn row positions into line numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import polars as pl

from leadscore.data.duplicates import GROUP, DuplicateResolution, group_expr, resolve_duplicates
from leadscore.data.loaders import RawTable, guarded, row_numbers
from leadscore.data.references import (
    LeadReferences,
    converted_and_lost,
    flag_converted_and_lost,
    reference_flags,
)
from leadscore.data.report import Notice, TableSummary, empty_violations, table_violation
from leadscore.data.rules import (
    EMPTY_ROW,
    EMPTY_ROW_FLAG,
    ROW,
    CheckedFrame,
    RuleFlag,
    check_rows,
    raw_name,
)
from leadscore.data.schemas import table_spec

__all__ = ["STREAMING", "Progress", "TableResult", "validate_table"]

Progress = Callable[[str], None]
STREAMING: Final = "streaming"
_DUP: Final = "__ls_duplicate"


@dataclass(frozen=True, eq=False)
class TableResult:
    """The outcome of one table: summary, violations, notices and the rejected positions."""

    summary: TableSummary
    violations: pl.DataFrame
    notices: tuple[Notice, ...]
    checked: CheckedFrame
    rejected: pl.Series
    all_rejected: bool

    def used_rows(self) -> pl.LazyFrame:
        """The rows that passed: canonical columns in contract order (absent optional ones as
        nulls), then the extra columns."""
        spec = table_spec(self.summary.table)
        frame = self.checked.frame
        if self.all_rejected:
            frame = frame.head(0)
        elif self.rejected.len():
            frame = frame.filter(~pl.col(ROW).cast(pl.Int64).is_in(self.rejected.implode()))
        present = self.checked.canonical
        columns = [
            pl.col(c.name) if c.name in present else pl.lit(None, c.dtype).alias(c.name)
            for c in spec.columns
            if c.name in present or not c.required
        ]
        return frame.select(*columns, *self.checked.extras)


def _materialise(table: str, hits: pl.DataFrame, flags: list[RuleFlag]) -> pl.DataFrame:
    """One violation per broken flag of each row; an empty row only reports that."""
    parts = []
    for flag in flags:
        keep = pl.col(flag.flag)
        if flag.rule != EMPTY_ROW and EMPTY_ROW_FLAG in hits.columns:
            keep = keep & ~pl.col(EMPTY_ROW_FLAG)
        parts.append(
            hits.filter(keep).select(
                pl.lit(table).alias("table"),
                pl.col(ROW).cast(pl.Int64).alias("row"),
                pl.lit(flag.column, dtype=pl.String).alias("column"),
                pl.lit(flag.rule).alias("rule"),
                flag.value.cast(pl.String).alias("value"),
                flag.message.cast(pl.String).alias("message"),
            )
        )
    return pl.concat(parts) if parts else empty_violations()


def _conflicts(table: str, key: str, resolution: DuplicateResolution) -> pl.DataFrame:
    return resolution.conflicts.select(
        pl.lit(table).alias("table"),
        pl.col(ROW).alias("row"),
        pl.lit(key).alias("column"),
        pl.lit("unique").alias("rule"),
        pl.col(GROUP).alias("value"),
        pl.format(
            f"{key} '{{}}' is on {{}} rows with different content; {key} must be unique",
            pl.col(GROUP),
            pl.col("n"),
        ).alias("message"),
    )


def _duplicated(frame: pl.LazyFrame, group: pl.Expr, location: str) -> pl.Series:
    query = (
        frame.select(group.alias(GROUP))
        .drop_nulls()
        .group_by(GROUP)
        .len()
        .filter(pl.col("len") > 1)
        .select(GROUP)
    )
    return guarded(location, lambda: query.collect(engine=STREAMING))[GROUP]


def _number(
    raw: RawTable, violations: pl.DataFrame, deduplicated: pl.DataFrame, rows_read: int
) -> tuple[pl.DataFrame, list[Notice]]:
    """Violations with report row numbers, and one notice per deduplicated row."""
    positions = pl.concat([violations["row"], deduplicated[ROW], deduplicated["first"]])
    positions = positions.unique().sort()
    if positions.len() == 0:
        return violations, []
    numbers = dict(
        zip(positions.to_list(), row_numbers(raw, positions, rows_read).to_list(), strict=True)
    )
    numbered = violations.with_columns(pl.col("row").replace_strict(numbers, return_dtype=pl.Int64))
    notices = [
        Notice(
            raw.table,
            "deduplicated",
            f"exact duplicate of {raw.row_kind} {numbers[first]}; the first one is used",
            row=numbers[position],
        )
        for position, first in deduplicated.iter_rows()
    ]
    return numbered, notices


def validate_table(
    raw: RawTable,
    values: Mapping[str, Mapping[str, str | None]],
    references: LeadReferences | None,
    progress: Progress | None = None,
) -> TableResult:
    """Check every rule of ``raw``'s table. ``references`` are the valid leads; None means the
    table stands alone and rules between tables are not checked."""
    table, location = raw.table, raw.location
    say = progress or (lambda _: None)
    checked = check_rows(raw.frame, table, raw.options, values)
    frame, flags, notices = checked.frame, list(checked.flags), list(raw.notices)
    table_level = [
        table_violation(
            table,
            column,
            "missing_column",
            f"required column {column!r} is missing from {location}; add it, or map a column "
            f"onto it under {table}.columns in the mapping file",
        )
        for column in checked.missing
    ]

    no_valid_leads: str | None = None
    refers = table != "leads" and "lead_id" in checked.canonical
    if references is None and table != "leads":
        message = f"{table} is checked on its own: references to leads are not checked"
        notices.append(Notice(table, "references_not_checked", message))
    elif references is not None and refers and references.valid.height == 0:
        no_valid_leads = references.problem or "no lead is valid"
    elif references is not None and refers:
        frame, more = reference_flags(checked, references)
        flags += more

    say(f"{table}: counting rows and duplicates")
    rows_read = int(guarded(location, lambda: frame.select(pl.len()).collect()).item())
    spec = table_spec(table)
    key = spec.key if spec.key in checked.canonical else None
    dedupe = key is not None or (spec.key is None and not checked.missing)
    group = group_expr(key, checked.canonical) if dedupe else pl.lit(None, dtype=pl.String)
    duplicated = _duplicated(frame, group, location) if dedupe else pl.Series([], dtype=pl.String)
    frame = frame.with_columns(
        group.alias(GROUP), group.is_in(duplicated.implode()).fill_null(False).alias(_DUP)
    )
    if table == "outcomes" and references is not None and not checked.missing:
        query, flag = converted_and_lost(frame)
        both = guarded(location, lambda: query.collect(engine=STREAMING))["lead_id"]
        frame = flag_converted_and_lost(frame, both)
        flags.append(flag)

    say(f"{table}: checking {rows_read:,} rows")
    names = [flag.flag for flag in flags]
    wanted = [ROW, GROUP, _DUP, *names, *checked.canonical]
    wanted += [raw_name(name) for name in checked.canonical]
    wanted += [n for f in flags for e in (f.value, f.message) for n in e.meta.root_names()]
    query = frame.filter(pl.any_horizontal(*names, _DUP)).select(list(dict.fromkeys(wanted)))
    hits = guarded(location, lambda: query.collect(engine=STREAMING))
    hits = hits.with_columns(pl.col(ROW).cast(pl.Int64))

    resolution = resolve_duplicates(hits.filter(pl.col(_DUP)), checked.canonical)
    deduplicated = resolution.deduplicated
    hits = hits.filter(~pl.col(ROW).is_in(deduplicated[ROW].implode()))
    violations = _materialise(table, hits, flags)
    if key is not None and resolution.conflicts.height:
        violations = pl.concat([violations, _conflicts(table, key, resolution)])
    rejected = pl.concat([violations["row"], deduplicated[ROW]]).unique().sort()
    if violations.height or deduplicated.height:
        say(f"{table}: numbering the rows to report")
    violations, dedup_notices = _number(raw, violations, deduplicated, rows_read)
    notices += dedup_notices

    if no_valid_leads is not None and rows_read:
        message = f"no {table} row can reference a valid lead: {no_valid_leads}"
        table_level.append(table_violation(table, "lead_id", "known_lead", message))
    all_rejected = bool(table_level)
    summary = TableSummary(
        table=table,
        source=location,
        row_kind=raw.row_kind,
        rows_read=rows_read,
        rows_rejected=rows_read if all_rejected else rejected.len(),
        rows_deduplicated=deduplicated.height,
    )
    violations = pl.concat([*table_level, violations])
    return TableResult(summary, violations, tuple(notices), checked, rejected, all_rejected)
