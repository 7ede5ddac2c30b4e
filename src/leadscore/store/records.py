"""Writing and reading the canonical tables: leads, touchpoints and outcomes.

Rows come in as mappings keyed by the canonical column names of
:mod:`leadscore.data.schemas` (already checked at the edge); timestamps are timezone-aware.
Touchpoints are inserted with ``ON CONFLICT DO NOTHING`` on ``event_id``, so replaying a batch
changes nothing, also under concurrent writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

import polars as pl
from sqlalchemy import BindParameter, Insert, bindparam, func, select
from sqlalchemy.orm import Session

from leadscore.data.schemas import TIMESTAMP, table_spec, timestamps
from leadscore.store.database import dialect_insert
from leadscore.store.tables import Lead, Outcome, Touchpoint

__all__ = [
    "LEAD_COLUMNS",
    "LeadFrames",
    "TouchpointSummary",
    "company_touchpoints",
    "frames_from_rows",
    "insert_touchpoints",
    "lead_frames",
    "lead_record",
    "missing_leads",
    "record_outcomes",
    "stored_frames",
    "touchpoint_summary",
    "upsert_leads",
]

LEAD_COLUMNS: Final = table_spec("leads").names
_TOUCHPOINT_COLUMNS: Final = table_spec("touchpoints").names
_OUTCOME_COLUMNS: Final = table_spec("outcomes").names
#: SQLite allows at most 32,766 bound parameters in one statement.
_CHUNK: Final = 500
# What lead_frames reads, built once: the canonical columns in contract order (and the
# leads' extras) of the leads in the expanding parameter ``ids``.
_IDS: Final[BindParameter[Any]] = bindparam("ids", expanding=True)
_LEADS: Final = select(
    *(Lead.__table__.c[name] for name in LEAD_COLUMNS), Lead.__table__.c.extra
).where(Lead.__table__.c.lead_id.in_(_IDS))
_TOUCHPOINTS: Final = (
    select(*(Touchpoint.__table__.c[name] for name in _TOUCHPOINT_COLUMNS))
    .where(Touchpoint.__table__.c.lead_id.in_(_IDS))
    .order_by(Touchpoint.__table__.c.lead_id, Touchpoint.__table__.c.timestamp)
)
_OUTCOMES: Final = select(*(Outcome.__table__.c[name] for name in _OUTCOME_COLUMNS)).where(
    Outcome.__table__.c.lead_id.in_(_IDS)
)


def _chunks(rows: Sequence[Mapping[str, Any]]) -> Iterable[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


def upsert_leads(session: Session, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Insert leads or replace the fields of existing ones (columns beyond the contract go
    to ``extra``)."""
    for chunk in _chunks(rows):
        values = [
            {
                **{name: row.get(name) for name in LEAD_COLUMNS},
                "extra": {k: v for k, v in row.items() if k not in LEAD_COLUMNS},
                "updated_at": now,
            }
            for row in chunk
        ]
        statement: Insert = dialect_insert(session, Lead).values(values)
        excluded = statement.excluded  # type: ignore[attr-defined]
        updates = {name: excluded[name] for name in (*LEAD_COLUMNS[1:], "extra", "updated_at")}
        session.execute(
            statement.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=["lead_id"], set_=updates
            )
        )


