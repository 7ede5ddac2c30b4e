"""The pipeline forecast: exact revenue distribution, period adjustment, point in time."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy import integrate, stats

from leadscore.data.simulator import Tables
from leadscore.errors import UsageError
from leadscore.scoring.forecast import (
    Period,
    check_owner,
    conversion_timing,
    forecast_leads,
    forecast_scores,
    parse_period,
    period_probability,
)
from leadscore.scoring.forecast_backtest import backtest_forecast, data_before
from leadscore.scoring.forecast_plot import forecast_plot
from leadscore.scoring.revenue_distribution import (
    gamma_factor,
    lift_if_converted,
    revenue_distribution,
)
from leadscore.training.config import PipelineConfig
from leadscore.training.propensity import TrainedPropensity

T0 = datetime(2025, 6, 1, tzinfo=UTC)


def _enumerate(p: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The pmf of Σ v · Bernoulli(p) on integer revenue by listing all 2^n outcomes."""
    pmf = np.zeros(int(v.sum()) + 1)
    for bits in itertools.product((0, 1), repeat=p.shape[0]):
        chosen = np.array(bits, dtype=bool)
        pmf[int(v[chosen].sum())] += np.prod(np.where(chosen, p, 1 - p))
    return pmf


@pytest.mark.parametrize("n", [1, 3, 7, 10], ids=lambda n: f"{n}-leads")
def test_distribution_equals_enumeration(n: int) -> None:
    rng = np.random.default_rng(n)
    p = rng.uniform(0, 1, n)
    v = rng.integers(1, 20, n).astype(float)
    got = revenue_distribution(p, v, step=1.0)
    expected = _enumerate(p, v)
    assert got.offset == 0.0
    np.testing.assert_allclose(got.pmf, expected, atol=1e-14)


def test_lift_equals_enumeration() -> None:
    p = np.array([0.1, 0.5, 0.3, 0.9, 0.05])
    v = np.array([3.0, 5.0, 2.0, 7.0, 11.0])
    target = 12.0
    base = _enumerate(p, v)[12:].sum()
    lifts = lift_if_converted(p, v, np.arange(5), target, step=1.0)
    for i in range(5):
        sure = p.copy()
        sure[i] = 1.0
        assert lifts[i] == pytest.approx(_enumerate(sure, v)[12:].sum() - base, abs=1e-13)


def _mixed(p: np.ndarray, v: np.ndarray, sd: float, of: Callable[[np.ndarray], Any]) -> float:
    """∫ of(min(θ · p, 1)) dGamma(θ) with mean 1 and standard deviation ``sd``, by adaptive
    quadrature (the reference for the Gauss quadrature of the forecast)."""
    shape = 1 / sd**2
    density = stats.gamma(shape, scale=sd**2).pdf

    def integrand(theta: float) -> float:
        return float(of(np.minimum(theta * p, 1.0))) * float(density(theta))

    return float(integrate.quad(integrand, 0, 1 + 20 * sd, limit=200, epsabs=1e-13)[0])


def test_common_factor_is_the_gamma_mixture_of_the_enumeration() -> None:
    p = np.array([0.1, 0.5, 0.3, 0.2, 0.05])
    v = np.array([3.0, 5.0, 2.0, 7.0, 11.0])
    sd = 0.3
    got = revenue_distribution(p, v, step=1.0, factor_sd=sd)
    reference = np.array(
        [_mixed(p, v, sd, lambda q, i=i: _enumerate(q, v)[i]) for i in range(got.pmf.shape[0])]
    )
    np.testing.assert_allclose(got.pmf, reference, atol=1e-4)
    target = 12.0
    base = _mixed(p, v, sd, lambda q: _enumerate(q, v)[12:].sum())
    lifts = lift_if_converted(p, v, np.arange(5), target, step=1.0, factor_sd=sd)
    for i in range(5):

        def joint(q: np.ndarray, i: int = i) -> float:
            sure = q.copy()
            sure[i] = 1.0
            return float(q[i] * _enumerate(sure, v)[12:].sum())

        conditional = _mixed(p, v, sd, joint) / _mixed(p, v, sd, lambda q, i=i: q[i])
        assert lifts[i] == pytest.approx(conditional - base, abs=1e-4)


