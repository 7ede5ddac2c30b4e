"""How good a propensity model is on labelled snapshots: the numbers train and evaluate print.

One function, :func:`assess`, serves ``leadscore train`` (on the test fold) and
``leadscore evaluate`` (on any data), so both report the same structure: ``metrics`` and
``baseline`` (each ``roc_auc, pr_auc, log_loss, brier, ece, lift_at_10``), ``oracle`` when the
data carry the simulator's truth, calibration per segment and the readiness verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.evaluation import (
    binary_metrics,
    calibration_by_segment,
    oracle_metrics,
    readiness_verdict,
)
from leadscore.evaluation.calibration import SEGMENT_SCHEMA
from leadscore.evaluation.readiness import Verdict

__all__ = ["Assessment", "assess", "size_band"]

#: Company-size bands used to report calibration per segment (employees).
SIZE_BANDS = ((50, "1-49"), (1000, "50-999"))
LARGEST_BAND = "1000+"
#: Fewer converted training examples than this earn a "few data" warning.
FEW_TRAINING_POSITIVES = 100


def size_band(company_size: pl.Expr) -> pl.Expr:
    """The company-size band of a number of employees (``unknown`` when missing)."""
    expr: pl.Expr = pl.lit(LARGEST_BAND)
    for upper, name in reversed(SIZE_BANDS):
        expr = pl.when(company_size < upper).then(pl.lit(name)).otherwise(expr)
    return pl.when(company_size.is_null()).then(pl.lit("unknown")).otherwise(expr)


@dataclass(frozen=True)
class Assessment:
    """The quality of a model (and optionally its baseline) on one set of snapshots."""

    metrics: dict[str, float]
    baseline: dict[str, float] | None
    oracle: dict[str, float] | None
    segments: pl.DataFrame
    verdict: Verdict
    rows: int
    positives: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "metrics": self.metrics,
            "baseline": self.baseline,
            "rows": self.rows,
            "positives": self.positives,
            "readiness": self.verdict.to_dict(),
            "calibration_by_segment": self.segments.to_dicts(),
        }
        if self.oracle is not None:
            out["oracle"] = self.oracle
        return out | self.extra


def assess(
    labels: NDArray[np.int8],
    probability: NDArray[np.float64],
    *,
    baseline: NDArray[np.float64] | None,
    p_true: NDArray[np.float64] | None,
    segments: pl.DataFrame,
    training_positives: int | None = None,
) -> Assessment:
    """Metrics, oracle distance, calibration per segment and the verdict.

    ``segments`` has one column per segmentation (``source``, ``company_size``), one row per
    snapshot; ``company_size`` is reported in bands. ``p_true`` may hold NaN where the truth
    has no row; the oracle figures then use the rows that have one.
    """
    metrics = binary_metrics(labels, probability)
    base = binary_metrics(labels, baseline) if baseline is not None else None
    oracle = None
    if p_true is not None:
        known = ~np.isnan(p_true)
        if known.any():
            oracle = oracle_metrics(labels[known], p_true[known], probability[known])
            oracle["coverage"] = float(known.mean())
    columns = []
    if "source" in segments.columns:
        columns.append(pl.col("source").cast(pl.String).fill_null("unknown"))
    if "company_size" in segments.columns:
        columns.append(size_band(pl.col("company_size")).alias("company_size_band"))
    segment_table = (
        calibration_by_segment(labels, probability, segments.select(columns))
        if columns
        else pl.DataFrame(schema=SEGMENT_SCHEMA)
    )
    positives = int(labels.sum())
    verdict = readiness_verdict(metrics, positives, int(labels.shape[0]), base)
    if training_positives is not None and training_positives < FEW_TRAINING_POSITIVES:
        verdict = replace(
            verdict,
            warnings=(
                *verdict.warnings,
                f"few data: the model learned from {training_positives} converted examples "
                f"only (at least {FEW_TRAINING_POSITIVES} are advised); its figures may not "
                "hold on new leads.",
            ),
        )
    return Assessment(
        metrics=metrics,
        baseline=base,
        oracle=oracle,
        segments=segment_table,
        verdict=verdict,
        rows=int(labels.shape[0]),
        positives=positives,
    )
