"""HTTP bodies: what clients send (``…In``), and what the service answers (``…Out``).

The rules are those of the data contract (:mod:`leadscore.data.schemas`): identifiers are
lower-case, timestamps carry a time zone, ``country`` is ISO 3166 alpha-2, ``deal_value`` and
``revenue`` are at least 0, ``initiated_by`` is ``lead`` or ``company``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)

from leadscore.data.countries import ISO_COUNTRIES

__all__ = [
    "MAX_BATCH",
    "MAX_SCORE_LEADS",
    "EventIn",
    "ForecastDriverOut",
    "ForecastOut",
    "ForecastPeriodOut",
    "IngestOut",
    "LeadDetailOut",
    "LeadFieldsIn",
    "LeadIn",
    "LeadOut",
    "LeadScoreOut",
    "NextBestTouchpoint",
    "NotScoredOut",
    "OutcomeIn",
    "OutcomesIn",
    "OutcomesOut",
    "PeriodSpreadOut",
    "RankedLeadOut",
    "RankingsOut",
    "ReadyOut",
    "ScoreIn",
    "ScoreOut",
    "ScoredLeadIn",
    "SpreadWindowOut",
    "TouchpointIn",
    "TouchpointSummaryOut",
    "TouchpointsIn",
    "WebhookDeliveryOut",
    "WebhookIn",
    "WebhookOut",
]

MAX_BATCH: Final = 5_000
"""Touchpoints or outcomes in one request, at most."""
MAX_SCORE_LEADS: Final = 500
"""Leads scored in one request, at most."""

_IDENTIFIER: Final = r"^[a-z0-9][a-z0-9_\-]*$"
Identifier = Annotated[str, Field(pattern=_IDENTIFIER, max_length=100)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
Text = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _year(value: datetime) -> datetime:
    if not 1900 <= value.year <= 2200:
        raise ValueError("the year must be between 1900 and 2200")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_utc), AfterValidator(_year)]


def _country(value: str | None) -> str | None:
    if value is not None and value not in ISO_COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeadFieldsIn(_In):
    """A lead's fields (the id comes from the path)."""

    created_at: Timestamp = Field(description="When the lead entered the CRM.")
    source: Identifier = Field(description="web_form, trade_fair, referral, partner, …")
    industry: Identifier | None = None
    company_size: Annotated[int, Field(ge=1, le=10_000_000)] | None = Field(
        default=None, description="Employees."
    )
    country: Annotated[str | None, AfterValidator(_country)] = Field(
        default=None, description="ISO 3166 alpha-2 code."
    )
    job_level: Identifier | None = None
    deal_value: Annotated[float, Field(ge=0, le=1e12)] | None = Field(
        default=None, description="Expected value of the deal."
    )
    owner: Text | None = Field(default=None, description="The sales rep.")
    extra: dict[Identifier, str | float | bool | None] = Field(
        default_factory=dict,
        max_length=50,
        description="Columns beyond the contract (declared as features in the pipeline).",
    )

    def row(self, lead_id: str) -> dict[str, Any]:
        """The lead as a canonical row."""
        fields = self.model_dump(exclude={"extra"})
        return {"lead_id": lead_id, **fields, **self.extra}


class LeadIn(LeadFieldsIn):
    """A lead with its id."""

    lead_id: Id


class EventIn(_In):
    """A touchpoint of a lead scored from the payload (its lead is the enclosing one)."""

    event_id: Id | None = None
    timestamp: Timestamp
    channel: Identifier = Field(description="email, web, webinar, trade_fair, phone, …")
    action: Identifier = Field(description="email_open, pricing_page_view, demo, …")
    initiated_by: Literal["lead", "company"]
    campaign: Text | None = None
    value: Annotated[float, Field(ge=-1e12, le=1e12)] | None = None


class TouchpointIn(EventIn):
    """A touchpoint to store; ``event_id`` makes storing it idempotent."""

    event_id: Id
    lead_id: Id

    def row(self) -> dict[str, Any]:
        """The touchpoint as a canonical row."""
        return self.model_dump()


