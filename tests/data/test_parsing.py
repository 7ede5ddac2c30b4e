"""Text to canonical types: timestamps in every accepted form, time zones, numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from leadscore.data import DataMapping, ParseOptions, load_dataset, validate_path
from leadscore.data.parsing import parse_series
from leadscore.data.schemas import TIMESTAMP

Tables = dict[str, list[dict[str, str]]]
WriteTables = Callable[..., Path]
UTC = dt.UTC


def _utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def _parse(values: list[str | None], target: pl.DataType, options: ParseOptions) -> list[object]:
    return parse_series(pl.Series(values, dtype=pl.String), target, options).to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T14:05:00Z", _utc(2024, 3, 1, 14, 5)),
        ("2024-03-01T14:05:00+00:00", _utc(2024, 3, 1, 14, 5)),
        ("2024-03-01T14:05:00+0000", _utc(2024, 3, 1, 14, 5)),
        ("2024-03-01T14:05:00.123456+01:00", _utc(2024, 3, 1, 13, 5, 0, 123456)),
        ("2024-03-01T14:05:00.5Z", _utc(2024, 3, 1, 14, 5, 0, 500000)),
        ("2024-03-01 14:05:00+02:00", _utc(2024, 3, 1, 12, 5)),
        ("2024-03-01T14:05+01:00", _utc(2024, 3, 1, 13, 5)),
        ("2024-03-01T14:05:07", _utc(2024, 3, 1, 14, 5, 7)),
        ("2024-03-01 14:05:07", _utc(2024, 3, 1, 14, 5, 7)),
        ("2024-03-01 14:05", _utc(2024, 3, 1, 14, 5)),
        ("2024-03-01", _utc(2024, 3, 1)),
        ("  2024-03-01  ", _utc(2024, 3, 1)),
        ("01.03.2024 14:05", None),
        ("2024-02-30", None),
        ("yesterday", None),
    ],
    ids=[
        "z",
        "colon-offset",
        "plain-offset",
        "micros-offset",
        "fraction-z",
        "space-offset",
        "minutes-offset",
        "naive-t",
        "naive-space",
        "naive-minutes",
        "date-only",
        "padded",
        "german-without-format",
        "no-such-day",
        "words",
    ],
)
def test_timestamp_forms(text: str, expected: dt.datetime | None) -> None:
    assert _parse([text], TIMESTAMP, ParseOptions()) == [expected]


def test_timestamps_are_utc_microseconds() -> None:
    parsed = parse_series(pl.Series(["2024-03-01"]), TIMESTAMP, ParseOptions())
    assert parsed.dtype == pl.Datetime("us", "UTC")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01 14:05", _utc(2024, 3, 1, 13, 5)),
        ("2024-07-01 14:05", _utc(2024, 7, 1, 12, 5)),
        ("2024-03-01", _utc(2024, 2, 29, 23, 0)),
        ("2024-10-27 02:30", _utc(2024, 10, 27, 0, 30)),
        ("2024-03-31 02:30", None),
        ("2024-07-01T14:05:00Z", _utc(2024, 7, 1, 14, 5)),
    ],
    ids=["winter", "summer", "midnight", "ambiguous-takes-earlier", "skipped-hour", "offset-wins"],
)
def test_naive_timestamps_are_read_in_the_time_zone(text: str, expected: object) -> None:
    assert _parse([text], TIMESTAMP, ParseOptions(timezone="Europe/Berlin")) == [expected]


def test_declared_formats_come_first() -> None:
    options = ParseOptions(
        timezone="Europe/Berlin", datetime_formats=("%d.%m.%Y %H:%M", "%d.%m.%Y")
    )
    values = ["01.03.2024 14:05", "15.04.2024", "2024-03-01T14:05:00Z"]
    assert _parse(values, TIMESTAMP, options) == [
        _utc(2024, 3, 1, 13, 5),
        _utc(2024, 4, 14, 22, 0),
        _utc(2024, 3, 1, 14, 5),
    ]


def test_a_format_with_an_offset_reads_aware_values() -> None:
    options = ParseOptions(timezone="Europe/Berlin", datetime_formats=("%d.%m.%Y %H:%M %z",))
    assert _parse(["01.03.2024 14:05 +0300"], TIMESTAMP, options) == [_utc(2024, 3, 1, 11, 5)]


@pytest.mark.parametrize(
    ("comma", "texts", "floats", "ints"),
    [
        (
            False,
            ["1234.5", "-3", "1e3", " 7 ", "12.0", "1234,5", "nan", "inf", "", "1.234,5"],
            [1234.5, -3.0, 1000.0, 7.0, 12.0, None, None, None, None, None],
            [None, -3, 1000, 7, 12, None, None, None, None, None],
        ),
        (
            True,
            ["1234,5", "-3", "12,0", "1234.5", "1.234,5", "1e3", ""],
            [1234.5, -3.0, 12.0, None, None, None, None],
            [None, -3, 12, None, None, None, None],
        ),
    ],
    ids=["decimal-point", "decimal-comma"],
)
def test_numbers(comma: bool, texts: list[str], floats: list[object], ints: list[object]) -> None:
    options = ParseOptions(decimal_comma=comma)
    assert _parse(list(texts), pl.Float64(), options) == floats
    assert _parse(list(texts), pl.Int64(), options) == ints


def test_naive_csv_timestamps_in_berlin_are_stored_as_utc(
    tables: Tables, write_tables: WriteTables
) -> None:
    tables["leads"][0]["created_at"] = "2024-03-01 14:05"
    folder = write_tables(tables)
    dataset = load_dataset(folder, timezone="Europe/Berlin")
    assert dataset.leads["created_at"][0] == _utc(2024, 3, 1, 13, 5)
    assert dataset.leads["created_at"][1] == _utc(2024, 3, 2, 10, 0)
    mapping = DataMapping(timezone="Europe/Berlin")
    assert load_dataset(folder, mapping).leads["created_at"][0] == _utc(2024, 3, 1, 13, 5)
    assert load_dataset(folder).leads["created_at"][0] == _utc(2024, 3, 1, 14, 5)


def test_decimal_comma_is_detected_only_for_semicolon_files(
    tables: Tables, write_tables: WriteTables
) -> None:
    tables["leads"][0]["deal_value"] = "2000,25"
    tables["leads"][2]["deal_value"] = "1000,5"
    semicolon = write_tables(tables, delimiter=";")
    dataset = load_dataset(semicolon)
    assert dataset.leads["deal_value"].to_list() == [2000.25, None, 1000.5]
    assert any("decimal comma detected" in n.message for n in dataset.report.notices)
    comma = write_tables(tables, folder=semicolon.parent / "comma")
    report = validate_path(comma)
    assert {(v.row, v.column, v.rule) for v in report.violation_records()} >= {
        (2, "deal_value", "type"),
        (4, "deal_value", "type"),
    }


def test_mixed_decimal_marks_are_not_guessed(tables: Tables, write_tables: WriteTables) -> None:
    tables["leads"][2]["deal_value"] = "1000,5"
    report = validate_path(write_tables(tables, delimiter=";"))
    assert {(v.row, v.column, v.rule) for v in report.violation_records()} == {
        (4, "deal_value", "type")
    }
    assert any("mix" in n.message for n in report.notices)


def test_declared_decimal_comma(tables: Tables, write_tables: WriteTables) -> None:
    tables["leads"][0]["deal_value"] = "1000,5"
    tables["leads"][2]["deal_value"] = "7"
    folder = write_tables(tables, delimiter="|")
    mapping = DataMapping.model_validate({"leads": {"csv": {"decimal": ","}}})
    dataset = load_dataset(folder, mapping)
    assert dataset.leads["deal_value"].to_list() == [1000.5, None, 7.0]
