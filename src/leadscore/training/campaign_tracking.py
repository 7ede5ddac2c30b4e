"""Tracking campaign models (flat A/B tables) in MLflow, beside the next-touchpoint runs.

A campaign run is logged to the next-touchpoint pipeline's experiment with the tag
``leadscore.model = campaign``: the flattened configuration, the campaign's columns and the
split as parameters; every number of the summary as a metric (``holdout_<arm>_qini_
coefficient_model``, ``holdout_<arm>_uplift_at_k_10_model`` …); ``pipeline.yaml``,
``evaluation.json``, ``features.json``, ``test_rows.parquet`` and ``plots/qini_curves.png``;
the model as the pyfunc ``model``, registered as a new version of
``leadscore-next-touchpoint`` (version tag ``leadscore.model = campaign``).

The pyfunc takes the prepared columns of customers (``features.json``: numbers as numbers,
categories as text) and returns, per arm as spelled in the table (the control included),
``probability_<arm>``, ``uplift_<arm>`` and ``uncertainty_<arm>``. A campaign model cannot be
the recommender of ``leadscore score`` nor the next-touchpoint champion: it scores flat
tables, not the state of leads built from event data.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import tempfile
from pathlib import Path
from typing import Any, Final

import pandas as pd
import polars as pl
import yaml

from leadscore import __version__
from leadscore.evaluation.uplift_plots import qini_curve_plot
from leadscore.settings import Settings
from leadscore.training.campaign import TrainedCampaign
from leadscore.training.campaign_assessment import CampaignAssessment
from leadscore.training.next_touchpoint import FORMAT_VERSION
from leadscore.training.next_touchpoint_tracking import (
    _flatten,
    _metrics,
    _prediction_frame,
    log_uplift_run,
    read_model_folder,
    write_model_folder,
)
from leadscore.training.tracking import (
    MODEL_NAME,
    RunRecord,
    _requirements,
    quiet_mlflow,
)

__all__ = [
    "CAMPAIGN_TAG",
    "is_campaign_model",
    "log_campaign_run",
    "predict_campaign",
    "read_campaign_model",
]

CAMPAIGN_TAG: Final = ("leadscore.model", "campaign")
"""The run and model-version tag that marks a campaign model."""

_ARTIFACT_KEY: Final = "campaign_model"
_PICKLE: Final = "model.pkl"
_VERSIONS: Final = "versions.json"
_TEST: Final = "test_rows.parquet"
_METRIC_NAME: Final = re.compile(r"[^\w\-. /]")
_ENTRY_POINT: Final = '''"""Loads a leadscore campaign model for MLflow."""

from mlflow.models import set_model

from leadscore.training.campaign_tracking import CampaignPyfunc

set_model(CampaignPyfunc())
'''


def _write_model(trained: TrainedCampaign, folder: Path) -> Path:
    stored = dataclasses.replace(
        trained, test=trained.test.clear(), test_keys=trained.test_keys.clear()
    )
    return write_model_folder(stored, folder, kind=CAMPAIGN_TAG[1])


def read_campaign_model(folder: str | Path) -> TrainedCampaign:
    """The pickled campaign model of a folder written with the model, after checking its
    format. Unpickling runs code: read models only from a tracking store you trust."""
    return read_model_folder(
        folder,
        TrainedCampaign,
        "campaign",
        "leadscore train --pipeline pipelines/next-touchpoint.yaml --treatment …",
    )


def predict_campaign(trained: TrainedCampaign, features: pl.DataFrame) -> pd.DataFrame:
    """Per row: ``probability_<arm>``, ``uplift_<arm>``, ``uncertainty_<arm>`` for every arm
    as spelled in the table (the uplift over the control; 0 for the control itself)."""
    frame = _prediction_frame(trained.model, features)
    names = dict(zip(trained.model.arms_, trained.arms, strict=True))
    return frame.rename(
        columns=lambda c: re.sub(
            r"^(probability|uplift|uncertainty)_(.*)$",
            lambda m: f"{m.group(1)}_{names.get(m.group(2), m.group(2))}",
            c,
        )
    )


@functools.cache
def _pyfunc_class() -> type[Any]:
    """Define ``CampaignPyfunc`` on first use (importing MLflow takes seconds)."""
    with quiet_mlflow():
        from mlflow.pyfunc.model import PythonModel

    class CampaignPyfunc(PythonModel):
        """MLflow's view of a campaign model: customers' columns in, per-arm probability,
        uplift and uncertainty out."""

        trained: TrainedCampaign

        def load_context(self, context: Any) -> None:
            """Read the pickled model, refusing another format version."""
            self.trained = read_campaign_model(context.artifacts[_ARTIFACT_KEY])

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
        ) -> pd.DataFrame:
            """Per row: ``probability_<arm>``, ``uplift_<arm>``, ``uncertainty_<arm>``."""
            out = predict_campaign(self.trained, pl.from_pandas(model_input))
            out.index = model_input.index
            return out

    CampaignPyfunc.__module__ = __name__
    CampaignPyfunc.__qualname__ = "CampaignPyfunc"
    return CampaignPyfunc


def __getattr__(name: str) -> Any:
    if name == "CampaignPyfunc":
        return _pyfunc_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_campaign_model(python_model: object) -> bool:
    """Whether an unwrapped MLflow python model is a campaign model."""
    return isinstance(python_model, _pyfunc_class())


def _signature(trained: TrainedCampaign) -> Any:
    """Written out rather than inferred from the example rows: a string column per
    categorical feature, a double per other one, every one optional; doubles out."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = Schema(
        [
            ColSpec("string" if info.kind == "categorical" else "double", info.name, required=False)
            for info in trained.infos
        ]
    )
    outputs = Schema(
        [
            ColSpec("double", f"{what}_{arm}")
            for arm in trained.arms
            for what in ("probability", "uplift", "uncertainty")
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def _log_model(trained: TrainedCampaign) -> Any:
    example = trained.test.head(5).to_pandas()
    with tempfile.TemporaryDirectory(prefix="leadscore-model-") as tmp:
        folder = _write_model(trained, Path(tmp) / _ARTIFACT_KEY)
        entry = Path(tmp) / "campaign_pyfunc.py"
        entry.write_text(_ENTRY_POINT, encoding="utf-8")
        import mlflow.pyfunc

        return mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=str(entry),
            artifacts={_ARTIFACT_KEY: str(folder)},
            signature=_signature(trained),
            input_example=example,
            pip_requirements=_requirements(),
            metadata={
                "leadscore": {
                    "format_version": FORMAT_VERSION,
                    "library_version": __version__,
                    "kind": CAMPAIGN_TAG[1],
                }
            },
        )


def _params(trained: TrainedCampaign, data_location: str) -> dict[str, str]:
    flat = _flatten(trained.config.model_dump(mode="json"), "", {})
    flat |= _flatten(trained.split_summary(), "split", {})
    flat |= {
        "campaign.treatment": trained.treatment,
        "campaign.control": trained.control,
        "campaign.target": trained.target,
        "campaign.positive_label": trained.positive_label,
        "campaign.randomized": trained.randomized,
        "campaign.arms": list(trained.arms),
    }
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in flat.items()}
    params["data_location"] = data_location
    return params


