"""The row rules come from the pandera schemas, as polars expressions that stream."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest

from leadscore.data.parsing import ParseOptions
from leadscore.data.rules import ROW, check_expr, check_rows, native_check_expr
from leadscore.data.schemas import CANONICAL_TABLES, table_schema

CHECKS = [
    (table, column, check)
    for table in CANONICAL_TABLES
    for column, spec in table_schema(table).columns.items()
    for check in spec.checks
] + [(table, None, check) for table in CANONICAL_TABLES for check in table_schema(table).checks]


@pytest.mark.parametrize(
    ("table", "column", "check"),
    CHECKS,
    ids=[f"{t}-{c or 'frame'}-{k.name}" for t, c, k in CHECKS],
)
def test_every_schema_check_is_a_native_expression(
    table: str, column: str | None, check: pa.Check
) -> None:
    assert native_check_expr(check, column) is not None


def test_a_check_that_is_not_an_expression_runs_through_pandera() -> None:
    check = pa.Check(lambda value: value != "bad", element_wise=True, name="not_bad")
    assert native_check_expr(check, "x") is None
    frame = pl.DataFrame({"x": ["ok", "bad", None]})
    assert frame.select(check_expr(check, "x", ["x"]))["x"].to_list() == [True, False, True]


def test_rules_agree_with_pandera_validation() -> None:
    """On cast frames, a row breaks a flag exactly where pandera reports a failure case."""
    raw = pl.LazyFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "created_at": ["2024-03-01", "2024-03-02", "2024-03-03"],
            "source": ["web_form", "Web Form", "referral"],
            "industry": [None, "software", "IT Services"],
            "company_size": ["5", "0", None],
            "country": ["DE", "XX", None],
            "job_level": [None, None, None],
            "deal_value": ["1", "-2", None],
            "owner": [None, None, None],
        },
        schema_overrides={"job_level": pl.String, "owner": pl.String},
    ).with_row_index(ROW)
    checked = check_rows(raw, "leads", ParseOptions())
    flagged = checked.frame.collect()
    ours = {
        (flag.column, row)
        for flag in checked.flags
        if flag.rule not in {"type", "not_null", "empty_row"}
        for row in flagged.filter(pl.col(flag.flag))[ROW].to_list()
    }
    cast = flagged.select(list(table_schema("leads").columns))
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        table_schema("leads").validate(cast, lazy=True)
    cases = caught.value.failure_cases.filter(pl.col("check") != "field_uniqueness")
    theirs = {(row["column"], row["index"]) for row in cases.iter_rows(named=True)}
    assert (
        ours
        == theirs
        == {("source", 1), ("industry", 2), ("company_size", 1), ("country", 1), ("deal_value", 1)}
    )
