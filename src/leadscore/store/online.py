"""Online scoring of a few leads with the library's one feature path.

:func:`score_frames` scores leads given as canonical frames (from a request or from the store)
at one moment ``as_of`` and ``trend_days`` earlier (for the trend) with
:func:`leadscore.scoring.score.score_with_trend`: both moments in one feature pass and one
prediction. Every column ``score_with_trend`` returns is kept. With a next-touchpoint model
the rows also carry ``next_best_touchpoints`` (a list of ``{touchpoint, probability, uplift,
uncertainty}``) and the served recommendation; the model's company context (the mix of the
company's touchpoints in the days before ``as_of``) comes from the company-initiated
touchpoints of every lead (``context``), not only of the leads scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import polars as pl
from sqlalchemy.orm import Session

from leadscore.scoring.score import open_now_and_before, score_with_trend
from leadscore.store.records import LeadFrames, company_touchpoints, lead_frames
from leadscore.training.config import ScoringConfig
from leadscore.training.model import PropensityModel
from leadscore.training.next_touchpoint_training import TrainedNextTouchpoint

__all__ = [
    "NEXT_BEST_TOUCHPOINTS",
    "NotScored",
    "OnlineScores",
    "recent_context",
    "score_frames",
    "score_stored",
]

NEXT_BEST_TOUCHPOINTS: Final = "next_best_touchpoints"
"""The column of next-best-touchpoint recommendations, when the scoring output has it."""


@dataclass(frozen=True)
class NotScored:
    """A lead that was not scored, and why."""

    lead_id: str
    reason: str


@dataclass(frozen=True)
class OnlineScores:
    """Scored leads as plain rows (in the order asked) and those that could not be scored."""

    rows: list[dict[str, Any]]
    not_scored: list[NotScored]


def _why_not_open(frames: LeadFrames, lead_id: str, as_of: datetime) -> str:
    outcome = frames.outcomes.filter(pl.col("lead_id") == lead_id)
    if outcome.height:
        converted = outcome["converted_at"][0]
        return "converted" if converted is not None and converted <= as_of else "lost"
    return "created after as_of"


def score_frames(
    model: PropensityModel,
    config: ScoringConfig,
    frames: LeadFrames,
    as_of: datetime,
    order: Sequence[str] | None = None,
    *,
    next_touchpoint: TrainedNextTouchpoint | None = None,
    context: pl.DataFrame | None = None,
) -> OnlineScores:
    """Score every lead of ``frames`` open at ``as_of``; the others go to ``not_scored``.

    ``next_touchpoint`` adds the recommendation columns; ``context`` holds the company's
    touchpoints of every lead before ``as_of`` (see :func:`company_touchpoints`) for its
    company context.

    Rows hold ``lead_id``, ``as_of``, ``probability``, ``score``, ``grade``, ``trend``,
    ``expected_revenue``, ``reasons``, ``risks`` and whatever else ``score_with_trend``
    returns. ``order`` (default: the order of ``frames.leads``) sets the order of the rows.
    """
    wanted = list(order) if order is not None else frames.leads["lead_id"].to_list()
    now, before = open_now_and_before(frames.leads, frames.outcomes, as_of, config.trend_days)
    if now.height == 0:
        return OnlineScores([], [NotScored(i, _why_not_open(frames, i, as_of)) for i in wanted])
    touchpoints = frames.touchpoints
    if next_touchpoint is not None and context is not None and context.height:
        others = context.filter(~pl.col("event_id").is_in(touchpoints["event_id"].implode()))
        touchpoints = pl.concat([touchpoints, others.select(touchpoints.columns)])
    scored = score_with_trend(
        model,
        frames.leads,
        touchpoints,
        now,
        before,
        config,
        next_touchpoint=next_touchpoint,
    )
    deal_value = dict(
        zip(frames.leads["lead_id"], frames.leads["deal_value"].cast(pl.Float64), strict=True)
    )
    by_lead: dict[str, dict[str, Any]] = {}
    for row in scored.to_dicts():
        lead_id = row["lead_id"]
        value = deal_value.get(lead_id)
        row["expected_revenue"] = None if value is None else row["probability"] * value
        row.setdefault("reasons", [])
        row.setdefault("risks", [])
        by_lead[lead_id] = row
    rows = [by_lead[i] for i in wanted if i in by_lead]
    missing = [NotScored(i, _why_not_open(frames, i, as_of)) for i in wanted if i not in by_lead]
    return OnlineScores(rows, missing)


def recent_context(
    session: Session, next_touchpoint: TrainedNextTouchpoint | None, as_of: datetime
) -> pl.DataFrame | None:
    """The company's touchpoints of the context window before ``as_of`` (None without a
    next-touchpoint model)."""
    if next_touchpoint is None:
        return None
    days = next_touchpoint.config.decisions.context_days
    return company_touchpoints(session, as_of - timedelta(days=days), as_of)


def score_stored(
    session: Session,
    model: PropensityModel,
    config: ScoringConfig,
    lead_ids: Sequence[str],
    as_of: datetime,
    next_touchpoint: TrainedNextTouchpoint | None = None,
) -> OnlineScores:
    """Score stored leads from their stored history; unknown ids go to ``not_scored``."""
    frames = lead_frames(session, lead_ids)
    known = set(frames.leads["lead_id"].to_list())
    result = score_frames(
        model,
        config,
        frames,
        as_of,
        [i for i in lead_ids if i in known],
        next_touchpoint=next_touchpoint,
        context=recent_context(session, next_touchpoint, as_of),
    )
    unknown = [NotScored(i, "unknown lead_id") for i in lead_ids if i not in known]
    return OnlineScores(result.rows, [*result.not_scored, *unknown])
