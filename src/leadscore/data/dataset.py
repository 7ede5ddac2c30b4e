"""The public entry points: validate a data source, load it as a Dataset, read one table.

All three read the same way: find the tables (:mod:`.sources`), open each lazily
(:mod:`.loaders`), check leads first and then the tables that reference them
(:mod:`.validation`). Only :func:`load_dataset` and :func:`read_table` collect the used rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

import polars as pl

from leadscore.data.loaders import guarded, open_table
from leadscore.data.mapping import CsvOptions, DataMapping, check_timezone, load_mapping
from leadscore.data.references import LEAD_KEYS, LeadReferences
from leadscore.data.report import (
    Notice,
    TableSummary,
    ValidationReport,
    empty_violations,
    table_violation,
)
from leadscore.data.schemas import CANONICAL_TABLES, table_spec
from leadscore.data.sources import masked, plan_sources
from leadscore.data.validation import STREAMING, Progress, TableResult, validate_table
from leadscore.errors import UsageError, ValidationFailed

__all__ = ["Dataset", "load_dataset", "read_table", "validate_path"]

_ORDER: Final = {name: index for index, name in enumerate(CANONICAL_TABLES)}


@dataclass(frozen=True, eq=False)
class Dataset:
    """The canonical tables with canonical column types (extra columns kept after them), and
    the report of their validation. Absent tables are empty frames."""

    leads: pl.DataFrame
    touchpoints: pl.DataFrame
    outcomes: pl.DataFrame
    report: ValidationReport


def _resolve_mapping(mapping: DataMapping | str | Path | None) -> DataMapping:
    if mapping is None:
        return DataMapping()
    if isinstance(mapping, DataMapping):
        return mapping
    return load_mapping(mapping)


def _empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema={c.name: c.dtype for c in table_spec(table).columns})


def _absent(name: str, location: str, mapping: DataMapping, required: bool) -> Notice | None:
    """The notice for a table that is not there, or None when that breaks the rules."""
    block = mapping.table(name)
    named = block.file is not None or block.table is not None or block.query is not None
    if required or named:
        return None
    return Notice(name, "missing_table", f"no {name} table in {location}; it is read as empty")


def _missing(name: str, location: str) -> pl.DataFrame:
    where = "database" if "://" in location else "folder"
    return table_violation(
        name,
        None,
        "missing_table",
        f"table {name} was not found in the {where} {location}; add it, or name its file, "
        f"table or query under {name}.file/.table/.query in the mapping file",
    )


def _lead_references(result: TableResult | None, location: str) -> LeadReferences:
    empty = pl.DataFrame(schema=LEAD_KEYS)
    if result is None:
        return LeadReferences(empty, "the leads table is missing")
    if result.all_rejected:
        return LeadReferences(empty, f"every row of leads is rejected ({location})")
    valid = guarded(
        location,
        lambda: result.used_rows().select(*LEAD_KEYS).collect(engine=STREAMING),
    )
    problem = None if valid.height else "leads has no valid row"
    return LeadReferences(valid, problem)


def _collect(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect(engine=STREAMING)


def _sorted(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    parts = [frame for frame in frames if frame.height]
    if not parts:
        return empty_violations()
    return (
        pl.concat(parts)
        .with_columns(pl.col("table").replace_strict(_ORDER, return_dtype=pl.Int64).alias("_order"))
        .sort(["_order", "row", "column"], nulls_last=False, maintain_order=True)
        .drop("_order")
    )


def _run(
    location: str | Path,
    mapping: DataMapping | str | Path | None,
    timezone: str | None,
    table: str | None,
    csv: CsvOptions | None,
    progress: Progress | None,
    collect_used: bool,
) -> tuple[ValidationReport, dict[str, pl.DataFrame]]:
    resolved = _resolve_mapping(mapping)
    if timezone is not None:
        try:
            check_timezone(timezone)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    plan = plan_sources(location, resolved, table)
    shown = masked(str(location))
    say = progress or (lambda _: None)
    summaries: dict[str, TableSummary] = {}
    violations: list[pl.DataFrame] = []
    notices: list[Notice] = []
    used: dict[str, pl.DataFrame] = {}
    references: LeadReferences | None = None
    with ExitStack() as stack:
        for name, source in plan.sources.items():
            reported = name in plan.report
            say(f"{name}: opening {source.location if source else shown}")
            raw = (
                None
                if source is None
                else open_table(source, resolved, csv=csv, timezone=timezone, stack=stack)
            )
            result = None
            if raw is not None:
                lead_refs = None if name == "leads" else references
                result = validate_table(raw, resolved.table(name).values, lead_refs, say)
                if reported:
                    summaries[name] = result.summary
                    violations.append(result.violations)
                    notices.extend(result.notices)
                if reported and collect_used:
                    say(f"{name}: collecting the used rows")
                    used[name] = guarded(raw.location, partial(_collect, result.used_rows()))
            elif reported:
                absent = _absent(name, shown, resolved, name in {"leads", table})
                if absent is None:
                    violations.append(_missing(name, shown))
                else:
                    notices.append(absent)
                summaries[name] = TableSummary(name, "", "row", 0, 0, 0)
                used[name] = _empty(name)
            if name == "leads" and not plan.standalone:
                references = _lead_references(result, source.location if source else "")
                if not reported:
                    message = (
                        f"references are checked against the {references.valid.height:,} "
                        "valid rows of leads (leads itself is not reported)"
                    )
                    notices.append(Notice("leads", "references", message))
    report = ValidationReport(summaries, _sorted(violations), tuple(notices))
    return report, used


def validate_path(
    location: str | Path,
    mapping: DataMapping | str | Path | None = None,
    timezone: str | None = None,
    *,
    table: str | None = None,
    csv: CsvOptions | None = None,
    progress: Progress | None = None,
) -> ValidationReport:
    """Check the tables at ``location`` (a folder, one file, or a SQLAlchemy URL) against the
    data contract and return the full report; nothing is raised for broken rules.

    ``mapping`` is a :class:`DataMapping` or the path of a mapping file; ``timezone`` (IANA)
    overrides the mapping's zone for naive timestamps; ``table`` restricts the check to one
    table; ``csv`` overrides the mapping's CSV options.
    """
    report, _ = _run(location, mapping, timezone, table, csv, progress, collect_used=False)
    return report


def load_dataset(
    location: str | Path,
    mapping: DataMapping | str | Path | None = None,
    timezone: str | None = None,
    *,
    strict: bool = True,
    csv: CsvOptions | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Validate and load the three canonical tables at ``location``.

    Raises :class:`~leadscore.errors.ValidationFailed` (carrying the report) when a rule is
    broken, unless ``strict`` is False: then only the used rows are returned.
    """
    report, used = _run(location, mapping, timezone, None, csv, progress, collect_used=True)
    if strict and not report.ok:
        raise ValidationFailed(
            f"{masked(str(location))}: {report.summary_line()}; run `leadscore validate` "
            "for the list, or load with strict=False to use only the valid rows",
            report,
        )
    return Dataset(
        leads=used.get("leads", _empty("leads")),
        touchpoints=used.get("touchpoints", _empty("touchpoints")),
        outcomes=used.get("outcomes", _empty("outcomes")),
        report=report,
    )


def read_table(
    location: str | Path,
    table: str | None = None,
    mapping: DataMapping | str | Path | None = None,
    timezone: str | None = None,
    *,
    strict: bool = True,
    csv: CsvOptions | None = None,
) -> pl.DataFrame:
    """Read one canonical table with canonical types: a file (``table`` defaults to its stem)
    or one table of a folder or database (then its references to leads are checked too).

    Raises :class:`~leadscore.errors.ValidationFailed` on broken rules unless ``strict`` is
    False, which returns only the used rows.
    """
    report, used = _run(location, mapping, timezone, table, csv, None, collect_used=True)
    if len(used) != 1:
        raise UsageError(
            f"{masked(str(location))} holds several tables; name the one to read with table="
        )
    if strict and not report.ok:
        raise ValidationFailed(f"{masked(str(location))}: {report.summary_line()}", report)
    (frame,) = used.values()
    return frame
