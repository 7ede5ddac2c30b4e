"""Backtest of the pipeline forecast on past periods, point in time.

The last ``periods`` consecutive periods of ``period_days`` days before the end of the data
are forecast, each at its own start: the model scores the leads open then with ``as_of`` =
the period's start (the feature builder uses only touchpoints before it), and the forecast
is compared with the revenue those leads actually brought within the period (conversions in
``(start, end]``, their ``revenue``, else their deal value). Leads created during the period
are not part of the open pipeline at its start and are not counted.

The model is trained on the data as they were at the first period's start (leads created,
touchpoints and outcomes before it), so it has seen none of the periods it forecasts. Each
forecast estimates its period-level spread from the windows before its own start
(:mod:`leadscore.scoring.forecast_spread`): nothing of the period itself or after it, and
no figure of the backtest is fed back into the forecast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from leadscore.errors import DataError, UsageError
from leadscore.features import observed_until
from leadscore.scoring.forecast import QUANTILES, Period, forecast_leads
from leadscore.scoring.forecast_period import data_before, won_in_period
from leadscore.training.config import PipelineConfig
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import train_propensity

__all__ = ["Backtest", "backtest_forecast", "data_before"]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class Backtest:
    """One row per period (see :meth:`to_dict`) and how the model was trained."""

    rows: pl.DataFrame
    trained_until: datetime
    horizon_days: int

    @property
    def coverage(self) -> float:
        """Share of periods whose actual revenue lies in the forecast's 80 % interval."""
        covered = self.rows["covered"].to_numpy()
        return float(covered.mean()) if covered.shape[0] else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": (
                f"trained on the data before {self.trained_until:%Y-%m-%d}; "
                "it saw none of the periods"
            ),
            "trained_until": self.trained_until.isoformat(),
            "horizon_days": self.horizon_days,
            "interval": f"q{round(QUANTILES[0] * 100)}..q{round(QUANTILES[-1] * 100)}",
            "coverage": self.coverage,
            "periods": self.rows.with_columns(
                pl.col("start", "end").dt.to_string("%Y-%m-%dT%H:%M:%S%z")
            ).to_dicts(),
        }


def backtest_forecast(
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: PipelineConfig,
    *,
    periods: int = 8,
    period_days: int = 30,
    model: PropensityModel | None = None,
    trained_until: datetime | None = None,
    progress: Callable[[str], None] = _quiet,
) -> Backtest:
    """Forecast each of the last ``periods`` periods at its start and compare with what was won.

    Without ``model`` one is trained on the data before the first period (``config``'s
    settings); a given ``model`` must have been trained on data before ``trained_until``.
    """
    if periods < 1 or period_days < 1:
        raise UsageError(
            f"--periods and --period-days must be at least 1; got {periods} and {period_days}."
        )
    end = observed_until(leads, touchpoints, outcomes).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    first = end - timedelta(days=periods * period_days)
    if model is None:
        progress(f"training the model on the data before {first:%Y-%m-%d}")
        try:
            model = train_propensity(
                *data_before(leads, touchpoints, outcomes, first), config
            ).model
        except DataError as exc:
            raise DataError(
                f"The data before the first backtest period ({first:%Y-%m-%d}) are too short "
                f"to train on: {exc} Use fewer or shorter periods (--periods, --period-days)."
            ) from exc
        trained_until = first
    elif trained_until is None or trained_until > first:
        raise UsageError("A given model must have been trained on data before the first period.")
    rows = []
    for index in range(periods):
        start = first + timedelta(days=index * period_days)
        period = Period(start, start + timedelta(days=period_days))
        progress(f"forecasting {period.label()} ({index + 1}/{periods})")
        forecast = forecast_leads(
            model,
            leads,
            touchpoints,
            outcomes,
            config,
            period=period,
            target=0.0,
            as_of=start,
            drivers=False,
        )
        actual, conversions = won_in_period(leads, outcomes, period)
        q10, q50, q90 = (forecast.quantile(level) for level in QUANTILES)
        rows.append(
            {
                "start": period.start,
                "end": period.end,
                "open_leads": forecast.leads.height,
                "expected": forecast.expected,
                "q10": q10,
                "q50": q50,
                "q90": q90,
                "actual": actual,
                "covered": q10 <= actual <= q90,
                "expected_conversions": float(forecast.leads["period_probability"].sum()),
                "actual_conversions": conversions,
                "factor_sd": forecast.spread.factor_sd,
                "spread_windows": forecast.spread.windows.height,
            }
        )
    return Backtest(pl.DataFrame(rows), trained_until, config.horizon_days)
