"""Checks for the arrays every evaluation function takes: outcomes and probabilities.

Evaluation is the edge where predictions meet outcomes, so the checks live here once:
outcomes must be 0/1, probabilities finite and within [0, 1], and all arrays of one call
the same length. A wrong *shape* or a length mismatch is a programming error
(:class:`~leadscore.errors.UsageError`); wrong *values* are a data problem
(:class:`~leadscore.errors.DataError`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from leadscore.errors import DataError, UsageError

__all__ = ["FloatArray", "as_curves", "as_outcomes", "as_probabilities", "require_both_classes"]

FloatArray = npt.NDArray[np.float64]


def _one_dimensional(values: npt.ArrayLike, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise UsageError(f"{what} must be one-dimensional; got shape {array.shape}.")
    return array


def as_outcomes(y_true: npt.ArrayLike) -> FloatArray:
    """``y_true`` as a float array of 0.0 and 1.0; raises when empty or not binary."""
    array = _one_dimensional(y_true, "y_true")
    if array.size == 0:
        raise DataError("y_true is empty; evaluation needs at least one lead with an outcome.")
    if array.dtype == np.bool_:
        return array.astype(np.float64)
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"y_true must hold 0/1 outcomes; got values of type {array.dtype}.")
    numbers = array.astype(np.float64)
    bad = ~np.isin(numbers, (0.0, 1.0))
    if bad.any():
        examples = ", ".join(repr(float(v)) for v in np.unique(numbers[bad])[:3])
        raise DataError(
            f"y_true must hold 0/1 outcomes; got {int(bad.sum())} other values ({examples})."
        )
    return numbers


def as_probabilities(y_prob: npt.ArrayLike, n: int, what: str = "y_prob") -> FloatArray:
    """``y_prob`` as a float array of length ``n`` with finite values within [0, 1]."""
    array = _one_dimensional(y_prob, what)
    if array.shape[0] != n:
        raise UsageError(f"{what} must have one value per outcome ({n}); got {array.shape[0]}.")
    if not np.issubdtype(array.dtype, np.number) and array.dtype != np.bool_:
        raise DataError(f"{what} must hold probabilities; got values of type {array.dtype}.")
    numbers = array.astype(np.float64)
    bad = ~np.isfinite(numbers) | (numbers < 0.0) | (numbers > 1.0)
    if bad.any():
        examples = ", ".join(repr(float(v)) for v in numbers[bad][:3])
        raise DataError(
            f"{what} must hold probabilities within [0, 1]; got {int(bad.sum())} values "
            f"outside or missing ({examples})."
        )
    return numbers


def as_curves(curves: Mapping[str, npt.ArrayLike], n: int) -> dict[str, FloatArray]:
    """Each named probability array checked with :func:`as_probabilities`; at least one."""
    if not curves:
        raise UsageError("curves must name at least one probability array, e.g. {'model': p}.")
    return {name: as_probabilities(prob, n, f"curves[{name!r}]") for name, prob in curves.items()}


def require_both_classes(y: FloatArray, what: str) -> int:
    """The number of positives in ``y``; raises when ``y`` holds one outcome only."""
    positives = int(y.sum())
    if positives == 0 or positives == y.shape[0]:
        only = "0 (no lead converted)" if positives == 0 else "1 (every lead converted)"
        raise DataError(
            f"{what} needs both outcomes in y_true; got {y.shape[0]} rows, all {only}. "
            "ROC AUC, PR AUC and lift are undefined then: evaluate on a longer test window."
        )
    return positives
