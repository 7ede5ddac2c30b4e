"""The mapping file: CRM column names and vocabularies onto the contract; wrong keys named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadscore.data import DataMapping, load_dataset, load_mapping, validate_path
from leadscore.data.mapping import parse_mapping
from leadscore.errors import ConfigError

Tables = dict[str, list[dict[str, str]]]
WriteTables = Callable[..., Path]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_MAPPING = ROOT / "examples" / "mapping-crm-export.yaml"
EXAMPLE_DATA = ROOT / "examples" / "crm-export"

CRM_NAMES = {"lead_id": "Lead ID", "created_at": "Create Date", "source": "Lead Source"}


def _crm_tables(tables: Tables) -> Tables:
    """The leads with CRM column names and CRM spellings of ``source``."""
    spelling = {"web_form": "Web Form", "trade_fair": "Messe", "referral": "Empfehlung"}
    renamed = []
    for row in tables["leads"]:
        crm = {CRM_NAMES.get(name, name): value for name, value in row.items()}
        crm["Lead Source"] = spelling[row["source"]]
        renamed.append(crm)
    return {**tables, "leads": renamed}


def _crm_mapping(source: dict[str, str]) -> DataMapping:
    return parse_mapping(
        {
            "leads": {
                "columns": {crm: name for name, crm in CRM_NAMES.items()},
                "values": {"source": source, "owner": {"anna": "Anna K.", "ben": None}},
            }
        }
    )


def test_columns_and_values_are_mapped(tables: Tables, write_tables: WriteTables) -> None:
    folder = write_tables(_crm_tables(tables))
    assert {v.rule for v in validate_path(folder).violation_records()} >= {"missing_column"}
    partial = _crm_mapping({"Web Form": "web_form", "Messe": "trade_fair"})
    report = validate_path(folder, partial)
    assert [(v.row, v.column, v.value) for v in report.violation_records()] == [
        (4, "source", "Empfehlung")
    ]
    full = _crm_mapping({"Web Form": "web_form", "Messe": "trade_fair", "Empfehlung": "referral"})
    leads = load_dataset(folder, full).leads
    assert leads["source"].to_list() == ["web_form", "trade_fair", "referral"]
    assert leads["owner"].to_list() == ["Anna K.", None, None]


def test_extra_columns_can_be_renamed_and_are_kept(
    tables: Tables, write_tables: WriteTables
) -> None:
    for row in tables["leads"]:
        row["Annual Revenue"] = "1000"
    mapping = parse_mapping({"leads": {"columns": {"Annual Revenue": "annual_revenue"}}})
    leads = load_dataset(write_tables(tables), mapping).leads
    assert leads["annual_revenue"].to_list() == ["1000"] * 3


def test_a_mapped_column_missing_from_the_file_is_a_notice(
    tables: Tables, write_tables: WriteTables
) -> None:
    mapping = parse_mapping({"leads": {"columns": {"Lead Score": "score"}}})
    report = validate_path(write_tables(tables), mapping)
    assert report.ok
    assert any("'Lead Score' is not a column" in n.message for n in report.notices)


def test_two_columns_onto_one_name_is_a_config_error(
    tables: Tables, write_tables: WriteTables
) -> None:
    for row in tables["leads"]:
        row["Lead ID"] = row["lead_id"]
    mapping = parse_mapping({"leads": {"columns": {"Lead ID": "lead_id"}}})
    with pytest.raises(ConfigError, match=r"leads\.columns: .*would all be named 'lead_id'"):
        validate_path(write_tables(tables), mapping)


def test_the_mapping_names_the_files(tables: Tables, write_tables: WriteTables) -> None:
    folder = write_tables(tables)
    (folder / "leads.csv").rename(folder / "Leads_Export.csv")
    mapping = parse_mapping({"leads": {"file": "Leads_Export.csv"}})
    assert validate_path(folder, mapping).ok
    report = validate_path(folder / "Leads_Export.csv", mapping)
    assert list(report.tables) == ["leads"]


BAD: list[tuple[str, Any, str]] = [
    ("unknown-top-key", {"timezon": "UTC"}, r"timezon: unknown key; allowed keys here are csv"),
    ("unknown-table-key", {"leads": {"colums": {}}}, r"leads\.colums: unknown key.*columns"),
    ("unknown-csv-key", {"csv": {"sep": ";"}}, r"csv\.sep: unknown key.*delimiter"),
    ("bad-timezone", {"timezone": "Berlin"}, r"timezone: unknown time zone 'Berlin'"),
    ("bad-delimiter", {"csv": {"delimiter": ";;"}}, r"csv\.delimiter: delimiter must be one"),
    ("bad-encoding", {"csv": {"encoding": "latin-9x"}}, r"csv\.encoding: unknown encoding"),
    ("bad-decimal", {"csv": {"decimal": ";"}}, r"csv\.decimal: Input should be '\.' or ','"),
    (
        "two-onto-one",
        {"leads": {"columns": {"A": "lead_id", "B": "lead_id"}}},
        r"leads\.columns: columns 'A' and 'B' are both mapped onto 'lead_id'",
    ),
    (
        "values-on-timestamp",
        {"leads": {"values": {"created_at": {"x": "y"}}}},
        r"leads\.values\.created_at: value vocabularies apply to text columns",
    ),
    (
        "table-and-query",
        {"leads": {"table": "crm_leads", "query": "select 1"}},
        r"leads: give either table or query",
    ),
    (
        "bad-datetime-format",
        {"datetime_format": "DD.MM.YYYY"},
        r"datetime_format: 'DD\.MM\.YYYY' is not a strftime format",
    ),
    ("not-a-mapping", ["leads"], r"expected a YAML mapping at the top, got list"),
]


@pytest.mark.parametrize(("data", "match"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_wrong_mappings_name_the_key(data: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_mapping(data)


def test_unreadable_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read mapping file"):
        load_mapping(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("leads: {columns: [\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_mapping(broken)


def test_an_empty_mapping_file_means_defaults(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    assert load_mapping(empty) == DataMapping()


def test_the_example_crm_export_validates_cleanly() -> None:
    mapping = load_mapping(EXAMPLE_MAPPING)
    dataset = load_dataset(EXAMPLE_DATA, mapping)
    assert dataset.report.ok
    assert [s.rows_used for s in dataset.report.tables.values()] == [8, 20, 3]
    leads = dataset.leads
    assert leads["created_at"][0] == dt.datetime(2024, 3, 1, 13, 5, tzinfo=dt.UTC)
    assert leads["deal_value"][2] == 18500.5
    assert leads["country"].to_list()[:4] == ["DE", "DE", "AT", "CH"]
    assert leads["job_level"][3] is None
    assert leads["description"][3] == "Mehrzeilige Notiz:\r\nRückruf erbeten, bitte nach 14 Uhr"
    assert dataset.touchpoints["value"][0] == 2.5
    assert dataset.outcomes["converted_at"][0] == dt.datetime(2024, 3, 27, 23, tzinfo=dt.UTC)


def test_the_example_dialect_is_also_detected(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE_MAPPING.read_text(encoding="utf-8"))
    del data["csv"]
    report = validate_path(EXAMPLE_DATA, parse_mapping(data))
    assert report.ok
    assert sum("decimal comma detected" in n.message for n in report.notices) == 3
