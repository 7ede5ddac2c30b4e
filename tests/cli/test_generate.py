"""``leadscore generate``, ``demo``, ``--version`` and ``--help`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from leadscore import __version__
from leadscore.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"leadscore {__version__}"


@pytest.mark.parametrize("command", ["demo", "generate", "validate"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_generate_json_summary_and_files(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["generate", "--leads", "400", "--seed", "3", "--months", "6", "--out", str(out)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"]["leads"] == 400
    assert set(summary) >= {
        "rows",
        "conversion_rate_snapshots",
        "oracle_roc_auc",
        "best_single_signal",
        "files",
    }
    for name in ("leads.csv", "touchpoints.csv", "outcomes.csv", "truth/snapshots.csv"):
        assert (out / name).is_file(), name
    written = pl.read_csv(out / "touchpoints.csv")
    assert written.height == summary["rows"]["touchpoints"]
    manifest = json.loads((out / "truth" / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 3

    again = runner.invoke(app, [*args[:-1], str(tmp_path / "again"), "--json"])
    assert (tmp_path / "again" / "touchpoints.csv").read_bytes() == (
        out / "touchpoints.csv"
    ).read_bytes()
    assert again.exit_code == 0


def test_generate_parquet_passes_validate(tmp_path: Path) -> None:
    out = tmp_path / "pq"
    gen = runner.invoke(
        app,
        ["generate", "--leads", "300", "--months", "5", "--format", "parquet", "--out", str(out)],
    )
    assert gen.exit_code == 0, gen.output
    assert (out / "touchpoints.parquet").is_file()
    checked = runner.invoke(app, ["validate", str(out), "--json"])
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert report["ok"] is True
    for counts in report["tables"].values():
        assert counts["rows_used"] + counts["rows_rejected"] == counts["rows_read"]
        assert counts["rows_rejected"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xlsx"], "--format"),
        (["--start", "yesterday"], "invalid option"),
        (["--leads", "-5"], "invalid option"),
    ],
    ids=["format", "start", "leads"],
)
def test_generate_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["generate", "--out", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x").exists()


def test_demo_runs_the_whole_job_and_is_safe_to_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADSCORE_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--leads", "1500", "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    assert payload["validate"]["ok"] is True
    assert payload["generate"]["rows"]["leads"] == 1500
    assert set(payload["train"]["metrics"]) == {
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
        "ece",
        "lift_at_10",
    }
    assert "oracle" in payload["train"]
    assert payload["promote"]["promoted"] is True
    uplift = payload["next_touchpoint"]
    assert {"model", "none", "logged", "naive", "oracle"} <= set(uplift["policy_value"])
    assert uplift["model_uri"] == "models:/leadscore-next-touchpoint/1"
    assert payload["promote_next_touchpoint"]["promoted"] is True
    top = payload["top"]
    assert all(isinstance(row["next_best_touchpoints"], list) for row in top)
    forecast = payload["forecast"]
    assert forecast["period"]["days"] == 30
    assert forecast["q10"] <= forecast["q50"] <= forecast["q90"]
    assert 0 <= forecast["p_target"] <= 1 and forecast["target"] > 0
    assert [row["rank"] for row in top] == list(range(1, len(top) + 1))
    assert [row["score"] for row in top] == sorted((row["score"] for row in top), reverse=True)
    assert (tmp_path / "models" / "mlflow.db").is_file()
    # The same data again: a tie does not replace the champion, and the demo still succeeds.
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["promote"]["promoted"] is False
