"""Rules between tables: touchpoints and outcomes against the valid leads.

* ``known_lead`` - the ``lead_id`` is a lead whose row in leads was used (present and valid);
* ``not_before_created`` - ``converted_at`` and ``lost_at`` are not before the lead's
  ``created_at``;
* ``converted_and_lost`` - a lead is not converted on one outcomes row and lost on another
  (both on one row breaks the row rule ``one_outcome``).

The valid leads are small next to a touchpoint log, so they are collected once and joined to
the lazy frame of the referencing table; the join runs streaming.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from leadscore.data.rules import CheckedFrame, RuleFlag, raw_name
from leadscore.data.schemas import TIMESTAMP

__all__ = [
    "CREATED",
    "LEAD_KEYS",
    "LeadReferences",
    "converted_and_lost",
    "flag_converted_and_lost",
    "reference_flags",
]

LEAD_KEYS: Final[dict[str, pl.DataType]] = {"lead_id": pl.String(), "created_at": TIMESTAMP}
CREATED: Final = "__ls_created"
_KNOWN: Final = "__ls_known"
_UNKNOWN: Final = "__ls_flag_known_lead"
_BOTH: Final = "__ls_flag_converted_and_lost"
_ISO: Final = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, eq=False)
class LeadReferences:
    """The leads other tables may reference (``lead_id``, ``created_at`` of the used rows),
    and, when there are none, why."""

    valid: pl.DataFrame
    problem: str | None = None


def reference_flags(
    checked: CheckedFrame, references: LeadReferences
) -> tuple[pl.LazyFrame, list[RuleFlag]]:
    """``checked.frame`` joined with the valid leads, flagging ``known_lead`` and
    ``not_before_created``."""
    valid = references.valid.lazy().select(
        pl.col("lead_id"), pl.col("created_at").alias(CREATED), pl.lit(True).alias(_KNOWN)
    )
    frame = checked.frame.join(valid, on="lead_id", how="left", maintain_order="left")
    frame = frame.with_columns(
        (pl.col("lead_id").is_not_null() & pl.col(_KNOWN).is_null()).alias(_UNKNOWN)
    )
    flags = [
        RuleFlag(
            _UNKNOWN,
            "lead_id",
            "known_lead",
            pl.col("lead_id"),
            pl.format(
                "lead_id '{}' is not a valid lead (it is missing from leads or its row there "
                "was rejected)",
                pl.col("lead_id"),
            ),
        )
    ]
    for column in ("converted_at", "lost_at"):
        if column not in checked.canonical:
            continue
        flag = f"__ls_flag_before_{column}"
        frame = frame.with_columns((pl.col(column) < pl.col(CREATED)).fill_null(False).alias(flag))
        flags.append(
            RuleFlag(
                flag,
                column,
                "not_before_created",
                pl.col(raw_name(column)),
                pl.format(
                    f"{column} {{}} is before the lead's created_at {{}}",
                    pl.col(column).dt.to_string(_ISO),
                    pl.col(CREATED).dt.to_string(_ISO),
                ),
            )
        )
    return frame, flags


def converted_and_lost(frame: pl.LazyFrame) -> tuple[pl.LazyFrame, RuleFlag]:
    """The leads converted on one row and lost on another (a lazy query to collect first),
    and the flag to add once their ids are known via :func:`flag_converted_and_lost`."""
    converted = pl.col("converted_at").is_not_null() & pl.col("lost_at").is_null()
    lost = pl.col("lost_at").is_not_null() & pl.col("converted_at").is_null()
    query = (
        frame.filter(pl.col("lead_id").is_not_null())
        .group_by("lead_id")
        .agg(converted.any().alias("c"), lost.any().alias("l"))
        .filter(pl.col("c") & pl.col("l"))
        .select("lead_id")
    )
    flag = RuleFlag(
        _BOTH,
        "lead_id",
        "converted_and_lost",
        pl.col("lead_id"),
        pl.format("lead '{}' is converted on one outcomes row and lost on another", "lead_id"),
    )
    return query, flag


def flag_converted_and_lost(frame: pl.LazyFrame, lead_ids: pl.Series) -> pl.LazyFrame:
    """Mark the outcome rows (with a date) of the leads in ``lead_ids``."""
    dated = pl.col("converted_at").is_not_null() | pl.col("lost_at").is_not_null()
    marked = (pl.col("lead_id").is_in(lead_ids.implode()) & dated).fill_null(False)
    return frame.with_columns(marked.alias(_BOTH))
