"""``leadscore score`` and ``rank`` through the real CLI with a champion in a temp MLflow store."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from cli_support import PIPELINE, cli, empty_store, said
from click.testing import Result
from openpyxl import load_workbook

from leadscore.data.simulator import Tables, write_tables
from leadscore.features import observed_until, open_snapshots

COLUMNS = [
    "lead_id",
    "as_of",
    "probability",
    "score",
    "grade",
    "trend",
    "expected_revenue",
    "reasons",
    "risks",
    "owner",
    "source",
    "deal_value",
]
NO_CHAMPION = (
    "No champion model yet: train one with `leadscore train` and promote it with "
    "`leadscore promote RUN_ID`."
)


def _home(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    home = tmp_path_factory.mktemp(name)
    (home / "models").mkdir()
    shutil.copy(empty_store(tmp_path_factory), home / "models" / "mlflow.db")
    return home


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, small_run: Tables) -> Path:
    """A home whose champion was trained on the small run's tables (in ``crm/``)."""
    root = _home(tmp_path_factory, "score")
    write_tables(small_run, root / "crm", "parquet", manifest={})
    (root / "pipeline.yaml").write_text(PIPELINE)
    trained = cli(
        root, "train", "--data", root / "crm", "--pipeline", root / "pipeline.yaml", "--json"
    )
    assert trained.exit_code == 0, trained.output
    promoted = cli(root, "promote", json.loads(trained.stdout)["run_id"], "--json")
    assert promoted.exit_code == 0, promoted.output
    assert json.loads(promoted.stdout)["promoted"] is True
    return root


def _score(project: Path, out: str, *args: object) -> Result:
    return cli(
        project,
        "score",
        "--data",
        project / "crm",
        "--out",
        project / out,
        "--pipeline",
        project / "pipeline.yaml",
        "--json",
        *args,
    )


@pytest.fixture(scope="module")
def scored(project: Path) -> tuple[dict[str, Any], pl.DataFrame]:
    result = _score(project, "scores.csv")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), pl.read_csv(project / "scores.csv")


def _open_leads(tables: Tables, when: datetime) -> int:
    return open_snapshots(tables.leads, tables.outcomes, pl.Series("as_of", [when])).height


def test_score_writes_every_open_lead(
    scored: tuple[dict[str, Any], pl.DataFrame], small_run: Tables, project: Path
) -> None:
    summary, scores = scored
    end = observed_until(small_run.leads, small_run.touchpoints, small_run.outcomes)
    assert summary == {
        "model_uri": "models:/leadscore-propensity@champion",
        "next_touchpoint_model_uri": None,  # no next-touchpoint champion in this store
        "leads": _open_leads(small_run, end),
        "as_of": end.isoformat(),
        "grades": dict(sorted(scores["grade"].value_counts().iter_rows())),
        "out": str(project / "scores.csv"),
    }
    assert scores.columns == COLUMNS
    assert scores.height == summary["leads"]
    assert scores["lead_id"].n_unique() == scores.height
    assert scores["probability"].to_list() == sorted(scores["probability"], reverse=True)
    assert set(summary["grades"]) == {"A", "B", "C", "D"}


def test_rank_top_of_grade_a_agrees_with_the_score_file(
    scored: tuple[dict[str, Any], pl.DataFrame], project: Path
) -> None:
    _, scores = scored
    result = cli(
        project,
        "rank",
        "--data",
        project / "crm",
        "--grade",
        "A",
        "--limit",
        "5",
        "--out",
        project / "top.xlsx",
        "--pipeline",
        project / "pipeline.yaml",
        "--json",
    )
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)
    top = scores.filter(pl.col("grade") == "A").head(5)
    assert [row["rank"] for row in ranked] == [1, 2, 3, 4, 5]
    assert [row["lead_id"] for row in ranked] == top["lead_id"].to_list()
    assert [row["score"] for row in ranked] == top["score"].to_list()
    assert {row["grade"] for row in ranked} == {"A"}

    sheet = load_workbook(project / "top.xlsx").active
    assert sheet is not None
    header, *rows = sheet.iter_rows(values_only=True)
    assert list(header) == ["rank", *COLUMNS]
    assert [(row[0], row[1]) for row in rows] == list(enumerate(top["lead_id"].to_list(), start=1))
    assert sheet.freeze_panes == "B2"


def test_rank_by_owner_is_the_owners_part_of_the_score_file(
    scored: tuple[dict[str, Any], pl.DataFrame], project: Path
) -> None:
    _, scores = scored
    owner = scores["owner"][0]
    result = cli(
        project, "rank", "--data", project / "crm", "--owner", owner, "--limit", "3", "--json"
    )
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)
    expected = scores.filter(pl.col("owner") == owner).head(3)["lead_id"].to_list()
    assert [row["lead_id"] for row in ranked] == expected


def test_score_as_of_an_earlier_day(project: Path, small_run: Tables) -> None:
    result = _score(project, "july.parquet", "--as-of", "2025-07-01")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    july = datetime(2025, 7, 1, tzinfo=UTC)
    assert summary["as_of"] == "2025-07-01T00:00:00+00:00"
    assert summary["leads"] == _open_leads(small_run, july)
    written = pl.read_parquet(project / "july.parquet")
    assert written.height == summary["leads"]
    assert written["as_of"].unique().to_list() == [july]


@pytest.mark.parametrize("command", ["score", "rank"])
def test_no_champion_yet_exits_1_and_says_what_to_do(
    command: str, tmp_path_factory: pytest.TempPathFactory, project: Path
) -> None:
    home = _home(tmp_path_factory, "empty")
    out = home / "scores.csv"
    result = cli(home, command, "--data", project / "crm", "--out", out)
    assert result.exit_code == 1, result.output
    assert NO_CHAMPION in said(result)
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "value"),
    [("score", "01/07/2025"), ("score", "yesterday"), ("rank", "2025-13-01")],
    ids=["score-slashes", "score-word", "rank-month-13"],
)
def test_bad_as_of_exits_2_naming_the_flag(project: Path, command: str, value: str) -> None:
    out = project / f"bad-{command}.csv"
    result = cli(project, command, "--data", project / "crm", "--out", out, "--as-of", value)
    assert result.exit_code == 2, result.output
    assert "--as-of must be an ISO 8601 date or time such as 2025-10-01" in said(result)
    assert f"got {value!r}" in said(result)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rank", "--limit", "0"], "--limit must be a positive number of leads; got 0."),
        (["score", "--out", "{home}/scores.txt"], "(got '.txt')"),
    ],
    ids=["rank-limit-0", "score-txt"],
)
def test_usage_errors_exit_2(project: Path, args: list[str], message: str) -> None:
    filled = [arg.format(home=project) for arg in args]
    result = cli(project, *filled, "--data", project / "crm")
    assert result.exit_code == 2, result.output
    assert message in said(result)
    assert not (project / "scores.txt").exists()
