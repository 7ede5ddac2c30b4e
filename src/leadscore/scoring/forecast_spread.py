"""The period-level spread of the forecast, estimated from the history known at scoring time.

Leads of one period do not convert independently: conversions rise and fall together
(seasons, trade fairs, a model drifting from its calibration), so the revenue of a period
scatters more than a sum of independent leads allows. The forecast models this as one factor
``Θ`` on every lead's probability in the period, with mean 1 and standard deviation
``factor_sd`` (:mod:`leadscore.scoring.revenue_distribution`); this module estimates
``factor_sd`` from the model's own errors in past periods of the same length.

**Past windows.** For a forecast made at ``as_of`` of the period ``(start, end]``, the part
still to come is ``(s, end]``, ``s = max(start, as_of)``: ``D`` days long, starting
``a = s − as_of`` after the scoring time. Its past analogues are the windows
``(as_of − k·D, as_of − (k − 1)·D]``, ``k = 1, 2, …``, each forecast as of ``a`` before its
start. They end by ``as_of``, and only facts recorded before ``as_of`` are used (leads
created, touchpoints and outcomes), so the estimate is point in time like the rest of the
forecast. Windows go back one year (``HISTORY_DAYS``, one cycle of the seasons), at most
``MAX_WINDOWS`` of them, and only while leads were open at their scoring time.

**Per window**, the forecast's own path: the leads open at the window's scoring time, scored
by the same model with the features of that time, turned from the horizon to the window with
the conversion timing known at ``as_of``; their expected revenue ``E = Σ q · v``, the variance
of independent leads ``V = Σ q (1 − q) v²``, and the revenue they actually won in the window,
``A`` (a conversion's revenue, else its deal value, as in the backtest).

**Estimate.** With a factor of variance ``τ²`` the ratio ``r = A / E`` has mean 1 and
variance ``V / E² + τ²``. ``τ²`` is the Paule–Mandel estimate with the mean fixed at 1: the
root of ``Σ (r − 1)² / (V / E² + τ²) = K`` over the ``K`` windows, and 0 when independent
leads already explain the scatter (the left side is at most ``K`` at ``τ² = 0``). The mean is
fixed at 1 rather than estimated because the forecast does not correct its mean either: a
model that was off in the past periods counts as spread. Revenue ratios are used, not
conversion counts, because the forecast is of revenue: they also carry what counts miss —
large and small deals converting together, revenue won differing from the deal value. With
fewer than ``MIN_WINDOWS`` windows the spread is not estimated (0: independent leads).

**Limits.** The windows are scored by the model that forecasts. Where it was trained on them
(a champion trained on all the data), its past errors are in-sample and smaller than its
future ones, so the spread is rather under- than over-estimated; the backtest's model,
trained before its first period, has in-sample windows for its first periods and
out-of-sample ones after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import optimize

from leadscore.data.schemas import TIMESTAMP
from leadscore.features import open_snapshots
from leadscore.scoring.forecast_period import (
    Period,
    data_before,
    period_probability,
    won_in_period,
)
from leadscore.scoring.score import score_snapshots
from leadscore.training.config import PipelineConfig
from leadscore.training.model import PropensityModel

__all__ = [
    "HISTORY_DAYS",
    "MAX_WINDOWS",
    "MIN_WINDOWS",
    "PeriodSpread",
    "estimate_spread",
    "excess_variance",
    "past_windows",
]

#: How far back past windows are taken: one cycle of the seasons.
HISTORY_DAYS: Final = 365
#: Past windows at most (short periods would otherwise score hundreds of snapshots).
MAX_WINDOWS: Final = 24
#: Past windows needed for an estimate.
MIN_WINDOWS: Final = 4
_TINY: Final = 1e-12
_WINDOW_SCHEMA: Final[dict[str, pl.DataType]] = {
    "start": TIMESTAMP,
    "end": TIMESTAMP,
    "open_leads": pl.Int64(),
    "expected": pl.Float64(),
    "actual": pl.Float64(),
    "ratio": pl.Float64(),
    "independent_sd": pl.Float64(),
    "expected_conversions": pl.Float64(),
    "actual_conversions": pl.Int64(),
}


@dataclass(frozen=True)
class PeriodSpread:
    """The estimated standard deviation of the period's common factor and the past windows
    it was estimated from (``windows``: start, end, open_leads, expected and actual revenue,
    their ratio, the ratio's standard deviation for independent leads, conversions)."""

    factor_sd: float
    window_days: float
    windows: pl.DataFrame

    @classmethod
    def none(cls) -> PeriodSpread:
        """No common factor: independent leads."""
        return cls(0.0, 0.0, pl.DataFrame(schema=_WINDOW_SCHEMA))

    @property
    def estimated(self) -> bool:
        """Whether there were enough past windows to estimate the spread."""
        return self.windows.height >= MIN_WINDOWS

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "factor_sd": self.factor_sd,
            "estimated": self.estimated,
            "window_days": self.window_days,
            "windows": self.windows.with_columns(
                pl.col("start", "end").dt.to_string("%Y-%m-%dT%H:%M:%S%:z")
            ).to_dicts(),
        }


