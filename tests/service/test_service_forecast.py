"""``GET /v1/forecast`` on a real app: the figures of the library's one forecast, from the
store's history, with validation errors naming the query parameter.

The store holds the small run as it was at ``AS_OF`` (what a CRM would have pushed until
then); the library's forecast of the whole run at ``AS_OF`` must be the same (point in time).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_support import Client, TestClient, make_keys, project_from

from leadscore.data.simulator import Tables
from leadscore.scoring.forecast import Period, forecast_leads
from leadscore.scoring.forecast_period import data_before
from leadscore.service import ServiceOptions, create_app
from leadscore.store import insert_touchpoints, record_outcomes, upsert_leads
from leadscore.training.propensity import TrainedPropensity

PROBLEM = "application/problem+json"
AS_OF = datetime(2025, 5, 15, tzinfo=UTC)
PERIOD = "2025-05-15..2025-06-04"
QUERY = {"target": 1_500_000, "period": PERIOD, "as_of": AS_OF.isoformat()}


@pytest.fixture(scope="module")
def full(
    mlflow_home: Path, tmp_path_factory: pytest.TempPathFactory, small_run: Tables
) -> Iterator[Client]:
    """A running app whose store holds the small run as it was at ``AS_OF``."""
    project = project_from(mlflow_home, tmp_path_factory.mktemp(f"fc-{uuid.uuid4().hex[:6]}"))
    app = create_app(project.settings, ServiceOptions(refresh_seconds=0, deliver_webhooks=False))
    with pytest.MonkeyPatch.context() as patch, TestClient(app) as http:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        store = app.state.store
        keys = make_keys(store)
        leads, touchpoints, outcomes = data_before(
            small_run.leads, small_run.touchpoints, small_run.outcomes, AS_OF
        )
        with store.transaction() as session:
            upsert_leads(session, leads.to_dicts(), AS_OF)
            insert_touchpoints(session, touchpoints.to_dicts(), AS_OF)
            record_outcomes(session, outcomes.to_dicts(), AS_OF)
        yield Client(http, keys, leads["lead_id"].to_list(), small_run)


def _get(client: Client, key: str | None = "read", **params: Any) -> Any:
    return client.request("GET", "/v1/forecast", key=key, params=params)


def test_forecast_is_the_library_forecast_of_the_store(
    full: Client, small_run: Tables, trained: TrainedPropensity
) -> None:
    answer = _get(full, **QUERY)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = forecast_leads(
        trained.model,
        small_run.leads,
        small_run.touchpoints,
        small_run.outcomes,
        full.http.app.state.pipeline,
        period=Period(AS_OF, AS_OF + timedelta(days=21)),
        target=QUERY["target"],
        as_of=AS_OF,
    ).to_dict()
    assert body["model_version"] == "1"
    assert body["open_leads"] == expected["open_leads"] > 0
    for figure in ("expected", "p_target", "q10", "q50", "q90", "gap_expected", "gap_median"):
        assert body[figure] == pytest.approx(expected[figure], rel=1e-9, abs=1e-9), figure
    assert [d["lead_id"] for d in body["drivers"]] == [d["lead_id"] for d in expected["drivers"]]
    spread = body["period_spread"]
    assert spread["factor_sd"] == pytest.approx(expected["period_spread"]["factor_sd"], abs=1e-12)
    assert spread["window_days"] == 21
    assert spread["estimated"]
    assert len(spread["windows"]) == len(expected["period_spread"]["windows"]) >= 4
    assert all(datetime.fromisoformat(w["end"]) <= AS_OF for w in spread["windows"])
    assert body["q10"] <= body["q50"] <= body["q90"]


def test_start_and_end_are_the_period(full: Client) -> None:
    by_period = _get(full, **QUERY).json()
    query = {k: v for k, v in QUERY.items() if k != "period"}
    by_days = _get(full, **query, start="2025-05-15", end="2025-06-04").json()
    assert by_days == by_period


def test_owner_keeps_one_reps_leads(full: Client, small_run: Tables) -> None:
    owner = sorted(small_run.leads["owner"].unique().to_list())[0]
    everyone = _get(full, **QUERY).json()
    one = _get(full, **QUERY, owner=owner)
    assert one.status_code == 200, one.text
    body = one.json()
    assert 0 < body["open_leads"] < everyone["open_leads"]
    assert {d["owner"] for d in body["drivers"]} == {owner}
    assert body["period_spread"] == everyone["period_spread"]


@pytest.mark.parametrize(
    ("params", "loc", "message"),
    [
        ({"period": "2025-07-01"}, "query.period", "period must be START..END"),
        ({"period": "2025-07-31..2025-07-01"}, "query.period", "END (2025-07-01) is before"),
        ({"period": "2025-13-01..2025-14-01"}, "query.period", "START must be an ISO date"),
        ({"period": "2025-04-01..2025-04-30"}, "query.period", "ended before the scoring time"),
        ({}, "query.period", "give period=START..END or start and end"),
        ({"start": "2025-05-15"}, "query.end", "give end too"),
        ({"start": "2025-05-31", "end": "2025-05-15"}, "query.end", "is before start"),
        ({"start": "9999-01-01", "end": "2025-06-04"}, "query.start", "less than or equal"),
        (
            {"period": PERIOD, "start": "2025-05-15"},
            "query.period",
            "either period=START..END or start and end",
        ),
        ({"period": PERIOD, "owner": "nobody"}, "query.owner", "the owners"),
        ({"period": PERIOD, "target": -1}, "query.target", "greater than"),
        ({"period": PERIOD, "target": "nan"}, "query.target", "finite"),
        ({"period": PERIOD, "as_of": "2025-05-15"}, "query.as_of", "timezone"),
    ],
    ids=[
        "no-range",
        "end-before-start",
        "bad-date",
        "ended",
        "no-period",
        "no-end",
        "end-before-start-days",
        "year",
        "both",
        "owner",
        "negative-target",
        "nan-target",
        "naive-as-of",
    ],
)
def test_invalid_query_is_422_naming_the_field(
    full: Client, params: dict[str, Any], loc: str, message: str
) -> None:
    query = {"target": 1_000, "as_of": AS_OF.isoformat(), **params}
    answer = _get(full, **query)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    errors = answer.json()["errors"]
    assert [e["loc"] for e in errors] == [loc]
    assert message in errors[0]["message"]


def test_target_is_required(full: Client) -> None:
    answer = _get(full, period=PERIOD)
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["errors"]] == ["query.target"]


@pytest.mark.parametrize(
    ("key", "status"), [(None, 401), ("score", 403)], ids=["no-key", "without-read-scope"]
)
def test_forecast_needs_a_key_with_the_read_scope(
    full: Client, key: str | None, status: int
) -> None:
    answer = _get(full, key=key, **QUERY)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")
