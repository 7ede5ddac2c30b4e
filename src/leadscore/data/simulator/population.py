"""Who the leads are: arrival days, firmographics, owners and the hidden per-lead attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from leadscore.data.simulator.calendar import Calendar

__all__ = ["COUNTRIES", "INDUSTRIES", "JOB_LEVELS", "OWNERS", "SOURCES", "Population", "draw"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

SOURCES: Final = (
    "web_form",
    "outbound",
    "referral",
    "inbound_call",
    "partner",
    "social",
    "trade_fair",
)
_SOURCE_P: Final = (0.33, 0.17, 0.08, 0.07, 0.09, 0.14, 0.12)
#: Readiness a lead starts with, by source: P(r0 = 0 … 4).
_START_READINESS: Final = {
    "web_form": (0.25, 0.35, 0.25, 0.12, 0.03),
    "outbound": (0.60, 0.30, 0.10, 0.00, 0.00),
    "referral": (0.05, 0.25, 0.35, 0.25, 0.10),
    "inbound_call": (0.05, 0.20, 0.30, 0.30, 0.15),
    "partner": (0.15, 0.30, 0.30, 0.20, 0.05),
    "social": (0.55, 0.30, 0.15, 0.00, 0.00),
    "trade_fair": (0.20, 0.35, 0.30, 0.12, 0.03),
}
#: Sources whose lead arrives with a touchpoint of its own (the form, the call, the booth).
CREATION_ACTIONS: Final = {
    "web_form": ("form_submit", "web"),
    "inbound_call": ("inbound_call", "phone"),
    "trade_fair": ("booth_visit", "trade_fair"),
}

INDUSTRIES: Final = (
    "software",
    "manufacturing",
    "financial_services",
    "logistics",
    "healthcare",
    "energy",
    "retail",
    "construction",
    "education",
    "public_sector",
)
_INDUSTRY_P: Final = (0.16, 0.18, 0.09, 0.08, 0.09, 0.05, 0.12, 0.09, 0.07, 0.07)
_INDUSTRY_FIT: Final = (2, 2, 1, 1, 1, 1, 0, 0, 0, 0)
JOB_LEVELS: Final = ("c_level", "vp", "director", "manager", "individual_contributor")
_JOB_P: Final = (0.10, 0.10, 0.20, 0.32, 0.28)
_JOB_FIT: Final = (1, 2, 2, 1, 0)
COUNTRIES: Final = ("DE", "AT", "CH", "NL", "FR", "GB", "US", "IT", "ES", "PL")
_COUNTRY_P: Final = (0.34, 0.08, 0.08, 0.06, 0.08, 0.10, 0.12, 0.05, 0.05, 0.04)
#: Sales reps: (name, serves enterprise, capacity level 0 busy … 2 slack).
OWNERS: Final = (
    ("anna.schmidt", True, 1),
    ("jonas.weber", True, 2),
    ("lea.fischer", True, 0),
    ("max.mueller", False, 1),
    ("sofia.rossi", False, 2),
    ("tom.becker", False, 0),
    ("nina.wagner", False, 1),
    ("paul.meyer", False, 0),
    ("emma.schulz", False, 2),
    ("lukas.hoffmann", False, 1),
)
_ACTIVITY_P: Final = (0.30, 0.45, 0.25)
_MISSING: Final = {"industry": 0.05, "job_level": 0.08, "company_size": 0.04, "country": 0.02}


@dataclass(frozen=True)
class Population:
    """The leads of one run, one entry per lead, in order of arrival."""

    created_day: IntArray
    created_second: IntArray
    source: IntArray
    industry: IntArray
    job_level: IntArray
    country: IntArray
    company_size: IntArray
    deal_value: FloatArray
    owner: IntArray
    size_band: IntArray
    fit: IntArray
    activity: IntArray
    readiness: IntArray
    missing: dict[str, NDArray[np.bool_]]

    @property
    def capacity(self) -> IntArray:
        levels = np.array([cap for _, _, cap in OWNERS], dtype=np.int64)
        return levels[self.owner]

    def __len__(self) -> int:
        return len(self.created_day)


def _arrival_days(rng: np.random.Generator, n: int, calendar: Calendar) -> IntArray:
    days = np.arange(calendar.days)
    weekday = (calendar.start.weekday() + days) % 7
    weight = np.where(weekday < 5, 1.0, 0.25) * (1.0 + 0.4 * days / calendar.days)
    weight /= weight.sum()
    return np.sort(rng.choice(calendar.days, size=n, p=weight)).astype(np.int64)


def draw(rng: np.random.Generator, n: int, calendar: Calendar) -> Population:
    """Draw ``n`` leads arriving over the calendar's period."""
    created = _arrival_days(rng, n, calendar)
    source = rng.choice(len(SOURCES), size=n, p=_SOURCE_P).astype(np.int64)
    fair_source = source == SOURCES.index("trade_fair")
    if calendar.fair_days.size:
        created[fair_source] = rng.choice(calendar.fair_days, size=int(fair_source.sum()))
    order = np.argsort(created, kind="stable")
    created, source = created[order], source[order]

    industry = rng.choice(len(INDUSTRIES), size=n, p=_INDUSTRY_P).astype(np.int64)
    job = rng.choice(len(JOB_LEVELS), size=n, p=_JOB_P).astype(np.int64)
    country = rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P).astype(np.int64)
    size = np.clip(np.ceil(np.exp(rng.normal(3.6, 1.7, size=n))), 1, 250_000).astype(np.int64)
    band = np.where(size < 50, 0, np.where(size < 1000, 1, 2)).astype(np.int64)
    deal = np.exp(7.6 + 0.38 * np.log(size) + rng.normal(0.0, 0.7, size=n))
    deal = np.round(deal, -1)
    points = np.array(_INDUSTRY_FIT)[industry] + np.array(_JOB_FIT)[job]
    fit = np.where(points <= 1, 0, np.where(points == 2, 1, 2)).astype(np.int64)

    enterprise_reps = np.array([i for i, o in enumerate(OWNERS) if o[1]])
    other_reps = np.array([i for i, o in enumerate(OWNERS) if not o[1]])
    owner = np.where(
        band == 2,
        rng.choice(enterprise_reps, size=n),
        np.where(band == 1, rng.choice(len(OWNERS), size=n), rng.choice(other_reps, size=n)),
    ).astype(np.int64)

    start_p = np.array([_START_READINESS[s] for s in SOURCES])
    cum = np.cumsum(start_p[source], axis=1)
    readiness = (rng.random(n)[:, None] > cum).sum(axis=1).astype(np.int64)
    activity = rng.choice(len(_ACTIVITY_P), size=n, p=_ACTIVITY_P).astype(np.int64)
    missing = {col: rng.random(n) < p for col, p in _MISSING.items()}
    seconds = rng.integers(7 * 3600, 18 * 3600, size=n).astype(np.int64)
    return Population(
        created_day=created,
        created_second=seconds,
        source=source,
        industry=industry,
        job_level=job,
        country=country,
        company_size=size,
        deal_value=deal.astype(np.float64),
        owner=owner,
        size_band=band,
        fit=fit,
        activity=activity,
        readiness=readiness,
        missing=missing,
    )
