"""Value of a touchpoint policy: against the truth, and off-policy from logged data only.

Pure functions of arrays; nothing here fits a model. Arrays of shape ``(rows, arms)`` hold one
column per arm in a fixed order (column 0 is ``none`` by convention). A *policy* is a matrix of
the probabilities with which it serves each arm in each row (rows sum to 1); a deterministic
policy is one-hot.

* :func:`policy_value` — the mean true conversion probability under a policy, given the true
  probabilities ``p_a`` of every arm (simulated data: ``truth`` columns ``p_<arm>``).
* :func:`regret_capture` — the share of the oracle's gain over doing nothing a policy achieves.
* :func:`off_policy_value` — IPS and doubly robust estimates of a policy's value from logged
  arms, outcomes and (estimated) logging propensities, with a 95 % interval clustered by lead.
* :func:`uplift_curve` — cumulative true gain when the top-scored rows are treated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from leadscore.errors import UsageError

__all__ = [
    "Z_95",
    "OffPolicyEstimate",
    "UpliftCurve",
    "off_policy_value",
    "one_hot",
    "policy_value",
    "regret_capture",
    "uplift_curve",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The two-sided 95 % quantile of the normal distribution.
Z_95: Final = 1.959963984540054


def one_hot(choice: IntArray, arms: int) -> FloatArray:
    """The deterministic policy that serves arm ``choice[i]`` in row ``i``."""
    out = np.zeros((len(choice), arms))
    out[np.arange(len(choice)), choice] = 1.0
    return out


def _check_policy(policy: FloatArray, truth: FloatArray) -> None:
    if policy.shape != truth.shape:
        raise UsageError(
            f"The policy has shape {policy.shape} but the probabilities {truth.shape}; "
            "give one column per arm for the same rows."
        )
    if not np.allclose(policy.sum(axis=1), 1.0, atol=1e-6):
        raise UsageError("Each row of a policy must sum to 1 (probabilities of the arms).")


def policy_value(true_probabilities: FloatArray, policy: FloatArray) -> float:
    """Mean over rows of ``sum_a policy[i, a] * true_probabilities[i, a]``."""
    _check_policy(policy, true_probabilities)
    return float(np.mean(np.sum(policy * true_probabilities, axis=1)))


def regret_capture(value: float, none: float, oracle: float) -> float:
    """``(value - none) / (oracle - none)``: 1 is the oracle, 0 doing nothing (NaN when the
    oracle gains nothing)."""
    gain = oracle - none
    return float((value - none) / gain) if gain > 0 else float("nan")


@dataclass(frozen=True)
class OffPolicyEstimate:
    """A policy value estimated from logged data, with its 95 % confidence interval."""

    method: str
    value: float
    standard_error: float
    low: float
    high: float
    clusters: int

    def covers(self, value: float) -> bool:
        """Whether the interval holds ``value``."""
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, object]:
        """The estimate as a plain mapping (for JSON and MLflow)."""
        return dict(self.__dict__)


def _clustered_mean(
    terms: FloatArray, weight: FloatArray, clusters: IntArray, method: str
) -> OffPolicyEstimate:
    """Weighted mean of ``terms`` with a cluster-robust (sandwich) standard error."""
    total = weight.sum()
    value = float(np.sum(weight * terms) / total)
    scores = np.bincount(clusters, weights=weight * (terms - value))
    n_clusters = int(np.count_nonzero(np.bincount(clusters)))
    correction = n_clusters / max(n_clusters - 1, 1)
    se = float(np.sqrt(correction * np.sum(scores**2)) / total)
    return OffPolicyEstimate(method, value, se, value - Z_95 * se, value + Z_95 * se, n_clusters)


def off_policy_value(
    logged: IntArray,
    outcome: FloatArray,
    logging_propensity: FloatArray,
    policy: FloatArray,
    clusters: IntArray,
    *,
    outcome_model: FloatArray | None = None,
    weight: FloatArray | None = None,
    clip: float = 0.01,
) -> dict[str, OffPolicyEstimate]:
    """IPS (and, with ``outcome_model``, doubly robust) estimates of ``policy``'s value.

    ``logged[i]`` is the arm the logging policy chose, ``outcome[i]`` what followed,
    ``logging_propensity[i, a]`` the (estimated) probability the logging policy had of each
    arm, clipped below at ``clip``; ``outcome_model[i, a]`` an estimate of the outcome under
    each arm. ``weight`` is a sampling weight per row, ``clusters`` the lead of each row (the
    standard error treats leads as independent, rows of one lead as dependent).

    IPS: ``policy[i, A] / pi[i, A] * Y``. DR: ``sum_a policy[i, a] mu[i, a] +
    policy[i, A] / pi[i, A] * (Y - mu[i, A])``.
    """
    _check_policy(policy, logging_propensity)
    rows = np.arange(len(logged))
    w = np.ones(len(logged)) if weight is None else np.asarray(weight, dtype=np.float64)
    ratio = policy[rows, logged] / np.maximum(logging_propensity[rows, logged], clip)
    _, cluster_codes = np.unique(clusters, return_inverse=True)
    codes = cluster_codes.astype(np.int64)
    out = {"ips": _clustered_mean(ratio * outcome, w, codes, "ips")}
    if outcome_model is not None:
        direct = np.sum(policy * outcome_model, axis=1)
        terms = direct + ratio * (outcome - outcome_model[rows, logged])
        out["dr"] = _clustered_mean(terms, w, codes, "dr")
    return out


@dataclass(frozen=True)
class UpliftCurve:
    """Cumulative true gain per row when the top ``share`` of rows (by score) are treated.

    ``gain[k]`` is the sum of the true uplifts of the ``k`` best-scored rows divided by the
    number of rows; ``area`` is the mean height above the random line (``share * total``),
    the Qini coefficient's numerator.
    """

    share: FloatArray
    gain: FloatArray
    area: float


def uplift_curve(score: FloatArray, true_uplift: FloatArray, points: int = 101) -> UpliftCurve:
    """The uplift (Qini-style) curve of ``score`` against the true uplift of the same rows.

    Rows are treated in order of falling ``score`` (ties in input order); sorting by
    ``true_uplift`` itself gives the oracle's curve.
    """
    if score.shape != true_uplift.shape or score.ndim != 1:
        raise UsageError("score and true_uplift must be 1-d arrays of the same length.")
    n = len(score)
    order = np.argsort(-score, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(true_uplift[order])]) / max(n, 1)
    at = np.linspace(0, n, points).round().astype(np.int64)
    share = at / max(n, 1)
    gain = cumulative[at]
    random = share * cumulative[-1]
    return UpliftCurve(share, gain, float(np.mean(gain - random)))
