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

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.data.schemas import timestamps
from leadscore.errors import UsageError
from leadscore.features import build_features, observed_until, open_snapshots
from leadscore.features.activity import micros
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
    "open_now_and_before",
    "recommendations",
    "score_leads",
    "score_snapshots",
    "score_with_trend",
]

#: Up to this many leads the trend is matched in Python; more are joined.
FEW_LEADS: Final = 64

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


def _events_model(model: PropensityModel) -> None:
    if model.spec_ is None:
        raise UsageError(
            "This model was trained on a flat lead table, not on touchpoints: it cannot "
            "build features from leads and touchpoints. Train on the canonical tables to "
            "score them."
        )


class _FeatureRow(Mapping[str, object]):
    """One row of a feature frame as a mapping that reads a value only when asked: a
    reason names two or three features of a hundred and more."""

    def __init__(self, features: pl.DataFrame, row: int) -> None:
        self._features = features
        self._row = row

    def __getitem__(self, name: str) -> object:
        return self._features.get_column(name)[self._row]

    def __iter__(self) -> Iterator[str]:
        return iter(self._features.columns)

    def __len__(self) -> int:
        return self._features.width


def _scores(
    model: PropensityModel,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    features: pl.DataFrame,
    matrix: NDArray[np.float64],
    probability: NDArray[np.float64],
    config: ScoringConfig,
    *,
    reasons: bool,
    next_touchpoint: TrainedNextTouchpoint | None,
) -> pl.DataFrame:
    """The score columns of ``features``' rows from their encoded ``matrix`` and
    ``probability`` (built column by column: no query for a handful of rows)."""
    columns = [
        features.get_column("lead_id"),
        features.get_column("as_of"),
        pl.Series("probability", probability),
        pl.Series("score", _score_of(probability)),
        pl.Series("grade", grade_of(probability, config), dtype=pl.String),
    ]
    if reasons and config.reasons:
        explained = explain(
            model.contributions(matrix),
            [_FeatureRow(features, row) for row in range(features.height)],
            model.infos_,
            top=config.reasons,
        )
        texts = pl.List(pl.String)
        columns.append(pl.Series("reasons", [[r.text for r in up] for up, _ in explained], texts))
        columns.append(pl.Series("risks", [[r.text for r in dn] for _, dn in explained], texts))
    out = pl.DataFrame(columns)
    if next_touchpoint is not None:
        out = pl.concat(
            [
                out,
                recommendations(next_touchpoint, leads, touchpoints, features, base=probability),
            ],
            how="horizontal",
        )
    return out


def _trend(
    lead_ids: pl.Series,
    score: NDArray[np.int64],
    earlier_ids: pl.Series,
    earlier: NDArray[np.int64],
) -> pl.Series:
    """Each score minus the earlier score of the same lead (null without one)."""
    if lead_ids.len() > FEW_LEADS:
        previous = pl.DataFrame({"lead_id": lead_ids}).join(
            pl.DataFrame({"lead_id": earlier_ids, "previous": earlier}),
            on="lead_id",
            how="left",
            maintain_order="left",
        )
        return pl.Series("trend", score) - previous.get_column("previous").alias("trend")
    before = dict(zip(earlier_ids.to_list(), earlier.tolist(), strict=True))
    values = [
        None if (then := before.get(lead_id)) is None else int(now) - then
        for lead_id, now in zip(lead_ids.to_list(), score.tolist(), strict=True)
    ]
    return pl.Series("trend", values, dtype=pl.Int64)


def _score_of(probability: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.rint(probability * 100).astype(np.int64)


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
    _events_model(model)
    assert model.spec_ is not None
    features = build_features(leads, touchpoints, snapshots, model.spec_)
    matrix = model.transform(features)
    probability = model.predict_proba_matrix(matrix)
    return _scores(
        model,
        leads,
        touchpoints,
        features,
        matrix,
        probability,
        config,
        reasons=reasons,
        next_touchpoint=next_touchpoint,
    )


def score_with_trend(
    model: PropensityModel,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    now: pl.DataFrame,
    before: pl.DataFrame,
    config: ScoringConfig,
    *,
    next_touchpoint: TrainedNextTouchpoint | None = None,
) -> pl.DataFrame:
    """:func:`score_snapshots` of the ``now`` snapshots (with reasons) plus ``trend``: each
    score minus the score of the same lead in the ``before`` snapshots (null for a lead not
    among them).

    Both sets of snapshots go through one feature pass and one prediction; only the ``now``
    rows are explained. For one lead that halves the fixed cost of the pair.
    """
    _events_model(model)
    assert model.spec_ is not None
    keys = ["lead_id", "as_of"]
    both = now[keys].vstack(before[keys]) if before.height else now
    features = build_features(leads, touchpoints, both, model.spec_)
    matrix = model.transform(features)
    probability = model.predict_proba_matrix(matrix)
    count = now.height
    scored = _scores(
        model,
        leads,
        touchpoints,
        features[:count],
        matrix[:count],
        probability[:count],
        config,
        reasons=True,
        next_touchpoint=next_touchpoint,
    )
    trend = _trend(
        scored.get_column("lead_id"),
        scored.get_column("score").to_numpy(),
        features.get_column("lead_id")[count:],
        _score_of(probability[count:]),
    )
    return scored.hstack([trend])


def open_now_and_before(
    leads: pl.DataFrame, outcomes: pl.DataFrame, when: datetime, trend_days: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The snapshots of the leads open at ``when`` and of those open ``trend_days`` earlier
    (what :func:`score_with_trend` takes), from one :func:`open_snapshots` pass."""
    times = timestamps("as_of", [when - timedelta(days=trend_days), when])
    opened = open_snapshots(leads, outcomes, times)
    # Sorted by as_of first: the earlier snapshots come first.
    first = int(np.searchsorted(micros(opened.get_column("as_of")), micros(times)[1]))
    return opened[first:], opened[:first]


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
    now, before = open_now_and_before(leads, outcomes, when, config.trend_days)
    scored = score_with_trend(
        model, leads, touchpoints, now, before, config, next_touchpoint=next_touchpoint
    )
    lead_fields = [c for c in ("deal_value", "owner", "source") if c in leads.columns]
    return (
        scored.join(
            leads.select("lead_id", *lead_fields), on="lead_id", how="left", maintain_order="left"
        )
        .with_columns(
            expected_revenue=pl.col("probability") * pl.col("deal_value").cast(pl.Float64)
            if "deal_value" in lead_fields
            else pl.lit(None, pl.Float64),
        )
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