class ScoredLeadIn(LeadIn):
    """A lead scored from the payload: its fields and its touchpoints."""

    touchpoints: list[EventIn] = Field(default_factory=list, max_length=MAX_BATCH)


class ScoreIn(_In):
    """Leads to score: ids of stored leads, or full leads with their touchpoints."""

    lead_ids: list[Id] | None = Field(default=None, min_length=1, max_length=MAX_SCORE_LEADS)
    leads: list[ScoredLeadIn] | None = Field(default=None, min_length=1, max_length=MAX_SCORE_LEADS)
    as_of: Timestamp | None = Field(
        default=None,
        description="Score as of this moment (default: now; only scores 'now' are recorded).",
    )

    @model_validator(mode="after")
    def _one_form(self) -> ScoreIn:
        if (self.lead_ids is None) == (self.leads is None):
            raise ValueError("give either lead_ids (stored leads) or leads (full payload)")
        if self.leads is not None:
            ids = [lead.lead_id for lead in self.leads]
            if len(set(ids)) != len(ids):
                raise ValueError("each lead may appear once in leads")
        return self


class TouchpointsIn(_In):
    """A batch of touchpoints."""

    touchpoints: list[TouchpointIn] = Field(min_length=1, max_length=MAX_BATCH)


class OutcomeIn(_In):
    """A decided lead: converted (with revenue) or lost."""

    lead_id: Id
    converted_at: Timestamp | None = None
    lost_at: Timestamp | None = None
    revenue: Annotated[float, Field(ge=0, le=1e12)] | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> OutcomeIn:
        if (self.converted_at is None) == (self.lost_at is None):
            raise ValueError("exactly one of converted_at and lost_at must be set")
        return self


class OutcomesIn(_In):
    """A batch of outcomes."""

    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=MAX_BATCH)


class WebhookIn(_In):
    """A receiver and its condition: a lead enters ``grade``, or its score reaches
    ``threshold``."""

    url: HttpUrl
    event: Literal["grade_entered", "score_crossed"]
    grade: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    threshold: Annotated[int, Field(ge=0, le=100)] | None = None

    @model_validator(mode="after")
    def _condition(self) -> WebhookIn:
        if self.event == "grade_entered" and self.grade is None:
            raise ValueError("a grade_entered webhook needs grade")
        if self.event == "score_crossed" and self.threshold is None:
            raise ValueError("a score_crossed webhook needs threshold")
        return self


# -- answers ---------------------------------------------------------------------------------


class NextBestTouchpoint(BaseModel):
    """A touchpoint the company can initiate now, and what it is expected to do."""

    model_config = ConfigDict(extra="allow")

    touchpoint: str
    probability: float
    uplift: float


class ScoreOut(BaseModel):
    """A lead's score."""

    lead_id: str
    as_of: datetime
    probability: float = Field(description="Calibrated probability to buy within the horizon.")
    score: int = Field(description="round(100 × probability).")
    grade: str
    trend: int | None = Field(description="Score now minus the score trend_days earlier.")
    expected_revenue: float | None
    reasons: list[str] = Field(description="What raises the probability, in plain words.")
    risks: list[str] = Field(description="What lowers it.")
    next_best_touchpoints: list[NextBestTouchpoint] = Field(
        default_factory=list,
        description="Best touchpoints to initiate, by uplift (empty until that model exists).",
    )
    model_version: str


class NotScoredOut(BaseModel):
    """A lead that was not scored, and why."""

    lead_id: str
    reason: str


class LeadScoreOut(BaseModel):
    """Scores, and the leads that could not be scored."""

    model_version: str | None
    scores: list[ScoreOut]
    not_scored: list[NotScoredOut]


class IngestOut(LeadScoreOut):
    """A stored touchpoint batch and the current scores of the leads it names."""

    received: int = Field(description="Touchpoints in the request.")


class OutcomesOut(BaseModel):
    """Outcomes recorded."""

    recorded: int


