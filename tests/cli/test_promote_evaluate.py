"""``leadscore promote`` and ``evaluate`` through the real CLI, in a temp MLflow store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import PIPELINE_TEMPLATE, cli, empty_store, said
from click.testing import Result

from leadscore.data.simulator import Tables, write_tables
from leadscore.settings import Settings
from leadscore.training.registry import champion_version

METRICS = {"roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_at_10"}
ORACLE = {"roc_auc", "brier", "prob_mae", "coverage"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, small_run: Tables) -> Path:
    """A home with an empty MLflow store, the small run's tables in ``crm/`` and two
    pipelines: ``good.yaml`` (80 rounds) and ``weak.yaml`` (one round)."""
    root = tmp_path_factory.mktemp("promote")
    (root / "models").mkdir()
    shutil.copy(empty_store(tmp_path_factory), root / "models" / "mlflow.db")
    write_tables(small_run, root / "crm", "parquet", manifest={})
    (root / "good.yaml").write_text(PIPELINE_TEMPLATE.format(rounds=80))
    (root / "weak.yaml").write_text(PIPELINE_TEMPLATE.format(rounds=1))
    return root


def _json(result: Result) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def _train(project: Path, pipeline: str) -> dict[str, Any]:
    result = cli(
        project, "train", "--data", project / "crm", "--pipeline", project / pipeline, "--json"
    )
    assert result.exit_code == 0, result.output
    return _json(result)


@pytest.fixture(scope="module")
def good(project: Path) -> dict[str, Any]:
    return _train(project, "good.yaml")


@pytest.fixture(scope="module")
def weak(project: Path) -> dict[str, Any]:
    return _train(project, "weak.yaml")


@pytest.fixture(scope="module")
def first_promotion(project: Path, good: dict[str, Any]) -> dict[str, Any]:
    result = cli(project, "promote", good["run_id"], "--json")
    assert result.exit_code == 0, result.output
    return _json(result)


def _champion(project: Path) -> int | None:
    """The registered version the champion alias points at."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        return champion_version(Settings(home=project))


def test_the_first_run_becomes_champion(
    first_promotion: dict[str, Any], good: dict[str, Any]
) -> None:
    assert first_promotion == {
        "promoted": True,
        "run_id": good["run_id"],
        "version": good["version"],
        "previous_version": None,
        "metric": "roc_auc",
        "candidate_value": first_promotion["candidate_value"],
        "champion_value": None,
        "reason": first_promotion["reason"],
        "forced": False,
    }
    assert first_promotion["candidate_value"] == good["metrics"]["roc_auc"]
    assert first_promotion["reason"].startswith("No champion yet: version")


def test_a_worse_run_is_not_promoted_and_the_champion_stays(
    project: Path, first_promotion: dict[str, Any], good: dict[str, Any], weak: dict[str, Any]
) -> None:
    result = cli(project, "promote", weak["run_id"], "--json")
    assert result.exit_code == 1, result.output
    outcome = _json(result)
    assert outcome["promoted"] is False
    assert outcome["previous_version"] == good["version"]
    assert outcome["candidate_value"] == weak["metrics"]["roc_auc"]
    # The champion is scored on the weak run's own test snapshots: the same as good's here.
    assert outcome["champion_value"] == good["metrics"]["roc_auc"]
    assert outcome["candidate_value"] < outcome["champion_value"]
    assert outcome["reason"].startswith(f"Not promoted: version {weak['version']}")
    assert "use --force --reason TEXT" in outcome["reason"]
    assert _champion(project) == good["version"]


def test_promoting_the_champion_again_is_a_no_op(
    project: Path, first_promotion: dict[str, Any], good: dict[str, Any]
) -> None:
    result = cli(project, "promote", good["run_id"])
    assert result.exit_code == 0, result.output
    assert f"Version {good['version']} (run {good['run_id']}) is already the champion" in said(
        result
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{weak}", "--force"], "--force needs --reason TEXT saying why the rule is overridden"),
        (["{weak}", "--force", "--reason", "  "], "--force needs --reason TEXT"),
        (["abc"], "RUN_ID must be the 32-character hexadecimal id of an MLflow run"),
    ],
    ids=["force-without-reason", "force-with-blank-reason", "malformed-run-id"],
)
def test_promote_usage_errors_exit_2(
    project: Path,
    first_promotion: dict[str, Any],
    good: dict[str, Any],
    weak: dict[str, Any],
    args: list[str],
    message: str,
) -> None:
    result = cli(project, "promote", *(arg.format(weak=weak["run_id"]) for arg in args))
    assert result.exit_code == 2, result.output
    assert message in said(result)
    assert _champion(project) == good["version"]


def test_promoting_an_unknown_run_exits_1(project: Path) -> None:
    result = cli(project, "promote", "0" * 32)
    assert result.exit_code == 1, result.output
    assert f"No run {'0' * 32} in the tracking store" in said(result)


def test_evaluate_json_has_the_keys_of_train(
    project: Path, first_promotion: dict[str, Any], good: dict[str, Any]
) -> None:
    result = cli(project, "evaluate", "--data", project / "crm", "--json")
    assert result.exit_code == 0, result.output
    summary = _json(result)
    assert set(summary) == {
        "model_uri",
        "version",
        "run_id",
        "metrics",
        "baseline",
        "oracle",
        "rows",
        "positives",
        "readiness",
        "calibration_by_segment",
    }
    assert summary["model_uri"] == "models:/leadscore-propensity@champion"
    assert (summary["run_id"], summary["version"]) == (good["run_id"], good["version"])
    assert set(summary["metrics"]) == set(good["metrics"]) == METRICS
    assert set(summary["baseline"]) == set(good["baseline"]) == METRICS
    assert set(summary["oracle"]) == set(good["oracle"]) == ORACLE
    assert set(summary["readiness"]) == set(good["readiness"])
    # Every labelled snapshot, training ones included, is more than the test fold.
    assert summary["rows"] > good["test_rows"]


def test_evaluate_since_the_test_start_reproduces_the_test_figures(
    project: Path, good: dict[str, Any]
) -> None:
    result = cli(
        project,
        "evaluate",
        "--data",
        project / "crm",
        "--model",
        good["run_id"],
        "--since",
        good["split"]["test_start"],
        "--pipeline",
        project / "good.yaml",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = _json(result)
    assert summary["model_uri"] == f"runs:/{good['run_id']}/model"
    assert (summary["rows"], summary["positives"]) == (good["test_rows"], good["test_positives"])
    assert summary["metrics"] == good["metrics"]
    assert summary["baseline"] == good["baseline"]
    assert summary["oracle"] == good["oracle"]


def test_evaluate_bad_since_exits_2_naming_the_flag(project: Path) -> None:
    result = cli(project, "evaluate", "--data", project / "crm", "--since", "yesterday")
    assert result.exit_code == 2
    assert "--since" in said(result)
