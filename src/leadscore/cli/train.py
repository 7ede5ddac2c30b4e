"""``leadscore train``: train, assess and track a propensity model (event data or a flat table)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli._models import DataOption, PipelineOption, pipeline_path
from leadscore.cli._next_touchpoint import render_campaign, render_policy
from leadscore.cli._output import errors_to_exit, print_json, stderr
from leadscore.cli._progress import steps
from leadscore.cluster import train_location_on_cluster
from leadscore.errors import UsageError
from leadscore.settings import get_settings
from leadscore.training.campaign import CampaignOptions
from leadscore.training.config import load_pipeline, pipeline_kind
from leadscore.training.next_touchpoint_config import load_next_touchpoint_pipeline
from leadscore.training.next_touchpoint_workflow import (
    train_campaign_location,
    train_next_touchpoint_location,
)
from leadscore.training.workflow import FlatOptions, train_location, train_summary

__all__ = ["command", "render_quality"]

_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_at_10")


def render_quality(
    summary: dict[str, Any], console: Console, title: str = "Quality on the test set"
) -> None:
    """Model against baseline (and the oracle when known), the verdict and the checks."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column("baseline", justify="right")
    oracle = summary.get("oracle") or {}
    if oracle:
        table.add_column("oracle", justify="right")
    for name in _METRICS:
        row = [name, f"{summary['metrics'][name]:.4f}", f"{summary['baseline'][name]:.4f}"]
        if oracle:
            row.append(f"{oracle[name]:.4f}" if name in oracle else "")
        table.add_row(*row)
    console.print(table)
    verdict = summary["readiness"]
    colour = {"ready": "green", "usable": "yellow"}.get(verdict["level"], "red")
    console.print(f"[bold {colour}]{verdict['level']}[/]: {verdict['reason']}", highlight=False)
    for warning in verdict["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for suspect in summary.get("suspected_leakage", []):
        state = "kept (--keep-column)" if suspect["kept"] else "excluded"
        console.print(
            f"[yellow]suspected leakage[/] {suspect['column']} ({suspect['rule']} "
            f"{suspect['figure']}): {state}. {suspect['detail']}",
            highlight=False,
        )
    for note in summary.get("columns", []):
        if note["action"] != "transformed":
            console.print(f"[dim]note:[/] {note['column']}: {note['detail']}", highlight=False)


def _train_next_touchpoint(
    data: str, pipeline: Path | None, flat: FlatOptions | None, json_output: bool
) -> None:
    """``train --pipeline`` of a next-touchpoint pipeline: decision points from event data."""
    if flat is not None:
        raise UsageError(
            "A next-touchpoint pipeline trains on event data (leads, touchpoints, outcomes); "
            "for a flat campaign table give --treatment COLUMN --control VALUE --target COLUMN."
        )
    config = load_next_touchpoint_pipeline(pipeline)
    with steps("training", enabled=not json_output) as progress:
        summary, record = train_next_touchpoint_location(
            data, config, settings=get_settings(), progress=progress
        )
    if json_output:
        print_json(summary)
        return
    render_policy(summary, Console())
    stderr.print(
        f"run {record.run_id} -> {record.model_uri}\n"
        f"promote it with: leadscore promote {record.run_id}",
        highlight=False,
    )


def _campaign_options(
    treatment: str | None,
    control: str | None,
    randomized: bool,
    flat: FlatOptions | None,
    others: Mapping[str, object],
) -> CampaignOptions | None:
    """The campaign options when ``--treatment`` (or ``--control``/``--randomized``) is given."""
    if treatment is None and control is None and not randomized:
        return None
    if treatment is None or control is None or flat is None:
        raise UsageError(
            "A campaign test needs --treatment COLUMN --control VALUE --target COLUMN together."
        )
    given = [name for name, value in others.items() if value]
    if given:
        raise UsageError(f"{', '.join(given)}: not available for a campaign table (--treatment).")
    return CampaignOptions(
        treatment,
        control,
        flat.target,
        id_column=flat.id_column,
        positive=flat.positive,
        exclude=flat.exclude,
        randomized=randomized,
    )


def _train_campaign(
    data: str, pipeline: Path | None, campaign: CampaignOptions, json_output: bool
) -> None:
    """``train --treatment``: a campaign model from a flat A/B table."""
    if pipeline_kind(pipeline) != "next-touchpoint":
        raise UsageError(
            "A campaign table (--treatment) trains with a next-touchpoint pipeline; give "
            "--pipeline pipelines/next-touchpoint.yaml."
        )
    config = load_next_touchpoint_pipeline(pipeline)
    with steps("training", enabled=not json_output) as progress:
        summary, record = train_campaign_location(
            data, config, campaign, settings=get_settings(), progress=progress
        )
    if json_output:
        print_json(summary)
        return
    render_campaign(summary, Console())
    stderr.print(f"run {record.run_id} -> {record.model_uri}", highlight=False)


def command(
    data: DataOption,
    pipeline: PipelineOption = None,
    target: Annotated[
        str | None,
        typer.Option(help="Flat lead table: the column that says whether the lead converted."),
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Flat table: the lead id column (default: row).")
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(help="Flat table: the target value meaning 'converted' (default: inferred)."),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Flat table: leave this column out (repeatable)."),
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option(help="Flat table: split by this date column instead of at random."),
    ] = None,
    keep_column: Annotated[
        list[str] | None,
        typer.Option(help="Keep this column although it is suspected of leakage (repeatable)."),
    ] = None,
    treatment: Annotated[
        str | None,
        typer.Option(help="Campaign table: the column naming the arm each customer got."),
    ] = None,
    control: Annotated[
        str | None, typer.Option(help="Campaign table: the treatment value of the control arm.")
    ] = None,
    randomized: Annotated[
        bool,
        typer.Option(
            "--randomized",
            help="Campaign table: arms were assigned at random (known propensity).",
        ),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the run, metrics and checks as JSON.")
    ] = False,
    dask: Annotated[
        str | None,
        typer.Option("--dask", help="Train on Dask: a scheduler address or local[:WORKERS]."),
    ] = None,
) -> None:
    """Train the propensity model, compare it with the baseline (and the oracle on simulated
    data), check for leakage, and log the run and model to MLflow."""
    flat_only = {"--id": id_column, "--positive": positive, "--time-column": time_column}
    with errors_to_exit():
        if target is None:
            given = [name for name, value in flat_only.items() if value is not None]
            if given or exclude:
                raise UsageError(
                    f"{', '.join(given or ['--exclude'])}: these options apply only to a flat "
                    "lead table; "
                    "give --target COLUMN too."
                )
        flat = (
            FlatOptions(
                target,
                id_column=id_column,
                positive=positive,
                exclude=exclude or (),
                time_column=time_column,
            )
            if target is not None
            else None
        )
        others = {"--time-column": time_column, "--keep-column": keep_column, "--dask": dask}
        campaign = _campaign_options(treatment, control, randomized, flat, others)
        if campaign is not None:
            _train_campaign(data, pipeline_path(pipeline), campaign, json_output)
            return
        if pipeline_kind(pipeline_path(pipeline)) == "next-touchpoint":
            _train_next_touchpoint(data, pipeline_path(pipeline), flat, json_output)
            return
        config = load_pipeline(pipeline_path(pipeline))
        if dask is not None:
            if flat is not None:
                raise UsageError("--dask trains on event data; a flat table (--target) does not.")
            with steps("training", enabled=not json_output) as progress:
                result, record = train_location_on_cluster(
                    dask,
                    data,
                    config,
                    settings=get_settings(),
                    keep_columns=tuple(keep_column or ()),
                    progress=progress,
                )
        else:
            with steps("training", enabled=not json_output) as progress:
                result, record = train_location(
                    data,
                    config,
                    settings=get_settings(),
                    flat=flat,
                    keep_columns=keep_column or (),
                    progress=progress,
                )
    summary = train_summary(result, record)
    if json_output:
        print_json(summary)
        return
    render_quality(summary, Console())
    stderr.print(
        f"run {record.run_id} -> {record.model_uri}\n"
        f"promote it with: leadscore promote {record.run_id}",
        highlight=False,
    )
