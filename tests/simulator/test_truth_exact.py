"""The exact truth agrees with simulating the same leads forward many times."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.data.simulator.calendar import Calendar
from leadscore.data.simulator.config import SimulationConfig
from leadscore.data.simulator.journeys import simulate_journeys
from leadscore.data.simulator.population import SOURCES, Population
from leadscore.data.simulator.truth import Chains, state_index, truth_values
from leadscore.data.simulator.world import default_world

COPIES = 20_000


def _clones(n: int, day: int, readiness: int, band: int, fit: int, owner: int) -> Population:
    def same(value: int) -> np.ndarray:
        return np.full(n, value, dtype=np.int64)

    return Population(
        created_day=same(day - 1),
        created_second=same(36_000),
        source=same(SOURCES.index("web_form")),
        industry=same(0),
        job_level=same(0),
        country=same(0),
        company_size=same(500),
        deal_value=np.full(n, 10_000.0),
        owner=same(owner),
        size_band=same(band),
        fit=same(fit),
        activity=same(1),
        readiness=same(readiness),
        missing={},
    )


@pytest.mark.parametrize(
    ("readiness", "band", "fit", "owner"),
    [(4, 2, 1, 0), (2, 0, 2, 4), (5, 1, 0, 5)],
    ids=["late-enterprise", "mid-small-good-fit", "late-mid-poor-fit"],
)
def test_truth_matches_monte_carlo(readiness: int, band: int, fit: int, owner: int) -> None:
    config = SimulationConfig(leads=COPIES, seed=3, months=5)
    calendar = Calendar.from_config(config)
    day = int(calendar.truth_days[2])
    people = _clones(COPIES, day, readiness, band, fit, owner)
    world = default_world()
    journeys = simulate_journeys(np.random.default_rng(5), world, people, calendar)

    snap = next(s for s in journeys.snapshots if s.day == day)
    assert snap.lead.size == COPIES
    converted = journeys.converted_day
    realized = ((converted >= day) & (converted < day + calendar.horizon)).mean()

    chains = Chains.of(people.size_band, people.fit, people.capacity, people.activity)
    _, v, _ = truth_values(world, chains, calendar, np.array([day]))[day]
    state = state_index(snap.readiness[:1], snap.hotness[:1], snap.demo[:1])
    exact = float(v[chains.of_lead[0], state[0]])
    se = np.sqrt(exact * (1 - exact) / COPIES)
    assert abs(realized - exact) < 4.5 * se, (realized, exact, se)
