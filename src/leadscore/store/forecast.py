"""The pipeline forecast of the store's open leads, by the library's one forecast."""

from __future__ import annotations

from datetime import datetime

from leadscore.scoring.forecast import Forecast, Period, forecast_leads
from leadscore.store.records import stored_frames
from leadscore.store.session import Store
from leadscore.training.config import PipelineConfig
from leadscore.training.model import PropensityModel

__all__ = ["forecast_stored"]


def forecast_stored(
    store: Store,
    model: PropensityModel,
    config: PipelineConfig,
    *,
    period: Period,
    target: float,
    as_of: datetime,
    owner: str | None = None,
) -> Forecast:
    """The forecast of the revenue the leads open at ``as_of`` win within ``period``, from
    every stored lead, touchpoint and outcome (read in one transaction) with
    :func:`leadscore.scoring.forecast.forecast_leads`; ``owner`` keeps one rep's leads."""
    with store.transaction() as session:
        frames = stored_frames(session)
    return forecast_leads(
        model,
        frames.leads,
        frames.touchpoints,
        frames.outcomes,
        config,
        period=period,
        target=target,
        as_of=as_of,
        owner=owner,
    )
