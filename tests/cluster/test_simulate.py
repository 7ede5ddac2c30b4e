"""``generate --dask``: chunks of leads simulated on the workers, deterministic per seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from leadscore.cluster import chunk_plan, open_parts, write_partitioned_simulation
from leadscore.cluster.simulate import simulate_chunk
from leadscore.data.simulator import SimulationConfig, simulate
from leadscore.errors import UsageError

CONFIG = SimulationConfig(leads=400, seed=5, months=6)


def test_one_chunk_is_the_single_machine_run() -> None:
    single = simulate(CONFIG)
    chunk = simulate_chunk(CONFIG, 0, chunk_plan(CONFIG, 1))
    assert_frame_equal(chunk["leads"], single.leads)
    assert_frame_equal(chunk["touchpoints"], single.touchpoints)
    assert_frame_equal(chunk["truth/snapshots"], single.truth)


def test_chunks_number_leads_and_events_uniquely(client: Any, tmp_path: Path) -> None:
    first = write_partitioned_simulation(CONFIG, tmp_path / "a", client, parts=3)
    again = write_partitioned_simulation(CONFIG, tmp_path / "b", client, parts=3)
    assert first["rows"] == again["rows"]
    assert first["rows"]["leads"] == CONFIG.leads
    for table in ("leads", "touchpoints", "outcomes", "truth/snapshots"):
        one = pl.read_parquet(sorted((tmp_path / "a" / table).glob("*.parquet")))
        two = pl.read_parquet(sorted((tmp_path / "b" / table).glob("*.parquet")))
        assert_frame_equal(one, two)
    leads = pl.read_parquet(sorted((tmp_path / "a" / "leads").glob("*.parquet")))
    assert leads["lead_id"].to_list() == [f"L{i:06d}" for i in range(1, CONFIG.leads + 1)]
    events = pl.read_parquet(sorted((tmp_path / "a" / "touchpoints").glob("*.parquet")))
    assert events["event_id"].n_unique() == events.height
    assert events["lead_id"].is_in(leads["lead_id"].implode()).all()
    assert len(open_parts(tmp_path / "a")) == 3


def test_too_many_parts_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--partitions must be between 1 and 40"):
        chunk_plan(CONFIG, 41)
