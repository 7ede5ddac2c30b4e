"""One simulation run: draw the population, simulate the journeys, build the tables."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from leadscore.data.simulator.calendar import Calendar
from leadscore.data.simulator.config import SimulationConfig
from leadscore.data.simulator.journeys import simulate_journeys
from leadscore.data.simulator.population import draw
from leadscore.data.simulator.tables import Tables, build_tables
from leadscore.data.simulator.world import World, default_world

__all__ = ["simulate"]

Progress = Callable[[str], None]


def simulate(
    config: SimulationConfig,
    world: World | None = None,
    progress: Progress | None = None,
) -> Tables:
    """Simulate ``config.leads`` customer journeys; the same config gives the same tables."""
    step = progress or (lambda _: None)
    world = world or default_world()
    rng = np.random.default_rng(config.seed)
    calendar = Calendar.from_config(config)
    step("drawing leads")
    people = draw(rng, config.leads, calendar)
    step("simulating journeys")
    journeys = simulate_journeys(rng, world, people, calendar)
    step("building tables and truth")
    return build_tables(rng, world, people, journeys, calendar)
