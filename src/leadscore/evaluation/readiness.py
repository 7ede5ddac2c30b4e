"""A plain-language verdict on whether a trained model is ready to score leads.

The spirit is what CRM products tell their users: Salesforce Einstein Lead Scoring builds an
org's own model only from about 1,000 leads with 120 conversions and otherwise falls back to a
global model; HubSpot shows "likelihood to close" as a percentage, which only helps when the
percentages are calibrated. So the verdict weighs three things, with the thresholds below:

- **enough data**: the rarer outcome in the test set (usually conversions) decides how much the
  metrics can be trusted; under :data:`MIN_POSITIVES` the verdict is at best "usable", under
  :data:`MIN_POSITIVES_TO_JUDGE` it is "not ready".
- **ranking**: ROC AUC under :data:`USABLE_MIN_AUC`, or not at least :data:`MIN_AUC_GAIN` above
  the baseline's, is "not ready"; "ready" needs :data:`READY_MIN_AUC`.
- **calibration**: "ready" needs ECE at most :data:`READY_MAX_ECE`, so that a score of 30% means
  about 30 conversions per 100 such leads.

Levels: ``"ready"`` (use the probabilities as they are), ``"usable"`` (rank leads with the
score, but read the warnings), ``"not ready"`` (do not use the model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from leadscore.errors import UsageError

__all__ = [
    "MIN_AUC_GAIN",
    "MIN_POSITIVES",
    "MIN_POSITIVES_TO_JUDGE",
    "READY_MAX_ECE",
    "READY_MIN_AUC",
    "USABLE_MIN_AUC",
    "Level",
    "Verdict",
    "readiness_verdict",
]

Level = Literal["ready", "usable", "not ready"]

READY_MIN_AUC: Final = 0.70
"""ROC AUC needed for "ready"."""
USABLE_MIN_AUC: Final = 0.60
"""ROC AUC below this is "not ready": the score ranks leads little better than chance."""
READY_MAX_ECE: Final = 0.05
"""Largest expected calibration error for "ready"; above it a warning says rank, don't read %."""
MIN_POSITIVES: Final = 100
"""Fewer test leads of the rarer outcome: warning "few data" and at best "usable"."""
MIN_POSITIVES_TO_JUDGE: Final = 30
"""Fewer test leads of the rarer outcome: "not ready", the metrics say too little."""
MIN_AUC_GAIN: Final = 0.01
"""The model's ROC AUC must exceed the baseline's by at least this, or it is "not ready"."""


