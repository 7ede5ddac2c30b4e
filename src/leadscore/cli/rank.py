"""``leadscore rank``: the ranked list of open leads for sales, as CSV or Excel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli._models import DataOption, ModelOption, PipelineOption, pipeline_path
from leadscore.cli._output import errors_to_exit, print_json, stderr
from leadscore.cli.score import parse_as_of
from leadscore.scoring.export import FORMATS, check_output, write_scores
from leadscore.scoring.workflow import rank_location
from leadscore.settings import get_settings
from leadscore.training.config import load_pipeline
from leadscore.training.tracking import load_propensity

__all__ = ["command"]

_SHOWN = 10


def command(
    data: DataOption,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help=f"Output file: {', '.join(FORMATS)} (.xlsx for Excel)."),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only this sales rep's leads.")] = None,
    grade: Annotated[
        list[str] | None, typer.Option(help="Only leads of this grade (repeatable).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many leads.")] = None,
    model: ModelOption = "champion",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Rank as of this time (default: end of data).")
    ] = None,
    pipeline: PipelineOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the ranked leads as JSON on stdout.")
    ] = False,
) -> None:
    """Rank open leads by probability to buy, best first, with grade and reasons."""
    with errors_to_exit():
        when = parse_as_of(as_of)
        if out is not None:
            check_output(out)
        config = load_pipeline(pipeline_path(pipeline)).scoring
        with stderr.status("loading the model …"):
            loaded = load_propensity(model, get_settings())
        with stderr.status("ranking open leads …"):
            ranked = rank_location(
                loaded.model,
                data,
                config,
                as_of=when,
                owner=owner,
                grades=tuple(grade or ()),
                limit=limit,
            )
        path = write_scores(ranked, out) if out is not None else None
    if json_output:
        print_json(ranked.to_dicts())
        return
    table = Table(title=f"Top {min(_SHOWN, ranked.height)} of {ranked.height:,} open leads")
    for header in ("rank", "lead", "grade", "score", "trend", "owner", "why"):
        table.add_column(header, overflow="fold")
    for row in ranked.head(_SHOWN).iter_rows(named=True):
        trend = row["trend"]
        table.add_row(
            str(row["rank"]),
            row["lead_id"],
            row["grade"],
            str(row["score"]),
            "" if trend is None else f"{trend:+d}",
            row.get("owner") or "",
            "; ".join(row.get("reasons") or []),
        )
    Console().print(table)
    if path is not None:
        stderr.print(f"wrote {ranked.height:,} leads -> {path}", highlight=False)
