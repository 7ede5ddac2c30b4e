"""``leadscore forecast`` through the real CLI: usage errors and the backtest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import PIPELINE, cli, said

from leadscore.data.simulator import Tables, write_tables


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, small_run: Tables) -> Path:
    """A home with the small run's tables in ``crm/`` and a fast pipeline file."""
    root = tmp_path_factory.mktemp("forecast")
    write_tables(small_run, root / "crm", "parquet", manifest={})
    (root / "pipeline.yaml").write_text(PIPELINE)
    return root


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target", "1000", "--period", "2025-09-01"), "--period must be START..END"),
        (
            ("--target", "1000", "--period", "2025-10-01..2025-09-01"),
            "--period END (2025-09-01) is before START (2025-10-01)",
        ),
        (("--target", "-5", "--period", "2025-09-01..2025-09-30"), "--target must be an amount"),
        (("--period", "2025-09-01..2025-09-30"), "Give --target AMOUNT and --period"),
        (
            ("--target", "1", "--period", "2025-09-01..2025-09-30", "--owner", "nobody"),
            "No lead has the owner 'nobody'; the owners are:",
        ),
        (("--backtest", "--target", "1"), "--backtest chooses its own periods"),
    ],
    ids=["period-format", "end-before-start", "negative-target", "no-target", "owner", "backtest"],
)
def test_usage_errors_exit_2(home: Path, args: tuple[str, ...], message: str) -> None:
    result = cli(home, "forecast", "--data", home / "crm", *args)
    assert result.exit_code == 2, result.output
    assert message in said(result)


def test_backtest_json(home: Path) -> None:
    result = cli(
        home,
        "forecast",
        "--data",
        home / "crm",
        "--backtest",
        "--periods",
        "2",
        "--period-days",
        "21",
        "--pipeline",
        home / "pipeline.yaml",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["periods"]) == 2
    assert set(payload["periods"][0]) >= {
        "start",
        "end",
        "expected",
        "q10",
        "q50",
        "q90",
        "actual",
        "covered",
        "factor_sd",
        "spread_windows",
    }
    assert all(row["factor_sd"] >= 0 for row in payload["periods"])
    covered = [row["covered"] for row in payload["periods"]]
    assert payload["coverage"] == sum(covered) / 2
    assert payload["model"].startswith("trained on the data before ")
