"""``leadscore validate``: check tables against the data contract and list every violation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from leadscore.cli._output import EXIT_CHECK_FAILED, EXIT_OK, errors_to_exit, print_json, stderr
from leadscore.data import CsvOptions, ValidationReport, load_mapping, validate_path
from leadscore.errors import ConfigError, UsageError

__all__ = ["SHOWN_VIOLATIONS", "command", "render_report"]

SHOWN_VIOLATIONS: Final = 50
_SHOWN_NOTICES: Final = 20


def _csv_options(delimiter: str | None, encoding: str | None, decimal: str | None) -> CsvOptions:
    try:
        return CsvOptions.model_validate(
            {"delimiter": delimiter, "encoding": encoding, "decimal": decimal}
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"--{error['loc'][0]}: {str(error['msg']).removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise UsageError(problems) from exc


def render_report(report: ValidationReport, console: Console) -> None:
    """The human form: the first violations, the notices, and a summary per table."""
    kinds = {name: summary.row_kind for name, summary in report.tables.items()}
    if report.n_violations:
        table = Table(title="Violations", title_justify="left", show_lines=False)
        for header in ("table", "where", "column", "rule", "message"):
            table.add_column(header, overflow="fold")
        for violation in report.violation_records(SHOWN_VIOLATIONS):
            where = (
                "whole table"
                if violation.row is None
                else f"{kinds.get(violation.table, 'row')} {violation.row}"
            )
            table.add_row(
                violation.table, where, violation.column or "", violation.rule, violation.message
            )
        console.print(table)
        hidden = report.n_violations - SHOWN_VIOLATIONS
        if hidden > 0:
            console.print(f"… and {hidden:,} more; use --json for all", highlight=False)
    deduplicated = [notice for notice in report.notices if notice.kind == "deduplicated"]
    others = [notice for notice in report.notices if notice.kind != "deduplicated"]
    for notice in others[:_SHOWN_NOTICES]:
        console.print(f"[dim]note:[/] {notice.message}", highlight=False)
    if len(others) > _SHOWN_NOTICES:
        console.print(f"[dim]note:[/] … and {len(others) - _SHOWN_NOTICES} more notes")
    if deduplicated:
        console.print(
            f"[dim]note:[/] {len(deduplicated):,} exact duplicate row(s) dropped "
            "(the first occurrence is used); --json lists them",
            highlight=False,
        )
    summary = Table(title="Summary", title_justify="left")
    for header in ("table", "source", "read", "used", "rejected", "deduplicated"):
        summary.add_column(header, justify="left" if header in {"table", "source"} else "right")
    for name, counts in report.tables.items():
        summary.add_row(
            name,
            counts.source or "(missing)",
            f"{counts.rows_read:,}",
            f"{counts.rows_used:,}",
            f"{counts.rows_rejected:,}",
            f"{counts.rows_deduplicated:,}",
        )
    console.print(summary)
    if report.ok:
        console.print("[bold green]valid[/]: every rule holds", highlight=False)
    else:
        console.print(f"[bold red]invalid[/]: {report.summary_line()}", highlight=False)


def command(
    path: Annotated[
        str,
        typer.Argument(
            help="A folder with leads/touchpoints/outcomes files, one file, or a SQLAlchemy URL."
        ),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", "-m", help="YAML mapping of CRM column names and values."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(help="IANA zone of timestamps without offset (overrides the mapping)."),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(help="Check only this table: leads, touchpoints or outcomes."),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter, e.g. ',', ';' or tab (default: detect).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="CSV encoding, e.g. utf-8 or cp1252 (default: detect).")
    ] = None,
    decimal: Annotated[
        str | None,
        typer.Option(help="Decimal mark of CSV numbers, '.' or ',' (default: detect)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the full report as JSON on stdout.")
    ] = False,
) -> None:
    """Check data against the data contract and report every violation.

    Exit status: 0 when every rule holds, 1 when rows break rules, 2 on a usage error.
    """
    with errors_to_exit():
        try:
            csv = _csv_options(delimiter, encoding, decimal)
            loaded = load_mapping(mapping) if mapping is not None else None
            with stderr.status("validating …") as status:
                report = validate_path(
                    path, loaded, timezone, table=table, csv=csv, progress=status.update
                )
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
    if json_output:
        print_json(report.to_dict())
    else:
        render_report(report, Console())
    raise typer.Exit(EXIT_OK if report.ok else EXIT_CHECK_FAILED)
