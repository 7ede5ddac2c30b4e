"""Every rule of the data contract, each with a small bad file: table, line and column named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from leadscore.data import ValidationReport, load_dataset, validate_path
from leadscore.errors import UsageError, ValidationFailed

Tables = dict[str, list[dict[str, str]]]
WriteTables = Callable[..., Path]
Found = set[tuple[str, int | None, str | None, str]]
Change = Callable[[Tables], None]


def _set(table: str, index: int, column: str, value: str) -> Change:
    def change(data: Tables) -> None:
        data[table][index][column] = value

    return change


def _both(*changes: Change) -> Change:
    def change(data: Tables) -> None:
        for one in changes:
            one(data)

    return change


def _append(table: str, row: dict[str, str]) -> Change:
    return lambda data: data[table].append(row)


def _drop_column(table: str, column: str) -> Change:
    def change(data: Tables) -> None:
        for row in data[table]:
            del row[column]

    return change


RULES: list[tuple[str, Change, Found]] = [
    (
        "leads-type-timestamp",
        _set("leads", 2, "created_at", "yesterday"),
        {("leads", 4, "created_at", "type")},
    ),
    (
        "leads-type-integer",
        _set("leads", 2, "company_size", "many"),
        {("leads", 4, "company_size", "type")},
    ),
    (
        "leads-type-number",
        _set("leads", 2, "deal_value", "12k"),
        {("leads", 4, "deal_value", "type")},
    ),
    ("leads-not-null", _set("leads", 2, "source", ""), {("leads", 4, "source", "not_null")}),
    (
        "leads-identifier",
        _set("leads", 2, "source", "Web Form"),
        {("leads", 4, "source", "str_matches")},
    ),
    (
        "leads-country-code",
        _set("leads", 2, "country", "Germany"),
        {("leads", 4, "country", "isin")},
    ),
    (
        "leads-company-size-range",
        _set("leads", 2, "company_size", "0"),
        {("leads", 4, "company_size", "greater_than_or_equal_to")},
    ),
    (
        "leads-deal-value-range",
        _set("leads", 2, "deal_value", "-1"),
        {("leads", 4, "deal_value", "greater_than_or_equal_to")},
    ),
    (
        "leads-lead-id-conflict",
        _append("leads", {"lead_id": "L3", "created_at": "2024-03-03", "source": "partner"}),
        {("leads", 4, "lead_id", "unique"), ("leads", 5, "lead_id", "unique")},
    ),
    (
        "leads-missing-column",
        _drop_column("leads", "source"),
        {
            ("leads", None, "source", "missing_column"),
            ("touchpoints", None, "lead_id", "known_lead"),
            ("outcomes", None, "lead_id", "known_lead"),
        },
    ),
    ("leads-empty-row", _append("leads", {}), {("leads", 5, None, "empty_row")}),
    (
        "touchpoints-initiated-by",
        _set("touchpoints", 2, "initiated_by", "robot"),
        {("touchpoints", 4, "initiated_by", "isin")},
    ),
    (
        "touchpoints-type-timestamp",
        _set("touchpoints", 2, "timestamp", "05/03/2024 10:00"),
        {("touchpoints", 4, "timestamp", "type")},
    ),
    (
        "touchpoints-type-value",
        _set("touchpoints", 2, "value", "n/a"),
        {("touchpoints", 4, "value", "type")},
    ),
    (
        "touchpoints-not-null",
        _set("touchpoints", 2, "channel", " "),
        {("touchpoints", 4, "channel", "not_null")},
    ),
    (
        "touchpoints-unknown-lead",
        _set("touchpoints", 2, "lead_id", "L9"),
        {("touchpoints", 4, "lead_id", "known_lead")},
    ),
    (
        "touchpoints-rejected-lead",
        _both(_set("leads", 2, "source", ""), _set("touchpoints", 2, "lead_id", "L3")),
        {("leads", 4, "source", "not_null"), ("touchpoints", 4, "lead_id", "known_lead")},
    ),
    (
        "touchpoints-event-id-conflict",
        _set("touchpoints", 2, "event_id", "E1"),
        {("touchpoints", 2, "event_id", "unique"), ("touchpoints", 4, "event_id", "unique")},
    ),
    (
        "outcomes-neither",
        _set("outcomes", 1, "lost_at", ""),
        {("outcomes", 3, "converted_at, lost_at", "one_outcome")},
    ),
    (
        "outcomes-both-on-one-row",
        _set("outcomes", 0, "lost_at", "2024-04-02"),
        {("outcomes", 2, "converted_at, lost_at", "one_outcome")},
    ),
    (
        "outcomes-before-created",
        _set("outcomes", 0, "converted_at", "2024-02-01T00:00:00Z"),
        {("outcomes", 2, "converted_at", "not_before_created")},
    ),
    (
        "outcomes-lost-before-created",
        _set("outcomes", 1, "lost_at", "2024-03-02T09:59:59Z"),
        {("outcomes", 3, "lost_at", "not_before_created")},
    ),
    (
        "outcomes-converted-and-lost",
        _append("outcomes", {"lead_id": "L1", "lost_at": "2024-05-01"}),
        {
            ("outcomes", 2, "lead_id", "converted_and_lost"),
            ("outcomes", 4, "lead_id", "converted_and_lost"),
        },
    ),
    (
        "outcomes-revenue-range",
        _set("outcomes", 0, "revenue", "-5"),
        {("outcomes", 2, "revenue", "greater_than_or_equal_to")},
    ),
    (
        "outcomes-unknown-lead",
        _set("outcomes", 1, "lead_id", "L9"),
        {("outcomes", 3, "lead_id", "known_lead")},
    ),
]


def _found(report: ValidationReport) -> Found:
    return {(v.table, v.row, v.column, v.rule) for v in report.violation_records()}


def _assert_counts_add_up(report: ValidationReport) -> None:
    for summary in report.tables.values():
        assert summary.rows_used + summary.rows_rejected == summary.rows_read
        assert 0 <= summary.rows_deduplicated <= summary.rows_rejected


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in RULES], ids=[c[0] for c in RULES]
)
def test_each_rule_names_table_line_and_column(
    tables: Tables, write_tables: WriteTables, change: Change, expected: Found
) -> None:
    change(tables)
    report = validate_path(write_tables(tables))
    assert _found(report) == expected
    assert not report.ok
    _assert_counts_add_up(report)


def test_valid_tables_pass(tables: Tables, write_tables: WriteTables) -> None:
    report = validate_path(write_tables(tables))
    assert report.ok, report.violations
    assert {name: s.rows_used for name, s in report.tables.items()} == {
        "leads": 3,
        "touchpoints": 3,
        "outcomes": 2,
    }


def test_messages_say_what_came_and_what_to_do(tables: Tables, write_tables: WriteTables) -> None:
    tables["leads"][2]["source"] = "Web Form"
    tables["leads"][2]["created_at"] = "gestern"
    report = validate_path(write_tables(tables))
    messages = {v.column: v for v in report.violation_records()}
    assert messages["source"].value == "Web Form"
    assert "'Web Form'" in messages["source"].message
    assert "leads.values.source" in messages["source"].message
    assert messages["created_at"].value == "gestern"
    assert "timestamp" in messages["created_at"].message


def test_several_violations_on_one_row_count_once(
    tables: Tables, write_tables: WriteTables
) -> None:
    tables["leads"][2].update(company_size="0", country="Germany", source="Web Form")
    report = validate_path(write_tables(tables))
    assert len(report.violation_records()) == 3
    assert {v.row for v in report.violation_records()} == {4}
    assert report.tables["leads"].rows_rejected == 1
    assert report.tables["leads"].rows_used == 2


def test_line_numbers_count_line_breaks_inside_quoted_fields(
    tables: Tables, write_tables: WriteTables
) -> None:
    tables["leads"][0]["owner"] = "anna\nsmith,\nsales"
    tables["leads"][2]["source"] = ""
    folder = write_tables(tables)
    assert (folder / "leads.csv").read_text().count("\n") == 6
    report = validate_path(folder)
    assert _found(report) == {("leads", 6, "source", "not_null")}


def test_exact_duplicate_is_a_notice_not_a_violation(
    tables: Tables, write_tables: WriteTables
) -> None:
    copy = dict(tables["touchpoints"][0], timestamp="2024-03-05 11:00:00+01:00")
    tables["touchpoints"].append(copy)
    report = validate_path(write_tables(tables))
    assert report.ok
    summary = report.tables["touchpoints"]
    assert (summary.rows_read, summary.rows_used, summary.rows_rejected) == (4, 3, 1)
    assert summary.rows_deduplicated == 1
    (notice,) = [n for n in report.notices if n.kind == "deduplicated"]
    assert (notice.table, notice.row) == ("touchpoints", 5)
    assert "line 2" in notice.message


def test_exact_duplicate_leads_and_outcomes_are_deduplicated(
    tables: Tables, write_tables: WriteTables
) -> None:
    tables["leads"].append(dict(tables["leads"][1]))
    tables["outcomes"].append(dict(tables["outcomes"][0]))
    report = validate_path(write_tables(tables))
    assert report.ok
    assert report.tables["leads"].rows_deduplicated == 1
    assert report.tables["outcomes"].rows_deduplicated == 1
    _assert_counts_add_up(report)


def test_conflicting_duplicate_rejects_every_copy(
    tables: Tables, write_tables: WriteTables
) -> None:
    tables["touchpoints"].append(dict(tables["touchpoints"][0]))
    tables["touchpoints"].append(dict(tables["touchpoints"][0], value="7"))
    report = validate_path(write_tables(tables))
    assert _found(report) == {("touchpoints", line, "event_id", "unique") for line in (2, 5, 6)}
    assert report.tables["touchpoints"].rows_deduplicated == 0
    assert report.tables["touchpoints"].rows_used == 2


def test_missing_leads_table(tables: Tables, write_tables: WriteTables) -> None:
    del tables["leads"]
    report = validate_path(write_tables(tables))
    assert _found(report) == {
        ("leads", None, None, "missing_table"),
        ("touchpoints", None, "lead_id", "known_lead"),
        ("outcomes", None, "lead_id", "known_lead"),
    }
    assert report.tables["touchpoints"].rows_rejected == 3
    _assert_counts_add_up(report)


def test_missing_optional_tables_are_notices(tables: Tables, write_tables: WriteTables) -> None:
    report = validate_path(write_tables({"leads": tables["leads"]}))
    assert report.ok
    kinds = {(n.table, n.kind) for n in report.notices}
    assert {("touchpoints", "missing_table"), ("outcomes", "missing_table")} <= kinds


def test_single_file_is_checked_on_its_own(tables: Tables, write_tables: WriteTables) -> None:
    tables["touchpoints"][0]["lead_id"] = "L9"
    folder = write_tables(tables)
    report = validate_path(folder / "touchpoints.csv")
    assert report.ok
    assert list(report.tables) == ["touchpoints"]
    assert any(n.kind == "references_not_checked" for n in report.notices)


def test_one_table_of_a_folder_checks_its_references(
    tables: Tables, write_tables: WriteTables
) -> None:
    tables["touchpoints"][0]["lead_id"] = "L9"
    tables["leads"][2]["source"] = "?"
    report = validate_path(write_tables(tables), table="touchpoints")
    assert _found(report) == {("touchpoints", 2, "lead_id", "known_lead")}
    assert list(report.tables) == ["touchpoints"]


def test_subfolders_are_ignored(tables: Tables, write_tables: WriteTables) -> None:
    folder = write_tables(tables)
    (folder / "truth").mkdir()
    (folder / "truth" / "leads.csv").write_text("garbage\n\x00")
    assert validate_path(folder).ok


def test_load_dataset_returns_canonical_types_and_extra_columns(
    tables: Tables, write_tables: WriteTables
) -> None:
    for row in tables["leads"]:
        row["crm_score"] = "7"
    dataset = load_dataset(write_tables(tables))
    assert dataset.leads.schema["created_at"] == pl.Datetime("us", "UTC")
    assert dataset.leads.schema["company_size"] == pl.Int64
    assert dataset.leads.schema["deal_value"] == pl.Float64
    assert dataset.leads.columns[-1] == "crm_score"
    assert dataset.leads["crm_score"].to_list() == ["7", "7", "7"]
    assert dataset.touchpoints["timestamp"].dt.hour().to_list() == [10, 9, 8]
    assert dataset.outcomes["revenue"].to_list() == [900.0, None]


def test_load_dataset_raises_with_the_report(tables: Tables, write_tables: WriteTables) -> None:
    tables["touchpoints"][1]["lead_id"] = "L9"
    folder = write_tables(tables)
    with pytest.raises(ValidationFailed, match=r"1 violation\(s\)") as caught:
        load_dataset(folder)
    assert isinstance(caught.value.report, ValidationReport)
    dataset = load_dataset(folder, strict=False)
    assert dataset.touchpoints["event_id"].to_list() == ["E1", "E3"]
    assert dataset.report.tables["touchpoints"].rows_used == 2


def test_absent_tables_load_as_empty_frames(tables: Tables, write_tables: WriteTables) -> None:
    dataset = load_dataset(write_tables({"leads": tables["leads"]}))
    assert dataset.touchpoints.height == 0
    assert dataset.touchpoints.schema["timestamp"] == pl.Datetime("us", "UTC")


def test_optional_columns_are_added_as_nulls(tables: Tables, write_tables: WriteTables) -> None:
    for row in tables["touchpoints"]:
        del row["campaign"], row["value"]
    dataset = load_dataset(write_tables(tables))
    assert dataset.touchpoints["campaign"].null_count() == 3
    assert dataset.touchpoints.schema["value"] == pl.Float64


@pytest.mark.parametrize("path", ["missing-folder", "nothing.csv"], ids=["folder", "file"])
def test_missing_path_is_a_usage_error(tmp_path: Path, path: str) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        validate_path(tmp_path / path)


def test_rows_longer_than_the_header_are_violations(
    tables: Tables, write_tables: WriteTables
) -> None:
    folder = write_tables(tables)
    with (folder / "touchpoints.csv").open("a") as handle:
        handle.write("E4,L1,2024-03-08T10:00:00Z,web,call,lead,,,surplus,fields\n")
    report = validate_path(folder)
    (violation,) = report.violation_records()
    assert (violation.row, violation.column, violation.rule) == (5, None, "field_count")
    assert violation.value == "surplus"
    assert report.tables["touchpoints"].rows_used == 3
