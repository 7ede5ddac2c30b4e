"""Qini and uplift@k of one treatment arm against control, from observed outcomes.

Pure functions of arrays; nothing here fits a model. The rows are those of a holdout that got
the arm (``treated`` true) or the control (false); ``score`` is the predicted uplift of the
arm, ``outcome`` 0/1. ``weight`` is an optional inverse-propensity weight per row,
``1 / pi(observed arm | x)``, so that the treated and control rows among the top-scored stand
for the same customers when the assignment depended on them. Weights constant per arm (a known
randomisation) change nothing: every figure below is a ratio within each arm.

* :func:`qini_curve` — Radcliffe's Qini curve: among the ``t`` best-scored rows,
  ``Y_T(t) - Y_C(t) * N_T(t) / N_C(t)`` (weighted responders ``Y`` and rows ``N`` of the
  treated and the control rows), divided here by the treated total ``N_T`` so that the curve
  ends at the average effect and reads as "incremental conversions per treated customer".
  Ties of the score are one step. ``area`` is the area between the curve and the random line
  (Radcliffe's Qini), ``coefficient`` that area divided by the perfect ranking's (treated
  responders first, control responders last), as scikit-uplift's ``qini_auc_score``: 1 is
  perfect, 0 no better than random.
* :func:`uplift_at_k` — response rate of the treated minus that of the control rows among
  the best-scored share ``k`` of all rows (scikit-uplift's ``uplift_at_k``, strategy
  "overall").
* :func:`response_difference` — treated minus control response rate with a 95 % Wald
  interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from leadscore.errors import UsageError
from leadscore.evaluation.policy import Z_95

__all__ = [
    "QiniCurve",
    "ResponseDifference",
    "qini_curve",
    "response_difference",
    "uplift_at_k",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class QiniCurve:
    """A Qini curve sampled at ``share`` (of rows treated, best score first) with its area
    above the random line and its coefficient (see the module docstring)."""

    share: FloatArray
    gain: FloatArray
    area: float
    coefficient: float

    @property
    def random(self) -> FloatArray:
        """The random ranking's line: ``share`` times the average effect."""
        return np.asarray(self.share * self.gain[-1], dtype=np.float64)


@dataclass(frozen=True)
class ResponseDifference:
    """Observed response rates of the treated and control rows and their difference."""

    treated_rows: int
    control_rows: int
    treated_rate: float
    control_rate: float
    difference: float
    low: float
    high: float

    def covers(self, value: float) -> bool:
        """Whether the 95 % interval holds ``value``."""
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, object]:
        """The figures as a plain mapping (for JSON and MLflow)."""
        return dict(self.__dict__)


def _checked(
    score: FloatArray, treated: BoolArray, outcome: FloatArray, weight: FloatArray | None
) -> tuple[FloatArray, BoolArray, FloatArray, FloatArray]:
    s = np.asarray(score, dtype=np.float64)
    t = np.asarray(treated, dtype=np.bool_)
    y = np.asarray(outcome, dtype=np.float64)
    w = np.ones(len(s)) if weight is None else np.asarray(weight, dtype=np.float64)
    if not (s.ndim == 1 and s.shape == t.shape == y.shape == w.shape):
        raise UsageError(
            "score, treated, outcome and weight must be 1-d arrays of the same length; got "
            f"shapes {s.shape}, {t.shape}, {y.shape} and {w.shape}."
        )
    if t.all() or not t.any():
        raise UsageError("A Qini curve needs treated and control rows; one group is empty.")
    if (w <= 0).any() or not np.isfinite(w).all():
        raise UsageError("Every weight must be a positive finite number.")
    return s, t, y, w


def _points(
    score: FloatArray, treated: BoolArray, outcome: FloatArray, weight: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The curve at the end of every group of tied scores: (share of rows, gain)."""
    order = np.argsort(-score, kind="stable")
    t, y, w = treated[order], outcome[order], weight[order]
    n_treated = np.cumsum(w * t)
    n_control = np.cumsum(w * ~t)
    y_treated = np.cumsum(w * y * t)
    y_control = np.cumsum(w * y * ~t)
    ratio = np.divide(n_treated, n_control, out=np.zeros_like(n_treated), where=n_control > 0)
    qini = (y_treated - y_control * ratio) / n_treated[-1]
    ends = np.append(np.flatnonzero(np.diff(score[order]) != 0), len(score) - 1)
    share = np.concatenate([[0.0], (ends + 1) / len(score)])
    return share, np.concatenate([[0.0], qini[ends]])


def _area(share: FloatArray, gain: FloatArray) -> float:
    """Area between the curve and the straight line from the origin to its end."""
    return float(np.trapezoid(gain, share) - gain[-1] / 2)


def qini_curve(
    score: FloatArray,
    treated: BoolArray,
    outcome: FloatArray,
    *,
    weight: FloatArray | None = None,
    points: int = 101,
) -> QiniCurve:
    """The Qini curve of ``score`` on observed outcomes (see the module docstring)."""
    s, t, y, w = _checked(score, treated, outcome, weight)
    share, gain = _points(s, t, y, w)
    perfect_share, perfect_gain = _points(np.where(t, y, -y), t, y, w)
    area = _area(share, gain)
    best = _area(perfect_share, perfect_gain)
    grid = np.linspace(0.0, 1.0, points)
    return QiniCurve(
        share=grid,
        gain=np.interp(grid, share, gain),
        area=area,
        coefficient=area / best if best > 0 else float("nan"),
    )


def _rate(outcome: FloatArray, weight: FloatArray) -> float:
    return float(np.average(outcome, weights=weight)) if len(outcome) else float("nan")


def uplift_at_k(
    score: FloatArray,
    treated: BoolArray,
    outcome: FloatArray,
    k: float,
    *,
    weight: FloatArray | None = None,
) -> float:
    """Treated minus control response rate among the ``int(k * rows)`` best-scored rows
    (NaN when they hold no treated or no control row)."""
    if not 0 < k <= 1:
        raise UsageError(f"The 'k' parameter of uplift_at_k must be in (0, 1]. Got {k!r} instead.")
    s, t, y, w = _checked(score, treated, outcome, weight)
    top = np.argsort(-s, kind="stable")[: int(k * len(s))]
    treated_top, control_top = top[t[top]], top[~t[top]]
    return _rate(y[treated_top], w[treated_top]) - _rate(y[control_top], w[control_top])


def response_difference(treated: BoolArray, outcome: FloatArray) -> ResponseDifference:
    """Observed response rate of the treated minus the control rows, with a 95 % Wald
    interval ``d ± 1.96 * sqrt(p_T (1 - p_T) / n_T + p_C (1 - p_C) / n_C)``."""
    t = np.asarray(treated, dtype=np.bool_)
    y = np.asarray(outcome, dtype=np.float64)
    n_t, n_c = int(t.sum()), int((~t).sum())
    if n_t == 0 or n_c == 0:
        raise UsageError("A difference of response rates needs treated and control rows.")
    p_t, p_c = float(y[t].mean()), float(y[~t].mean())
    difference = p_t - p_c
    se = float(np.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c))
    return ResponseDifference(
        n_t, n_c, p_t, p_c, difference, difference - Z_95 * se, difference + Z_95 * se
    )
