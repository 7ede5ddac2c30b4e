"""The simulated period: days, trade-fair dates and truth-snapshot days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from leadscore.data.simulator.config import SimulationConfig
from leadscore.data.simulator.world import day_type

__all__ = ["FAIR_NAMES", "Calendar"]

FAIR_NAMES = ("hannover_messe", "it_sa", "logimat", "dmexco", "sps", "embedded_world")
_FAIR_LENGTH = 3
_FAIR_EVERY = 75
_FAIR_SOON = 30


@dataclass(frozen=True)
class Calendar:
    """Day ``0`` is ``start``; a fair runs three days every 75 days from day 40."""

    start: dt.date
    days: int
    horizon: int
    fair_days: NDArray[np.int64]
    fair_index: NDArray[np.int64]
    types: NDArray[np.int64]
    truth_days: NDArray[np.int64]

    @classmethod
    def from_config(cls, config: SimulationConfig) -> Calendar:
        days = config.days
        fair_index = np.full(days + config.horizon_days + 1, -1, dtype=np.int64)
        for k, first in enumerate(range(40, days, _FAIR_EVERY)):
            fair_index[first : first + _FAIR_LENGTH] = k
        is_fair = fair_index >= 0
        soon = np.zeros_like(is_fair)
        for day in np.flatnonzero(is_fair):
            soon[max(0, day - _FAIR_SOON) : day] = True
        soon &= ~is_fair
        cadence = config.truth_cadence_days
        truth_days = np.arange(cadence, days - config.horizon_days + 1, cadence, dtype=np.int64)
        return cls(
            start=config.start,
            days=days,
            horizon=config.horizon_days,
            fair_days=np.flatnonzero(is_fair[:days]).astype(np.int64),
            fair_index=fair_index,
            types=day_type(is_fair, soon),
            truth_days=truth_days,
        )

    def fair_name(self, day: int) -> str:
        return FAIR_NAMES[int(self.fair_index[day]) % len(FAIR_NAMES)]

    def timestamp_us(self, day: NDArray[np.int64], second: NDArray[np.int64]) -> NDArray[np.int64]:
        """Microseconds since the epoch (UTC) of ``second`` into simulated ``day``."""
        epoch = dt.datetime(self.start.year, self.start.month, self.start.day, tzinfo=dt.UTC)
        base = int(epoch.timestamp()) * 1_000_000
        return (base + (day * 86_400 + second) * 1_000_000).astype(np.int64)