def _write_artifacts(
    trained: TrainedCampaign,
    summary: dict[str, Any],
    assessment: CampaignAssessment,
    folder: Path,
) -> None:
    (folder / "pipeline.yaml").write_text(
        yaml.safe_dump(trained.config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
    )
    (folder / "evaluation.json").write_text(
        json.dumps(summary, indent=2, default=str), encoding="utf-8"
    )
    (folder / "features.json").write_text(
        json.dumps([dataclasses.asdict(info) for info in trained.infos], indent=2),
        encoding="utf-8",
    )
    pl.concat([trained.test_keys, trained.test], how="horizontal").write_parquet(folder / _TEST)
    (folder / "plots").mkdir()
    qini_curve_plot(assessment.curves(), path=folder / "plots" / "qini_curves.png")


def log_campaign_run(
    trained: TrainedCampaign,
    summary: dict[str, Any],
    assessment: CampaignAssessment,
    *,
    settings: Settings,
    data_location: str,
) -> RunRecord:
    """Log a campaign model and its ``summary`` as one MLflow run and register the model as
    a new version of ``leadscore-next-touchpoint`` (see the module docstring)."""
    return log_uplift_run(
        trained.config,
        params=_params(trained, data_location),
        metrics={_METRIC_NAME.sub("_", k): v for k, v in _metrics(summary).items()},
        write_artifacts=lambda folder: _write_artifacts(trained, summary, assessment, folder),
        log_model=lambda: _log_model(trained),
        settings=settings,
        tags={CAMPAIGN_TAG[0]: CAMPAIGN_TAG[1]},
    )
