"""``leadscore evaluate``: the quality of any model on any data, against the oracle if known."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from leadscore.cli._models import DataOption, ModelOption, PipelineOption, pipeline_path
from leadscore.cli._output import errors_to_exit, print_json
from leadscore.cli._progress import steps
from leadscore.cli.score import parse_as_of
from leadscore.cli.train import render_quality
from leadscore.settings import get_settings
from leadscore.training.config import load_pipeline
from leadscore.training.workflow import evaluate_location

__all__ = ["command"]


def command(
    data: DataOption,
    model: ModelOption = "champion",
    since: Annotated[
        str | None,
        typer.Option(help="Only snapshots from this date on (e.g. the test start of training)."),
    ] = None,
    pipeline: PipelineOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print metrics, baseline and oracle as JSON.")
    ] = False,
) -> None:
    """Assess a model on the labelled snapshots of some data: the same figures as `train`."""
    with errors_to_exit():
        start = parse_as_of(since, "--since")
        config = load_pipeline(pipeline_path(pipeline))
        with steps("evaluating", enabled=not json_output) as progress:
            summary = evaluate_location(
                model, data, settings=get_settings(), config=config, since=start, progress=progress
            )
    if json_output:
        print_json(summary)
        return
    console = Console()
    console.print(
        f"{summary['model_uri']} on {summary['rows']:,} snapshots "
        f"({summary['positives']:,} converted)",
        highlight=False,
    )
    render_quality(summary, console, title="Quality on these snapshots")
