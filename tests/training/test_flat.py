"""Preparing a flat lead table: target inference, missing spellings, numeric text, column
screening, ids, times and the train/validation/test split."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from leadscore.errors import DataError, UsageError
from leadscore.training import FlatTable, prepare_flat_table, split_flat

ROWS = 200


def _frame(target: list[object], **columns: list[object]) -> pl.DataFrame:
    visits = [float(i % 7) for i in range(len(target))]
    return pl.DataFrame({"y": target, "visits": visits, **columns}, strict=False)


@pytest.mark.parametrize(
    ("values", "expected", "label"),
    [
        ([1, 0, 1, 0], [1, 0, 1, 0], "1"),
        ([0.0, 1.0, 1.0, 0.0], [0, 1, 1, 0], "1"),
        (["1", "0", "0", "0"], [1, 0, 0, 0], "1"),
        (["1.0", "0.0", "0.0", "1.0"], [1, 0, 0, 1], "1.0"),
        (["Yes", "No", " yes ", "NO"], [1, 0, 1, 0], "Yes"),
        (["y", "n", "n", "Y"], [1, 0, 0, 1], "Y"),
        (["TRUE", "false", "FALSE", "TRUE"], [1, 0, 0, 1], "TRUE"),
        ([True, False, False, True], [1, 0, 0, 1], "true"),
        (["Won", "Lost", "Lost", "Won"], [1, 0, 0, 1], "Won"),
        (["Closed Won", "Closed Lost", "closed lost", "Closed Won"], [1, 0, 0, 1], "Closed Won"),
        (["Converted", "Not Converted", "Converted", "converted"], [1, 0, 1, 1], "Converted"),
        (["success", "failure", "failure", "success"], [1, 0, 0, 1], "success"),
    ],
    ids=[
        "int",
        "float",
        "text-1-0",
        "text-1.0-0.0",
        "yes-no",
        "y-n",
        "true-false",
        "boolean",
        "won-lost",
        "closed-won-lost",
        "converted",
        "success-failure",
    ],
)
def test_positive_class_is_inferred(values: list[object], expected: list[int], label: str) -> None:
    table = prepare_flat_table(_frame(values), target="y")
    assert table.target.dtype == np.int8
    assert table.target.tolist() == expected
    assert table.positive_label == label


@pytest.mark.parametrize(
    ("values", "positive", "expected", "label"),
    [
        (["red", "blue", "red", "blue"], "red", [1, 0, 1, 0], "red"),
        (["red", "blue", "Red", "red"], " RED ", [1, 0, 1, 1], "red"),
        (["hot", "warm", "cold", "hot"], "hot", [1, 0, 0, 1], "hot"),
        (["yes", "no", "no", "yes"], "no", [0, 1, 1, 0], "no"),
    ],
    ids=["two-values", "case-and-space", "rest-is-negative", "overrides-known-pair"],
)
def test_positive_class_can_be_named(
    values: list[str], positive: str, expected: list[int], label: str
) -> None:
    table = prepare_flat_table(_frame(values), target="y", positive=positive)
    assert table.target.tolist() == expected
    assert table.positive_label == label


@pytest.mark.parametrize(
    ("values", "positive", "error", "match"),
    [
        (
            ["red", "blue", "red", "blue"],
            None,
            UsageError,
            r"cannot tell the positive class of target column 'y': it holds 'blue', 'red'; "
            r"name it with positive=",
        ),
        (
            ["hot", "warm", "cold", "hot"],
            None,
            UsageError,
            r"it holds 'cold', 'hot', 'warm'",
        ),
        (
            ["yes", None, "no", "NA", "yes", " "],
            None,
            DataError,
            r"target column 'y' is missing in 3 of 6 rows \(rows 2, 4, 6; row 1 is the first",
        ),
        (["yes", "Yes", "yes", "yes"], None, DataError, r"holds one value \('yes'\) in every row"),
        (["yes", None, "no", "yes"], None, DataError, r"missing in 1 of 4 rows \(row 2; row 1 is"),
        (
            ["yes", "no", "no", "yes"],
            "maybe",
            UsageError,
            r"positive class 'maybe' is not a value of target column 'y'; its values are "
            r"'no', 'yes'",
        ),
    ],
    ids=[
        "unknown-pair",
        "three-values",
        "missing-rows",
        "one-value",
        "one-missing-row",
        "positive-not-found",
    ],
)
def test_target_errors_say_what_was_found(
    values: list[object], positive: str | None, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        prepare_flat_table(_frame(values), target="y", positive=positive)


SPELLINGS = ["", "NA", "N/A", "n/a", "null", "NULL", "None", "nan", "-", "Select", "select"]


@pytest.mark.parametrize("spelling", [*SPELLINGS, "unknown", "Unknown", "?", "  Select  "])
def test_missing_spellings_become_null(spelling: str) -> None:
    frame = _frame([1, 0, 1, 0], colour=["red", spelling, "blue", "red"])
    table = prepare_flat_table(frame, target="y")
    assert table.features["colour"].to_list() == ["red", None, "blue", "red"]
    placeholder_notes = [n for n in table.notes if n.reason == "missing_placeholders"]
    expected = [] if not spelling.strip() else [f"read as missing: {spelling.strip()!r} (1)"]
    assert [n.detail for n in placeholder_notes] == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1.234,5", "12,5", "7", "0,25"], [1234.5, 12.5, 7.0, 0.25]),
        (["12%", " 7 ", "3.5%", "100 %"], [12.0, 7.0, 3.5, 100.0]),
        (["1,234.5", "3.25", "-2", "1e3"], [1234.5, 3.25, -2.0, 1000.0]),
        (["1,234", "2,500", "12", "7"], [1234.0, 2500.0, 12.0, 7.0]),
        (["2,5", "NA", "3", "4,75"], [2.5, None, 3.0, 4.75]),
    ],
    ids=["decimal-comma", "percent-and-spaces", "decimal-point", "ambiguous-thousands", "missing"],
)
def test_numeric_text_is_parsed(values: list[str], expected: list[float | None]) -> None:
    table = prepare_flat_table(_frame([1, 0, 1, 0], amount=values), target="y")
    assert table.features["amount"].dtype == pl.Float64
    assert table.features["amount"].to_list() == expected
    parsed = [n for n in table.notes if n.reason == "numeric_text"]
    assert [(n.column, n.action, n.detail) for n in parsed] == [
        ("amount", "transformed", "numeric text parsed as numbers")
    ]


def test_numeric_text_tolerates_a_few_unreadable_cells() -> None:
    values = [str(i) for i in range(19)] + ["twelve"]
    table = prepare_flat_table(_frame([i % 2 for i in range(20)], amount=values), target="y")
    assert table.features["amount"].to_list() == [float(i) for i in range(19)] + [None]
    assert ("amount", "numeric text parsed as numbers; 1 unreadable cells read as missing") in {
        (n.column, n.detail) for n in table.notes
    }


def test_mostly_text_stays_categorical_and_maps_to_pandas_categories() -> None:
    table = prepare_flat_table(_frame([1, 0, 1, 0], code=["12", "abc", "x", "12"]), target="y")
    code = table.features["code"]
    assert code.dtype == pl.Enum(["12", "abc", "x"])
    pandas_code = table.features.to_pandas()["code"]
    assert str(pandas_code.dtype) == "category"
    assert list(pandas_code.cat.categories) == ["12", "abc", "x"]


Column = Callable[[int], list[object]]
EXCLUDED_ID = [("excluded", "identifier_like")]


@pytest.mark.parametrize(
    ("name", "column", "expected_notes", "dtype"),
    [
        pytest.param(
            "Prospect ID",
            lambda n: [f"p{i % 3}" for i in range(n)],
            EXCLUDED_ID,
            None,
            id="named-id",
        ),
        pytest.param(
            "account_id", lambda n: [i % 3 for i in range(n)], EXCLUDED_ID, None, id="snake-id"
        ),
        pytest.param(
            "LeadID", lambda n: [i % 3 for i in range(n)], EXCLUDED_ID, None, id="camel-id"
        ),
        pytest.param(
            "Email",
            lambda n: [f"lead{i}@example.com" for i in range(n)],
            EXCLUDED_ID,
            None,
            id="unique-text",
        ),
        pytest.param(
            "Lead Number",
            lambda n: list(range(579_533, 579_533 + n)),
            EXCLUDED_ID,
            None,
            id="unique-ints",
        ),
        pytest.param(
            "Lead Number",
            lambda n: [str(579_533 + i) for i in range(n)],
            [("transformed", "numeric_text"), ("excluded", "identifier_like")],
            None,
            id="unique-int-text",
        ),
        pytest.param(
            "Magazine", lambda n: ["No"] * n, [("excluded", "constant")], None, id="constant"
        ),
        pytest.param(
            "Lead Profile",
            lambda n: ["Select"] * n,
            [("transformed", "missing_placeholders"), ("excluded", "constant")],
            None,
            id="all-placeholders",
        ),
        pytest.param(
            "Referral",
            lambda n: ["friend", "colleague"] + [None] * (n - 2),
            [("excluded", "mostly_missing")],
            None,
            id="mostly-missing",
        ),
        pytest.param(
            "Webinar",
            lambda n: ["attended" if i % 5 == 0 else None for i in range(n)],
            [],
            pl.Enum(["attended"]),
            id="presence-flag",
        ),
        pytest.param(
            "Comment",
            lambda n: [f"called about course {i % 150}" for i in range(n)],
            [("excluded", "free_text")],
            None,
            id="free-text",
        ),
        pytest.param(
            "Created On",
            lambda n: [f"2024-03-{1 + i % 28:02d}" for i in range(n)],
            [("excluded", "date_like")],
            None,
            id="iso-dates",
        ),
        pytest.param(
            "Signed",
            lambda n: [f"{1 + i % 28:02d}.03.2024" for i in range(n)],
            [("excluded", "date_like")],
            None,
            id="dotted-dates",
        ),
        pytest.param(
            "Closed",
            lambda n: [dt.date(2024, 3, 1 + i % 28) for i in range(n)],
            [("excluded", "date_like")],
            None,
            id="native-dates",
        ),
        pytest.param(
            "Opted In",
            lambda n: [i % 3 == 0 for i in range(n)],
            [("transformed", "boolean_as_number")],
            pl.Float64(),
            id="boolean",
        ),
        pytest.param(
            "Pages", lambda n: [[1, 2]] * n, [("excluded", "unsupported_type")], None, id="list"
        ),
        pytest.param(
            "TotalVisits", lambda n: [i % 9 for i in range(n)], [], pl.Float64(), id="ints"
        ),
        pytest.param(
            "Score", lambda n: [i / 3 for i in range(n)], [], pl.Float64(), id="unique-floats"
        ),
        pytest.param(
            "Lead Origin",
            lambda n: [
                ("API", "Landing Page Submission", "Lead Add Form")[i % 3] for i in range(n)
            ],
            [],
            pl.Enum(["API", "Landing Page Submission", "Lead Add Form"]),
            id="categories",
        ),
    ],
)
def test_columns_are_screened(
    name: str, column: Column, expected_notes: list[tuple[str, str]], dtype: pl.DataType | None
) -> None:
    frame = _frame([i % 2 for i in range(ROWS)], **{name: column(ROWS)})
    table = prepare_flat_table(frame, target="y")
    assert [(n.column, n.action, n.reason) for n in table.notes] == [
        (name, action, reason) for action, reason in expected_notes
    ]
    if dtype is None:
        assert table.features.columns == ["visits"]
        assert table.excluded == (name,)
    else:
        assert table.features.columns == ["visits", name]
        assert table.features[name].dtype == dtype


def test_notes_carry_a_sentence() -> None:
    frame = _frame(
        [i % 2 for i in range(ROWS)],
        **{
            "Lead Number": list(range(ROWS)),
            "Magazine": ["No"] * ROWS,
            "Owner": ["ann", "bob"] * (ROWS // 2),
            "Referral": ["friend", "Select"] + [None] * (ROWS - 2),
        },
    )
    table = prepare_flat_table(frame, target="y", exclude=["Owner"])
    assert [(n.column, n.detail) for n in table.notes] == [
        ("Lead Number", "200 distinct values in 200 filled rows"),
        ("Magazine", "one value ('No') in every row"),
        ("Owner", "excluded as asked"),
        ("Referral", "read as missing: 'Select' (1)"),
        ("Referral", "filled in only 1 of 200 rows"),
    ]
    assert table.excluded == ("Lead Number", "Magazine", "Owner", "Referral")


def test_keep_overrides_the_screening() -> None:
    frame = _frame(
        [i % 2 for i in range(ROWS)],
        **{
            "Lead Number": list(range(579_533, 579_533 + ROWS)),
            "Created On": ["1970-01-03", "2024-03-01"] * (ROWS // 2),
        },
    )
    table = prepare_flat_table(frame, target="y", keep=["Lead Number", "Created On"])
    assert table.features.columns == ["visits", "Lead Number", "Created On"]
    assert table.features["Lead Number"][:2].to_list() == [579_533.0, 579_534.0]
    assert table.features["Created On"][:2].to_list() == [2.0, 19_783.0]
    assert [(n.column, n.action, n.reason, n.detail) for n in table.notes] == [
        (
            "Lead Number",
            "kept",
            "identifier_like",
            "200 distinct values in 200 filled rows; kept as asked",
        ),
        (
            "Created On",
            "kept",
            "date_like",
            "dates; absolute dates do not carry over to new leads; kept as asked",
        ),
        ("Created On", "transformed", "date_as_days", "days since 1970-01-01"),
    ]


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        (
            {"target": "Converted"},
            UsageError,
            r"no column named 'Converted' in the table; its columns are 'y', 'visits', 'city'",
        ),
        ({"target": "y", "exclude": ["nope"]}, UsageError, r"no column named 'nope'"),
        (
            {"target": "y", "exclude": ["city"], "keep": ["city"]},
            UsageError,
            r"columns 'city' are named twice",
        ),
        ({"target": "y", "keep": ["y"]}, UsageError, r"columns 'y' are named twice"),
        ({"target": "y", "id_column": "y"}, UsageError, r"one column cannot play two roles"),
        (
            {"target": "y", "exclude": ["visits", "city"]},
            DataError,
            r"no column is left to be a feature \(visits: excluded_by_user; city: "
            r"excluded_by_user\)",
        ),
    ],
    ids=[
        "unknown-target",
        "unknown-exclude",
        "exclude-and-keep",
        "keep-target",
        "two-roles",
        "nothing-left",
    ],
)
def test_arguments_are_checked(
    arguments: dict[str, object], error: type[Exception], match: str
) -> None:
    frame = _frame([1, 0, 1, 0], city=["Pune", "Delhi", "Pune", "Goa"])
    with pytest.raises(error, match=match):
        prepare_flat_table(frame, **arguments)  # type: ignore[arg-type]


def test_an_empty_table_is_an_error() -> None:
    with pytest.raises(DataError, match="the table has no rows"):
        prepare_flat_table(pl.DataFrame({"y": [], "x": []}), target="y")


def test_ids_default_to_row_numbers_and_otherwise_come_as_text() -> None:
    frame = _frame([1, 0, 1], number=[579_533, 579_534, 579_540])
    assert prepare_flat_table(frame, target="y").ids.to_list() == ["1", "2", "3"]
    table = prepare_flat_table(frame, target="y", id_column="number")
    assert table.ids.to_list() == ["579533", "579534", "579540"]
    assert table.features.columns == ["visits"]


@pytest.mark.parametrize(
    ("ids", "match"),
    [
        (
            ["a", "b", "a", "c", "b"],
            r"id column 'lead' repeats 2 ids \('a', 'b'\); a flat table has one row per lead",
        ),
        (["a", "NA", "c", None, "e"], r"id column 'lead' is missing in 2 rows \(rows 2, 4\)"),
    ],
    ids=["repeated", "missing"],
)
def test_bad_ids_are_errors(ids: list[str | None], match: str) -> None:
    frame = _frame([1, 0, 1, 0, 1], lead=ids)
    with pytest.raises(DataError, match=match):
        prepare_flat_table(frame, target="y", id_column="lead")


def test_time_column_is_parsed_and_not_a_feature() -> None:
    frame = _frame([1, 0, 1], created=["2024-03-01", "2024-03-02T10:00:00Z", "2024-03-03 08:30"])
    table = prepare_flat_table(frame, target="y", time_column="created")
    utc = dt.UTC
    assert table.times is not None
    assert table.times.to_list() == [
        dt.datetime(2024, 3, 1, tzinfo=utc),
        dt.datetime(2024, 3, 2, 10, tzinfo=utc),
        dt.datetime(2024, 3, 3, 8, 30, tzinfo=utc),
    ]
    assert table.features.columns == ["visits"]


def test_unreadable_times_are_an_error() -> None:
    frame = _frame([1, 0, 1], created=["2024-03-01", "03/02/2024", None])
    with pytest.raises(
        DataError,
        match=r"time column 'created' has 2 missing or unreadable values "
        r"\(rows 2, 3: '03/02/2024', None\)",
    ):
        prepare_flat_table(frame, target="y", time_column="created")


def _table(target: list[int], times: list[dt.datetime] | None = None) -> FlatTable:
    n = len(target)
    features = pl.DataFrame({"x": np.arange(n, dtype=np.float64)})
    series = None if times is None else pl.Series("t", times)
    ids = pl.Series("row", [str(i + 1) for i in range(n)])
    return FlatTable(features, np.array(target, dtype=np.int8), ids, series, (), "1")


def test_stratified_split_keeps_the_positive_share() -> None:
    table = _table([1] * 300 + [0] * 700)
    train, validation, test = split_flat(table, seed=3)
    assert (len(train), len(validation), len(test)) == (600, 200, 200)
    assert [float(table.target[part].mean()) for part in (train, validation, test)] == [0.3] * 3
    together = np.concatenate([train, validation, test])
    assert np.array_equal(np.sort(together), np.arange(1000))
    assert all(np.array_equal(part, np.sort(part)) for part in (train, validation, test))
    again = split_flat(table, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, validation, test), strict=True))
    assert not np.array_equal(split_flat(table, seed=4).test, test)


def test_split_sizes_round_per_class() -> None:
    table = _table([1] * 7 + [0] * 13)
    split = split_flat(table, test_size=0.25, validation_size=0.0)
    assert (len(split.train), len(split.validation), len(split.test)) == (15, 0, 5)
    assert int(table.target[split.test].sum()) == 2


def test_temporal_split_orders_by_time() -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    times = [start + dt.timedelta(days=9 - i) for i in range(10)]
    split = split_flat(_table([1, 0] * 5, times))
    assert split.train.tolist() == [4, 5, 6, 7, 8, 9]
    assert split.validation.tolist() == [2, 3]
    assert split.test.tolist() == [0, 1]


def test_temporal_split_needs_both_classes_in_each_part() -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    times = [start + dt.timedelta(days=i) for i in range(10)]
    with pytest.raises(DataError, match=r"the test part \(2 rows\) would hold only one class"):
        split_flat(_table([1, 0] * 4 + [0, 0], times))


@pytest.mark.parametrize(
    ("sizes", "match"),
    [
        (
            {"test_size": 1.0},
            r"The 'test_size' parameter of split_flat must be a float in the range \[0, 1\)\. "
            r"Got 1\.0 instead\.",
        ),
        ({"test_size": -0.1}, r"The 'test_size' parameter"),
        ({"validation_size": 1.5}, r"The 'validation_size' parameter .* Got 1\.5 instead\."),
        (
            {"test_size": 0.5, "validation_size": 0.5},
            r"test_size \+ validation_size must be below 1",
        ),
    ],
    ids=["test-one", "test-negative", "validation-too-big", "nothing-for-training"],
)
def test_split_sizes_are_checked(sizes: dict[str, float], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        split_flat(_table([1, 0] * 10), **sizes)  # type: ignore[arg-type]
