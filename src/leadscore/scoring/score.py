"""Scoring open leads: probability, score, grade, trend, expected revenue and reasons.

* ``probability``: the calibrated probability to convert within the horizon after ``as_of``.
* ``score``: ``round(100 × probability)``, 0–100.
* ``grade``: the first grade of the pipeline's ``scoring.grades`` whose threshold the
  probability reaches (default A ≥ 0.40, B ≥ 0.20, C ≥ 0.08, else D).
* ``trend``: the score now minus the score ``trend_days`` earlier (null for leads that were
  not open then).
* ``expected_revenue``: probability × ``deal_value``.
* ``reasons`` / ``risks``: what raises and what lowers the probability, in plain words.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.data.schemas import TIMESTAMP
from leadscore.errors import UsageError
from leadscore.features import build_features, observed_until, open_snapshots
from leadscore.scoring.reasons import explain
from leadscore.training.config import ScoringConfig
from leadscore.training.model import PropensityModel

__all__ = ["grade_of", "score_leads", "score_snapshots"]


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
) -> pl.DataFrame:
    """Score given (lead_id, as_of) snapshots: one row each, in order, without trend."""
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
    return out


def score_leads(
    model: PropensityModel,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: ScoringConfig,
    *,
    as_of: datetime | None = None,
) -> pl.DataFrame:
    """Score every lead open at ``as_of`` (default: the end of the observed data).

    Columns: lead_id, as_of, probability, score, grade, trend, expected_revenue, reasons,
    risks, owner, source; sorted by probability, highest first.
    """
    when = as_of or observed_until(leads, touchpoints, outcomes)
    earlier = when - timedelta(days=config.trend_days)
    now = open_snapshots(leads, outcomes, pl.Series("as_of", [when], dtype=TIMESTAMP))
    scored = score_snapshots(model, leads, touchpoints, now, config)
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
            *(c for c in ("owner", "source", "deal_value") if c in lead_fields),
        )
    )
