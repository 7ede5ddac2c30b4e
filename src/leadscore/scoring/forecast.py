"""Pipeline forecast: the distribution of revenue won from the open pipeline within a period.

For every lead open at the scoring time ``as_of`` the calibrated propensity model gives ``p``,
the probability to convert within the horizon (the pipeline's ``horizon_days``) after
``as_of`` — through :func:`leadscore.scoring.score.score_snapshots`, the one scoring path —
and :mod:`leadscore.scoring.forecast_period` turns it into ``q``, the probability to convert
within the period, with the conversion timing measured on the history known at ``as_of``.

**Revenue.** A converting lead brings its ``deal_value``. Given the period's common factor
``Θ`` the leads are independent, so the revenue is a mixture over ``Θ`` of sums of two-point
variables, combined exactly on a grid (:mod:`leadscore.scoring.revenue_distribution`). The
factor's standard deviation is estimated from the model's errors in past periods of the same
length, known at ``as_of`` (:mod:`leadscore.scoring.forecast_spread`), on every lead (also
when the forecast keeps one owner's leads). Revenue already won in the period before
``as_of`` (conversions in ``(start, as_of]``, their ``revenue``, else their deal value) is
known and is added as a constant.

**Drivers.** The leads that matter most for closing the gap are ranked by their *lift*:
how much P(revenue ≥ target) rises if the lead converts within the period. It is computed
exactly for a shortlist (the leads with the largest first-order lift
``(1 − q) · P(target − value ≤ revenue < target)``), ties by expected revenue ``q · value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.data.schemas import TIMESTAMP
from leadscore.errors import UsageError
from leadscore.features import observed_until, open_snapshots
from leadscore.scoring.forecast_period import (
    Period,
    booked_revenue,
    conversion_timing,
    parse_period,
    period_probability,
)
from leadscore.scoring.forecast_spread import PeriodSpread, estimate_spread
from leadscore.scoring.revenue_distribution import (
    DEFAULT_BINS,
    RevenueDistribution,
    lift_if_converted,
    revenue_distribution,
)
from leadscore.scoring.score import score_snapshots
from leadscore.training.config import PipelineConfig
from leadscore.training.model import PropensityModel

__all__ = [
    "QUANTILES",
    "Forecast",
    "Period",
    "PeriodSpread",
    "UnknownOwner",
    "booked_revenue",
    "check_owner",
    "conversion_timing",
    "forecast_leads",
    "forecast_scores",
    "parse_period",
    "period_probability",
]

#: The quantile levels reported: the 80 % interval and the median.
QUANTILES: Final = (0.1, 0.5, 0.9)
_DRIVERS: Final = 10
_SHORTLIST: Final = 50
#: Lifts below this are rounding noise of the FFT, not a difference.
_NO_LIFT: Final = 1e-9


class UnknownOwner(UsageError):
    """No lead has the owner a forecast was asked to keep."""


def check_owner(leads: pl.DataFrame, owner: str) -> None:
    """Raise :class:`UnknownOwner` naming the existing owners unless some lead has ``owner``."""
    if "owner" not in leads.columns:
        raise UnknownOwner("These leads carry no owner column, so --owner cannot filter.")
    owners = sorted({str(o) for o in leads["owner"].drop_nulls().unique()})
    if owner not in owners:
        listed = ", ".join(owners) if owners else "none"
        raise UnknownOwner(f"No lead has the owner {owner!r}; the owners are: {listed}.")


@dataclass(frozen=True)
class Forecast:
    """The forecast of one period; ``leads`` holds every open lead with ``probability``
    (within the horizon), ``period_probability``, ``deal_value`` and ``expected_revenue``;
    ``drivers`` the leads that matter most, with ``lift``; ``spread`` the period-level
    spread the distribution was mixed over."""

    as_of: datetime
    period: Period
    target: float
    horizon_days: int
    booked: float
    distribution: RevenueDistribution
    leads: pl.DataFrame
    drivers: pl.DataFrame
    spread: PeriodSpread

    @property
    def expected(self) -> float:
        return self.distribution.mean()

    @property
    def p_target(self) -> float:
        """P(revenue ≥ target)."""
        return self.distribution.prob_at_least(self.target)

    def quantile(self, level: float) -> float:
        return self.distribution.quantile(level)

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain JSON-ready values."""
        q10, q50, q90 = (self.quantile(level) for level in QUANTILES)
        return {
            "as_of": self.as_of.isoformat(),
            "period": {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "days": self.period.days,
            },
            "horizon_days": self.horizon_days,
            "open_leads": self.leads.height,
            "target": self.target,
            "booked": self.booked,
            "expected": self.expected,
            "expected_conversions": float(self.leads["period_probability"].sum()),
            "p_target": self.p_target,
            "q10": q10,
            "q50": q50,
            "q90": q90,
            "gap_expected": self.target - self.expected,
            "gap_median": self.target - q50,
            "grid_step": self.distribution.step,
            "drivers": self.drivers.to_dicts(),
            "period_spread": self.spread.to_dict(),
        }


