"""Calibration: do the predicted probabilities match how often leads actually convert?

Binning contract (used by :func:`expected_calibration_error`, :func:`calibration_table` and the
reliability diagram). Bins hold equal numbers of leads ("equal mass", quantile bins): a lead
whose probability is larger than ``r`` of the ``n`` probabilities goes to bin
``floor(r * bins / n)``. Leads with equal probabilities therefore always share a bin, the result
does not depend on row order, and with ``n`` divisible by ``bins`` and no ties every bin holds
exactly ``n / bins`` leads. Ties can leave bins empty; empty bins are dropped.

Expected calibration error (ECE), over the non-empty bins::

    ECE = sum_b (n_b / n) * |mean(prob in b) - mean(outcome in b)|

i.e. the share-weighted mean absolute gap between predicted and observed conversion rates. It is
0 for a model whose probabilities match the observed rates in every bin. ECE also reads as noise:
a perfectly calibrated model scores about 0.02 on 1,000 leads with 10 bins, because each bin's
observed rate is itself an estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from leadscore.errors import UsageError
from leadscore.evaluation.inputs import FloatArray, as_outcomes, as_probabilities

__all__ = [
    "CALIBRATION_SCHEMA",
    "SEGMENT_BIN_ROWS",
    "SEGMENT_ECE_LIMIT",
    "SEGMENT_MIN_COUNT",
    "SEGMENT_MIN_POSITIVES",
    "SEGMENT_NOISE_FACTOR",
    "SEGMENT_RELATIVE_GAP",
    "SEGMENT_SCHEMA",
    "SEGMENT_Z_LIMIT",
    "Trust",
    "calibration_by_segment",
    "calibration_table",
    "equal_mass_bins",
    "expected_calibration_error",
]

Trust = Literal["good", "check", "too few"]

SEGMENT_MIN_COUNT: Final = 200
"""Default ``min_count``: segments with fewer leads are "too few" to judge."""
SEGMENT_MIN_POSITIVES: Final = 20
"""Default ``min_positives``: fewer converted (or not converted) leads are "too few"."""
SEGMENT_BIN_ROWS: Final = 100
"""Within a segment, ECE uses ``min(bins, count // 100)`` bins (at least 1) so that each bin
holds about 100 leads or more and its observed rate is not pure noise."""
SEGMENT_ECE_LIMIT: Final = 0.05
"""A segment's ECE above this (the bar :mod:`.readiness` sets for "ready") may mean "check"..."""
SEGMENT_NOISE_FACTOR: Final = 2.0
"""... but only when it is also more than twice the ECE a calibrated model would show by chance
on the same probabilities (``sum_b n_b/n * sqrt(2/pi) * sqrt(sum p(1-p)) / n_b``)."""
SEGMENT_Z_LIMIT: Final = 2.5
"""The segment's conversions differ from the model's expected count ``sum(prob)`` by more than
2.5 standard errors (``sqrt(sum p(1-p))``; about 1% false alarms) ..."""
SEGMENT_RELATIVE_GAP: Final = 0.2
"""... and the mean probability is more than 20% above or below the observed rate: "check"."""

CALIBRATION_SCHEMA: Final[dict[str, pl.DataType]] = {
    "bin": pl.Int64(),
    "count": pl.Int64(),
    "mean_prob": pl.Float64(),
    "observed_rate": pl.Float64(),
}
SEGMENT_SCHEMA: Final[dict[str, pl.DataType]] = {
    "segment": pl.String(),
    "value": pl.String(),
    "count": pl.Int64(),
    "positives": pl.Int64(),
    "mean_prob": pl.Float64(),
    "observed_rate": pl.Float64(),
    "ece": pl.Float64(),
    "trust": pl.String(),
}
_MISSING: Final = "(missing)"


def _check_int(value: object, name: str, function: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(
            f"The {name!r} parameter of {function} must be an int >= {minimum}. "
            f"Got {value!r} instead."
        )
    return value


def equal_mass_bins(y_prob: FloatArray, bins: int) -> npt.NDArray[np.int64]:
    """The bin (0 .. bins-1) of each probability under the binning contract of this module."""
    ordered = np.sort(y_prob)
    below = np.searchsorted(ordered, y_prob, side="left").astype(np.int64)
    bin_of: npt.NDArray[np.int64] = (below * bins) // y_prob.shape[0]
    return bin_of


def _bin_stats(
    y: FloatArray, p: FloatArray, bins: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per non-empty bin, in order: count, mean probability, observed rate, sum of p(1-p)."""
    _, index = np.unique(equal_mass_bins(p, bins), return_inverse=True)
    counts = np.bincount(index).astype(np.float64)
    mean_prob = np.bincount(index, weights=p) / counts
    observed = np.bincount(index, weights=y) / counts
    variance = np.bincount(index, weights=p * (1.0 - p)).astype(np.float64)
    return counts, mean_prob, observed, variance


def _ece(y: FloatArray, p: FloatArray, bins: int) -> float:
    counts, mean_prob, observed, _ = _bin_stats(y, p, bins)
    return float(np.sum(counts / y.shape[0] * np.abs(mean_prob - observed)))


def expected_calibration_error(
    y_true: npt.ArrayLike, y_prob: npt.ArrayLike, bins: int = 10
) -> float:
    """ECE with ``bins`` equal-mass bins, as defined in the module docstring."""
    bins = _check_int(bins, "bins", "expected_calibration_error", 1)
    y = as_outcomes(y_true)
    return _ece(y, as_probabilities(y_prob, y.shape[0]), bins)


def calibration_table(y_true: npt.ArrayLike, y_prob: npt.ArrayLike, bins: int = 10) -> pl.DataFrame:
    """Predicted against observed conversion rate per equal-mass bin, for plots and reports.

    One row per non-empty bin, ordered by probability, with :data:`CALIBRATION_SCHEMA`:
    ``bin`` (1, 2, ... consecutively), ``count`` (leads), ``mean_prob`` (mean predicted
    probability) and ``observed_rate`` (share of those leads that converted).
    """
    bins = _check_int(bins, "bins", "calibration_table", 1)
    y = as_outcomes(y_true)
    counts, mean_prob, observed, _ = _bin_stats(y, as_probabilities(y_prob, y.shape[0]), bins)
    return pl.DataFrame(
        {
            "bin": np.arange(1, counts.shape[0] + 1),
            "count": counts.astype(np.int64),
            "mean_prob": mean_prob,
            "observed_rate": observed,
        },
        schema=CALIBRATION_SCHEMA,
    )


def _as_text(column: pl.Series) -> pl.Series:
    """Segment values as text; null and NaN become :data:`_MISSING`."""
    if column.dtype == pl.Object:
        column = pl.Series(column.name, [None if v is None else str(v) for v in column])
    elif column.dtype.is_float():
        column = column.fill_nan(None)
    return column.cast(pl.String).fill_null(_MISSING)


def _segment_series(
    segments: pl.DataFrame | Mapping[str, npt.ArrayLike], n: int
) -> list[pl.Series]:
    if isinstance(segments, pl.DataFrame):
        columns = list(segments.iter_columns())
    else:
        columns = [pl.Series(name, np.asarray(values)) for name, values in segments.items()]
    if not columns:
        raise UsageError("segments must name at least one column, e.g. {'source': sources}.")
    for column in columns:
        if column.len() != n:
            raise UsageError(
                f"segments[{column.name!r}] must have one value per outcome ({n}); "
                f"got {column.len()}."
            )
    return [_as_text(column) for column in columns]


def _trust(
    y: FloatArray, p: FloatArray, segment_ece: float, bins: int, min_count: int, min_positives: int
) -> Trust:
    count = y.shape[0]
    positives = float(y.sum())
    if count < min_count or min(positives, count - positives) < min_positives:
        return "too few"
    expected = float(p.sum())
    spread = math.sqrt(float(np.sum(p * (1.0 - p))))
    gap = positives - expected
    z = gap / spread if spread > 0 else (math.inf if gap else 0.0)
    relative = abs(gap) / positives if positives else (math.inf if expected else 0.0)
    if abs(z) > SEGMENT_Z_LIMIT and relative > SEGMENT_RELATIVE_GAP:
        return "check"
    counts, _, _, variance = _bin_stats(y, p, bins)
    noise = float(np.sum(counts / count * math.sqrt(2.0 / math.pi) * np.sqrt(variance) / counts))
    if segment_ece > SEGMENT_ECE_LIMIT and segment_ece > SEGMENT_NOISE_FACTOR * noise:
        return "check"
    return "good"


def calibration_by_segment(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    segments: pl.DataFrame | Mapping[str, npt.ArrayLike],
    min_count: int = SEGMENT_MIN_COUNT,
    min_positives: int = SEGMENT_MIN_POSITIVES,
    bins: int = 10,
) -> pl.DataFrame:
    """Calibration per segment value, with a verdict on whether its probabilities can be trusted.

    ``segments`` holds one column per segmentation (e.g. ``source`` and a company-size band),
    one value per lead, as a polars frame or a mapping of name to array. Values are compared as
    text; missing values form the value ``"(missing)"``.

    Returns one row per (segment, value) with :data:`SEGMENT_SCHEMA`: ``count``, ``positives``,
    ``mean_prob``, ``observed_rate``, ``ece`` (within the segment, with
    ``min(bins, count // SEGMENT_BIN_ROWS)`` equal-mass bins, at least one) and ``trust``:

    - ``"too few"``: fewer than ``min_count`` leads, or fewer than ``min_positives`` converted
      or not-converted leads; the other columns are shown but too noisy to act on.
    - ``"check"``: the segment converts at a rate the probabilities do not explain: its
      conversions differ from ``sum(prob)`` by more than :data:`SEGMENT_Z_LIMIT` standard
      errors *and* by more than :data:`SEGMENT_RELATIVE_GAP` of them; or its ECE exceeds
      :data:`SEGMENT_ECE_LIMIT` *and* :data:`SEGMENT_NOISE_FACTOR` times the chance level.
    - ``"good"``: otherwise; the probabilities can be read as conversion rates here.

    Rows keep the order of the segment columns, and within one segment go by falling count.
    For each segment the counts add up to the number of leads.
    """
    function = "calibration_by_segment"
    min_count = _check_int(min_count, "min_count", function, 1)
    min_positives = _check_int(min_positives, "min_positives", function, 0)
    bins = _check_int(bins, "bins", function, 1)
    y = as_outcomes(y_true)
    p = as_probabilities(y_prob, y.shape[0])
    rows: list[dict[str, object]] = []
    for column in _segment_series(segments, y.shape[0]):
        labels = column.to_numpy()
        values, counts = np.unique(labels, return_counts=True)
        for value in values[np.lexsort((values, -counts))]:
            mask = labels == value
            ys, ps = y[mask], p[mask]
            segment_bins = max(1, min(bins, ys.shape[0] // SEGMENT_BIN_ROWS))
            segment_ece = _ece(ys, ps, segment_bins)
            rows.append(
                {
                    "segment": column.name,
                    "value": str(value),
                    "count": int(ys.shape[0]),
                    "positives": int(ys.sum()),
                    "mean_prob": float(ps.mean()),
                    "observed_rate": float(ys.mean()),
                    "ece": segment_ece,
                    "trust": _trust(ys, ps, segment_ece, segment_bins, min_count, min_positives),
                }
            )
    return pl.DataFrame(rows, schema=SEGMENT_SCHEMA)
