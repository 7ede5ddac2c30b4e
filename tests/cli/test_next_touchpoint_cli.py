"""The next-touchpoint pipeline through the real CLI: train, promote, evaluate, score."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from cli_support import PIPELINE, cli, empty_store, said
from click.testing import Result

from leadscore.data.simulator import Tables, write_tables
from leadscore.settings import Settings
from leadscore.training.next_touchpoint_tracking import (
    NEXT_TOUCHPOINT_MODEL_NAME,
    load_next_touchpoint,
)
from leadscore.training.registry import champion_version

#: Trains in a few seconds on the small simulated CRM; ``{seed}`` varies the estimator.
NEXT_TOUCHPOINT = """\
kind: next-touchpoint
decisions: {{none_share: 0.1}}
estimator: {{folds: 2, propensity_rounds: 30, outcome_rounds: 40, effect_rounds: 30,
            effect_min_child_samples: 200, seed: {seed}}}
"""
POLICIES = {"model", "none", "logged", "random", "naive", "oracle"}


def _json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, small_run: Tables) -> Path:
    root = tmp_path_factory.mktemp("next-touchpoint")
    (root / "models").mkdir()
    shutil.copy(empty_store(tmp_path_factory), root / "models" / "mlflow.db")
    write_tables(small_run, root / "crm", "parquet", manifest={})
    (root / "nt.yaml").write_text(NEXT_TOUCHPOINT.format(seed=0))
    (root / "nt-other.yaml").write_text(NEXT_TOUCHPOINT.format(seed=1))
    (root / "propensity.yaml").write_text(PIPELINE)
    return root


@pytest.fixture(scope="module")
def trained(project: Path) -> dict[str, Any]:
    return _json(
        cli(
            project, "train", "--data", project / "crm", "--pipeline", project / "nt.yaml", "--json"
        )
    )


def test_train_reports_policy_values_against_the_truth_and_off_policy(
    trained: dict[str, Any],
) -> None:
    assert trained["pipeline"] == "next-touchpoint"
    assert trained["model_uri"] == f"models:/{NEXT_TOUCHPOINT_MODEL_NAME}/1"
    values = trained["policy_value"]
    assert set(values) >= POLICIES
    # The oracle takes the truly best arm per snapshot, so no policy beats it.
    assert all(values["oracle"] >= v - 1e-12 for v in values.values())
    gain = values["oracle"] - values["none"]
    capture = trained["regret_capture"]
    assert capture["model"] == pytest.approx((values["model"] - values["none"]) / gain)
    assert capture["naive"] == pytest.approx((values["naive"] - values["none"]) / gain)
    for policy in ("model", "none"):
        dr = trained["off_policy"][policy]["dr"]
        assert dr["low"] <= dr["value"] <= dr["high"]
    # Doing nothing is what most logged decision points did: its DR estimate must sit near
    # the observed outcome of untouched points, well inside [0, 1].
    assert 0 < trained["off_policy"]["none"]["dr"]["value"] < 1
    assert set(trained["overlap"]) == {"none", *NextTouchpointArms}


NextTouchpointArms = (
    "call",
    "demo",
    "offer_sent",
    "webinar_invitation",
    "trade_fair_invitation",
    "nurture_email",
)


def test_the_run_is_tracked_and_the_model_loads_back(
    project: Path, trained: dict[str, Any]
) -> None:
    settings = Settings(home=project)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        loaded = load_next_touchpoint(trained["run_id"], settings)
    assert loaded.version == 1
    assert loaded.trained.model.arms_ == ("none", *NextTouchpointArms)
    assert loaded.trained.test.is_empty()


def test_promotion_follows_the_policy_value_rule(project: Path, trained: dict[str, Any]) -> None:
    first = _json(cli(project, "promote", trained["run_id"], "--json"))
    assert first["promoted"] and first["metric"] == "dr_policy_value"
    other = _json(
        cli(
            project,
            "train",
            "--data",
            project / "crm",
            "--pipeline",
            project / "nt-other.yaml",
            "--json",
        )
    )
    result = cli(project, "promote", other["run_id"], "--json")
    outcome = json.loads(result.stdout)
    beats = outcome["candidate_value"] > outcome["champion_value"]
    assert outcome["promoted"] is beats
    assert result.exit_code == (0 if beats else 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        champion = champion_version(Settings(home=project), NEXT_TOUCHPOINT_MODEL_NAME)
    assert champion == (other["version"] if beats else trained["version"])


def test_evaluate_json_prints_policy_values(project: Path, trained: dict[str, Any]) -> None:
    result = cli(
        project,
        "evaluate",
        "--model",
        f"models:/{NEXT_TOUCHPOINT_MODEL_NAME}/{trained['version']}",
        "--data",
        project / "crm",
        "--json",
    )
    summary = _json(result)
    assert set(summary["policy_value"]) >= POLICIES
    assert summary["since"] == trained["split"]["test_start"]
    # The same model on the same test period: the same figures as at training.
    assert summary["policy_value"] == pytest.approx(trained["policy_value"])


def test_score_adds_next_best_touchpoints(project: Path, trained: dict[str, Any]) -> None:
    propensity = _json(
        cli(
            project,
            "train",
            "--data",
            project / "crm",
            "--pipeline",
            project / "propensity.yaml",
            "--json",
        )
    )
    assert cli(project, "promote", propensity["run_id"]).exit_code == 0
    out = project / "scores.parquet"
    summary = _json(
        cli(
            project,
            "score",
            "--data",
            project / "crm",
            "--pipeline",
            project / "propensity.yaml",
            "--next-touchpoint",
            trained["run_id"],
            "--out",
            out,
            "--json",
        )
    )
    assert summary["next_touchpoint_model_uri"].endswith(trained["run_id"] + "/model")
    scores = pl.read_parquet(out)
    rows = scores.select("probability", "next_best_touchpoints").to_dicts()
    assert any(row["next_best_touchpoints"] for row in rows)
    for row in rows:
        uplifts = [t["uplift"] for t in row["next_best_touchpoints"]]
        assert uplifts == sorted(uplifts, reverse=True) and all(u > 0 for u in uplifts)
        for t in row["next_best_touchpoints"]:
            # The probability shown is the lead's score plus the touchpoint's uplift.
            assert t["probability"] == pytest.approx(min(1.0, row["probability"] + t["uplift"]))
    assert scores["recommendation_propensity"].is_between(0, 1, closed="right").all()
    # No offer before a demo (the default rule): a lead never demoed is offered nothing.
    touchpoints = pl.read_parquet(project / "crm" / "touchpoints.parquet")
    as_of = scores["as_of"][0]
    demoed = set(
        touchpoints.filter((pl.col("action") == "demo") & (pl.col("timestamp") < as_of))[
            "lead_id"
        ].to_list()
    )
    offered = {
        row["lead_id"]
        for row in scores.select("lead_id", "next_best_touchpoints").to_dicts()
        if any(t["touchpoint"] == "offer_sent" for t in row["next_best_touchpoints"])
    }
    assert offered <= demoed
    skipped = cli(
        project,
        "score",
        "--data",
        project / "crm",
        "--pipeline",
        project / "propensity.yaml",
        "--next-touchpoint",
        "none",
        "--out",
        project / "plain.csv",
    )
    assert skipped.exit_code == 0, skipped.output
    assert "next_best_touchpoints" not in pl.read_csv(project / "plain.csv").columns


def test_a_propensity_step_refuses_a_next_touchpoint_pipeline(project: Path) -> None:
    result = cli(
        project,
        "score",
        "--data",
        project / "crm",
        "--pipeline",
        project / "nt.yaml",
        "--out",
        project / "x.csv",
    )
    assert result.exit_code == 1
    assert "is a next-touchpoint pipeline" in said(result)
