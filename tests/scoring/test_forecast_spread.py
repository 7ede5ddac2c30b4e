"""The period-level spread: past windows, the Paule–Mandel estimate, point in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from leadscore.data.simulator import Tables
from leadscore.scoring.forecast_period import (
    Period,
    conversion_timing,
    data_before,
    won_in_period,
)
from leadscore.scoring.forecast_spread import (
    MAX_WINDOWS,
    MIN_WINDOWS,
    PeriodSpread,
    estimate_spread,
    excess_variance,
    past_windows,
)
from leadscore.training.config import PipelineConfig
from leadscore.training.propensity import TrainedPropensity

T0 = datetime(2025, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def test_windows_of_a_period_starting_at_the_scoring_time() -> None:
    windows = past_windows(T0, Period(T0, T0 + 30 * DAY))
    assert len(windows) == 12  # a year of 30-day windows
    assert windows[0] == (T0 - 30 * DAY, Period(T0 - 30 * DAY, T0))
    assert windows[11] == (T0 - 360 * DAY, Period(T0 - 360 * DAY, T0 - 330 * DAY))


def test_windows_of_a_later_period_are_scored_as_long_before_them() -> None:
    windows = past_windows(T0, Period(T0 + 10 * DAY, T0 + 100 * DAY))
    assert len(windows) == 4  # 365 // 90
    assert windows[0] == (T0 - 100 * DAY, Period(T0 - 90 * DAY, T0))
    assert windows[1] == (T0 - 190 * DAY, Period(T0 - 180 * DAY, T0 - 90 * DAY))


def test_windows_of_a_period_under_way_cover_what_is_left_of_it() -> None:
    windows = past_windows(T0, Period(T0 - 12 * DAY, T0 + 18 * DAY))
    assert windows[0] == (T0 - 18 * DAY, Period(T0 - 18 * DAY, T0))
    assert len(windows) == 20  # 365 // 18
    assert len(past_windows(T0, Period(T0, T0 + 7 * DAY))) == MAX_WINDOWS
    assert past_windows(T0, Period(T0 - 30 * DAY, T0)) == []


def test_excess_variance_is_the_paule_mandel_root() -> None:
    # Σ (r − 1)² / (s² + τ²) = K with r − 1 = ±0.2 and s² = 0.01: τ² = 0.04 − 0.01.
    assert excess_variance([1.2, 0.8, 1.2, 0.8], [0.01] * 4) == pytest.approx(0.03, abs=1e-12)
    # No more scatter than independent leads explain: no excess.
    assert excess_variance([1.05, 0.95, 1.0, 1.02], [0.01] * 4) == 0.0
    assert excess_variance([], []) == 0.0
    # Unequal windows: the root of the equation, checked by putting it back in.
    ratio = np.array([1.3, 0.9, 1.1, 0.7, 1.0])
    within = np.array([0.001, 0.02, 0.005, 0.01, 0.002])
    tau2 = excess_variance(ratio, within)
    assert np.sum((ratio - 1) ** 2 / (within + tau2)) == pytest.approx(ratio.shape[0])


def test_spread_uses_only_facts_before_the_scoring_time(
    small_run: Tables, trained: TrainedPropensity
) -> None:
    as_of = datetime(2025, 7, 1, tzinfo=UTC)
    period = Period(as_of, as_of + 21 * DAY)
    config = PipelineConfig()
    timing = conversion_timing(small_run.leads, small_run.outcomes, 90, 7, as_of)
    spread = estimate_spread(
        trained.model,
        small_run.leads,
        small_run.touchpoints,
        small_run.outcomes,
        config,
        as_of=as_of,
        period=period,
        timing=timing,
    )
    known = estimate_spread(
        trained.model,
        *data_before(small_run.leads, small_run.touchpoints, small_run.outcomes, as_of),
        config,
        as_of=as_of,
        period=period,
        timing=timing,
    )
    assert spread.windows.equals(known.windows)
    assert spread.factor_sd == known.factor_sd
    windows = spread.windows
    assert spread.estimated and windows.height >= MIN_WINDOWS
    assert spread.window_days == 21
    assert (windows["end"] <= as_of).all()
    assert ((windows["end"] - windows["start"]).dt.total_days() == 21).all()
    first = Period(windows["start"][-1], windows["end"][-1])
    actual, conversions = won_in_period(small_run.leads, small_run.outcomes, first)
    assert windows["actual"][-1] == pytest.approx(actual)
    assert windows["actual_conversions"][-1] == conversions
    assert (windows["ratio"] == windows["actual"] / windows["expected"]).all()
    tau2 = excess_variance(windows["ratio"].to_numpy(), windows["independent_sd"].to_numpy() ** 2)
    assert spread.factor_sd == pytest.approx(np.sqrt(tau2))
    assert spread.to_dict()["windows"][0]["start"].endswith("+00:00")


def test_no_history_no_spread(small_run: Tables, trained: TrainedPropensity) -> None:
    start = small_run.leads["created_at"].min() + 40 * DAY
    spread = estimate_spread(
        trained.model,
        small_run.leads,
        small_run.touchpoints,
        small_run.outcomes,
        PipelineConfig(),
        as_of=start,
        period=Period(start, start + 30 * DAY),
    )
    assert spread.windows.height == 1
    assert not spread.estimated
    assert spread.factor_sd == 0.0
    empty = estimate_spread(
        trained.model,
        small_run.leads.head(0),
        small_run.touchpoints.head(0),
        small_run.outcomes.head(0),
        PipelineConfig(),
        as_of=start,
        period=Period(start, start + 30 * DAY),
    )
    assert empty.windows.equals(PeriodSpread.none().windows)
    assert isinstance(empty.windows.schema["start"], pl.Datetime)
