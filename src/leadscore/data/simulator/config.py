"""Parameters of one simulation run."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SimulationConfig"]


class SimulationConfig(BaseModel):
    """What to simulate: how many leads, from when, for how long, with which seed.

    Leads arrive during ``months`` months from ``start``; touchpoints and outcomes are
    recorded until the end of that period. Truth snapshots are taken every
    ``truth_cadence_days`` days (midnight UTC, counted from ``start``) for every open lead,
    as long as the whole horizon after the snapshot lies inside the period.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    leads: int = Field(20_000, ge=10, le=10_000_000, description="number of leads")
    seed: int = Field(42, ge=0, description="random seed; the same seed gives the same data")
    start: dt.date = Field(dt.date(2025, 1, 1), description="first day of the period")
    months: int = Field(12, ge=4, le=60, description="length of the period in months")
    horizon_days: int = Field(90, ge=7, le=365, description="conversion horizon")
    truth_cadence_days: int = Field(7, ge=1, le=90, description="days between truth snapshots")

    @property
    def days(self) -> int:
        """Number of simulated days."""
        end = _add_months(self.start, self.months)
        return (end - self.start).days


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    return dt.date(year, month % 12 + 1, min(day.day, 28))
