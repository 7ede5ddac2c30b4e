"""`leadscore train --treatment` on a flat campaign table, through the real CLI and MLflow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from cli_support import cli, empty_store, said
from rich.console import Console

from campaign_support import campaign_table
from leadscore.cli._next_touchpoint import render_campaign
from leadscore.cli.score import recommender_model
from leadscore.errors import UsageError
from leadscore.settings import Settings
from leadscore.training.next_touchpoint_tracking import NEXT_TOUCHPOINT_MODEL_NAME
from leadscore.training.tracking import quiet_mlflow

PIPELINE = "kind: next-touchpoint\n"
TRAIN = ("train", "--pipeline", "nt.yaml", "--json")
CAMPAIGN = ("--treatment", "treatment", "--control", "control", "--target", "converted")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("campaign")
    (root / "models").mkdir()
    shutil.copy(empty_store(tmp_path_factory), root / "models" / "mlflow.db")
    (root / "nt.yaml").write_text(PIPELINE)
    frame = campaign_table(6_000, seed=0).frame
    frame.write_csv(root / "ab.csv")
    frame.with_columns(converted=pl.lit("No")).write_csv(root / "no-conversions.csv")
    return root


@pytest.fixture(scope="module")
def trained(project: Path) -> dict[str, Any]:
    result = cli(
        project, *TRAIN, "--data", "ab.csv", *CAMPAIGN, "--id", "customer_id", "--randomized"
    )
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_train_reports_qini_and_uplift_at_k_per_arm(trained: dict[str, Any]) -> None:
    assert trained["model_uri"] == f"models:/{NEXT_TOUCHPOINT_MODEL_NAME}/1"
    assert trained["arms"] == ["control", "call", "email"]
    assert sum(trained["rows_per_arm"].values()) == 6_000
    assert trained["logging_policy"]["source"] == "known randomisation"
    assert "overlap" not in trained
    for arm in ("call", "email"):
        facts = trained["holdout"][arm]
        assert facts["qini_coefficient"]["model"] > facts["qini_coefficient"]["random"] + 0.1
        assert set(facts["uplift_at_k"]) == {"10", "20", "30", "50"}
        observed = facts["observed"]
        assert observed["low"] <= facts["mean_estimated_uplift"] <= observed["high"]


def test_the_run_holds_metrics_the_qini_plot_and_a_tagged_version(
    project: Path, trained: dict[str, Any]
) -> None:
    with pytest.MonkeyPatch.context() as patch, quiet_mlflow():
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        from mlflow import MlflowClient

        from leadscore.training.tracking import configure_mlflow

        configure_mlflow(Settings(home=project))
        client = MlflowClient()
        run = client.get_run(trained["run_id"])
        plots = [a.path for a in client.list_artifacts(trained["run_id"], "plots")]
        version = client.get_model_version(NEXT_TOUCHPOINT_MODEL_NAME, "1")
    assert run.data.tags["leadscore.model"] == "campaign"
    assert run.data.params["campaign.randomized"] == "true"
    assert run.data.metrics["holdout_call_qini_coefficient_model"] == pytest.approx(
        trained["holdout"]["call"]["qini_coefficient"]["model"]
    )
    assert "holdout_email_uplift_at_k_10_random" in run.data.metrics
    assert plots == ["plots/qini_curves.png"]
    assert version.tags["leadscore.model"] == "campaign"


def test_a_campaign_model_is_refused_as_recommender_and_champion(
    project: Path, trained: dict[str, Any]
) -> None:
    promoted = cli(project, "promote", trained["run_id"])
    assert promoted.exit_code == 2
    assert "a campaign model scores flat tables, not event data" in said(promoted)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        with pytest.raises(UsageError, match="scores flat tables, not event data"):
            recommender_model(trained["model_uri"], Settings(home=project))


def test_human_output_is_a_compact_table(trained: dict[str, Any]) -> None:
    console = Console(record=True, width=100)
    render_campaign(trained, console)
    text = console.export_text()
    assert "Qini coef." in text
    assert "top 10 %" in text
    assert "observed [95 % CI]" in text


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ("--data", "ab.csv", "--treatment", "treatment", "--target", "converted"),
            2,
            "needs --treatment COLUMN --control VALUE --target COLUMN together",
            id="no-control",
        ),
        pytest.param(
            ("--data", "ab.csv", "--treatment", "treatment", "--control", "control"),
            2,
            "needs --treatment COLUMN --control VALUE --target COLUMN together",
            id="no-target",
        ),
        pytest.param(
            ("--data", "ab.csv", *CAMPAIGN[:3], "holdout", *CAMPAIGN[4:]),
            2,
            "control value 'holdout' is not a value of treatment column 'treatment'; its "
            "values are 'call', 'control', 'email'",
            id="control-absent",
        ),
        pytest.param(
            ("--data", "no-conversions.csv", *CAMPAIGN),
            1,
            "target column 'converted' holds one value ('No') in every row",
            id="one-class-target",
        ),
        pytest.param(
            ("--data", "ab.csv", *CAMPAIGN, "--time-column", "tenure"),
            2,
            "--time-column: not available for a campaign table",
            id="time-column",
        ),
    ],
)
def test_bad_campaign_options_exit_with_a_clear_error(
    project: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    result = cli(project, *TRAIN, *args)
    assert result.exit_code == code, result.output
    assert message in said(result)


def test_a_campaign_needs_a_next_touchpoint_pipeline(project: Path) -> None:
    (project / "propensity.yaml").write_text("name: propensity\n")
    result = cli(project, "train", "--pipeline", "propensity.yaml", "--data", "ab.csv", *CAMPAIGN)
    assert result.exit_code == 2
    assert "trains with a next-touchpoint pipeline" in said(result)
