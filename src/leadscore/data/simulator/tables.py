"""Turn a simulated run into the canonical tables and the truth tables (polars)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.data.schemas import TIMESTAMP
from leadscore.data.simulator.calendar import Calendar
from leadscore.data.simulator.journeys import Journeys
from leadscore.data.simulator.population import (
    COUNTRIES,
    CREATION_ACTIONS,
    INDUSTRIES,
    JOB_LEVELS,
    OWNERS,
    SOURCES,
    Population,
)
from leadscore.data.simulator.truth import Chains, state_index, truth_values
from leadscore.data.simulator.world import (
    ACTION_CHANNELS,
    ACTIONS,
    LEAD_ACTION_CHANNELS,
    LEAD_ACTIONS,
    SIZE_BANDS,
    STAGES,
    World,
    stage_of,
)

__all__ = ["Tables", "build_tables", "lead_ids"]

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Tables:
    """The canonical tables of a run and its truth tables."""

    leads: pl.DataFrame
    touchpoints: pl.DataFrame
    outcomes: pl.DataFrame
    truth: pl.DataFrame
    company_touchpoints: pl.DataFrame


def lead_ids(n: int) -> list[str]:
    width = max(6, len(str(n)))
    return [f"L{i:0{width}d}" for i in range(1, n + 1)]


def _ts(values: IntArray) -> pl.Series:
    return pl.Series(values, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _leads(people: Population, calendar: Calendar, ids: list[str]) -> pl.DataFrame:
    def cat(names: tuple[str, ...], codes: IntArray, missing: str | None = None) -> pl.Series:
        values = np.asarray(names, dtype=object)[codes]
        if missing is not None:
            values = values.copy()
            values[people.missing[missing]] = None
        return pl.Series(values.tolist(), dtype=pl.String)

    size = pl.Series(people.company_size).scatter(
        np.flatnonzero(people.missing["company_size"]), None
    )
    return pl.DataFrame(
        {
            "lead_id": ids,
            "created_at": _ts(calendar.timestamp_us(people.created_day, people.created_second)),
            "source": cat(SOURCES, people.source),
            "industry": cat(INDUSTRIES, people.industry, "industry"),
            "company_size": size.cast(pl.Int64),
            "country": cat(COUNTRIES, people.country, "country"),
            "job_level": cat(JOB_LEVELS, people.job_level, "job_level"),
            "deal_value": people.deal_value,
            "owner": cat(tuple(o[0] for o in OWNERS), people.owner),
        }
    )


def _campaigns(
    calendar: Calendar, day: IntArray, action: NDArray[np.object_], band: IntArray
) -> list[str | None]:
    """Campaign of each event: the fair, the monthly webinar or the nurture track."""
    horizon = np.arange(calendar.fair_index.size)
    month = np.array(
        [f"webinar_{calendar.start + dt.timedelta(days=int(t)):%Y_%m}" for t in horizon],
        dtype=object,
    )
    fair_name = np.array(
        [calendar.fair_name(int(t)) if calendar.fair_index[t] >= 0 else None for t in horizon],
        dtype=object,
    )
    out = np.full(day.size, None, dtype=object)
    booth = action == "booth_visit"
    out[booth] = fair_name[day[booth]]
    invite = action == "trade_fair_invitation"
    if calendar.fair_days.size:
        nxt = np.minimum(
            np.searchsorted(calendar.fair_days, day[invite]), calendar.fair_days.size - 1
        )
        out[invite] = fair_name[calendar.fair_days[nxt]]
    webinar = (action == "webinar_invitation") | (action == "webinar_attendance")
    out[webinar] = month[day[webinar]]
    nurture = action == "nurture_email"
    out[nurture] = np.array([f"nurture_{b}" for b in SIZE_BANDS], dtype=object)[band[nurture]]
    return list(out.tolist())


def _touchpoints(
    rng: np.random.Generator,
    people: Population,
    journeys: Journeys,
    calendar: Calendar,
    ids: list[str],
) -> tuple[pl.DataFrame, IntArray]:
    """All touchpoints sorted by time, and the position of each company event in that order."""
    made = np.flatnonzero(np.isin(people.source, [SOURCES.index(s) for s in CREATION_ACTIONS]))
    creation_action = [CREATION_ACTIONS[SOURCES[s]][0] for s in people.source[made]]

    lead_rep = np.repeat(np.arange(journeys.lead_lead.size), journeys.lead_count)
    l_lead, l_day = journeys.lead_lead[lead_rep], journeys.lead_day[lead_rep]
    l_action = np.asarray(LEAD_ACTIONS, dtype=object)[journeys.lead_type[lead_rep]]
    l_second = rng.integers(0, 18 * 3600, size=l_lead.size)

    c_second = rng.integers(8 * 3600, 17 * 3600, size=journeys.company_lead.size)
    c_action = np.asarray(ACTIONS, dtype=object)[journeys.company_action]

    lead = np.concatenate([made, l_lead, journeys.company_lead])
    day = np.concatenate([people.created_day[made], l_day, journeys.company_day])
    second = np.concatenate([people.created_second[made], l_second, c_second])
    action = np.concatenate([np.asarray(creation_action, dtype=object), l_action, c_action])
    by_company = np.zeros(lead.size, dtype=bool)
    by_company[made.size + l_lead.size :] = True

    stamp = calendar.timestamp_us(day, second)
    order = np.lexsort((lead, stamp))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    company_pos = rank[made.size + l_lead.size :]

    lead, day, stamp, action, by_company = (
        lead[order],
        day[order],
        stamp[order],
        action[order],
        by_company[order],
    )
    names = action.tolist()
    channels = {**LEAD_ACTION_CHANNELS, **ACTION_CHANNELS, **dict(CREATION_ACTIONS.values())}
    channel = [channels[a] for a in names]
    offer = action == "offer_sent"
    value = np.full(lead.size, np.nan)
    value[offer] = np.round(
        people.deal_value[lead[offer]] * rng.uniform(0.85, 1.15, offer.sum()), -1
    )
    width = max(7, len(str(lead.size)))
    frame = pl.DataFrame(
        {
            "event_id": [f"E{i:0{width}d}" for i in range(1, lead.size + 1)],
            "lead_id": np.asarray(ids, dtype=object)[lead].tolist(),
            "timestamp": _ts(stamp),
            "channel": channel,
            "action": names,
            "initiated_by": np.where(by_company, "company", "lead").tolist(),
            "campaign": pl.Series(
                _campaigns(calendar, day, action, people.size_band[lead]), dtype=pl.String
            ),
            "value": pl.Series(value).fill_nan(None),
        }
    )
    return frame, company_pos


def _outcomes(
    rng: np.random.Generator,
    people: Population,
    journeys: Journeys,
    calendar: Calendar,
    ids: list[str],
) -> pl.DataFrame:
    won = np.flatnonzero(journeys.converted_day >= 0)
    lost = np.flatnonzero(journeys.lost_day >= 0)
    sec_won = rng.integers(18 * 3600, 24 * 3600, size=won.size)
    sec_lost = rng.integers(18 * 3600, 24 * 3600, size=lost.size)
    revenue = np.round(people.deal_value[won] * rng.lognormal(0.0, 0.15, won.size), -1)
    converted = pl.DataFrame(
        {
            "lead_id": np.asarray(ids, dtype=object)[won].tolist(),
            "converted_at": _ts(calendar.timestamp_us(journeys.converted_day[won], sec_won)),
            "lost_at": pl.Series([None] * won.size, dtype=TIMESTAMP),
            "revenue": revenue,
        }
    )
    gone = pl.DataFrame(
        {
            "lead_id": np.asarray(ids, dtype=object)[lost].tolist(),
            "converted_at": pl.Series([None] * lost.size, dtype=TIMESTAMP),
            "lost_at": _ts(calendar.timestamp_us(journeys.lost_day[lost], sec_lost)),
            "revenue": pl.Series([None] * lost.size, dtype=pl.Float64),
        }
    )
    return pl.concat([converted, gone]).sort(pl.coalesce("converted_at", "lost_at"), "lead_id")


def _truth(
    world: World, people: Population, journeys: Journeys, calendar: Calendar, ids: list[str]
) -> pl.DataFrame:
    chains = Chains.of(people.size_band, people.fit, people.capacity, people.activity)
    days = np.array([s.day for s in journeys.snapshots], dtype=np.int64)
    values = truth_values(world, chains, calendar, days)
    parts: list[pl.DataFrame] = []
    for snap in journeys.snapshots:
        q, v, pi = values[snap.day]
        k = chains.of_lead[snap.lead]
        s = state_index(snap.readiness, snap.hotness, snap.demo)
        conv_day = journeys.converted_day[snap.lead]
        label = (conv_day >= snap.day) & (conv_day < snap.day + calendar.horizon)
        columns: dict[str, object] = {
            "lead_id": np.asarray(ids, dtype=object)[snap.lead].tolist(),
            "as_of": _ts(
                calendar.timestamp_us(
                    np.full(snap.lead.size, snap.day), np.zeros(snap.lead.size, dtype=np.int64)
                )
            ),
            "readiness": snap.readiness,
            "stage": np.asarray(STAGES, dtype=object)[stage_of(snap.readiness)].tolist(),
            "size_band": np.asarray(SIZE_BANDS, dtype=object)[people.size_band[snap.lead]].tolist(),
            "p_true": v[k, s],
        }
        for a, name in enumerate(ACTIONS):
            columns[f"p_{name}"] = q[k, a, s]
        for a, name in enumerate(ACTIONS):
            columns[f"pi_{name}"] = pi[k, s, a]
        columns["converted"] = label
        parts.append(pl.DataFrame(columns))
    return pl.concat(parts) if parts else pl.DataFrame()


def build_tables(
    rng: np.random.Generator,
    world: World,
    people: Population,
    journeys: Journeys,
    calendar: Calendar,
) -> Tables:
    """Assemble leads, touchpoints, outcomes and the truth tables of a simulated run."""
    ids = lead_ids(len(people))
    touchpoints, company_pos = _touchpoints(rng, people, journeys, calendar, ids)
    company = pl.DataFrame(
        {
            "event_id": touchpoints["event_id"].gather(company_pos),
            "lead_id": np.asarray(ids, dtype=object)[journeys.company_lead].tolist(),
            "touchpoint": np.asarray(ACTIONS, dtype=object)[journeys.company_action].tolist(),
            "readiness": journeys.company_readiness,
            "stage": np.asarray(STAGES, dtype=object)[
                stage_of(journeys.company_readiness)
            ].tolist(),
        }
    )
    return Tables(
        leads=_leads(people, calendar, ids),
        touchpoints=touchpoints,
        outcomes=_outcomes(rng, people, journeys, calendar, ids),
        truth=_truth(world, people, journeys, calendar, ids),
        company_touchpoints=company,
    )