def past_windows(as_of: datetime, period: Period) -> list[tuple[datetime, Period]]:
    """The past analogues of forecasting ``period`` at ``as_of``, latest first: (scoring
    time, window) with every window ending by ``as_of`` (see the module docstring)."""
    start = max(period.start, as_of)
    length = period.end - start
    if length <= timedelta(0):
        return []
    lead = start - as_of
    count = min(MAX_WINDOWS, int(timedelta(days=HISTORY_DAYS) / length))
    windows = []
    for k in range(1, count + 1):
        window = Period(as_of - k * length, as_of - (k - 1) * length)
        windows.append((window.start - lead, window))
    return windows


def excess_variance(
    ratio: NDArray[np.floating] | list[float], within: NDArray[np.floating] | list[float]
) -> float:
    """The Paule–Mandel estimate of ``τ²`` with the mean fixed at 1: the root of
    ``Σ (ratio − 1)² / (within + τ²) = K``, or 0 when the left side is at most ``K`` at 0."""
    squares = (np.asarray(ratio, dtype=np.float64) - 1.0) ** 2
    variances = np.maximum(np.asarray(within, dtype=np.float64), _TINY)
    count = int(squares.shape[0])

    def excess(tau2: float) -> float:
        return float(np.sum(squares / (variances + tau2))) - count

    if count == 0 or excess(0.0) <= 0:
        return 0.0
    # At τ² = Σ (ratio − 1)² the left side is below 1 ≤ K: the root lies in between.
    return float(optimize.brentq(excess, 0.0, float(squares.sum()), xtol=1e-14))


def _window_row(
    scored: pl.DataFrame,
    leads: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: PipelineConfig,
    scored_at: datetime,
    window: Period,
    timing: NDArray[np.float64] | None,
) -> dict[str, Any] | None:
    """Expected and actual revenue of one past window; None when nothing was expected."""
    rows = scored.filter(pl.col("as_of") == scored_at)
    q = period_probability(
        rows["probability"].to_numpy(), config.horizon_days, scored_at, window, timing
    )
    value = rows["deal_value"].to_numpy()
    expected = float(q @ value)
    if expected <= 0:
        return None
    actual, conversions = won_in_period(leads, outcomes, window, open_at=scored_at)
    return {
        "start": window.start,
        "end": window.end,
        "open_leads": rows.height,
        "expected": expected,
        "actual": actual,
        "ratio": actual / expected,
        "independent_sd": float(np.sqrt((q * (1 - q)) @ (value * value))) / expected,
        "expected_conversions": float(q.sum()),
        "actual_conversions": conversions,
    }


def estimate_spread(
    model: PropensityModel,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: PipelineConfig,
    *,
    as_of: datetime,
    period: Period,
    timing: NDArray[np.float64] | None = None,
) -> PeriodSpread:
    """The period-level spread of forecasting ``period`` at ``as_of`` with ``model``, from
    the facts recorded before ``as_of`` only (see the module docstring)."""
    windows = past_windows(as_of, period)
    first = leads["created_at"].min()
    if isinstance(first, datetime):
        windows = [(at, window) for at, window in windows if at > first]
    if not windows:
        return PeriodSpread.none()
    leads, touchpoints, outcomes = data_before(leads, touchpoints, outcomes, as_of)
    times = pl.Series("as_of", [at for at, _ in windows], dtype=TIMESTAMP)
    snapshots = open_snapshots(leads, outcomes, times)
    if snapshots.height == 0:
        return PeriodSpread.none()
    scored = (
        score_snapshots(model, leads, touchpoints, snapshots, config.scoring, reasons=False)
        .select("lead_id", "as_of", "probability")
        .join(
            leads.select("lead_id", pl.col("deal_value").cast(pl.Float64).fill_null(0.0))
            if "deal_value" in leads.columns
            else leads.select("lead_id", deal_value=pl.lit(0.0)),
            on="lead_id",
            how="left",
        )
    )
    rows = [
        row
        for at, window in reversed(windows)
        if (row := _window_row(scored, leads, outcomes, config, at, window, timing)) is not None
    ]
    frame = pl.DataFrame(rows, schema=_WINDOW_SCHEMA)
    factor_sd = 0.0
    if frame.height >= MIN_WINDOWS:
        tau2 = excess_variance(frame["ratio"].to_numpy(), frame["independent_sd"].to_numpy() ** 2)
        factor_sd = float(np.sqrt(tau2))
    return PeriodSpread(factor_sd, windows[0][1].days, frame)