def test_common_factor_keeps_the_mean_and_adds_its_variance() -> None:
    p = np.array([0.1, 0.5, 0.3, 0.2, 0.05])  # θ · p stays below 1 at every node
    v = np.array([3.0, 5.0, 2.0, 7.0, 11.0])
    got = revenue_distribution(p, v, step=1.0, factor_sd=0.1)
    assert got.mean() == pytest.approx(float(p @ v), rel=1e-12)
    variance = float(got.pmf @ (got.values - got.mean()) ** 2)
    expected = float((p * (1 - p)) @ (v * v)) + 0.1**2 * (float(p @ v) ** 2 - float(p**2 @ v**2))
    assert variance == pytest.approx(expected, rel=1e-12)


def test_common_factor_quadrature_converges() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 8, 400)
    v = np.round(rng.lognormal(3, 1, 400)) + 1
    fine = revenue_distribution(p, v, step=1.0, factor_sd=0.3, factor_nodes=160)
    default = revenue_distribution(p, v, step=1.0, factor_sd=0.3)
    assert np.abs(np.cumsum(default.pmf) - np.cumsum(fine.pmf)).max() < 1e-4
    independent = revenue_distribution(p, v, step=1.0)
    assert revenue_distribution(p, v, step=1.0, factor_sd=0.0).pmf.tolist() == (
        independent.pmf.tolist()
    )
    assert default.quantile(0.1) < independent.quantile(0.1)
    assert default.quantile(0.9) > independent.quantile(0.9)


@pytest.mark.parametrize("sd", [0.01, 0.05, 0.3, 1.5], ids=str)
def test_gamma_factor_has_mean_one_and_the_spread(sd: float) -> None:
    theta, weights = gamma_factor(sd)
    assert weights.sum() == pytest.approx(1.0)
    assert weights @ theta == pytest.approx(1.0, rel=1e-9)
    assert np.sqrt(weights @ (theta - 1) ** 2) == pytest.approx(sd, rel=1e-6)
    assert np.all(theta > 0)


def test_gamma_factor_rejects_a_negative_spread() -> None:
    theta, weights = gamma_factor(0.0)
    assert theta.tolist() == weights.tolist() == [1.0]
    with pytest.raises(UsageError, match=r"must be a finite number ≥ 0; got -0\.1"):
        gamma_factor(-0.1)


def test_default_grid_keeps_the_mean_and_orders_quantiles() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 6, 3_000)
    v = rng.lognormal(9, 1, 3_000)
    dist = revenue_distribution(p, v)
    assert dist.mean() == pytest.approx(float(p @ v), rel=1e-9)
    q10, q50, q90 = (dist.quantile(level) for level in (0.1, 0.5, 0.9))
    assert q10 < q50 < q90
    assert dist.prob_at_least(q90 + dist.step) <= 0.1 <= dist.prob_at_least(q90)
    assert dist.prob_at_least(q50) >= 0.5 >= dist.prob_at_least(q50 + dist.step)
    sd = float(np.sqrt((p * (1 - p)) @ (v * v)))
    assert q90 - q10 == pytest.approx(2 * 1.2816 * sd, rel=0.05)


