"""What ``leadscore train``, ``evaluate`` and ``promote`` do for the next-touchpoint pipeline.

Each reads its inputs from a location (a data folder, an MLflow reference), calls the library
and returns a JSON-ready dictionary; the CLI only renders it.

The evaluation of a model on decision points has two parts:

* ``off_policy`` — what the logged data alone say, available for any data: the doubly robust
  (and IPS) estimate of the value of the model's served policy, of doing nothing and of the
  logged policy, each with a 95 % interval clustered by lead;
* with simulated data (a ``truth/`` folder beside the tables), the policy values against the
  truth (``policy_value``, ``regret_capture`` …; see
  :mod:`leadscore.training.next_touchpoint_evaluation`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from leadscore.data import load_dataset
from leadscore.data.flat import read_flat_table
from leadscore.data.simulator import read_truth
from leadscore.errors import DataError
from leadscore.evaluation.policy import one_hot
from leadscore.settings import Settings
from leadscore.training.campaign import CampaignOptions, train_campaign
from leadscore.training.campaign_assessment import assess_campaign, campaign_summary
from leadscore.training.campaign_tracking import log_campaign_run
from leadscore.training.decision_points import build_decision_points
from leadscore.training.next_touchpoint_config import NextTouchpointConfig
from leadscore.training.next_touchpoint_evaluation import (
    TruthEvaluation,
    evaluate_against_truth,
    off_policy_estimates,
)
from leadscore.training.next_touchpoint_tracking import (
    PROMOTION_METRIC,
    greedy_policy_value,
    load_next_touchpoint,
    log_next_touchpoint_run,
)
from leadscore.training.next_touchpoint_training import (
    TrainedNextTouchpoint,
    serve,
    train_next_touchpoint,
)
from leadscore.training.propensity import Progress, quiet
from leadscore.training.tracking import RunRecord

__all__ = [
    "assess_next_touchpoint",
    "evaluate_next_touchpoint_location",
    "train_campaign_location",
    "train_next_touchpoint_location",
]


def _logged_estimates(
    trained: TrainedNextTouchpoint, leads: pl.DataFrame, touchpoints: pl.DataFrame
) -> dict[str, Any]:
    """Off-policy estimates on the test decision points: served policy, none, logged."""
    model, test, config = trained.model, trained.test, trained.config
    rng = np.random.default_rng(config.rules.seed)
    served = serve(model, test, leads, touchpoints, config, rng)
    n, k = served.policy.shape
    outcome = test["label"].cast(pl.Float64).to_numpy()
    weight = test["weight"].to_numpy()

    def estimate(policy: np.ndarray) -> dict[str, Any]:
        found = off_policy_estimates(
            model,
            test,
            test["treatment"],
            outcome,
            policy,
            weight=weight,
            clip=config.estimator.clip,
        )
        return {name: value.to_dict() for name, value in found.items()}

    return {
        "decision_points": n,
        "model": estimate(served.policy),
        "none": estimate(one_hot(np.zeros(n, dtype=np.int64), k)),
        "logged_value": float(np.average(outcome, weights=weight)),
        PROMOTION_METRIC: greedy_policy_value(model, model, test),
    }


def assess_next_touchpoint(
    trained: TrainedNextTouchpoint,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    truth: pl.DataFrame | None,
) -> tuple[dict[str, Any], TruthEvaluation | None]:
    """The evaluation summary of ``trained`` on its ``test`` decision points (and, with the
    ``truth``, on the truth snapshots of the same period)."""
    if trained.test.is_empty() or trained.test["label"].n_unique() < 2:
        raise DataError(
            "The test decision points hold no conversions or no non-conversions; the model "
            "cannot be assessed. Provide a longer history or a larger split.test_share."
        )
    summary: dict[str, Any] = {
        "split": trained.split_summary(),
        "overlap": {o.arm: o.to_dict() for o in trained.model.overlap_},
        "off_policy": _logged_estimates(trained, leads, touchpoints),
    }
    if trained.model.surrogate_ is not None:
        summary["surrogate"] = trained.model.surrogate_
    evaluation = None
    if truth is not None:
        evaluation = evaluate_against_truth(
            trained, leads, touchpoints, truth, seed=trained.config.rules.seed
        )
        summary["truth"] = evaluation.to_dict()
        summary["policy_value"] = evaluation.policy_value
        summary["regret_capture"] = evaluation.regret_capture
    return summary, evaluation


def _truth(data: str) -> pl.DataFrame | None:
    path = Path(data)
    return read_truth(path) if path.is_dir() else None


def train_next_touchpoint_location(
    data: str,
    config: NextTouchpointConfig,
    *,
    settings: Settings,
    progress: Progress = quiet,
) -> tuple[dict[str, Any], RunRecord]:
    """Train on the data at ``data``, assess on the test period, log and register the model."""
    progress("loading and validating the data")
    dataset = load_dataset(data)
    trained = train_next_touchpoint(
        dataset.leads, dataset.touchpoints, dataset.outcomes, config, progress=progress
    )
    progress("assessing on the test period")
    summary, evaluation = assess_next_touchpoint(
        trained, dataset.leads, dataset.touchpoints, _truth(data)
    )
    progress("logging the run to MLflow")
    record = log_next_touchpoint_run(
        trained, summary, settings=settings, data_location=data, truth=evaluation
    )
    return record.to_dict() | {"pipeline": config.kind} | summary, record


def evaluate_next_touchpoint_location(
    model_reference: str,
    data: str,
    *,
    settings: Settings,
    since: datetime | None = None,
    progress: Progress = quiet,
) -> dict[str, Any]:
    """Assess a logged next-touchpoint model on the decision points of any data from ``since``
    on (default: the first test date of the model's training run)."""
    progress("loading the model")
    loaded = load_next_touchpoint(model_reference, settings)
    trained = loaded.trained
    progress("loading and validating the data")
    dataset = load_dataset(data)
    progress("building decision points")
    points = build_decision_points(
        dataset.leads, dataset.touchpoints, dataset.outcomes, trained.config, spec=trained.spec
    )
    start = since or trained.test_start
    test = points.frame.filter(pl.col("as_of") >= start)
    progress("assessing")
    summary, _ = assess_next_touchpoint(
        dataclasses.replace(trained, test=test, test_start=start),
        dataset.leads,
        dataset.touchpoints,
        _truth(data),
    )
    return {
        "model_uri": loaded.uri,
        "version": loaded.version,
        "run_id": loaded.run_id,
        "since": start.isoformat(),
    } | summary


def train_campaign_location(
    data: str,
    config: NextTouchpointConfig,
    campaign: CampaignOptions,
    *,
    settings: Settings,
    progress: Progress = quiet,
) -> tuple[dict[str, Any], RunRecord]:
    """Train a campaign model on the flat table at ``data`` (see
    :mod:`leadscore.training.campaign`), assess it on its holdout, log and register it."""
    progress("reading the campaign table")
    frame = read_flat_table(data)
    trained = train_campaign(
        frame,
        config,
        treatment=campaign.treatment,
        control=campaign.control,
        target=campaign.target,
        id_column=campaign.id_column,
        positive=campaign.positive,
        exclude=campaign.exclude,
        randomized=campaign.randomized,
        progress=progress,
    )
    progress("assessing on the holdout")
    assessment = assess_campaign(trained)
    summary = campaign_summary(trained, assessment)
    progress("logging the run to MLflow")
    record = log_campaign_run(trained, summary, assessment, settings=settings, data_location=data)
    return record.to_dict() | summary, record
