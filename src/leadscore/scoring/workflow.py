"""What ``leadscore score`` and ``rank`` do, as plain functions the CLI and tests call."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from leadscore.data import load_dataset
from leadscore.scoring.rank import rank_leads
from leadscore.scoring.score import score_leads
from leadscore.training.config import ScoringConfig
from leadscore.training.model import PropensityModel
from leadscore.training.next_touchpoint_training import TrainedNextTouchpoint

__all__ = ["rank_location", "score_location"]


def score_location(
    model: PropensityModel,
    data: str,
    config: ScoringConfig,
    *,
    as_of: datetime | None = None,
    next_touchpoint: TrainedNextTouchpoint | None = None,
) -> pl.DataFrame:
    """Load and validate the data at ``data`` and score every lead open at ``as_of`` (with
    ``next_touchpoint``, its recommendations too)."""
    dataset = load_dataset(data)
    return score_leads(
        model,
        dataset.leads,
        dataset.touchpoints,
        dataset.outcomes,
        config,
        as_of=as_of,
        next_touchpoint=next_touchpoint,
    )


def rank_location(
    model: PropensityModel,
    data: str,
    config: ScoringConfig,
    *,
    as_of: datetime | None = None,
    owner: str | None = None,
    grades: tuple[str, ...] = (),
    limit: int | None = None,
) -> pl.DataFrame:
    """The ranked list of the open leads at ``data``."""
    scores = score_location(model, data, config, as_of=as_of)
    return rank_leads(scores, owner=owner, grades=grades, limit=limit)
