"""Scoring open leads: probability, score, grade, trend, expected revenue and reasons.

* ``probability``: the calibrated probability to convert within the horizon after ``as_of``.
* ``score``: ``round(100 × probability)``, 0–100.
* ``grade``: the first grade of the pipeline's ``scoring.grades`` whose threshold the
  probability reaches (default A ≥ 0.40, B ≥ 0.20, C ≥ 0.08, else D).
* ``trend``: the score now minus the score ``trend_days`` earlier (null for leads that were
  not open then).
* ``expected_revenue``: probability × ``deal_value``.
* ``reasons`` / ``risks``: what raises and what lowers the probability, in plain words.

With a next-touchpoint model (see :mod:`leadscore.training.next_touchpoint`) each row also
gets:

* ``next_best_touchpoints``: the touchpoints the business rules allow with a positive
  estimated uplift, best first, each ``{touchpoint, probability, uplift, uncertainty}``
  (probability to convert if the company does it now: the lead's calibrated probability
  plus the estimated uplift over doing nothing, clipped to [0, 1]);
* ``recommended_touchpoint``: the one served (the best, unless exploration drew another or
  the lead is in the control group, which is served ``none``), ``recommendation_propensity``:
  the probability with which it was chosen (for later off-policy evaluation), and
  ``control_group``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.data.schemas import TIMESTAMP
from leadscore.errors import UsageError
from leadscore.features import build_features, observed_until, open_snapshots
from leadscore.scoring.reasons import explain
from leadscore.training.config import ScoringConfig
from leadscore.training.model import PropensityModel
from leadscore.training.next_touchpoint_training import (
    TrainedNextTouchpoint,
    next_best_touchpoints,
)

__all__ = [
    "RECOMMENDATION_COLUMNS",
    "grade_of",
    "recommendations",
    "score_leads",
    "score_snapshots",
]

#: The columns a next-touchpoint model adds to the scores.
RECOMMENDATION_COLUMNS: Final = (
    "next_best_touchpoints",
    "recommended_touchpoint",
    "recommendation_propensity",
    "control_group",
)


def grade_of(probability: NDArray[np.float64], config: ScoringConfig) -> list[str]:
    """The grade of each probability."""
    grades = np.full(probability.shape, config.fallback_grade, dtype=object)
    for grade, threshold in reversed(list(config.grades.items())):
        grades[probability >= threshold] = grade
    return [str(g) for g in grades]


def score_snapshots(
    model: PropensityModel,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    snapshots: pl.DataFrame,
    config: ScoringConfig,
    *,
    reasons: bool = True,
    next_touchpoint: TrainedNextTouchpoint | None = None,
) -> pl.DataFrame:
    """Score given (lead_id, as_of) snapshots: one row each, in order, without trend; with
    ``next_touchpoint``, the recommendation columns too (see the module docstring)."""
    if model.spec_ is None:
        raise UsageError(
            "This model was trained on a flat lead table, not on touchpoints: it cannot "
            "build features from leads and touchpoints. Train on the canonical tables to "
            "score them."
        )
    features = build_features(leads, touchpoints, snapshots, model.spec_)
    matrix = model.transform(features)
    probability = model.predict_proba_matrix(matrix)
    out = features.select("lead_id", "as_of").with_columns(
        probability=pl.Series(probability),
        score=pl.Series(np.rint(probability * 100).astype(np.int64)),
        grade=pl.Series(grade_of(probability, config), dtype=pl.String),
    )
    if reasons and config.reasons:
        infos = model.infos_
        explained = explain(
            model.contributions(matrix),
            features.select(model.feature_names).to_dicts(),
            infos,
            top=config.reasons,
        )
        out = out.with_columns(
            reasons=pl.Series(
                [[r.text for r in up] for up, _ in explained], dtype=pl.List(pl.String)
            ),
            risks=pl.Series(
                [[r.text for r in down] for _, down in explained], dtype=pl.List(pl.String)
            ),
        )
    if next_touchpoint is not None:
        out = pl.concat(
            [
                out,
                recommendations(next_touchpoint, leads, touchpoints, features, base=probability),
            ],
            how="horizontal",
        )
    return out


def recommendations(
    trained: TrainedNextTouchpoint,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    snapshots: pl.DataFrame,
    *,
    base: NDArray[np.float64] | None = None,
) -> pl.DataFrame:
    """The recommendation columns of ``snapshots`` (same order): ``next_best_touchpoints``,
    ``recommended_touchpoint``, ``recommendation_propensity``, ``control_group``.

    ``base`` is the snapshots' calibrated propensity: a touchpoint's probability is then
    ``base + uplift`` (clipped to [0, 1]), consistent with the score.
    Exploration draws come from a generator seeded with ``rules.seed``, so scoring the same
    data twice serves the same touchpoints.
    """
    rng = np.random.default_rng(trained.config.rules.seed)
    frame = next_best_touchpoints(
        trained.model,
        leads,
        touchpoints,
        snapshots.select("lead_id", "as_of"),
        trained.config,
        rng,
        base,
    )
    return frame.select(
        "next_best_touchpoints",
        recommended_touchpoint="served",
        recommendation_propensity="served_probability",
        control_group="control",
    )


def score_leads(
    model: PropensityModel,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: ScoringConfig,
    *,
    as_of: datetime | None = None,
    next_touchpoint: TrainedNextTouchpoint | None = None,
) -> pl.DataFrame:
    """Score every lead open at ``as_of`` (default: the end of the observed data).

    Columns: lead_id, as_of, probability, score, grade, trend, expected_revenue, reasons,
    risks, (with ``next_touchpoint``) the recommendation columns, owner, source; sorted by
    probability, highest first.
    """
    when = as_of or observed_until(leads, touchpoints, outcomes)
    earlier = when - timedelta(days=config.trend_days)
    now = open_snapshots(leads, outcomes, pl.Series("as_of", [when], dtype=TIMESTAMP))
    scored = score_snapshots(
        model, leads, touchpoints, now, config, next_touchpoint=next_touchpoint
    )
    before = open_snapshots(leads, outcomes, pl.Series("as_of", [earlier], dtype=TIMESTAMP))
    previous = score_snapshots(model, leads, touchpoints, before, config, reasons=False).select(
        "lead_id", previous_score="score"
    )
    lead_fields = [c for c in ("deal_value", "owner", "source") if c in leads.columns]
    return (
        scored.join(previous, on="lead_id", how="left", maintain_order="left")
        .join(
            leads.select("lead_id", *lead_fields), on="lead_id", how="left", maintain_order="left"
        )
        .with_columns(
            trend=pl.col("score") - pl.col("previous_score"),
            expected_revenue=pl.col("probability") * pl.col("deal_value").cast(pl.Float64)
            if "deal_value" in lead_fields
            else pl.lit(None, pl.Float64),
        )
        .drop("previous_score")
        .sort(["probability", "lead_id"], descending=[True, False])
        .select(
            "lead_id",
            "as_of",
            "probability",
            "score",
            "grade",
            "trend",
            "expected_revenue",
            *(c for c in ("reasons", "risks") if c in scored.columns),
            *(c for c in RECOMMENDATION_COLUMNS if c in scored.columns),
            *(c for c in ("owner", "source", "deal_value") if c in lead_fields),
        )
    )