def _drivers(
    frame: pl.DataFrame,
    distribution: RevenueDistribution,
    target: float,
    booked: float,
    factor_sd: float,
) -> pl.DataFrame:
    q = frame["period_probability"].to_numpy()
    value = frame["deal_value"].to_numpy()
    values = distribution.values
    cdf_below = np.concatenate([[0.0], np.cumsum(distribution.pmf)])

    def below(amount: NDArray[np.float64]) -> NDArray[np.float64]:
        index = np.searchsorted(values, amount - 1e-9 * max(distribution.step, 1.0), side="left")
        return np.asarray(cdf_below[index], dtype=np.float64)

    first_order = (1 - q) * (below(np.full_like(value, target)) - below(target - value))
    shortlist = np.argsort(-(first_order + 1e-15 * q * value), kind="stable")[:_SHORTLIST]
    lift = np.zeros_like(q)
    lift[shortlist] = lift_if_converted(
        q, value, shortlist, target - booked, bins=DEFAULT_BINS, factor_sd=factor_sd
    )
    lift = np.where(lift < _NO_LIFT, 0.0, np.clip(lift, 0.0, 1.0))
    ranked = frame.with_columns(lift=pl.Series(lift)).sort(
        ["lift", "expected_revenue", "lead_id"], descending=[True, True, False]
    )
    columns = [
        c
        for c in (
            "lead_id",
            "owner",
            "deal_value",
            "probability",
            "period_probability",
            "expected_revenue",
            "lift",
        )
        if c in ranked.columns
    ]
    return ranked.head(_DRIVERS).select(columns)


def _check(period: Period, target: float, as_of: datetime) -> None:
    if target < 0:
        raise UsageError(f"--target must be an amount ≥ 0; got {target:g}.")
    if period.end <= as_of:
        raise UsageError(
            f"The period {period.label()} ended before the scoring time {as_of:%Y-%m-%d %H:%M}; "
            "forecast a later period or score as of an earlier time."
        )


def forecast_scores(
    scores: pl.DataFrame,
    *,
    period: Period,
    target: float,
    horizon_days: int,
    as_of: datetime,
    booked: float = 0.0,
    bins: int = DEFAULT_BINS,
    drivers: bool = True,
    timing: NDArray[np.float64] | None = None,
    spread: PeriodSpread | None = None,
) -> Forecast:
    """The forecast from scored open leads (``lead_id``, ``probability``, ``deal_value``,
    optionally ``owner``); without ``spread`` the leads are independent."""
    _check(period, target, as_of)
    spread = spread or PeriodSpread.none()
    q = period_probability(scores["probability"].to_numpy(), horizon_days, as_of, period, timing)
    frame = scores.with_columns(
        deal_value=pl.col("deal_value").cast(pl.Float64).fill_null(0.0),
        period_probability=pl.Series(q),
    ).with_columns(expected_revenue=pl.col("period_probability") * pl.col("deal_value"))
    distribution = revenue_distribution(
        q, frame["deal_value"].to_numpy(), bins=bins, factor_sd=spread.factor_sd
    ).shifted(booked)
    return Forecast(
        as_of=as_of,
        period=period,
        target=float(target),
        horizon_days=horizon_days,
        booked=booked,
        distribution=distribution,
        leads=frame,
        drivers=(
            _drivers(frame, distribution, float(target), booked, spread.factor_sd)
            if drivers
            else frame.clear()
        ),
        spread=spread,
    )


def forecast_leads(
    model: PropensityModel,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: PipelineConfig,
    *,
    period: Period,
    target: float,
    as_of: datetime | None = None,
    owner: str | None = None,
    bins: int = DEFAULT_BINS,
    drivers: bool = True,
) -> Forecast:
    """Score every lead open at ``as_of`` (default: the end of the observed data) and
    forecast its revenue within ``period``; ``owner`` keeps one sales rep's leads;
    ``drivers=False`` skips ranking the leads that matter most. The conversion timing and
    the period-level spread come from every lead's history before ``as_of``."""
    when = as_of or observed_until(leads, touchpoints, outcomes)
    _check(period, target, when)
    if owner is not None:
        check_owner(leads, owner)
    timing = conversion_timing(
        leads, outcomes, config.horizon_days, config.snapshots.cadence_days, when
    )
    spread = estimate_spread(
        model, leads, touchpoints, outcomes, config, as_of=when, period=period, timing=timing
    )
    if owner is not None:
        leads = leads.filter(pl.col("owner") == owner)
    snapshots = open_snapshots(leads, outcomes, pl.Series("as_of", [when], dtype=TIMESTAMP))
    scored = score_snapshots(model, leads, touchpoints, snapshots, config.scoring, reasons=False)
    lead_fields = [c for c in ("owner", "deal_value") if c in leads.columns]
    scores = scored.select("lead_id", "probability").join(
        leads.select("lead_id", *lead_fields), on="lead_id", how="left", maintain_order="left"
    )
    if "deal_value" not in scores.columns:
        scores = scores.with_columns(deal_value=pl.lit(0.0))
    return forecast_scores(
        scores,
        period=period,
        target=target,
        horizon_days=config.horizon_days,
        as_of=when,
        booked=booked_revenue(leads, outcomes, period, when),
        bins=bins,
        drivers=drivers,
        timing=timing,
        spread=spread,
    )
