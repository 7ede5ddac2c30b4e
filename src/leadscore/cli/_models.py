"""Options shared by the commands that read data or a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer

__all__ = ["DEFAULT_PIPELINE", "DataOption", "ModelOption", "PipelineOption", "pipeline_path"]

DEFAULT_PIPELINE: Final = Path("pipelines/propensity.yaml")

DataOption = Annotated[
    str,
    typer.Option(
        "--data",
        "-d",
        help="A folder with leads/touchpoints/outcomes files (as `leadscore generate` writes), "
        "or a SQLAlchemy URL.",
    ),
]
ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        help="'champion', a run id, or an MLflow model URI "
        "(models:/leadscore-propensity/3, runs:/RUN_ID/model).",
    ),
]
PipelineOption = Annotated[
    Path | None,
    typer.Option(
        "--pipeline",
        "-p",
        help="Pipeline file (default: pipelines/propensity.yaml when present, else built-in).",
    ),
]


def pipeline_path(given: Path | None) -> Path | None:
    """The pipeline file to read: the given one, else the project's default when it exists."""
    if given is not None:
        return given
    return DEFAULT_PIPELINE if DEFAULT_PIPELINE.is_file() else None
