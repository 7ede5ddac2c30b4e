"""A customer-journey simulator that also writes the ground truth.

See :mod:`leadscore.data.simulator.world` for the process and its logging policy, and
:mod:`leadscore.data.simulator.truth` for the exact truth.
"""

from leadscore.data.simulator.config import SimulationConfig
from leadscore.data.simulator.output import Format, read_truth, write_tables
from leadscore.data.simulator.run import simulate, write_simulation
from leadscore.data.simulator.summary import summarize
from leadscore.data.simulator.tables import Tables
from leadscore.data.simulator.world import ACTIONS, LEAD_ACTIONS, World, default_world

__all__ = [
    "ACTIONS",
    "LEAD_ACTIONS",
    "Format",
    "SimulationConfig",
    "Tables",
    "World",
    "default_world",
    "read_truth",
    "simulate",
    "summarize",
    "write_simulation",
    "write_tables",
]
