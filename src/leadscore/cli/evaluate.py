"""``leadscore evaluate``: the quality of any model on any data, against the oracle if known."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leadscore.cli._models import DataOption, ModelOption, PipelineOption, pipeline_path
from leadscore.cli._next_touchpoint import render_policy
from leadscore.cli._output import errors_to_exit, print_json
from leadscore.cli._progress import steps
from leadscore.cli.score import parse_as_of
from leadscore.cli.train import render_quality
from leadscore.settings import get_settings
from leadscore.training.config import load_pipeline, pipeline_kind
from leadscore.training.next_touchpoint_tracking import NEXT_TOUCHPOINT_MODEL_NAME, run_kind
from leadscore.training.next_touchpoint_workflow import evaluate_next_touchpoint_location
from leadscore.training.workflow import evaluate_location

__all__ = ["command"]


def _next_touchpoint(model: str, pipeline: Path | None) -> bool:
    """Whether ``model`` names a next-touchpoint model: by its registered name, by the
    pipeline's kind, or (a run id) by the run's tag."""
    if NEXT_TOUCHPOINT_MODEL_NAME in model:
        return True
    if pipeline_kind(pipeline) == "next-touchpoint":
        return True
    run = re.fullmatch(r"(?:runs:/)?([0-9a-f]{32})(?:/model)?", model.strip())
    return run is not None and run_kind(run.group(1), get_settings()) == "next-touchpoint"


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
    """Assess a model on the labelled snapshots of some data: the same figures as `train`.

    A next-touchpoint model (`--pipeline pipelines/next-touchpoint.yaml`, a
    `models:/leadscore-next-touchpoint/...` reference or its run id) is assessed on the
    decision points from `--since` on (default: its training run's test period): policy
    values against the truth on simulated data, off-policy estimates from the logged data.
    """
    with errors_to_exit():
        start = parse_as_of(since, "--since")
        if _next_touchpoint(model, pipeline_path(pipeline)):
            with steps("evaluating", enabled=not json_output) as progress:
                summary = evaluate_next_touchpoint_location(
                    model, data, settings=get_settings(), since=start, progress=progress
                )
            if json_output:
                print_json(summary)
            else:
                render_policy(summary, Console())
            return
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
