"""One simulation run: draw the population, simulate the journeys, build the tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from leadscore import __version__
from leadscore.data.simulator.calendar import Calendar
from leadscore.data.simulator.config import SimulationConfig
from leadscore.data.simulator.journeys import simulate_journeys
from leadscore.data.simulator.output import Format, write_tables
from leadscore.data.simulator.population import draw
from leadscore.data.simulator.summary import summarize
from leadscore.data.simulator.tables import Tables, build_tables
from leadscore.data.simulator.world import World, default_world

__all__ = ["simulate", "write_simulation"]

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


def write_simulation(
    config: SimulationConfig,
    out: Path,
    fmt: Format = "csv",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate, write the tables and ``truth/`` to ``out``, and return the realism summary.

    The summary is also kept in ``out/truth/manifest.json`` with the configuration.
    """
    step = progress or (lambda _: None)
    tables = simulate(config, progress=step)
    step("summarising")
    summary = summarize(tables, config.horizon_days)
    manifest = {
        "generator": f"leadscore {__version__}",
        "config": config.model_dump(mode="json"),
        "summary": summary,
    }
    step("writing tables")
    files = write_tables(tables, out, fmt, manifest)
    return {"out": str(out), "files": {k: str(v) for k, v in files.items()}, **summary}
