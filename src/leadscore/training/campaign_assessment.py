"""How well a campaign model ranks customers by uplift, judged on its holdout.

For every treatment arm, on the holdout rows that got the arm or the control, ranked by the
arm's predicted uplift: the Qini curve and coefficient and the uplift at the top 10, 20, 30
and 50 % (:mod:`leadscore.evaluation.qini`), the same for a random ranking (seeded) as the
reference, the model's mean estimated uplift over the whole holdout and the observed
difference of response rates (treated minus control, 95 % interval).

Rows are weighted by the inverse of the logging policy's probability of the arm they got:
the known shares of a randomised test (constant per arm, so the figures are the unweighted
ones) or the estimated propensities (clipped at ``estimator.clip``) of a logged campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from leadscore.evaluation.qini import (
    QiniCurve,
    ResponseDifference,
    qini_curve,
    response_difference,
    uplift_at_k,
)
from leadscore.training.campaign import TrainedCampaign

__all__ = [
    "UPLIFT_AT",
    "ArmAssessment",
    "CampaignAssessment",
    "assess_campaign",
    "campaign_summary",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

UPLIFT_AT: Final = (0.1, 0.2, 0.3, 0.5)
"""The shares of the best-scored customers uplift@k is reported for."""


def _share_key(k: float) -> str:
    return str(round(100 * k))


@dataclass(frozen=True)
class ArmAssessment:
    """The holdout figures of one treatment arm against control."""

    arm: str
    treated_rows: int
    control_rows: int
    qini: QiniCurve
    random_qini: QiniCurve
    uplift_at: dict[str, float]
    random_uplift_at: dict[str, float]
    mean_estimated_uplift: float
    observed: ResponseDifference

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (the curves' points stay out; see the plot)."""
        return {
            "treated_rows": self.treated_rows,
            "control_rows": self.control_rows,
            "qini_coefficient": {
                "model": self.qini.coefficient,
                "random": self.random_qini.coefficient,
            },
            "qini_area": {"model": self.qini.area, "random": self.random_qini.area},
            "uplift_at_k": {
                key: {"model": self.uplift_at[key], "random": self.random_uplift_at[key]}
                for key in self.uplift_at
            },
            "mean_estimated_uplift": self.mean_estimated_uplift,
            "observed": self.observed.to_dict(),
        }


@dataclass(frozen=True)
class CampaignAssessment:
    """The holdout figures of every treatment arm, in the model's arm order."""

    arms: tuple[ArmAssessment, ...]

    def curves(self) -> dict[str, QiniCurve]:
        """The model's Qini curve of each arm, for the chart."""
        return {a.arm: a.qini for a in self.arms}

    def to_dict(self) -> dict[str, Any]:
        """Per arm, its figures (see :meth:`ArmAssessment.to_dict`)."""
        return {a.arm: a.to_dict() for a in self.arms}


def _uplift_at(
    score: FloatArray, treated: BoolArray, outcome: FloatArray, weight: FloatArray
) -> dict[str, float]:
    return {
        _share_key(k): uplift_at_k(score, treated, outcome, k, weight=weight) for k in UPLIFT_AT
    }


def _weights(trained: TrainedCampaign, arm: IntArray) -> FloatArray:
    """``1 / pi(observed arm | x)`` of every holdout row."""
    rows = np.arange(len(arm))
    if trained.randomized:
        return np.asarray(1.0 / np.asarray(trained.shares)[arm], dtype=np.float64)
    pi = trained.model.predict_logging_policy(trained.test)
    return np.asarray(1.0 / np.maximum(pi[rows, arm], trained.config.estimator.clip))


def assess_campaign(trained: TrainedCampaign) -> CampaignAssessment:
    """The figures of the module docstring for every treatment arm of ``trained``."""
    keys = trained.test_keys
    arm = keys["arm_code"].to_numpy().astype(np.int64)
    outcome = keys["label"].to_numpy().astype(np.float64)
    uplift = trained.model.predict(trained.test).uplift
    weight = _weights(trained, arm)
    random_score = np.random.default_rng(trained.config.estimator.seed).random(len(arm))
    out: list[ArmAssessment] = []
    for a in range(1, len(trained.arms)):
        rows = (arm == a) | (arm == 0)
        treated, y, w = arm[rows] == a, outcome[rows], weight[rows]
        score, reference = uplift[rows, a], random_score[rows]
        out.append(
            ArmAssessment(
                arm=trained.arms[a],
                treated_rows=int(treated.sum()),
                control_rows=int((~treated).sum()),
                qini=qini_curve(score, treated, y, weight=w),
                random_qini=qini_curve(reference, treated, y, weight=w),
                uplift_at=_uplift_at(score, treated, y, w),
                random_uplift_at=_uplift_at(reference, treated, y, w),
                mean_estimated_uplift=float(uplift[:, a].mean()),
                observed=response_difference(treated, y),
            )
        )
    return CampaignAssessment(tuple(out))


def campaign_summary(trained: TrainedCampaign, assessment: CampaignAssessment) -> dict[str, Any]:
    """The JSON-ready result of training a campaign model: the table, the split, the logging
    policy, the holdout figures per arm and (for a logged campaign) the overlap."""
    label = dict(zip(trained.model.arms_, trained.arms, strict=True))
    shares = dict(zip(trained.arms, trained.shares, strict=True))
    summary: dict[str, Any] = {
        "pipeline": trained.config.kind,
        "model": "campaign",
        "treatment": trained.treatment,
        "control": trained.control,
        "target": trained.target,
        "positive_label": trained.positive_label,
        "randomized": trained.randomized,
        "arms": list(trained.arms),
        "rows_per_arm": trained.rows_per_arm,
        "split": trained.split_summary(),
        "logging_policy": {
            "source": "known randomisation" if trained.randomized else "estimated",
            "table_shares": shares,
        },
        "holdout": assessment.to_dict(),
        "features": list(trained.feature_names),
        "columns": [dict(note) for note in trained.notes],
    }
    if not trained.randomized:
        summary["overlap"] = {
            label[o.arm]: o.to_dict() | {"arm": label[o.arm]} for o in trained.model.overlap_
        }
    return summary
