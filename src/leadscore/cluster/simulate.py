"""``generate --dask``: the simulator run in independent chunks of leads, one task each.

The simulator draws every lead from one random stream, day by day and vectorised over the
open leads, so a chunk of leads cannot reproduce its share of a single run's stream. Leads do
not interact in the simulated process (a rep's capacity is a fixed level, the calendar does
not depend on the seed), so each chunk is run as its own simulation of the same process:

* chunk ``k`` of ``parts`` simulates ``leads // parts`` leads (the first ``leads % parts``
  chunks one more) with the seed ``SeedSequence([seed, k])`` derives; one chunk uses the
  seed itself, so ``--dask`` with one part writes exactly the single-machine tables;
* lead ids are numbered across chunks (``L000001`` … in chunk order), event ids get the
  chunk as a prefix (``P00003-E0000001``) so that they stay unique.

The same seed and number of parts give the same files on any cluster. The tables follow the
same distribution as a single run's — every lead is an independent draw of the same process —
but not the same values: a run with one part and one with several are different samples.
The simulator itself is used as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from leadscore import __version__
from leadscore.cluster.client import DaskClient
from leadscore.cluster.parts import write_layout, write_part
from leadscore.data.simulator import SimulationConfig, Tables, simulate
from leadscore.data.simulator.world import ACTION_CHANNELS
from leadscore.errors import UsageError

__all__ = ["LEADS_PER_PART", "chunk_plan", "simulate_chunk", "write_partitioned_simulation"]

#: Leads per chunk when the number of parts is not given: a chunk's simulation and its
#: touchpoints (about 55 per lead) then fit comfortably in a worker of 2 GiB.
LEADS_PER_PART: Final = 50_000
_MIN_CHUNK: Final = 10  # the simulator's own minimum number of leads


def chunk_plan(config: SimulationConfig, parts: int | None = None) -> list[tuple[int, int, int]]:
    """``(first lead index, leads, seed)`` of each chunk."""
    count = parts if parts is not None else max(1, -(-config.leads // LEADS_PER_PART))
    if count < 1 or config.leads // count < _MIN_CHUNK:
        raise UsageError(
            f"--partitions must be between 1 and {config.leads // _MIN_CHUNK} for "
            f"{config.leads} leads (at least {_MIN_CHUNK} leads a part); got {count}."
        )
    if count == 1:
        return [(0, config.leads, config.seed)]
    seeds = [
        int(np.random.SeedSequence([config.seed, k]).generate_state(1)[0]) for k in range(count)
    ]
    size, extra = divmod(config.leads, count)
    plan, first = [], 0
    for k in range(count):
        n = size + (1 if k < extra else 0)
        plan.append((first, n, seeds[k]))
        first += n
    return plan


def _renumber(tables: Tables, first: int, total: int, chunk: int | None) -> dict[str, pl.DataFrame]:
    """The chunk's tables with lead ids numbered from ``first`` and chunk-prefixed event ids."""
    width = max(6, len(str(total)))
    lead = (
        pl.lit("L")
        + (pl.col("lead_id").str.slice(1).cast(pl.Int64) + first).cast(pl.String).str.zfill(width)
    ).alias("lead_id")
    events = [] if chunk is None else [pl.format("P{}-{}", pl.lit(f"{chunk:05d}"), "event_id")]
    return {
        "leads": tables.leads.with_columns(lead),
        "touchpoints": tables.touchpoints.with_columns(
            lead, *(e.alias("event_id") for e in events)
        ),
        "outcomes": tables.outcomes.with_columns(lead),
        "truth/snapshots": tables.truth.with_columns(lead),
        "truth/company_touchpoints": tables.company_touchpoints.with_columns(
            lead, *(e.alias("event_id") for e in events)
        ),
    }


def simulate_chunk(
    config: SimulationConfig, chunk: int, plan: list[tuple[int, int, int]]
) -> dict[str, pl.DataFrame]:
    """The tables of chunk ``chunk`` of ``plan`` (see the module docstring)."""
    first, leads, seed = plan[chunk]
    tables = simulate(config.model_copy(update={"leads": leads, "seed": seed}))
    return _renumber(tables, first, config.leads, chunk if len(plan) > 1 else None)


def _write_chunk(
    config: SimulationConfig, chunk: int, plan: list[tuple[int, int, int]], out: Path
) -> dict[str, int]:
    return write_part(out, chunk, simulate_chunk(config, chunk, plan))


def write_partitioned_simulation(
    config: SimulationConfig, out: Path, client: DaskClient, *, parts: int | None = None
) -> dict[str, Any]:
    """Simulate on the cluster, one task per chunk, each writing its own part of every table
    to ``out`` (a folder all workers can write to). Returns rows per table and the plan."""
    plan = chunk_plan(config, parts)
    out = out.resolve()  # workers may run in another directory
    out.mkdir(parents=True, exist_ok=True)
    futures = [
        client.submit(_write_chunk, config, k, plan, out, pure=False) for k in range(len(plan))
    ]
    rows_per_part: list[dict[str, int]] = client.gather(futures)
    _write_actions(out)
    totals = {t: sum(r[t] for r in rows_per_part) for t in rows_per_part[0]}
    manifest = {
        "generator": f"leadscore {__version__}",
        "config": config.model_dump(mode="json"),
        "chunks": [{"first": f, "leads": n, "seed": s} for f, n, s in plan],
    }
    write_layout(out, len(plan), manifest)
    return {"out": str(out), "parts": len(plan), "rows": totals, "seed": config.seed}


def _write_actions(out: Path) -> None:
    """``truth/actions.csv``: the company-initiated touchpoints and their channels."""
    (out / "truth").mkdir(exist_ok=True)
    pl.DataFrame(
        {"touchpoint": list(ACTION_CHANNELS), "channel": list(ACTION_CHANNELS.values())}
    ).write_csv(out / "truth" / "actions.csv")