@dataclass(frozen=True)
class Verdict:
    """The readiness level, one sentence with the numbers behind it, and tagged warnings.

    Each warning starts with a tag and a colon: ``"few data: ..."``, ``"calibration: ..."``.
    """

    level: Level
    reason: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"level": str, "reason": str, "warnings": [str, ...]}``."""
        return {"level": self.level, "reason": self.reason, "warnings": list(self.warnings)}


def _metric(metrics: Mapping[str, float], key: str, what: str) -> float:
    value = metrics.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(
            f"readiness_verdict needs a number {key!r} in {what} (from binary_metrics); "
            f"got keys {sorted(metrics)}."
        )
    if not math.isfinite(value):
        raise UsageError(f"readiness_verdict needs a finite {key!r} in {what}; got {value!r}.")
    return float(value)


def readiness_verdict(
    metrics: Mapping[str, float],
    positives: int,
    n_test: int,
    baseline: Mapping[str, float] | None = None,
) -> Verdict:
    """Judge a model from its test metrics (:func:`~leadscore.evaluation.binary_metrics`).

    ``positives`` is the number of converted leads among the ``n_test`` test leads the metrics
    were computed on. ``baseline``, when given, holds the baseline model's metrics on the same
    leads (``roc_auc`` needed; ``brier`` used when both have it). ``metrics`` needs ``roc_auc``
    and ``ece``; ``lift_at_10`` is quoted when present.
    """
    auc = _metric(metrics, "roc_auc", "metrics")
    ece = _metric(metrics, "ece", "metrics")
    base_auc = None if baseline is None else _metric(baseline, "roc_auc", "baseline")
    if n_test < 1 or not 0 <= positives <= n_test:
        raise UsageError(
            "readiness_verdict needs 1 <= n_test and 0 <= positives <= n_test; "
            f"got positives={positives}, n_test={n_test}."
        )
    rare = min(positives, n_test - positives)
    rare_kind = "converted" if positives <= n_test - positives else "not-converted"
    facts = f"{n_test:,} test leads, {positives:,} converted"
    if "lift_at_10" in metrics:
        lift = _metric(metrics, "lift_at_10", "metrics")
        facts += f"; the top 10% by score convert {lift:.1f}x as often as average"

    warnings: list[str] = []
    if rare < MIN_POSITIVES:
        warnings.append(
            f"few data: only {rare:,} {rare_kind} leads in the test set ({MIN_POSITIVES} are "
            "needed for 'ready'); the metrics may shift by several points on new leads."
        )
    if ece > READY_MAX_ECE:
        warnings.append(
            f"calibration: the probabilities are off by {ece:.3f} on average (ECE; at most "
            f"{READY_MAX_ECE:.2f} for 'ready'); rank leads by the score, do not read it as a "
            "conversion percentage."
        )
    if baseline is not None and "brier" in metrics and "brier" in baseline:
        brier = _metric(metrics, "brier", "metrics")
        base_brier = _metric(baseline, "brier", "baseline")
        if brier > base_brier:
            warnings.append(
                f"calibration: the Brier score {brier:.4f} is worse than the baseline's "
                f"{base_brier:.4f}."
            )

    def verdict(level: Level, reason: str) -> Verdict:
        return Verdict(level, reason, tuple(warnings))

    if rare < MIN_POSITIVES_TO_JUDGE:
        return verdict(
            "not ready",
            f"Not ready: only {rare:,} {rare_kind} leads among {n_test:,} test leads; at least "
            f"{MIN_POSITIVES_TO_JUDGE} are needed to judge the model at all.",
        )
    if auc < USABLE_MIN_AUC:
        return verdict(
            "not ready",
            f"Not ready: ROC AUC {auc:.3f} is below {USABLE_MIN_AUC:.2f}, so the score ranks "
            f"leads little better than chance. Measured on {facts}.",
        )
    if base_auc is not None and auc < base_auc + MIN_AUC_GAIN:
        return verdict(
            "not ready",
            f"Not ready: ROC AUC {auc:.3f} does not beat the baseline's {base_auc:.3f} by at "
            f"least {MIN_AUC_GAIN:.2f}, so the simpler baseline does as well. Measured on {facts}.",
        )
    baseline_note = "" if base_auc is None else f", baseline {base_auc:.3f}"
    shortfalls = []
    if auc < READY_MIN_AUC:
        shortfalls.append(
            f"ROC AUC {auc:.3f} is below {READY_MIN_AUC:.2f} (chance 0.50{baseline_note})"
        )
    if ece > READY_MAX_ECE:
        shortfalls.append(f"calibration error {ece:.3f} is above {READY_MAX_ECE:.2f}")
    if rare < MIN_POSITIVES:
        shortfalls.append(f"only {rare:,} {rare_kind} leads were tested ({MIN_POSITIVES} needed)")
    if shortfalls:
        ranking = "" if auc < READY_MIN_AUC else f" (ROC AUC {auc:.3f}{baseline_note})"
        return verdict(
            "usable",
            f"Usable for ranking leads{ranking}, not yet ready: {'; '.join(shortfalls)}. "
            f"Measured on {facts}.",
        )
    return verdict(
        "ready",
        f"Ready: ROC AUC {auc:.3f} (at least {READY_MIN_AUC:.2f}{baseline_note}) and calibration "
        f"error {ece:.3f} (at most {READY_MAX_ECE:.2f}). Measured on {facts}.",
    )
