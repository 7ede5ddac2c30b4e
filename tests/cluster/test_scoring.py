"""Batch scoring on the cluster agrees with the single-machine scores of the same model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from leadscore.cluster import score_on_cluster
from leadscore.data.simulator import Tables
from leadscore.errors import UsageError
from leadscore.scoring.score import score_leads
from leadscore.training.propensity import TrainedPropensity


def test_scores_equal_the_single_machine_scores(
    client: Any, parts: list[Any], small_run: Tables, trained: TrainedPropensity, tmp_path: Path
) -> None:
    config = trained.config.scoring
    single = score_leads(
        trained.model, small_run.leads, small_run.touchpoints, small_run.outcomes, config
    ).sort("lead_id")
    summary = score_on_cluster(client, parts, trained.model, config, tmp_path / "scores")
    files = sorted((tmp_path / "scores").glob("part-*.parquet"))
    assert [f.name for f in files] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    cluster = pl.read_parquet(files).sort("lead_id")
    assert summary["leads"] == single.height == cluster.height
    assert summary["grades"] == dict(sorted(single["grade"].value_counts().iter_rows()))
    np.testing.assert_allclose(cluster["probability"], single["probability"], rtol=0, atol=1e-6)
    assert_frame_equal(cluster, single)


def test_score_output_must_be_a_folder(
    client: Any, parts: list[Any], trained: TrainedPropensity, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="folder of Parquet parts"):
        score_on_cluster(client, parts, trained.model, trained.config.scoring, tmp_path / "s.csv")
