"""``leadscore score``: probability, score, grade, trend and reasons for every open lead."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli._models import DataOption, ModelOption, PipelineOption, pipeline_path
from leadscore.cli._output import errors_to_exit, print_json, stderr
from leadscore.cluster import parse_dask, score_location_on_cluster
from leadscore.errors import UsageError
from leadscore.scoring.export import FORMATS, check_output, write_scores
from leadscore.scoring.workflow import score_location
from leadscore.settings import Settings, get_settings
from leadscore.training.config import load_pipeline
from leadscore.training.next_touchpoint_tracking import (
    NEXT_TOUCHPOINT_MODEL_NAME,
    LoadedNextTouchpoint,
    load_next_touchpoint,
)
from leadscore.training.registry import champion_version
from leadscore.training.tracking import load_propensity

__all__ = ["command", "parse_as_of", "recommender_model"]


def parse_as_of(text: str | None, flag: str = "--as-of") -> datetime | None:
    """An ISO 8601 date or time; without an offset it is read as UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"{flag} must be an ISO 8601 date or time such as 2025-10-01 or "
            f"2025-10-01T08:00:00+02:00; got {text!r}."
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def recommender_model(reference: str, settings: Settings) -> LoadedNextTouchpoint | None:
    """The next-touchpoint model ``--next-touchpoint`` names: ``none``; ``auto`` for the
    champion when one exists; else the reference."""
    if reference == "none":
        return None
    if reference == "auto":
        if champion_version(settings, NEXT_TOUCHPOINT_MODEL_NAME) is None:
            return None
        reference = "champion"
    return load_next_touchpoint(reference, settings)


def _score_on_dask(
    dask: str,
    data: str,
    out: Path,
    model: str,
    when: datetime | None,
    pipeline: Path | None,
    json_output: bool,
) -> None:
    """``score --dask``: every open lead scored on the cluster into a folder of Parquet parts."""
    parse_dask(dask)  # a bad value is reported before the model is loaded
    config = load_pipeline(pipeline_path(pipeline)).scoring
    with stderr.status("loading the model …"):
        loaded = load_propensity(model, get_settings())
    with stderr.status("scoring open leads on the cluster …"):
        result = score_location_on_cluster(dask, loaded.model, data, config, out, as_of=when)
    summary = {"model_uri": loaded.uri, **result}
    if json_output:
        print_json(summary)
    else:
        stderr.print(
            f"scored {result['leads']:,} open leads with {loaded.uri} -> {result['out']}",
            highlight=False,
        )


def command(
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", "-o", help=f"Output file: {', '.join(FORMATS)}.")],
    model: ModelOption = "champion",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Score as of this time (default: the end of the data)."),
    ] = None,
    pipeline: PipelineOption = None,
    next_touchpoint: Annotated[
        str,
        typer.Option(
            "--next-touchpoint",
            help="Next-touchpoint model for the recommendation columns: 'auto' (its champion "
            "when there is one), 'none', or a reference (run id, models:/"
            "leadscore-next-touchpoint/VERSION).",
        ),
    ] = "auto",
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary on stdout.")
    ] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Score on Dask (a scheduler address or local[:WORKERS]); --out is then a "
            "folder of Parquet parts.",
        ),
    ] = None,
) -> None:
    """Score every open lead: probability, score 0-100, grade, trend, expected revenue, reasons
    and, when a next-touchpoint model is there, the next-best touchpoints."""
    with errors_to_exit():
        when = parse_as_of(as_of)
        if dask is not None:
            _score_on_dask(dask, data, out, model, when, pipeline, json_output)
            return
        check_output(out)
        config = load_pipeline(pipeline_path(pipeline)).scoring
        with stderr.status("loading the model …"):
            loaded = load_propensity(model, get_settings())
            recommender = recommender_model(next_touchpoint, get_settings())
        with stderr.status("scoring open leads …"):
            scores = score_location(
                loaded.model,
                data,
                config,
                as_of=when,
                next_touchpoint=recommender.trained if recommender else None,
            )
        path = write_scores(scores, out)
    grades = scores["grade"].value_counts().sort("grade")
    summary = {
        "model_uri": loaded.uri,
        "next_touchpoint_model_uri": recommender.uri if recommender else None,
        "leads": scores.height,
        "as_of": scores["as_of"][0].isoformat() if scores.height else None,
        "grades": dict(zip(grades["grade"].to_list(), grades["count"].to_list(), strict=True)),
        "out": str(path),
    }
    if json_output:
        print_json(summary)
    else:
        stderr.print(
            f"scored {scores.height:,} open leads with {loaded.uri} -> {path}", highlight=False
        )
