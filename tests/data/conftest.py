"""Small valid canonical tables, and a writer that puts them into CSV files as a CRM would.

Line numbers in the tests follow from these rows: the header is line 1, so in ``leads.csv``
L1 is line 2, L2 line 3 and L3 (referenced by nothing) line 4.
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Rows = list[dict[str, str]]
Tables = dict[str, Rows]
WriteTables = Callable[..., Path]

_GOOD: Tables = {
    "leads": [
        {
            "lead_id": "L1",
            "created_at": "2024-03-01T10:00:00Z",
            "source": "web_form",
            "industry": "software",
            "company_size": "50",
            "country": "DE",
            "job_level": "manager",
            "deal_value": "1000.5",
            "owner": "anna",
        },
        {
            "lead_id": "L2",
            "created_at": "2024-03-02T11:00:00+01:00",
            "source": "trade_fair",
            "industry": "manufacturing",
            "company_size": "1200",
            "country": "AT",
            "job_level": "c_level",
            "deal_value": "",
            "owner": "ben",
        },
        {
            "lead_id": "L3",
            "created_at": "2024-03-03",
            "source": "referral",
            "industry": "",
            "company_size": "",
            "country": "",
            "job_level": "",
            "deal_value": "0",
            "owner": "",
        },
    ],
    "touchpoints": [
        {
            "event_id": "E1",
            "lead_id": "L1",
            "timestamp": "2024-03-05T10:00:00Z",
            "channel": "email",
            "action": "email_open",
            "initiated_by": "lead",
            "campaign": "spring",
            "value": "1.5",
        },
        {
            "event_id": "E2",
            "lead_id": "L2",
            "timestamp": "2024-03-06 09:30:00",
            "channel": "phone",
            "action": "call",
            "initiated_by": "company",
            "campaign": "",
            "value": "",
        },
        {
            "event_id": "E3",
            "lead_id": "L1",
            "timestamp": "2024-03-07T08:00:00.250+0000",
            "channel": "web",
            "action": "pricing_page_view",
            "initiated_by": "lead",
            "campaign": "",
            "value": "3",
        },
    ],
    "outcomes": [
        {
            "lead_id": "L1",
            "converted_at": "2024-04-01T00:00:00Z",
            "lost_at": "",
            "revenue": "900",
        },
        {"lead_id": "L2", "converted_at": "", "lost_at": "2024-04-15", "revenue": ""},
    ],
}


def csv_text(rows: Rows, delimiter: str = ",", columns: list[str] | None = None) -> str:
    """``rows`` as CSV text with a header, quoting only where needed."""
    names = columns or list(rows[0])
    out = io.StringIO(newline="")
    writer = csv.DictWriter(
        out, fieldnames=names, delimiter=delimiter, lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture
def tables() -> Tables:
    """A fresh copy of the valid tables, to change in a test."""
    return copy.deepcopy(_GOOD)


@pytest.fixture
def write_tables(tmp_path: Path) -> WriteTables:
    """Write tables as ``<name>.csv`` files into a folder (``tmp_path/data`` by default)."""

    def write(
        data: Tables,
        folder: Path | None = None,
        delimiter: str = ",",
        encoding: str = "utf-8",
        **columns: Any,
    ) -> Path:
        target = folder or tmp_path / "data"
        target.mkdir(parents=True, exist_ok=True)
        for name, rows in data.items():
            text = csv_text(rows, delimiter, columns.get(name))
            (target / f"{name}.csv").write_bytes(text.encode(encoding))
        return target

    return write