def test_period_probability_is_a_constant_hazard() -> None:
    p = np.array([0.0, 0.2, 0.6, 1.0])
    horizon = Period(T0, T0 + timedelta(days=90))
    np.testing.assert_allclose(period_probability(p, 90, T0, horizon), p)
    third = Period(T0, T0 + timedelta(days=30))
    np.testing.assert_allclose(period_probability(p, 90, T0, third), 1 - (1 - p) ** (1 / 3))
    later = Period(T0 + timedelta(days=30), T0 + timedelta(days=90))
    np.testing.assert_allclose(
        period_probability(p, 90, T0, third) + period_probability(p, 90, T0, later), p
    )
    started = Period(T0 - timedelta(days=10), T0 + timedelta(days=30))
    np.testing.assert_allclose(period_probability(p, 90, T0, started), 1 - (1 - p) ** (1 / 3))


def test_period_probability_with_measured_timing() -> None:
    p = np.array([0.0, 0.3, 0.9])
    timing = np.linspace(0.0, 1.0, 91)  # conversions spread evenly over the 90 days
    first = Period(T0, T0 + timedelta(days=30))
    np.testing.assert_allclose(period_probability(p, 90, T0, first, timing), p / 3)
    later = Period(T0 + timedelta(days=30), T0 + timedelta(days=60))
    np.testing.assert_allclose(period_probability(p, 90, T0, later, timing), p / 3)
    beyond = Period(T0 + timedelta(days=60), T0 + timedelta(days=180))
    np.testing.assert_allclose(
        period_probability(p, 90, T0, beyond, timing), (1 - (1 - p) ** 2) - p * 2 / 3
    )


def test_conversion_timing_uses_only_the_past(small_run: Tables) -> None:
    as_of = datetime(2025, 7, 1, tzinfo=UTC)
    timing = conversion_timing(small_run.leads, small_run.outcomes, 90, 7, as_of)
    assert timing is not None
    assert timing.shape == (91,)
    assert timing[0] == 0.0
    assert timing[-1] == pytest.approx(1.0)
    assert np.all(np.diff(timing) >= 0)
    _, _, known = data_before(small_run.leads, small_run.touchpoints, small_run.outcomes, as_of)
    np.testing.assert_array_equal(conversion_timing(small_run.leads, known, 90, 7, as_of), timing)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-01-01", "START..END"),
        ("2026-13-01..2026-02-01", "START must be an ISO date"),
        ("2026-03-01..2026-01-31", r"END \(2026-01-31\) is before START"),
        ("9999-12-30..9999-12-31", "START must lie in the years 1900–2200"),
    ],
    ids=["no-range", "bad-date", "end-before-start", "year"],
)
def test_parse_period_rejects(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_period(text)


def test_parse_period_includes_the_end_day() -> None:
    period = parse_period("2026-01-01..2026-03-31")
    assert period == Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert period.days == 90
    assert period.label() == "2026-01-01..2026-03-31"


def test_forecast_scores_figures_and_errors() -> None:
    scores = pl.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "probability": [0.9, 0.5, 0.1],
            "deal_value": [100.0, 300.0, 1_000.0],
            "owner": ["x", "x", "y"],
        }
    )
    period = Period(T0, T0 + timedelta(days=90))
    forecast = forecast_scores(
        scores, period=period, target=400.0, horizon_days=90, as_of=T0, booked=50.0
    )
    result = forecast.to_dict()
    assert result["expected"] == pytest.approx(50 + 90 + 150 + 100)
    assert result["gap_expected"] == pytest.approx(400 - 390)
    exact = _enumerate(np.array([0.9, 0.5, 0.1]), np.array([1.0, 3.0, 10.0]))
    assert result["p_target"] == pytest.approx(exact[4:].sum(), abs=1e-9)
    assert result["p_target"] == pytest.approx(0.1 + 0.9 * 0.9 * 0.5)
    drivers = dict(zip(forecast.drivers["lead_id"], forecast.drivers["lift"], strict=True))
    assert list(drivers) == ["c", "b", "a"]
    assert drivers["c"] == pytest.approx(1 - 0.505, abs=1e-9)
    assert drivers["b"] == pytest.approx(1 - 0.1 * 0.9 - 0.505, abs=1e-9)
    assert drivers["a"] == pytest.approx(1 - 0.5 * 0.9 - 0.505, abs=1e-9)
    with pytest.raises(UsageError, match="--target must be an amount"):
        forecast_scores(scores, period=period, target=-1.0, horizon_days=90, as_of=T0)
    with pytest.raises(UsageError, match="ended before the scoring time"):
        forecast_scores(
            scores, period=period, target=1.0, horizon_days=90, as_of=T0 + timedelta(days=91)
        )
    assert forecast_plot(forecast).startswith(b"\x89PNG")


