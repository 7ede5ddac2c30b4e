"""Validating one table, streaming, materialising only what is to be reported.

The table is read lazily, in passes on the polars streaming engine:

1. count the rows; find the duplicated keys (for outcomes also the leads converted on one row
   and lost on another, :mod:`.references`);
2. cast and flag every rule (:mod:`.rules`, :mod:`.references`) and stream only the rows that
   break something or share a duplicated key into a temporary Parquet file, with the few
   columns reports need; :mod:`.duplicates` then decides exact or conflicting, and the
   violations are built from that file, one rule at a time;
3. only for CSV files with something to report, and only when the file has line breaks inside
   quoted fields: find those rows, to turn row positions into line numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final

import polars as pl

from leadscore.data.duplicates import (
    GROUP,
    SIGNATURE,
    DuplicateResolution,
    group_expr,
    resolve_duplicates,
    signature_expr,
)
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
)
from leadscore.data.schemas import table_spec

__all__ = ["STREAMING", "Progress", "TableResult", "validate_table"]

Progress = Callable[[str], None]
STREAMING: Final = "streaming"
_DUP: Final = "__ls_duplicate"
_IN_MEMORY_HITS: Final = 100_000  # fewer broken rows than this are handled in memory


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


def _collect_hits(
    frame: pl.LazyFrame, flags: list[RuleFlag], signature: pl.Expr, target: Path, location: str
) -> pl.LazyFrame:
    """Stream the rows that break a rule or share a duplicated key to the Parquet file
    ``target``, with only the columns the reports need, and scan it back lazily. Spilling to
    disk keeps memory flat even when every row of a large file is broken."""
    names = [flag.flag for flag in flags]
    needed = [n for f in flags for e in (f.value, f.message) for n in e.meta.root_names()]
    present = set(frame.collect_schema().names())
    extra = [EMPTY_ROW_FLAG] if EMPTY_ROW_FLAG in present else []
    columns = [c for c in dict.fromkeys([*names, *needed, *extra]) if c not in {ROW, GROUP, _DUP}]
    query = frame.filter(pl.any_horizontal(*names, _DUP)).select(
        pl.col(ROW).cast(pl.Int64),
        pl.col(_DUP),
        pl.col(GROUP).cast(pl.String),
        pl.when(pl.col(_DUP)).then(signature).alias(SIGNATURE),
        *columns,
    )
    guarded(location, lambda: query.sink_parquet(target, engine=STREAMING))
    hits = pl.scan_parquet(target)
    if hits.select(pl.len()).collect().item() <= _IN_MEMORY_HITS:
        return hits.collect().lazy()
    return hits


def _materialise(
    table: str, hits: pl.LazyFrame, flags: list[RuleFlag], skip: pl.Series
) -> pl.DataFrame:
    """One violation per broken flag of each hit row, leaving out the rows in ``skip``; an
    empty row only reports that it is empty. Messages are built for broken rows only."""
    has_empty = EMPTY_ROW_FLAG in hits.collect_schema().names()
    keep = ~pl.col(ROW).is_in(skip.implode())
    parts = []
    for flag in flags:
        broken = pl.col(flag.flag) & keep
        if flag.rule != EMPTY_ROW and has_empty:
            broken = broken & ~pl.col(EMPTY_ROW_FLAG)
        parts.append(
            hits.filter(broken).select(
                pl.lit(table).alias("table"),
                pl.col(ROW).alias("row"),
                pl.lit(flag.column, dtype=pl.String).alias("column"),
                pl.lit(flag.rule).alias("rule"),
                flag.value.cast(pl.String).alias("value"),
                flag.message.cast(pl.String).alias("message"),
            )
        )
    if not parts:
        return empty_violations()
    return pl.concat(parts).collect()


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
    numbers = pl.DataFrame({"row": positions, "number": row_numbers(raw, positions, rows_read)})
    numbered = (
        violations.join(numbers, on="row", how="left", maintain_order="left")
        .with_columns(pl.col("number").alias("row"))
        .drop("number")
    )
    first = (
        deduplicated.join(numbers, left_on="first", right_on="row")
        .join(numbers, left_on=ROW, right_on="row", suffix="_self")
        .sort(ROW)
    )
    notices = [
        Notice(
            raw.table,
            "deduplicated",
            f"exact duplicate of {raw.row_kind} {of}; the first one is used",
            row=line,
        )
        for of, line in first.select("number", "number_self").iter_rows()
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
    signature = signature_expr(checked.canonical) if dedupe else pl.lit(None, dtype=pl.String)
    with TemporaryDirectory(prefix="leadscore-hits-") as folder:
        hits = _collect_hits(frame, flags, signature, Path(folder) / "hits.parquet", location)
        members = hits.filter(pl.col(_DUP)).select(ROW, GROUP, SIGNATURE).collect()
        resolution = resolve_duplicates(members)
        deduplicated = resolution.deduplicated
        violations = _materialise(table, hits, flags, deduplicated[ROW])
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
