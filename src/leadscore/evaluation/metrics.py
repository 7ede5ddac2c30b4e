"""Scalar metrics of a conversion model on a test set, and of the simulator's true probabilities.

Every returned value is a finite Python ``float``, so the dictionaries go to JSON and MLflow
unchanged. Inputs with one outcome only (no lead converted, or every lead) raise
:class:`~leadscore.errors.DataError` instead of returning NaN: ROC AUC, PR AUC and lift are
undefined then, and a test window like that cannot judge a model anyway.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from leadscore.errors import UsageError
from leadscore.evaluation.calibration import expected_calibration_error
from leadscore.evaluation.inputs import (
    FloatArray,
    as_outcomes,
    as_probabilities,
    require_both_classes,
)

__all__ = ["ECE_BINS", "LIFT_SHARE", "METRIC_NAMES", "binary_metrics", "lift_at", "oracle_metrics"]

ECE_BINS: Final = 10
"""Equal-mass bins of the ``ece`` in :func:`binary_metrics`."""
LIFT_SHARE: Final = 0.10
"""The top share of leads ``lift_at_10`` looks at."""
METRIC_NAMES: Final = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_at_10")
"""The keys of :func:`binary_metrics`, in order."""


def _lift(y: FloatArray, p: FloatArray, share: float) -> float:
    n = y.shape[0]
    k = max(1, math.ceil(round(n * share, 9)))  # round: 0.1 * 30 is 3.0000000000000004
    threshold = np.sort(p)[n - k]
    above = p > threshold
    tied = p == threshold
    # Leads tied at the cut count with their group's mean rate: the expected value over every
    # order of the ties, so the result does not depend on row order.
    positives = y[above].sum() + (k - above.sum()) * y[tied].mean()
    return float((positives / k) / y.mean())


def lift_at(y_true: npt.ArrayLike, y_prob: npt.ArrayLike, share: float = LIFT_SHARE) -> float:
    """Conversion rate among the ``ceil(share * n)`` most probable leads / overall rate.

    Leads tied with the last one taken count with the mean rate of their tie group.
    """
    if not 0.0 < share <= 1.0:
        raise UsageError(
            f"The 'share' parameter of lift_at must be a float in (0, 1]. Got {share!r} instead."
        )
    y = as_outcomes(y_true)
    p = as_probabilities(y_prob, y.shape[0])
    require_both_classes(y, "lift_at")
    return _lift(y, p, share)


def binary_metrics(y_true: npt.ArrayLike, y_prob: npt.ArrayLike) -> dict[str, float]:
    """Ranking, probability and business metrics of ``y_prob`` against 0/1 ``y_true``.

    Keys, in order (:data:`METRIC_NAMES`):

    - ``roc_auc``: area under the ROC curve (0.5 = chance, 1 = perfect ranking).
    - ``pr_auc``: average precision (area under the precision-recall curve; chance = the
      positive rate).
    - ``log_loss``: mean negative log-likelihood (probabilities clipped by scikit-learn).
    - ``brier``: mean squared error of the probabilities.
    - ``ece``: expected calibration error with :data:`ECE_BINS` equal-mass bins
      (:mod:`leadscore.evaluation.calibration`).
    - ``lift_at_10``: conversion rate in the top 10% of leads by probability divided by the
      overall conversion rate (ties at the cut shared out at their mean rate).

    Raises :class:`~leadscore.errors.DataError` when ``y_true`` holds one outcome only, or
    values are not 0/1 outcomes and probabilities in [0, 1].
    """
    y = as_outcomes(y_true)
    p = as_probabilities(y_prob, y.shape[0])
    require_both_classes(y, "binary_metrics")
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0.0, 1.0])),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p, ECE_BINS),
        "lift_at_10": _lift(y, p, LIFT_SHARE),
    }


def oracle_metrics(
    y_true: npt.ArrayLike, p_true: npt.ArrayLike, y_prob: npt.ArrayLike
) -> dict[str, float]:
    """How good scoring could be at best, and how far the model's probabilities are from it.

    ``p_true`` are the simulator's true conversion probabilities of the same leads. Keys:
    ``roc_auc`` and ``brier`` of ``p_true`` against ``y_true`` (the ceiling any model can
    reach on this sample) and ``prob_mae``, the mean ``|y_prob - p_true|``.
    """
    y = as_outcomes(y_true)
    truth = as_probabilities(p_true, y.shape[0], "p_true")
    p = as_probabilities(y_prob, y.shape[0])
    require_both_classes(y, "oracle_metrics")
    return {
        "roc_auc": float(roc_auc_score(y, truth)),
        "brier": float(brier_score_loss(y, truth)),
        "prob_mae": float(np.mean(np.abs(p - truth))),
    }
