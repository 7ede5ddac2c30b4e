"""The leakage sanity check: each rule fires on the columns that leak and on no honest one."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from leadscore.data.simulator import Tables
from leadscore.errors import DataError, UsageError
from leadscore.training import LeakageReport, check_leakage, prepare_flat_table

ROWS = 2_000
STATUS_SHARE = 0.4


def _x_education(seed: int = 11) -> tuple[pl.DataFrame, int]:
    """A frame like the X Education "Leads.csv", and how many rows carry status tags."""
    rng = np.random.default_rng(seed)
    n = ROWS
    time_spent = rng.gamma(2.0, 300.0, n)
    origins = ["API", "Landing Page Submission", "Lead Add Form", "Lead Import"]
    origin = rng.choice(origins, n, p=[0.4, 0.45, 0.1, 0.05])
    logit = 0.0012 * time_spent + (origin == "Lead Add Form") + rng.normal(0, 1.0, n)
    converted = (logit > np.quantile(logit, 0.62)).astype(int)
    status = rng.random(n) < STATUS_SHARE
    won = rng.choice(["Closed by Horizzon", "Will revert after reading the email"], n)
    lost = rng.choice(["Ringing", "Lost to EINS"], n)
    neutral = ["Interested in full time MBA", "Graduation in progress", "Want to take admission"]
    tags = np.where(status, np.where(converted == 1, won, lost), rng.choice(neutral, n))
    specialization = rng.choice(["Finance Management", "Marketing Management", "HR Management"], n)
    pages = [f"{v:.2f}".replace(".", ",") for v in rng.gamma(2.0, 1.2, n)]
    fee = np.where((converted == 1) & (rng.random(n) < 0.7), rng.normal(1200, 150, n), np.nan)
    post_score = np.where(converted == 1, rng.integers(70, 101, n), rng.integers(0, 60, n))
    frame = pl.DataFrame(
        {
            "Prospect ID": [str(uuid.UUID(bytes=rng.bytes(16))) for _ in range(n)],
            "Lead Number": np.sort(rng.choice(np.arange(579_533, 660_738), n, replace=False)),
            "Lead Origin": origin,
            "Do Not Email": rng.choice(["No", "Yes"], n, p=[0.92, 0.08]),
            "Converted": converted,
            "Total Time Spent on Website": time_spent.round(0).astype(int),
            "Page Views Per Visit": np.where(rng.random(n) < 0.02, "NA", pages),
            "Specialization": np.where(rng.random(n) < 0.3, "Select", specialization),
            "City": rng.choice(["Mumbai", "Thane & Outskirts", "Select", "Other Cities", ""], n),
            "Magazine": ["No"] * n,
            "Tags": tags,
            "Lead Profile": np.where(rng.random(n) < 0.995, "Select", "Potential Lead"),
            "Enrollment Fee": fee.round(2),
            "Asymmetrique Post Score": post_score.astype(float),
            "Lead Stage": np.where(converted == 1, "Enrolled", "Dropped"),
            "Created On": [f"2024-{m:02d}-{d:02d}" for m, d in rng.integers(1, 13, (n, 2))],
            "Notes": [
                f"called about course {a} on day {b}"
                for a, b in zip(rng.integers(0, 200, n), rng.integers(0, 10, n), strict=True)
            ],
        },
        strict=False,
    )
    return frame, int(status.sum())


@pytest.fixture(scope="module")
def x_education() -> tuple[pl.DataFrame, int]:
    return _x_education()


def test_x_education_table_is_prepared(x_education: tuple[pl.DataFrame, int]) -> None:
    frame, _ = x_education
    table = prepare_flat_table(frame, target="Converted", id_column="Prospect ID")
    assert table.positive_label == "1"
    assert table.target.sum() == 760
    assert table.features.columns == [
        "Lead Origin",
        "Do Not Email",
        "Total Time Spent on Website",
        "Page Views Per Visit",
        "Specialization",
        "City",
        "Tags",
        "Enrollment Fee",
        "Asymmetrique Post Score",
        "Lead Stage",
    ]
    assert [(n.column, n.action, n.reason) for n in table.notes] == [
        ("Lead Number", "excluded", "identifier_like"),
        ("Page Views Per Visit", "transformed", "missing_placeholders"),
        ("Page Views Per Visit", "transformed", "numeric_text"),
        ("Specialization", "transformed", "missing_placeholders"),
        ("City", "transformed", "missing_placeholders"),
        ("Magazine", "excluded", "constant"),
        ("Lead Profile", "transformed", "missing_placeholders"),
        ("Lead Profile", "excluded", "mostly_missing"),
        ("Created On", "excluded", "date_like"),
        ("Notes", "excluded", "free_text"),
    ]


def test_every_rule_fires_on_its_column_only(x_education: tuple[pl.DataFrame, int]) -> None:
    frame, status_rows = x_education
    table = prepare_flat_table(frame, target="Converted", id_column="Prospect ID")
    report = check_leakage(table.features, table.target)
    assert [(s.column, s.rule, s.figure) for s in report.suspects] == [
        ("Tags", "status_values", status_rows / ROWS),
        ("Enrollment Fee", "filled_for_one_class", 1.0),
        ("Asymmetrique Post Score", "single_column_auc", 1.0),
        ("Lead Stage", "cramers_v", 1.0),
        ("Lead Stage", "status_values", 1.0),
    ]
    assert report.suspects[0].detail == (
        "Tags: 41% of rows sit in values whose outcome is near-certain "
        "(Ringing, Lost to EINS, Will revert after reading the email, …)"
    )
    assert report.excluded == report.suspects
    assert report.excluded_columns == (
        "Tags",
        "Enrollment Fee",
        "Asymmetrique Post Score",
        "Lead Stage",
    )
    assert report.kept == ()


def test_keep_reports_a_suspect_as_kept(x_education: tuple[pl.DataFrame, int]) -> None:
    frame, _ = x_education
    table = prepare_flat_table(frame, target="Converted", keep=["Tags"], exclude=["Prospect ID"])
    report = check_leakage(table.features, table.target, keep=["Tags"])
    assert [(s.column, s.rule) for s in report.kept] == [("Tags", "status_values")]
    assert "Tags" not in report.excluded_columns
    entries = report.to_dict()["suspected_leakage"]
    assert entries[0] == {
        "column": "Tags",
        "rule": "status_values",
        "figure": 0.414,
        "detail": report.kept[0].detail,
        "kept": True,
    }
    assert [entry["kept"] for entry in entries] == [True, False, False, False, False]


def _simulated_flat(tables: Tables, as_of: dt.datetime, horizon_days: int = 60) -> pl.DataFrame:
    """Leads open at ``as_of`` with activity counts before it, labelled by conversion within
    the horizon: honest features only."""
    outcomes = tables.outcomes.select("lead_id", "converted_at", "lost_at")
    decided = (pl.col("converted_at") < as_of) | (pl.col("lost_at") < as_of)
    leads = (
        tables.leads.filter(pl.col("created_at") < as_of)
        .join(outcomes, on="lead_id", how="left")
        .filter(~decided.fill_null(False))
    )
    recent = pl.col("timestamp") >= as_of - dt.timedelta(days=30)
    activity = (
        tables.touchpoints.filter(pl.col("timestamp") < as_of)
        .group_by("lead_id")
        .agg(
            pricing_page_views_30d=((pl.col("action") == "pricing_page_view") & recent).sum(),
            touchpoints=pl.len(),
            demos=(pl.col("action") == "demo").sum(),
        )
    )
    end = as_of + dt.timedelta(days=horizon_days)
    converted = pl.col("converted_at").is_between(as_of, end, closed="left").fill_null(False)
    return (
        leads.join(activity, on="lead_id", how="left")
        .with_columns(
            pl.col("pricing_page_views_30d", "touchpoints", "demos").fill_null(0),
            converted=converted,
        )
        .select(
            "lead_id",
            "source",
            "industry",
            "country",
            "job_level",
            "deal_value",
            "pricing_page_views_30d",
            "touchpoints",
            "demos",
            "converted",
        )
    )


def test_honest_simulated_features_are_not_flagged(small_run: Tables) -> None:
    frame = _simulated_flat(small_run, dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    table = prepare_flat_table(frame, target="converted", id_column="lead_id")
    pricing = table.features["pricing_page_views_30d"].to_numpy()
    assert 0.65 < roc_auc_score(table.target, pricing) < 0.85
    report = check_leakage(table.features, table.target)
    assert report == LeakageReport((), (), ())


def _frame(**columns: list[object]) -> pl.DataFrame:
    return pl.DataFrame(columns, strict=False)


@pytest.mark.parametrize(
    ("moved_to", "figure", "fires"),
    [(20.5, 1.0, True), (8.5, 0.99, True), (4.5, 0.95, True), (3.5, 0.94, False)],
    ids=["perfect", "one-swap", "at-threshold", "below-threshold"],
)
@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["rising", "falling"])
def test_single_column_auc(moved_to: float, figure: float, fires: bool, sign: float) -> None:
    positives = [moved_to, *range(11, 20)]
    values = [sign * v for v in [*range(10), *positives]] + [None] * 10
    target = [0] * 10 + [1] * 10 + [1] * 10
    report = check_leakage(_frame(score=values), np.array(target))
    expected = [("score", "single_column_auc", pytest.approx(figure))] if fires else []
    assert [(s.column, s.rule, s.figure) for s in report.suspects] == expected


def test_single_column_auc_says_on_how_many_rows() -> None:
    values = [float(v) for v in range(40)]
    report = check_leakage(_frame(score=values), np.array([0] * 20 + [1] * 20))
    assert report.suspects[0].detail == (
        "score: on its own it separates the outcomes with ROC AUC 1.000 (on 40 filled rows)"
    )


def test_cramers_v_is_bias_corrected() -> None:
    values = ["a"] * 50 + ["b"] * 50
    target = np.array([1] * 45 + [0] * 5 + [1] * 5 + [0] * 45)
    assert check_leakage(_frame(stage=values), target).suspects == ()
    report = check_leakage(_frame(stage=values), target, cramers_v_threshold=0.75)
    (suspect,) = report.suspects
    assert suspect.rule == "cramers_v"
    assert suspect.figure == pytest.approx(((0.64 - 1 / 99) / (1 - 1 / 99)) ** 0.5)


def test_cramers_v_counts_missing_as_a_category() -> None:
    values = ["paid"] * 50 + [None] * 50
    target = np.array([1] * 50 + [0] * 50)
    report = check_leakage(_frame(stage=values), target)
    assert [(s.rule, s.figure) for s in report.suspects] == [
        ("cramers_v", 1.0),
        ("filled_for_one_class", 1.0),
        ("status_values", 0.5),
    ]


def test_missing_cells_are_no_status_value() -> None:
    values = ["paid"] * 50 + [None] * 50
    target = np.array([1, 0] * 25 + [0] * 50)
    assert check_leakage(_frame(stage=values), target).suspects == ()


@pytest.mark.parametrize(
    ("filled_pos", "filled_neg", "rows", "expected"),
    [
        (30, 0, 50, [("filled_for_one_class", 1.0)]),
        (29, 0, 50, []),
        (33, 1, 50, [("filled_for_one_class", 33 / 34)]),
        (30, 1, 50, []),
        (30, 0, 200, []),
    ],
    ids=["filled-for-positives", "too-few-rows", "just-certain", "not-certain", "rare-in-class"],
)
def test_filled_for_one_class(
    filled_pos: int, filled_neg: int, rows: int, expected: list[tuple[str, float]]
) -> None:
    fee = [1.5] * filled_pos + [None] * (rows - filled_pos)
    fee += [2.5] * filled_neg + [None] * (rows - filled_neg)
    target = np.array([1] * rows + [0] * rows)
    report = check_leakage(_frame(fee=fee), target)
    assert [(s.rule, s.figure) for s in report.suspects] == expected


def test_filled_for_one_class_works_for_either_class() -> None:
    reason = ["price"] * 40 + [None] * 60 + [None] * 100
    target = np.array([0] * 100 + [1] * 100)
    (suspect,) = check_leakage(_frame(lost_reason=reason), target).suspects
    assert (suspect.rule, suspect.figure) == ("filled_for_one_class", 1.0)
    assert suspect.detail == (
        "lost_reason: filled for 40% of negative rows and 0% of the others; "
        "100% of filled rows are negative"
    )


@pytest.mark.parametrize(
    ("lost_rows", "figure"),
    [(30, 0.35), (29, None)],
    ids=["enough-support", "too-little-support"],
)
def test_status_values(lost_rows: int, figure: float | None) -> None:
    other = 200 - 40 - lost_rows
    tags = ["Closed"] * 40 + ["Lost to EINS"] * lost_rows + ["Open"] * other
    target = np.array([1] * 40 + [0] * lost_rows + [1, 0] * (other // 2) + [1] * (other % 2))
    report = check_leakage(_frame(tags=tags), target)
    expected = [] if figure is None else [("status_values", figure)]
    assert [(s.rule, s.figure) for s in report.suspects] == expected


def test_status_values_need_a_base_rate_well_inside() -> None:
    tags = ["Cold"] * 120 + ["Warm"] * 80
    target = np.array([0] * 120 + [1] * 10 + [0] * 70)
    assert check_leakage(_frame(tags=tags), target).suspects == ()


def test_an_honest_strong_category_is_not_flagged() -> None:
    origin = ["Lead Add Form"] * 100 + ["API"] * 900
    target = np.array([1] * 92 + [0] * 8 + [1] * 290 + [0] * 610)
    assert check_leakage(_frame(origin=origin), target).suspects == ()


@pytest.mark.parametrize(
    ("target", "arguments", "error", "match"),
    [
        ([0, 1, 0], {}, UsageError, r"the target must hold 0 or 1 for each of the 4 rows"),
        ([0, 1, 2, 1], {}, UsageError, r"with values \[0, 1, 2\]"),
        ([0, 1, 0, 1], {"keep": ["Tags"]}, UsageError, r"keep names \['Tags'\]"),
        (
            [0, 1, 0, 1],
            {"auc_threshold": 1.5},
            UsageError,
            r"The 'auc_threshold' parameter of check_leakage must be a float in the range "
            r"\(0, 1\]\. Got 1\.5 instead\.",
        ),
        ([0, 1, 0, 1], {"certain_low": 0.99}, UsageError, r"certain_low < certain_high"),
        ([1, 1, 1, 1], {}, DataError, r"the target holds one class only"),
    ],
    ids=["length", "values", "keep", "threshold", "certain", "one-class"],
)
def test_arguments_are_checked(
    target: list[int], arguments: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        check_leakage(_frame(x=[1.0, 2.0, 3.0, 4.0]), np.array(target), **arguments)  # type: ignore[arg-type]