def missing_leads(session: Session, lead_ids: Iterable[str]) -> list[str]:
    """The ids among ``lead_ids`` that the store does not hold, sorted."""
    wanted = sorted(set(lead_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start : start + _CHUNK]
        found.update(session.scalars(select(Lead.lead_id).where(Lead.lead_id.in_(part))))
    return [lead_id for lead_id in wanted if lead_id not in found]


def insert_touchpoints(
    session: Session, rows: Sequence[Mapping[str, Any]], now: datetime
) -> list[str]:
    """Insert the touchpoints whose ``event_id`` is new; the ids of those inserted.

    An event id already stored (or repeated in ``rows``) is skipped: the first write wins.
    """
    inserted: list[str] = []
    for chunk in _chunks(rows):
        values = [
            {**{name: row.get(name) for name in _TOUCHPOINT_COLUMNS}, "received_at": now}
            for row in chunk
        ]
        statement = (
            dialect_insert(session, Touchpoint)
            .values(values)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(Touchpoint.event_id)
        )
        inserted.extend(session.scalars(statement))
    return inserted


def record_outcomes(session: Session, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Insert or replace the outcome of each lead (one outcome per lead)."""
    for chunk in _chunks(rows):
        values = [
            {**{name: row.get(name) for name in _OUTCOME_COLUMNS}, "recorded_at": now}
            for row in chunk
        ]
        statement: Insert = dialect_insert(session, Outcome).values(values)
        excluded = statement.excluded  # type: ignore[attr-defined]
        session.execute(
            statement.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=["lead_id"],
                set_={
                    name: excluded[name]
                    for name in ("converted_at", "lost_at", "revenue", "recorded_at")
                },
            )
        )


@dataclass(frozen=True)
class LeadFrames:
    """Canonical polars frames of some leads, as the feature builder takes them."""

    leads: pl.DataFrame
    touchpoints: pl.DataFrame
    outcomes: pl.DataFrame


def _series(name: str, values: Sequence[Any], dtype: pl.DataType | None) -> pl.Series:
    return timestamps(name, values) if dtype is None else pl.Series(name, values, dtype=dtype)


@lru_cache(maxsize=64)
def _dtypes(table: str, names: tuple[str, ...]) -> tuple[pl.DataType | None, ...]:
    """The type of each column (None for a timestamp); beyond the table's columns, strings."""
    spec = table_spec(table)
    known = set(spec.names)
    dtypes = [spec.column(name).dtype if name in known else pl.String() for name in names]
    return tuple(None if dtype == TIMESTAMP else dtype for dtype in dtypes)


def _frame(rows: Sequence[Sequence[Any]], names: Sequence[str], table: str) -> pl.DataFrame:
    """Rows (in the order of ``names``) as a frame in the table's canonical types, built a
    column at a time; names beyond the table's columns become strings."""
    dtypes = _dtypes(table, tuple(names))
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pl.DataFrame(
        [
            _series(name, values, dtype)
            for name, values, dtype in zip(names, columns, dtypes, strict=True)
        ]
    )


def lead_record(lead: Lead) -> dict[str, Any]:
    """A stored lead as a mapping of its canonical columns and its extra columns."""
    return {**{name: getattr(lead, name) for name in LEAD_COLUMNS}, **(lead.extra or {})}


def lead_frames(session: Session, lead_ids: Sequence[str]) -> LeadFrames:
    """The stored rows of ``lead_ids`` (unknown ids are left out) in the canonical types.

    Extra lead columns become string columns; the feature builder casts declared ones.
    Rows are read as plain tuples (no ORM objects), one query per table and chunk.
    """
    ids = sorted(set(lead_ids))
    leads: list[dict[str, Any]] = []
    touchpoints: list[Sequence[Any]] = []
    outcomes: list[Sequence[Any]] = []
    for start in range(0, len(ids), _CHUNK):
        part = {"ids": ids[start : start + _CHUNK]}
        for *fields, extra in session.execute(_LEADS, part):
            leads.append({**dict(zip(LEAD_COLUMNS, fields, strict=True)), **(extra or {})})
        touchpoints.extend(
            session.execute(_TOUCHPOINTS, part).all()
        )  # one fetch, not a row at a time
        outcomes.extend(session.execute(_OUTCOMES, part).all())
    return LeadFrames(
        leads=_lead_frame(leads),
        touchpoints=_frame(touchpoints, _TOUCHPOINT_COLUMNS, "touchpoints"),
        outcomes=_frame(outcomes, _OUTCOME_COLUMNS, "outcomes"),
    )


def stored_frames(session: Session) -> LeadFrames:
    """Every stored lead, touchpoint and outcome in the canonical types: the whole history,
    as the forecast reads it (conversion timing and period-level spread need past leads)."""
    leads = [lead_record(lead) for lead in session.scalars(select(Lead).order_by(Lead.lead_id))]
    touchpoints = session.execute(
        select(*(getattr(Touchpoint, name) for name in _TOUCHPOINT_COLUMNS)).order_by(
            Touchpoint.lead_id, Touchpoint.timestamp
        )
    )
    outcomes = session.execute(select(*(getattr(Outcome, name) for name in _OUTCOME_COLUMNS)))
    return frames_from_rows(
        leads,
        [dict(row._mapping) for row in touchpoints],
        [dict(row._mapping) for row in outcomes],
    )


def company_touchpoints(session: Session, start: datetime, end: datetime) -> pl.DataFrame:
    """Company-initiated touchpoints of every lead with ``start <= timestamp < end``, as a
    canonical touchpoints frame: the company context the next-touchpoint model reads (the
    share of each touchpoint among the company's recent ones)."""
    table = Touchpoint.__table__.c
    rows = session.execute(
        select(*(table[name] for name in _TOUCHPOINT_COLUMNS)).where(
            table.initiated_by == "company", table.timestamp >= start, table.timestamp < end
        )
    )
    return _frame(list(rows), _TOUCHPOINT_COLUMNS, "touchpoints")


def _lead_frame(leads: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    extra = sorted({key for row in leads for key in row if key not in LEAD_COLUMNS})

    def cell(row: Mapping[str, Any], name: str) -> Any:
        value = row.get(name)
        return None if value is None or name in LEAD_COLUMNS else str(value)

    return _frame(
        [
            [row.get(n) if n in LEAD_COLUMNS else cell(row, n) for n in (*LEAD_COLUMNS, *extra)]
            for row in leads
        ],
        [*LEAD_COLUMNS, *extra],
        "leads",
    )


def frames_from_rows(
    leads: Sequence[Mapping[str, Any]],
    touchpoints: Sequence[Mapping[str, Any]],
    outcomes: Sequence[Mapping[str, Any]] = (),
) -> LeadFrames:
    """Canonical frames from rows keyed by column name; lead columns beyond the contract
    become string columns (the feature builder casts the declared ones)."""
    return LeadFrames(
        leads=_lead_frame(leads),
        touchpoints=_frame(
            [[row.get(n) for n in _TOUCHPOINT_COLUMNS] for row in touchpoints],
            _TOUCHPOINT_COLUMNS,
            "touchpoints",
        ),
        outcomes=_frame(
            [[row.get(n) for n in _OUTCOME_COLUMNS] for row in outcomes],
            _OUTCOME_COLUMNS,
            "outcomes",
        ),
    )


@dataclass(frozen=True)
class TouchpointSummary:
    """How many touchpoints a lead has, when, and of which kinds."""

    count: int
    first_at: datetime | None
    last_at: datetime | None
    by_channel: dict[str, int]
    by_action: dict[str, int]
    by_initiator: dict[str, int]


def _counts(session: Session, lead_id: str, column: Any) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count())
        .where(Touchpoint.lead_id == lead_id)
        .group_by(column)
        .order_by(func.count().desc(), column)
    )
    return {str(key): int(count) for key, count in rows}


def touchpoint_summary(session: Session, lead_id: str) -> TouchpointSummary:
    """The summary of one lead's stored touchpoints."""
    count, first, last = session.execute(
        select(func.count(), func.min(Touchpoint.timestamp), func.max(Touchpoint.timestamp)).where(
            Touchpoint.lead_id == lead_id
        )
    ).one()
    return TouchpointSummary(
        count=int(count),
        first_at=first,
        last_at=last,
        by_channel=_counts(session, lead_id, Touchpoint.channel),
        by_action=_counts(session, lead_id, Touchpoint.action),
        by_initiator=_counts(session, lead_id, Touchpoint.initiated_by),
    )
