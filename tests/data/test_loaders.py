"""Parquet and SQL sources (SQLite file, PostgreSQL): canonical types, row positions, mapping."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from leadscore.data import load_dataset, read_table, validate_path
from leadscore.data.mapping import parse_mapping
from leadscore.data.sources import masked
from leadscore.errors import DataError, UsageError, ValidationFailed

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UTC = dt.UTC


def _utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def _leads() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "lead_id": [101, 102, 103],
            "created_at": [dt.datetime(2024, 3, 1, 14, 5)] * 3,
            "source": ["web_form", "partner", "referral"],
            "industry": ["software", None, None],
            "company_size": [50, 7, 0],
            "country": ["DE", "FR", None],
            "job_level": [None, None, None],
            "deal_value": [1000.0, None, 3.5],
            "owner": ["anna", None, None],
            "crm_score": [0.5, 0.7, 0.9],
        },
        schema_overrides={"job_level": pl.String, "industry": pl.String, "owner": pl.String},
    )


def test_parquet_keeps_types_and_numbers_rows_from_one(tmp_path: Path) -> None:
    _leads().write_parquet(tmp_path / "leads.parquet")
    berlin = pl.Datetime("us", "Europe/Berlin")
    pl.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "lead_id": ["101", "104"],
            "timestamp": pl.Series([_utc(2024, 3, 2, 9), _utc(2024, 3, 3, 9)]).cast(berlin),
            "channel": ["email", "web"],
            "action": ["email_open", "pricing_page_view"],
            "initiated_by": ["lead", "lead"],
        }
    ).write_parquet(tmp_path / "touchpoints.parquet")
    report = validate_path(tmp_path, timezone="Europe/Berlin")
    assert {(v.table, v.row, v.column, v.rule) for v in report.violation_records()} == {
        ("leads", 3, "company_size", "greater_than_or_equal_to"),
        ("touchpoints", 2, "lead_id", "known_lead"),
    }
    assert report.tables["leads"].row_kind == "row"
    dataset = load_dataset(tmp_path, timezone="Europe/Berlin", strict=False)
    assert dataset.leads["lead_id"].to_list() == ["101", "102"]
    assert dataset.leads["created_at"][0] == _utc(2024, 3, 1, 13, 5)
    assert dataset.leads["crm_score"].dtype == pl.Float64
    assert dataset.touchpoints.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert dataset.touchpoints["timestamp"].to_list() == [_utc(2024, 3, 2, 9)]


def test_read_table_reads_one_file(tmp_path: Path) -> None:
    _leads().write_parquet(tmp_path / "crm.parquet")
    with pytest.raises(UsageError, match=r"cannot tell which table crm\.parquet holds"):
        read_table(tmp_path / "crm.parquet")
    with pytest.raises(ValidationFailed, match="1 violation"):
        read_table(tmp_path / "crm.parquet", "leads")
    frame = read_table(tmp_path / "crm.parquet", "leads", strict=False)
    assert frame.height == 2
    with pytest.raises(UsageError, match="unknown table 'lead'"):
        read_table(tmp_path / "crm.parquet", "lead")


def test_unreadable_parquet_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "leads.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"leads\.parquet: cannot be read"):
        validate_path(tmp_path)


LEAD_COLUMNS: dict[str, Any] = {
    "lead_id": sa.Text,
    "created_at": sa.Text,
    "source": sa.Text,
    "industry": sa.Text,
    "company_size": sa.Integer,
    "country": sa.Text,
    "job_level": sa.Text,
    "deal_value": sa.Float,
    "owner": sa.Text,
}


def _create(
    engine: sa.Engine, name: str, columns: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    table = sa.Table(name, sa.MetaData(), *(sa.Column(c, t) for c, t in columns.items()))
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), rows)


def _lead_rows() -> list[dict[str, Any]]:
    base = {"source": "web_form", "industry": None, "country": "DE", "job_level": None}
    return [
        {
            **base,
            "lead_id": "L1",
            "created_at": "2024-03-01 14:05",
            "company_size": 10,
            "deal_value": 10.0,
            "owner": "anna",
        },
        {
            **base,
            "lead_id": "L2",
            "created_at": "2024-03-02T08:00:00Z",
            "company_size": "many",
            "deal_value": None,
            "owner": None,
        },
    ]


def test_sqlite_tables_and_queries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    _create(engine, "crm_leads", LEAD_COLUMNS, _lead_rows())
    _create(
        engine,
        "activities",
        {"id": sa.Text, "lead": sa.Text, "at": sa.Text, "kind": sa.Text, "who": sa.Text},
        [
            {
                "id": "A1",
                "lead": "L1",
                "at": "2024-03-05T10:00:00Z",
                "kind": "call",
                "who": "Vertrieb",
            }
        ],
    )
    engine.dispose()
    mapping = parse_mapping(
        {
            "timezone": "Europe/Berlin",
            "leads": {"table": "crm_leads"},
            "touchpoints": {
                "query": "SELECT id AS event_id, lead AS lead_id, at AS timestamp, 'phone' AS "
                "channel, kind AS action, who FROM activities",
                "columns": {"who": "initiated_by"},
                "values": {"initiated_by": {"Vertrieb": "company"}},
            },
        }
    )
    report = validate_path(url, mapping)
    assert [(v.table, v.row, v.column, v.rule, v.value) for v in report.violation_records()] == [
        ("leads", 2, "company_size", "type", "many")
    ]
    assert any(n.kind == "missing_table" and n.table == "outcomes" for n in report.notices)
    dataset = load_dataset(url, mapping, strict=False)
    assert dataset.leads["created_at"].to_list() == [_utc(2024, 3, 1, 13, 5)]
    assert dataset.touchpoints["initiated_by"].to_list() == ["company"]
    assert dataset.outcomes.height == 0


def test_sqlite_missing_leads_table_and_bad_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    report = validate_path(url)
    assert [(v.table, v.rule) for v in report.violation_records()] == [("leads", "missing_table")]
    with pytest.raises(UsageError, match="not a usable SQLAlchemy URL"):
        validate_path("nosuchdriver://x/y")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://bob:s3:cr@et@db:5432/crm",
            "postgresql+psycopg://bob:***@db:5432/crm",
        ),
        ("postgresql+psycopg://bob@db/crm", "postgresql+psycopg://bob@db/crm"),
        ("sqlite:///crm.db", "sqlite:///crm.db"),
    ],
    ids=["password", "no-password", "sqlite"],
)
def test_passwords_in_urls_are_masked(url: str, shown: str) -> None:
    assert masked(url) == shown


@pytest.fixture
def postgres() -> Iterator[tuple[sa.Engine, str]]:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc.orig}")
    prefix = f"ls_test_{uuid.uuid4().hex[:10]}"
    try:
        yield engine, prefix
    finally:
        with engine.begin() as connection:
            for suffix in ("leads", "touchpoints", "outcomes"):
                connection.execute(sa.text(f'DROP TABLE IF EXISTS "{prefix}_{suffix}"'))
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_tables(postgres: tuple[sa.Engine, str]) -> None:
    engine, prefix = postgres
    columns = {
        **LEAD_COLUMNS,
        "created_at": sa.DateTime(timezone=True),
        "deal_value": sa.Numeric(12, 2),
    }
    rows = _lead_rows()
    rows[0]["created_at"] = dt.datetime(
        2024, 3, 1, 14, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    rows[1].update(created_at=_utc(2024, 3, 2, 8), company_size=-3, deal_value=Decimal("12.50"))
    _create(engine, f"{prefix}_leads", columns, rows)
    _create(
        engine,
        f"{prefix}_outcomes",
        {
            "lead_id": sa.Text,
            "converted_at": sa.DateTime(),
            "lost_at": sa.DateTime(),
            "revenue": sa.Float,
        },
        [
            {
                "lead_id": "L1",
                "converted_at": dt.datetime(2024, 2, 1),
                "lost_at": None,
                "revenue": 5.0,
            },
            {
                "lead_id": "L1",
                "converted_at": dt.datetime(2024, 4, 1),
                "lost_at": None,
                "revenue": 5.0,
            },
        ],
    )
    mapping = parse_mapping(
        {"leads": {"table": f"{prefix}_leads"}, "outcomes": {"table": f"{prefix}_outcomes"}}
    )
    report = validate_path(POSTGRES_URL, mapping)
    assert {(v.table, v.row, v.column, v.rule) for v in report.violation_records()} == {
        ("leads", 2, "company_size", "greater_than_or_equal_to"),
        ("outcomes", 1, "converted_at", "not_before_created"),
    }
    dataset = load_dataset(POSTGRES_URL, mapping, strict=False)
    assert dataset.leads["created_at"].to_list() == [_utc(2024, 3, 1, 13, 5)]
    assert dataset.outcomes["converted_at"].to_list() == [_utc(2024, 4, 1)]
    counts = report.tables["outcomes"]
    assert (counts.rows_read, counts.rows_used, counts.rows_rejected) == (2, 1, 1)
