"""Features on the cluster equal the single-machine builder's, exactly."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from leadscore.cluster import data_bounds, open_parts, part_examples, part_features, resolve_spec
from leadscore.data.simulator import Tables
from leadscore.data.simulator.output import write_tables
from leadscore.errors import DataError, UsageError
from leadscore.features import build_features, observed_until, open_snapshots
from leadscore.training.config import PipelineConfig
from leadscore.training.examples import build_examples

CONFIG = PipelineConfig()


def _cluster_examples(client: Any, parts: list[Any], tables: Tables) -> pl.DataFrame:
    from dask.delayed import delayed

    bounds = data_bounds(client, parts)
    spec = resolve_spec(CONFIG.features, bounds)
    assert spec == CONFIG.features.resolve(tables.touchpoints)
    frames = client.compute([delayed(part_examples)(p, spec, CONFIG, bounds) for p in parts])
    return pl.concat(client.gather(frames)).sort("as_of", "lead_id")


def test_examples_equal_the_single_machine_path(
    client: Any, parts: list[Any], small_run: Tables
) -> None:
    single = build_examples(small_run.leads, small_run.touchpoints, small_run.outcomes, CONFIG)
    assert len(parts) == 3
    assert_frame_equal(_cluster_examples(client, parts, small_run), single.frame)


def test_scoring_features_equal_the_single_machine_path(
    client: Any, parts: list[Any], small_run: Tables
) -> None:
    from dask.delayed import delayed

    spec = CONFIG.features.resolve(small_run.touchpoints)
    when = observed_until(small_run.leads, small_run.touchpoints, small_run.outcomes)
    assert isinstance(when, datetime)
    snapshots = open_snapshots(
        small_run.leads,
        small_run.outcomes,
        pl.Series("as_of", [when]).cast(pl.Datetime("us", "UTC")),
    )
    single = build_features(small_run.leads, small_run.touchpoints, snapshots, spec)
    frames = client.compute([delayed(part_features)(p, spec, when) for p in parts])
    cluster = pl.concat(client.gather(frames)).sort("as_of", "lead_id")
    assert cluster.height > 100
    assert_frame_equal(cluster, single)


def test_canonical_parquet_tables_are_shuffled_by_lead(
    client: Any, small_run: Tables, tmp_path: Path
) -> None:
    write_tables(small_run, tmp_path, "parquet", {})
    shuffled = open_parts(tmp_path, parts=4)
    assert len(shuffled) == 4
    single = build_examples(small_run.leads, small_run.touchpoints, small_run.outcomes, CONFIG)
    assert_frame_equal(_cluster_examples(client, shuffled, small_run), single.frame)


def test_csv_tables_are_refused_with_a_hint(small_run: Tables, tmp_path: Path) -> None:
    write_tables(small_run, tmp_path, "csv", {})
    with pytest.raises(DataError, match=r"no Parquet table 'leads'.*leads\.csv.*Parquet"):
        open_parts(tmp_path)


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        open_parts(tmp_path / "absent")


def test_incomplete_partitioned_folder_is_named(partitioned: Path, tmp_path: Path) -> None:
    (tmp_path / "leads").mkdir()
    (tmp_path / "partitions.json").write_text((partitioned / "partitions.json").read_text())
    with pytest.raises(
        DataError, match=r"partitioned into 3 parts but 9 part file\(s\) are missing"
    ):
        open_parts(tmp_path)
