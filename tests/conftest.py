"""Session-wide fixtures: simulated data is built once per test session."""

from __future__ import annotations

import pytest

from leadscore.data.simulator import SimulationConfig, Tables, simulate

SMALL = SimulationConfig(leads=3_000, seed=7, months=8)


@pytest.fixture(scope="session")
def small_run() -> Tables:
    """A small simulated CRM (3,000 leads over 8 months) shared by the whole session."""
    return simulate(SMALL)