def test_unknown_owner_names_the_owners(small_run: Tables) -> None:
    owners = sorted(small_run.leads["owner"].unique().to_list())
    with pytest.raises(UsageError, match=f"the owners are: {owners[0]}, {owners[1]}"):
        check_owner(small_run.leads, "nobody")


def test_forecast_is_point_in_time(small_run: Tables, trained: TrainedPropensity) -> None:
    as_of = datetime(2025, 6, 15, tzinfo=UTC)
    period = Period(as_of, as_of + timedelta(days=30))
    config = PipelineConfig()
    before = forecast_leads(
        trained.model,
        small_run.leads,
        small_run.touchpoints,
        small_run.outcomes,
        config,
        period=period,
        target=1e6,
        as_of=as_of,
        drivers=False,
    )
    leads, touchpoints, outcomes = data_before(
        small_run.leads, small_run.touchpoints, small_run.outcomes, as_of
    )
    later = small_run.outcomes.filter(pl.coalesce("converted_at", "lost_at") >= as_of)
    future = small_run.touchpoints.filter(pl.col("timestamp") >= as_of)
    open_id = before.leads["lead_id"][0]
    converted = later.filter(pl.col("lead_id") != open_id).vstack(
        pl.DataFrame(
            {"lead_id": [open_id], "converted_at": [as_of + timedelta(days=1)]},
            schema_overrides={"converted_at": later.schema["converted_at"]},
        ).select(
            "lead_id",
            "converted_at",
            lost_at=pl.lit(None, later.schema["lost_at"]),
            revenue=pl.lit(5e5, pl.Float64),
        )
    )
    for extra_outcomes, extra_touchpoints in ((later, future), (converted, future.head(0))):
        again = forecast_leads(
            trained.model,
            small_run.leads,
            pl.concat([touchpoints, extra_touchpoints]),
            pl.concat([outcomes, extra_outcomes], how="vertical_relaxed"),
            config,
            period=period,
            target=1e6,
            as_of=as_of,
            drivers=False,
        )
        assert again.leads.equals(before.leads)
        assert again.spread.windows.equals(before.spread.windows)
        assert again.spread.factor_sd == before.spread.factor_sd
        assert again.expected == before.expected
        assert again.p_target == before.p_target
    assert leads.height < small_run.leads.height


def test_backtest_counts_only_leads_open_at_the_start(
    small_run: Tables, trained: TrainedPropensity
) -> None:
    result = backtest_forecast(
        small_run.leads,
        small_run.touchpoints,
        small_run.outcomes,
        trained.config,  # the session's fast training settings
        periods=2,
        period_days=21,
    )
    rows = result.rows
    assert rows.height == 2
    assert result.trained_until == rows["start"][0]
    assert (rows["end"] - rows["start"]).dt.total_days().to_list() == [21, 21]
    assert ((rows["q10"] <= rows["q50"]) & (rows["q50"] <= rows["q90"])).all()
    first = Period(rows["start"][0], rows["end"][0])
    won = small_run.outcomes.filter(
        (pl.col("converted_at") > first.start) & (pl.col("converted_at") <= first.end)
    ).join(small_run.leads.filter(pl.col("created_at") < first.start), on="lead_id", how="semi")
    assert rows["actual"][0] == pytest.approx(won["revenue"].sum())
    assert rows["actual_conversions"][0] == won.height
    assert 0.0 <= result.coverage <= 1.0
