"""``leadscore train`` through the real CLI, on event data and on a flat lead table.

Runs are logged to a real MLflow store under a temporary ``LEADSCORE_HOME``.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from cli_support import PIPELINE, cli, empty_store, said

from leadscore.data.flat import read_flat_table
from leadscore.data.simulator import Tables, write_tables
from leadscore.training import prepare_flat_table, split_flat

METRICS = {"roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_at_10"}
ORACLE = {"roc_auc", "brier", "prob_mae", "coverage"}
# Small, fast trees: the shipped defaults need far more data than a test should build.


def x_education(rows: int = 3_000, seed: int = 5, source: str = "source") -> str:
    """A flat lead table like the X Education export: semicolons, decimal commas, "Select"
    placeholders, a uuid id, a 1/0 target and a ``Tags`` column that gives the outcome away
    for 40 % of the rows.

    The lead source is in a column named ``source`` by default (calibration is then
    reported per source); ``source=`` renames it.
    """
    rng = np.random.default_rng(seed)
    sources = rng.choice(["Google", "Direct Traffic", "Olark Chat", "Reference"], rows)
    origin = rng.choice(
        ["API", "Landing Page Submission", "Lead Add Form"], rows, p=[0.4, 0.5, 0.1]
    )
    minutes = rng.gamma(2.0, 250.0, rows).astype(int)
    visits = rng.poisson(3.0, rows)
    per_visit = rng.gamma(2.0, 1.2, rows)
    specialization = rng.choice(["Select", "Finance Management", "IT Projects Management"], rows)
    logit = -2.2 + 0.0017 * minutes + np.where(origin == "Lead Add Form", 1.5, 0.0)
    converted = rng.random(rows) < 1 / (1 + np.exp(-logit))
    tags = np.where(converted, "Closed by Horizzon", "Lost to EINS").astype(object)
    vague = rng.choice(["Will revert after reading the email", "Ringing", "Busy", ""], rows)
    status = rng.random(rows) < 0.4
    tags[~status] = vague[~status]
    lines = [
        f"Prospect ID;{source};Lead Origin;TotalVisits;Total Time Spent on Website;"
        "Page Views Per Visit;Specialization;Tags;Converted"
    ]
    for i in range(rows):
        lead = uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i)
        cells = [
            str(lead),
            sources[i],
            origin[i],
            str(visits[i]),
            str(minutes[i]),
            f"{per_visit[i]:.2f}".replace(".", ","),
            specialization[i],
            tags[i],
            str(int(converted[i])),
        ]
        lines.append(";".join(cells))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, small_run: Tables) -> Path:
    """A home with an empty MLflow store, the small run's tables, a fast pipeline and a flat
    lead table."""
    root = tmp_path_factory.mktemp("train")
    (root / "models").mkdir()
    shutil.copy(empty_store(tmp_path_factory), root / "models" / "mlflow.db")
    write_tables(small_run, root / "crm", "parquet", manifest={})
    (root / "pipeline.yaml").write_text(PIPELINE)
    (root / "leads.csv").write_text(x_education(), encoding="utf-8")
    return root


def _train(project: Path, *args: object) -> dict[str, Any]:
    result = cli(project, "train", "--pipeline", project / "pipeline.yaml", "--json", *args)
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


@pytest.fixture(scope="module")
def event_run(project: Path) -> dict[str, Any]:
    return _train(project, "--data", project / "crm")


@pytest.fixture(scope="module")
def flat_run(project: Path) -> dict[str, Any]:
    return _train(project, "--data", project / "leads.csv", "--target", "Converted")


@pytest.fixture(scope="module")
def kept_run(project: Path) -> dict[str, Any]:
    return _train(
        project, "--data", project / "leads.csv", "--target", "Converted", "--keep-column", "Tags"
    )


# -- event data -----------------------------------------------------------------------------


def test_train_json_has_run_metrics_baseline_oracle_and_checks(
    event_run: dict[str, Any], project: Path
) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", event_run["run_id"])
    assert event_run["model_uri"] == f"models:/leadscore-propensity/{event_run['version']}"
    assert set(event_run["metrics"]) == METRICS
    assert set(event_run["baseline"]) == METRICS
    assert set(event_run["oracle"]) == ORACLE
    assert event_run["oracle"]["coverage"] == 1.0
    assert set(event_run["readiness"]) == {"level", "reason", "warnings"}
    assert event_run["readiness"]["level"] in {"ready", "usable", "not ready"}
    assert event_run["suspected_leakage"] == []
    assert set(event_run["split"]) == {
        "train_rows",
        "validation_rows",
        "test_rows",
        "validation_start",
        "test_start",
    }
    assert event_run["test_rows"] == event_run["split"]["test_rows"]
    assert 0 < event_run["test_positives"] < event_run["test_rows"]
    # The model beats its baseline and stays below the oracle on the simulated data.
    metrics, oracle = event_run["metrics"], event_run["oracle"]
    assert event_run["baseline"]["roc_auc"] < metrics["roc_auc"] < oracle["roc_auc"]
    assert (project / "models" / "artifacts").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "lead"], "--id: these options apply only to a flat lead table; give --target"),
        (["--positive", "yes"], "--positive: these options apply only to a flat lead table"),
        (["--time-column", "c"], "--time-column: these options apply only to a flat lead table"),
        (["--exclude", "Tags"], "--exclude: these options apply only to a flat lead table"),
        (["--data", "{missing}"], "no such file or folder"),
    ],
    ids=["id", "positive", "time-column", "exclude", "missing-data"],
)
def test_usage_errors_exit_2(project: Path, args: list[str], message: str) -> None:
    defaults = ["--data", str(project / "crm")] if "--data" not in args else []
    filled = [arg.format(missing=project / "missing") for arg in args]
    result = cli(project, "train", *defaults, *filled)
    assert result.exit_code == 2, result.output
    assert message in said(result)
    assert result.stdout == ""


# -- a flat lead table ----------------------------------------------------------------------


def test_flat_table_trains_and_excludes_the_leaking_column(
    flat_run: dict[str, Any], project: Path
) -> None:
    assert set(flat_run["metrics"]) == METRICS
    assert set(flat_run["baseline"]) == METRICS
    assert "oracle" not in flat_run
    assert flat_run["positive_label"] == "1"
    assert flat_run["split"]["method"] == "random stratified"
    assert [(s["column"], s["rule"], s["kept"]) for s in flat_run["suspected_leakage"]] == [
        ("Tags", "status_values", False)
    ]
    # The figure is the share of training rows whose tag tells the outcome.
    table = prepare_flat_table(read_flat_table(project / "leads.csv"), target="Converted")
    tags = table.features["Tags"].cast(pl.String)[split_flat(table).train]
    telling = tags.is_in(["Closed by Horizzon", "Lost to EINS"]).sum() / tags.len()
    (suspect,) = flat_run["suspected_leakage"]
    assert suspect["figure"] == round(telling, 4)
    assert suspect["detail"].startswith(
        f"Tags: {telling:.0%} of rows sit in values whose outcome is near-certain ("
    )
    assert {"Closed by Horizzon", "Lost to EINS"} == set(
        suspect["detail"].split("(")[1].rstrip(")").split(", ")
    )


def test_flat_table_notes_every_column_it_changed(flat_run: dict[str, Any]) -> None:
    selects = x_education().count(";Select;")
    assert flat_run["columns"] == [
        {
            "column": "Prospect ID",
            "action": "excluded",
            "reason": "identifier_like",
            "detail": "named like an identifier",
        },
        *(
            {
                "column": name,
                "action": "transformed",
                "reason": "numeric_text",
                "detail": "numeric text parsed as numbers",
            }
            for name in ("TotalVisits", "Total Time Spent on Website", "Page Views Per Visit")
        ),
        {
            "column": "Specialization",
            "action": "transformed",
            "reason": "missing_placeholders",
            "detail": f"read as missing: 'Select' ({selects:,})",
        },
    ]


def test_keep_column_keeps_the_suspect(flat_run: dict[str, Any], kept_run: dict[str, Any]) -> None:
    assert [(s["column"], s["rule"], s["kept"]) for s in kept_run["suspected_leakage"]] == [
        ("Tags", "status_values", True)
    ]
    # Kept, the leaking column makes the model look far better than it is.
    assert kept_run["metrics"]["roc_auc"] > flat_run["metrics"]["roc_auc"] + 0.1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            "cannot tell the positive class of target column 'Outcome': it holds 'Cold', "
            "'Hot'; name it with positive= (--positive)",
        ),
        (
            ["--positive", "Warm"],
            "positive class 'Warm' is not a value of target column 'Outcome'; its values are "
            "'Cold', 'Hot'",
        ),
        (["--keep-column", "Nope"], "no column named 'Nope' in the table"),
        (["--id", "Outcome"], "one column cannot play two roles"),
    ],
    ids=["no-positive", "unknown-positive", "unknown-keep", "target-as-id"],
)
def test_flat_usage_errors_exit_2(project: Path, args: list[str], message: str) -> None:
    table = project / "outcome.csv"
    table.write_text(
        "Prospect ID;Visits;Outcome\n"
        + "".join(f"P{i};{i % 7};{'Hot' if i % 3 else 'Cold'}\n" for i in range(60))
    )
    result = cli(project, "train", "--data", table, "--target", "Outcome", *args)
    assert result.exit_code == 2, result.output
    assert message in said(result)


def test_flat_table_without_segment_columns_trains(project: Path) -> None:
    table = project / "x-education.csv"
    table.write_text(x_education(rows=600, source="Lead Source"), encoding="utf-8")
    result = cli(
        project,
        "train",
        "--data",
        table,
        "--target",
        "Converted",
        "--pipeline",
        project / "pipeline.yaml",
        "--json",
    )
    assert result.exit_code == 0, said(result)
