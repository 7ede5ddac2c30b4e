"""``--dask`` on generate, train and score, run against the session's cluster by address."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import Result
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from leadscore.cli import app

PIPELINE = """\
split: {validation_days: 45}
model:
  max_rounds: 60
  early_stopping_rounds: 20
  lightgbm: {learning_rate: 0.1, num_leaves: 8, max_depth: 3, min_child_samples: 50,
             min_data_per_group: 50}
"""


def _cli(home: Path, *args: object) -> Result:
    """``leadscore ARGS`` with its models under ``home`` (MLflow's URI kept out of the env)."""
    with pytest.MonkeyPatch.context() as patch, threadpool_limits(limits=1, user_api="blas"):
        patch.setenv("LEADSCORE_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.chdir(home)
        return CliRunner().invoke(app, [str(arg) for arg in args])


def test_generate_train_and_score_on_dask(client: Any, tmp_path: Path) -> None:
    address = client.scheduler.address
    (tmp_path / "fast.yaml").write_text(PIPELINE)
    made = _cli(
        tmp_path, "generate", "--leads", 1500, "--seed", 3, "--months", 8, "--out", "sim",
        "--dask", address, "--partitions", 2, "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["parts"] == 2
    trained = _cli(
        tmp_path, "train", "--data", "sim", "--pipeline", "fast.yaml", "--dask", address, "--json"
    )
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)
    assert summary["engine"] == "dask"
    assert summary["metrics"]["roc_auc"] > 0.7
    scored = _cli(
        tmp_path, "score", "--data", "sim", "--model", summary["run_id"], "--out", "scores",
        "--dask", address, "--json",
    )  # fmt: skip
    assert scored.exit_code == 0, scored.output
    result = json.loads(scored.stdout)
    frame = pl.read_parquet(sorted((tmp_path / "scores").glob("part-*.parquet")))
    assert result["leads"] == frame.height > 0
    assert frame["probability"].is_between(0, 1).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("generate", "--out", "x", "--dask", "local:zero"), "--dask must be a scheduler"),
        (("generate", "--out", "x", "--partitions", 2), "--partitions applies only with --dask"),
        (("train", "--data", "x", "--dask", "local:0"), "needs 1 to 256 workers"),
        (("score", "--data", "x", "--out", "y", "--dask", "a b"), "--dask must be a scheduler"),
    ],
    ids=["generate-bad-value", "partitions-without-dask", "train-zero-workers", "score-bad"],
)
def test_bad_dask_values_are_usage_errors(
    tmp_path: Path, args: tuple[object, ...], message: str
) -> None:
    result = _cli(tmp_path, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
