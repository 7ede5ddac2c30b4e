"""The ranked list as an Excel workbook, written by the library's score export."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import polars as pl

from leadscore.scoring.export import write_scores
from leadscore.service.schemas import RankedLeadOut

__all__ = ["XLSX", "ranked_frame", "ranked_xlsx"]

XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SCHEMA: Final = pl.Schema(
    {
        "lead_id": pl.String(),
        "owner": pl.String(),
        "source": pl.String(),
        "grade": pl.String(),
        "score": pl.Int64(),
        "probability": pl.Float64(),
        "trend": pl.Int64(),
        "expected_revenue": pl.Float64(),
        "reasons": pl.List(pl.String()),
        "risks": pl.List(pl.String()),
        "next_best_touchpoints": pl.List(
            pl.Struct(
                {"touchpoint": pl.String(), "probability": pl.Float64(), "uplift": pl.Float64()}
            )
        ),
        "as_of": pl.Datetime("us", "UTC"),
        "model_version": pl.String(),
    }
)


def ranked_frame(items: Sequence[RankedLeadOut]) -> pl.DataFrame:
    """Ranked leads as a table with the columns of the score export, in rank order."""
    rows = [
        {
            **item.model_dump(include=set(_SCHEMA) - {"next_best_touchpoints"}),
            "next_best_touchpoints": [
                {"touchpoint": t.touchpoint, "probability": t.probability, "uplift": t.uplift}
                for t in item.next_best_touchpoints
            ],
        }
        for item in items
    ]
    return pl.DataFrame(rows, schema=_SCHEMA)


def ranked_xlsx(items: Sequence[RankedLeadOut]) -> bytes:
    """Ranked leads as an Excel workbook (grade colours, frozen header, filters)."""
    with tempfile.TemporaryDirectory(prefix="leadscore-export-") as folder:
        path = write_scores(ranked_frame(items), Path(folder) / "leads.xlsx")
        return path.read_bytes()