class LeadOut(BaseModel):
    """A stored lead."""

    lead_id: str
    created_at: datetime
    source: str
    industry: str | None
    company_size: int | None
    country: str | None
    job_level: str | None
    deal_value: float | None
    owner: str | None
    extra: dict[str, Any]


class TouchpointSummaryOut(BaseModel):
    """How many touchpoints a lead has, when, and of which kinds."""

    count: int
    first_at: datetime | None
    last_at: datetime | None
    by_channel: dict[str, int]
    by_action: dict[str, int]
    by_initiator: dict[str, int]


class HistoryOut(BaseModel):
    """One past score."""

    as_of: datetime
    scored_at: datetime
    probability: float
    score: int
    grade: str
    model_version: str


class LeadDetailOut(BaseModel):
    """A lead, its touchpoints, its current score and its score history (newest first)."""

    lead: LeadOut
    touchpoints: TouchpointSummaryOut
    score: ScoreOut | None
    outcome: Literal["open", "converted", "lost"]
    history: list[HistoryOut]


class RankedLeadOut(ScoreOut):
    """A lead in the ranked list."""

    owner: str | None
    source: str


class RankingsOut(BaseModel):
    """One page of ranked open leads; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[RankedLeadOut]
    next_cursor: str | None


class ReadyOut(BaseModel):
    """Readiness: the model is loaded and the database answers."""

    ready: bool
    model_version: str | None
    database: bool
    detail: str | None = None


class WebhookOut(BaseModel):
    """A registered webhook; ``secret`` (for checking signatures) only when created."""

    id: str
    url: str
    event: str
    grade: str | None
    threshold: int | None
    created_at: datetime
    secret: str | None = None


class WebhookDeliveryOut(BaseModel):
    """One delivery and its attempts."""

    id: str
    lead_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class ForecastPeriodOut(BaseModel):
    """The forecast period ``(start, end]``: END's day included, so ``end`` is the next
    midnight (UTC)."""

    start: datetime
    end: datetime
    days: float


class ForecastDriverOut(BaseModel):
    """A lead that matters for reaching the target."""

    lead_id: str
    owner: str | None = None
    deal_value: float
    probability: float = Field(description="Probability to convert within the horizon.")
    period_probability: float = Field(description="Probability to convert within the period.")
    expected_revenue: float = Field(description="period_probability × deal_value.")
    lift: float = Field(description="How much P(revenue ≥ target) rises if it converts.")


class SpreadWindowOut(BaseModel):
    """A past window of the period's length: what the model expected and what was won."""

    start: datetime
    end: datetime
    open_leads: int
    expected: float
    actual: float
    ratio: float = Field(description="actual / expected.")
    independent_sd: float = Field(
        description="Standard deviation of the ratio if the leads were independent."
    )
    expected_conversions: float
    actual_conversions: int


class PeriodSpreadOut(BaseModel):
    """The period-level spread: the standard deviation of the factor every lead's
    probability shares within the period, estimated from past windows of its length."""

    factor_sd: float
    estimated: bool = Field(description="False: too few past windows, leads independent.")
    window_days: float
    windows: list[SpreadWindowOut]


class ForecastOut(BaseModel):
    """The revenue the open pipeline wins within the period (``leadscore forecast --json``)."""

    as_of: datetime = Field(description="The scoring time.")
    period: ForecastPeriodOut
    horizon_days: int
    open_leads: int
    target: float
    booked: float = Field(description="Revenue already won in the period before as_of.")
    expected: float = Field(description="Expected revenue (booked included).")
    expected_conversions: float
    p_target: float = Field(description="P(revenue ≥ target).")
    q10: float
    q50: float
    q90: float
    gap_expected: float = Field(description="target − expected.")
    gap_median: float = Field(description="target − q50.")
    grid_step: float = Field(description="Step of the revenue grid of the distribution.")
    drivers: list[ForecastDriverOut] = Field(
        description="The leads whose conversion would raise P(revenue ≥ target) most."
    )
    period_spread: PeriodSpreadOut
    model_version: str
