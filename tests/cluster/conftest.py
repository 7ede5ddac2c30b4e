"""A LocalCluster of two worker processes and the small simulated CRM as Dask parts, once
per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from leadscore.cluster import dask_client, open_parts
from leadscore.cluster.client import DaskTarget
from leadscore.cluster.parts import write_layout, write_part
from leadscore.data.simulator import Tables

PARTS = 3


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    """Two worker processes with one thread each (LightGBM's Dask training needs processes:
    its network setup is per process)."""
    with dask_client(DaskTarget(workers=2)) as connected:
        yield connected


def partition_by_lead(tables: Tables, root: Path, parts: int = PARTS) -> Path:
    """``tables`` written as a partitioned folder, parts keyed by a hash of lead_id."""
    frames = {"leads": tables.leads, "touchpoints": tables.touchpoints, "outcomes": tables.outcomes}
    for k in range(parts):
        write_part(
            root,
            k,
            {
                name: frame.filter(pl.col("lead_id").hash(seed=0) % parts == k)
                for name, frame in frames.items()
            },
        )
    write_layout(root, parts)
    return root


@pytest.fixture(scope="session")
def partitioned(small_run: Tables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's small simulated CRM as a partitioned folder."""
    return partition_by_lead(small_run, tmp_path_factory.mktemp("partitioned"))


@pytest.fixture(scope="session")
def parts(partitioned: Path) -> list[Any]:
    """The lazy parts of :func:`partitioned`."""
    return open_parts(partitioned)
