"""``GET /v1/forecast``: will the store's open pipeline reach the target within a period?"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Query

from leadscore.errors import UsageError
from leadscore.scoring.forecast import Period, UnknownOwner, parse_period
from leadscore.scoring.forecast_period import period_between
from leadscore.service.deps import PipelineDep, ReadKey, ScoringDep, StoreDep
from leadscore.service.problems import FieldError, ProblemError, responses
from leadscore.service.schemas import ForecastOut, Timestamp
from leadscore.store import forecast_stored

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["forecast"])

_MAX_TARGET: Final = 1e15
_FIRST_DAY: Final = date(1900, 1, 1)
_LAST_DAY: Final = date(2200, 12, 31)


def _invalid(loc: str, message: str) -> ProblemError:
    return ProblemError(
        422,
        f"The query parameter {loc.removeprefix('query.')} is invalid: {message}",
        errors=[FieldError(loc=loc, message=message, type="value_error")],
    )


def _period(text: str | None, start: date | None, end: date | None) -> Period:
    """The period from ``period=START..END`` or from ``start`` and ``end``."""
    if text is not None:
        if start is not None or end is not None:
            raise _invalid("query.period", "give either period=START..END or start and end.")
        try:
            return parse_period(text, name="period")
        except UsageError as exc:
            raise _invalid("query.period", str(exc)) from exc
    if start is None and end is None:
        raise _invalid("query.period", "give period=START..END or start and end (ISO dates).")
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise _invalid(f"query.{missing}", f"give {missing} too (an ISO date), or period.")
    if end < start:
        raise _invalid("query.end", f"end ({end}) is before start ({start}).")
    return period_between(start.isoformat(), end.isoformat(), name="period")


@router.get(
    "/forecast",
    operation_id="get_forecast",
    response_model=ForecastOut,
    responses=responses(401, 403, 422, 503),
)
def forecast(
    _key: ReadKey,
    store: StoreDep,
    scoring: ScoringDep,
    pipeline: PipelineDep,
    target: Annotated[
        float,
        Query(ge=0, le=_MAX_TARGET, allow_inf_nan=False, description="The sales target."),
    ],
    period: Annotated[
        str | None,
        Query(
            max_length=100,
            description="START..END, ISO dates, END included: 2026-01-01..2026-03-31.",
        ),
    ] = None,
    start: Annotated[
        date | None,
        Query(ge=_FIRST_DAY, le=_LAST_DAY, description="First day of the period (or period)."),
    ] = None,
    end: Annotated[
        date | None,
        Query(
            ge=_FIRST_DAY, le=_LAST_DAY, description="Last day of the period, included (or period)."
        ),
    ] = None,
    owner: Annotated[
        str | None, Query(max_length=200, description="Only this rep's leads.")
    ] = None,
    as_of: Annotated[
        Timestamp | None, Query(description="Score as of this time (default: now).")
    ] = None,
) -> ForecastOut:
    """The distribution of the revenue the open leads win within the period.

    Every lead open at ``as_of`` is scored by the champion, its probability turned from the
    horizon to the period and the leads combined exactly, mixed over the period-level spread
    estimated from the history before ``as_of``: expected revenue, P(revenue ≥ target), the
    10/50/90 % quantiles, the gap and the leads that matter most — the figures of
    ``leadscore forecast --json``. It reads the store's whole history, so it takes seconds
    on a large store.
    """
    window = _period(period, start, end)
    when = as_of or datetime.now(UTC)
    if window.end <= when:
        raise _invalid(
            "query.period" if period is not None else "query.end",
            f"the period {window.label()} ended before the scoring time "
            f"{when:%Y-%m-%d %H:%M} UTC; forecast a later period.",
        )
    try:
        result = forecast_stored(
            store,
            scoring.model,
            pipeline,
            period=window,
            target=target,
            as_of=when,
            owner=owner,
        )
    except UnknownOwner as exc:
        raise _invalid("query.owner", str(exc)) from exc
    return ForecastOut.model_validate({**result.to_dict(), "model_version": scoring.version})
