"""Writing scores to CSV, Parquet, JSON and Excel, and the ranked list sales works from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from polars.testing import assert_frame_equal

from leadscore.errors import LeadscoreError, UsageError
from leadscore.scoring import rank_leads
from leadscore.scoring.export import FORMATS, write_scores

AS_OF = datetime(2025, 10, 1, 8, 30, tzinfo=UTC)
SCORES = pl.DataFrame(
    {
        "lead_id": ["L3", "L1", "L2", "L4", "L5"],
        "as_of": [AS_OF] * 5,
        "probability": [0.625, 0.5, 0.5, 0.25, 0.0625],
        "score": [62, 50, 50, 25, 6],
        "grade": ["A", "A", "A", "B", "D"],
        "trend": [3, None, -2, 0, 1],
        "expected_revenue": [625.0, 500.0, None, 25.0, 6.25],
        "reasons": [["4 demos in the last 30 days", "industry: software"], [], ["x"], [], []],
        "risks": [[], ["country: FR"], [], ["no e-mail yet"], []],
        "owner": ["anna", "ben", "anna", "anna", "ben"],
    },
    schema_overrides={"as_of": pl.Datetime("us", "UTC")},
)


def _written(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# -- write_scores ---------------------------------------------------------------------------


def test_csv_joins_lists_and_writes_utc_times(tmp_path: Path) -> None:
    path = write_scores(SCORES, tmp_path / "scores.csv")
    assert path == tmp_path / "scores.csv"
    lines = path.read_text().splitlines()
    assert lines[0] == (
        "lead_id,as_of,probability,score,grade,trend,expected_revenue,reasons,risks,owner"
    )
    assert lines[1] == (
        "L3,2025-10-01T08:30:00Z,0.625,62,A,3,625.0,"
        '4 demos in the last 30 days; industry: software,"",anna'
    )
    back = pl.read_csv(path, schema=SCORES.schema | {"reasons": pl.String, "risks": pl.String})
    # An empty list is written as "" (an empty text), not as a missing value.
    assert_frame_equal(back, SCORES.with_columns(pl.col("reasons", "risks").list.join("; ")))
    assert _written(tmp_path) == ["scores.csv"]


def test_parquet_keeps_every_type(tmp_path: Path) -> None:
    path = write_scores(SCORES, tmp_path / "scores.parquet")
    assert_frame_equal(pl.read_parquet(path), SCORES)
    assert _written(tmp_path) == ["scores.parquet"]


def test_json_is_one_object_per_lead_with_lists(tmp_path: Path) -> None:
    path = write_scores(SCORES, tmp_path / "scores.json")
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert rows[0] == {
        "lead_id": "L3",
        "as_of": "2025-10-01T08:30:00+00:00",
        "probability": 0.625,
        "score": 62,
        "grade": "A",
        "trend": 3,
        "expected_revenue": 625.0,
        "reasons": ["4 demos in the last 30 days", "industry: software"],
        "risks": [],
        "owner": "anna",
    }
    back = pl.DataFrame(rows, schema=SCORES.schema | {"as_of": pl.String}).with_columns(
        pl.col("as_of").str.to_datetime(time_unit="us", time_zone="UTC")
    )
    assert_frame_equal(back, SCORES)
    assert _written(tmp_path) == ["scores.json"]


def test_xlsx_has_a_header_grade_colours_and_a_frozen_pane(tmp_path: Path) -> None:
    path = write_scores(SCORES, tmp_path / "scores.xlsx")
    assert _written(tmp_path) == ["scores.xlsx"]
    sheet = load_workbook(path).active
    assert sheet is not None
    assert sheet.title == "leads"
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == SCORES.columns
    assert all(cell.font.bold for cell in sheet[1])
    assert list(rows[1]) == [
        "L3",
        datetime(2025, 10, 1, 8, 30),  # Excel has no time zones: UTC, written naive
        0.625,
        62,
        "A",
        3,
        625.0,
        "4 demos in the last 30 days; industry: software",
        None,
        "anna",
    ]
    assert [row[0] for row in rows[1:]] == SCORES["lead_id"].to_list()
    assert [row[5] for row in rows[1:]] == SCORES["trend"].to_list()
    grade = SCORES.columns.index("grade") + 1
    fills = [sheet.cell(row, grade).fill.fgColor.rgb for row in range(2, SCORES.height + 2)]
    assert fills == ["00C6EFCE", "00C6EFCE", "00C6EFCE", "00DDEBF7", "00F2F2F2"]
    assert sheet.freeze_panes == "B2"
    assert sheet.auto_filter.ref == "A1:J6"


@pytest.mark.parametrize("name", ["scores.CSV", "scores.Parquet"], ids=["csv", "parquet"])
def test_the_suffix_is_case_insensitive(tmp_path: Path, name: str) -> None:
    write_scores(SCORES, tmp_path / name)
    assert _written(tmp_path) == [name]


def test_missing_folders_are_created_and_files_replaced(tmp_path: Path) -> None:
    path = tmp_path / "out" / "week" / "scores.csv"
    path.parent.mkdir(parents=True)
    path.write_text("old\n")
    write_scores(SCORES.head(1), path)
    assert pl.read_csv(path)["lead_id"].to_list() == ["L3"]
    assert _written(path.parent) == ["scores.csv"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("scores.txt", r"\(got '\.txt'\)"),
        ("scores.xls", r"\(got '\.xls'\)"),
        ("scores", r"\(got 'none'\)"),
    ],
    ids=["txt", "xls", "no-suffix"],
)
def test_unknown_suffix_is_a_usage_error(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(UsageError, match=rf"must be one of {', '.join(FORMATS)} {message}"):
        write_scores(SCORES, tmp_path / name)
    assert _written(tmp_path) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    taken = tmp_path / "scores.csv"
    taken.mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises((OSError, LeadscoreError), match=r"scores\.csv"):
        write_scores(SCORES, taken)
    assert _written(tmp_path) == ["scores.csv"]


# -- rank_leads -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ["L3", "L1", "L2", "L4", "L5"]),
        ({"owner": "anna"}, ["L3", "L2", "L4"]),
        ({"grades": ["A"]}, ["L3", "L1", "L2"]),
        ({"grades": ["B", "D"]}, ["L4", "L5"]),
        ({"owner": "ben", "grades": ["A", "D"]}, ["L1", "L5"]),
        ({"limit": 2}, ["L3", "L1"]),
        ({"owner": "anna", "limit": 10}, ["L3", "L2", "L4"]),
        ({"owner": "nobody"}, []),
    ],
    ids=[
        "all",
        "owner",
        "grade",
        "grades",
        "owner-and-grades",
        "limit",
        "limit-above-rows",
        "no-match",
    ],
)
def test_rank_filters_and_numbers_from_one(options: dict[str, object], expected: list[str]) -> None:
    ranked = rank_leads(SCORES, **options)  # type: ignore[arg-type]
    assert ranked.columns == ["rank", *SCORES.columns]
    assert ranked["lead_id"].to_list() == expected
    assert ranked["rank"].to_list() == list(range(1, len(expected) + 1))
    assert ranked.schema["rank"] == pl.Int64


def test_rank_breaks_ties_by_lead_id() -> None:
    shuffled = SCORES.reverse()
    ranked = rank_leads(shuffled)
    assert ranked.filter(pl.col("probability") == 0.5)["lead_id"].to_list() == ["L1", "L2"]
    assert_frame_equal(ranked.drop("rank"), rank_leads(SCORES).drop("rank"))


@pytest.mark.parametrize("limit", [0, -3], ids=["zero", "negative"])
def test_rank_limit_below_one_is_a_usage_error(limit: int) -> None:
    with pytest.raises(
        UsageError, match=rf"--limit must be a positive number of leads; got {limit}"
    ):
        rank_leads(SCORES, limit=limit)


def test_rank_by_owner_needs_an_owner_column() -> None:
    with pytest.raises(UsageError, match="carry no owner column"):
        rank_leads(SCORES.drop("owner"), owner="anna")
