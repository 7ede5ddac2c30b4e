"""A leakage sanity check: columns that give the outcome away before any model is fitted.

Four rules, each on one column against the 0/1 target (``base`` is the positive share):

* ``single_column_auc`` - numeric (and boolean) columns: ROC AUC of the column alone,
  ``max(auc, 1 - auc)``, on the filled rows only (needs ``MIN_CLASS_ROWS`` filled rows of each
  class; what the missing cells give away is the ``filled_for_one_class`` rule's job);
  fires at ``auc_threshold``.
* ``cramers_v`` - text/categorical columns: bias-corrected Cramér's V (Bergsma 2013) of the
  column, missing as a category of its own, against the target; fires at
  ``cramers_v_threshold``. The correction keeps many rare values from looking like a leak.
* ``filled_for_one_class`` - any column: at least ``min_support`` rows are filled, the filled
  rows are ``>= certain_high`` positive (or ``<= certain_low``), and the column is filled for at
  least ``fill_share`` of that class's rows. ``figure`` is the share of filled rows in the class.
* ``status_values`` - text/categorical columns: values (missing cells aside) with at least
  ``min_support`` rows whose positive share is ``>= certain_high`` (counted only while base
  ``<= base_rate_bounds[1]``) or ``<= certain_low`` (only while base ``>= base_rate_bounds[0]``)
  together cover ``>= status_share`` of all rows; ``figure`` is that share.

The near-certain rules also need the base rate inside ``base_rate_bounds``, so that "97 %
positive" means something. A column may be suspected by several rules; suspects in ``keep`` are
reported as kept, the others are to be excluded from training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from leadscore.errors import DataError, UsageError

__all__ = [
    "AUC_THRESHOLD",
    "BASE_RATE_BOUNDS",
    "CERTAIN_HIGH",
    "CERTAIN_LOW",
    "CRAMERS_V_THRESHOLD",
    "FILL_SHARE",
    "MIN_CLASS_ROWS",
    "MIN_SUPPORT",
    "STATUS_SHARE",
    "LeakageReport",
    "LeakageSuspect",
    "check_leakage",
]

AUC_THRESHOLD: Final = 0.95
CRAMERS_V_THRESHOLD: Final = 0.9
FILL_SHARE: Final = 0.20
STATUS_SHARE: Final = 0.30
CERTAIN_HIGH: Final = 0.97
CERTAIN_LOW: Final = 0.03
MIN_SUPPORT: Final = 30
MIN_CLASS_ROWS: Final = 10
BASE_RATE_BOUNDS: Final = (0.10, 0.90)
_LISTED: Final = 3

LeakageRule = Literal["single_column_auc", "cramers_v", "filled_for_one_class", "status_values"]


@dataclass(frozen=True)
class LeakageSuspect:
    """One column suspected by one rule: the measured ``figure`` and a sentence about it."""

    column: str
    rule: LeakageRule
    figure: float
    detail: str
    kept: bool = False


@dataclass(frozen=True)
class LeakageReport:
    """Every suspect in frame order, split into ``excluded`` (column not in ``keep``: leave it
    out of training) and ``kept`` (column in ``keep``)."""

    suspects: tuple[LeakageSuspect, ...]
    excluded: tuple[LeakageSuspect, ...]
    kept: tuple[LeakageSuspect, ...]

    @property
    def excluded_columns(self) -> tuple[str, ...]:
        """The columns to leave out of training, each once, in frame order."""
        return tuple(dict.fromkeys(suspect.column for suspect in self.excluded))

    def to_dict(self) -> dict[str, list[dict[str, object]]]:
        """The report for JSON output: ``{"suspected_leakage": [{column, rule, figure,
        detail, kept}, ...]}``."""
        return {
            "suspected_leakage": [
                {
                    "column": s.column,
                    "rule": s.rule,
                    "figure": round(s.figure, 4),
                    "detail": s.detail,
                    "kept": s.kept,
                }
                for s in self.suspects
            ]
        }


@dataclass(frozen=True)
class _Settings:
    auc_threshold: float
    cramers_v_threshold: float
    fill_share: float
    status_share: float
    certain_high: float
    certain_low: float
    min_support: int
    base_low: float
    base_high: float


def _pct(share: float) -> str:
    return f"{share:.1%}" if 0 < share < 0.01 or 0.99 < share < 1 else f"{share:.0%}"


def _is_categorical(dtype: pl.DataType) -> bool:
    return dtype in (pl.String(), pl.Categorical()) or isinstance(dtype, pl.Enum)


def _is_numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype == pl.Boolean()


def _auc(values: pl.Series, y: npt.NDArray[np.int8], s: _Settings) -> LeakageSuspect | None:
    filled = values.cast(pl.Float64).fill_nan(None).is_not_null().to_numpy()
    labels = y[filled]
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if min(n_pos, n_neg) < MIN_CLASS_ROWS:
        return None
    ranks = values.cast(pl.Float64).filter(pl.Series(filled)).rank("average").to_numpy()
    auc = (float(ranks[labels == 1].sum()) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    figure = max(auc, 1 - auc)
    if figure < s.auc_threshold:
        return None
    detail = (
        f"{values.name}: on its own it separates the outcomes with ROC AUC {figure:.3f} "
        f"(on {len(labels):,} filled rows)"
    )
    return LeakageSuspect(values.name, "single_column_auc", figure, detail)


def _counts(values: pl.Series, y: npt.NDArray[np.int8]) -> pl.DataFrame:
    """Rows ``n`` and positives ``pos`` per value of ``values`` (missing as one value)."""
    frame = pl.DataFrame({"value": values.cast(pl.String), "y": y})
    return frame.group_by("value").agg(n=pl.len(), pos=pl.col("y").cast(pl.Int64).sum())


def _cramers_v(counts: pl.DataFrame, base: float, s: _Settings, name: str) -> LeakageSuspect | None:
    n = int(counts["n"].sum())
    k = counts.height
    if k < 2 or n < 3:
        return None
    rows = counts["n"].to_numpy().astype(np.float64)
    pos = counts["pos"].to_numpy().astype(np.float64)
    expected_pos, expected_neg = rows * base, rows * (1 - base)
    chi2 = float(
        (((pos - expected_pos) ** 2) / expected_pos).sum()
        + (((rows - pos - expected_neg) ** 2) / expected_neg).sum()
    )
    phi2 = max(0.0, chi2 / n - (k - 1) / (n - 1))
    k_corr = k - (k - 1) ** 2 / (n - 1)
    r_corr = 2 - 1 / (n - 1)
    denominator = min(k_corr - 1, r_corr - 1)
    if denominator <= 0:
        return None
    figure = min(1.0, math.sqrt(phi2 / denominator))
    if figure < s.cramers_v_threshold:
        return None
    detail = f"{name}: its values determine the outcome almost entirely (Cramér's V {figure:.2f})"
    return LeakageSuspect(name, "cramers_v", figure, detail)


def _filled(
    values: pl.Series, y: npt.NDArray[np.int8], base: float, s: _Settings
) -> LeakageSuspect | None:
    column = values.cast(pl.Float64).fill_nan(None) if values.dtype.is_float() else values
    filled = column.is_not_null().to_numpy()
    n_filled = int(filled.sum())
    if n_filled < s.min_support:
        return None
    positive_share = float(y[filled].mean())
    fill_pos = float(filled[y == 1].mean())
    fill_neg = float(filled[y == 0].mean())
    if positive_share >= s.certain_high and base <= s.base_high and fill_pos >= s.fill_share:
        owner, figure, owner_fill, other_fill = "positive", positive_share, fill_pos, fill_neg
    elif positive_share <= s.certain_low and base >= s.base_low and fill_neg >= s.fill_share:
        owner, figure, owner_fill, other_fill = "negative", 1 - positive_share, fill_neg, fill_pos
    else:
        return None
    detail = (
        f"{values.name}: filled for {_pct(owner_fill)} of {owner} rows and {_pct(other_fill)} "
        f"of the others; {_pct(figure)} of filled rows are {owner}"
    )
    return LeakageSuspect(values.name, "filled_for_one_class", figure, detail)


def _status(counts: pl.DataFrame, base: float, s: _Settings, name: str) -> LeakageSuspect | None:
    total = int(counts["n"].sum())
    share = pl.col("pos") / pl.col("n")
    certain = (share >= s.certain_high) & pl.lit(base <= s.base_high)
    certain |= (share <= s.certain_low) & pl.lit(base >= s.base_low)
    hits = counts.filter(
        pl.col("value").is_not_null() & (pl.col("n") >= s.min_support) & certain
    ).sort(["n", "value"], descending=[True, False])
    figure = int(hits["n"].sum()) / total
    if hits.height == 0 or figure < s.status_share:
        return None
    listed = hits["value"].to_list()
    shown = ", ".join(listed[:_LISTED]) + (", …" if len(listed) > _LISTED else "")
    detail = f"{name}: {_pct(figure)} of rows sit in values whose outcome is near-certain ({shown})"
    return LeakageSuspect(name, "status_values", figure, detail)


def _check_share(name: str, value: float) -> None:
    if not 0 < value <= 1:
        raise UsageError(
            f"The {name!r} parameter of check_leakage must be a float in the range (0, 1]. "
            f"Got {value!r} instead."
        )


def check_leakage(
    features: pl.DataFrame,
    target: npt.NDArray[np.integer] | Sequence[int],
    *,
    keep: Sequence[str] = (),
    auc_threshold: float = AUC_THRESHOLD,
    cramers_v_threshold: float = CRAMERS_V_THRESHOLD,
    fill_share: float = FILL_SHARE,
    status_share: float = STATUS_SHARE,
    certain_high: float = CERTAIN_HIGH,
    certain_low: float = CERTAIN_LOW,
    min_support: int = MIN_SUPPORT,
    base_rate_bounds: tuple[float, float] = BASE_RATE_BOUNDS,
) -> LeakageReport:
    """Apply the four rules of the module to every column of ``features``.

    ``target`` holds 0/1 per row. Raises UsageError for a target of the wrong length or
    values, a ``keep`` name that is not a column, or a threshold outside (0, 1]; DataError when
    the target holds one class only.
    """
    shares = {
        "auc_threshold": auc_threshold,
        "cramers_v_threshold": cramers_v_threshold,
        "fill_share": fill_share,
        "status_share": status_share,
        "certain_high": certain_high,
        "certain_low": certain_low,
        "base_rate_bounds[0]": base_rate_bounds[0],
        "base_rate_bounds[1]": base_rate_bounds[1],
    }
    for name, value in shares.items():
        _check_share(name, value)
    if certain_low >= certain_high or min_support < 1:
        raise UsageError(
            "check_leakage needs certain_low < certain_high and min_support >= 1. Got "
            f"{certain_low!r}, {certain_high!r} and {min_support!r} instead."
        )
    y = np.asarray(target)
    if y.shape != (features.height,) or not np.isin(y, (0, 1)).all():
        raise UsageError(
            f"the target must hold 0 or 1 for each of the {features.height:,} rows; got "
            f"shape {y.shape} with values {sorted(np.unique(y).tolist())[:5]}"
        )
    y = y.astype(np.int8)
    unknown = [name for name in keep if name not in features.columns]
    if unknown:
        raise UsageError(
            f"keep names {unknown}, which are not columns of the features; name feature columns"
        )
    base = float(y.mean())
    if base in (0.0, 1.0):
        raise DataError("the target holds one class only; leakage cannot be measured")
    s = _Settings(
        auc_threshold,
        cramers_v_threshold,
        fill_share,
        status_share,
        certain_high,
        certain_low,
        min_support,
        *base_rate_bounds,
    )
    suspects: list[LeakageSuspect] = []
    for values in features.iter_columns():
        filled = _filled(values, y, base, s)
        found: list[LeakageSuspect | None] = [filled]
        if _is_numeric(values.dtype):
            found = [_auc(values, y, s), filled]
        elif _is_categorical(values.dtype):
            counts = _counts(values, y)
            found = [_cramers_v(counts, base, s, values.name), filled]
            found.append(_status(counts, base, s, values.name))
        kept = values.name in keep
        suspects += [LeakageSuspect(f.column, f.rule, f.figure, f.detail, kept) for f in found if f]
    return LeakageReport(
        tuple(suspects),
        excluded=tuple(suspect for suspect in suspects if not suspect.kept),
        kept=tuple(suspect for suspect in suspects if suspect.kept),
    )
