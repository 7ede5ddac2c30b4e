"""The HTTP API end to end on a real app with a real champion and a real SQLite store."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from service_support import Client, json_ready

from leadscore.data.schemas import TIMESTAMP
from leadscore.features import open_snapshots
from leadscore.scoring import score_snapshots
from leadscore.service import auth
from leadscore.store import KeyInfo, Store, create_key, revoke_key
from leadscore.training.config import ScoringConfig
from leadscore.training.propensity import TrainedPropensity

PROBLEM = "application/problem+json"


def _new_lead(client: Client, **fields: object) -> str:
    lead_id = f"api-{uuid.uuid4().hex[:10]}"
    body = {
        "created_at": (datetime.now(UTC) - timedelta(days=20)).isoformat(),
        "source": "trade_fair",
        "industry": "manufacturing",
        "company_size": 250,
        "country": "DE",
        "job_level": "director",
        "deal_value": 40_000,
        "owner": "test-owner",
        **fields,
    }
    answer = client.request("PUT", f"/v1/leads/{lead_id}", json=body)
    assert answer.status_code == 200, answer.text
    return lead_id


def _events(lead_id: str, count: int, prefix: str | None = None) -> list[dict[str, object]]:
    prefix = prefix or uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    return [
        {
            "event_id": f"{prefix}-{n}",
            "lead_id": lead_id,
            "timestamp": (now - timedelta(days=n, hours=1)).isoformat(),
            "channel": "web",
            "action": "pricing_page_view",
            "initiated_by": "lead",
        }
        for n in range(count)
    ]


def test_score_stored_leads_by_id(client: Client) -> None:
    answer = client.request("POST", "/v1/score", json={"lead_ids": client.lead_ids[:10]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_version"] == "1"
    answered = [s["lead_id"] for s in body["scores"]] + [n["lead_id"] for n in body["not_scored"]]
    assert sorted(answered) == sorted(client.lead_ids[:10])
    for score in body["scores"]:
        assert 0 <= score["probability"] <= 1
        assert score["score"] == round(100 * score["probability"])
        assert score["grade"] in {"A", "B", "C", "D"}
        assert score["next_best_touchpoints"] == []


def test_a_score_is_in_the_history_when_the_lead_is_read(client: Client) -> None:
    lead_id = _new_lead(client)  # its upsert records a first score
    scored = client.request("POST", "/v1/score", json={"lead_ids": [lead_id]}, key="score")
    assert scored.status_code == 200, scored.text
    score = scored.json()["scores"][0]
    # The score history of POST /v1/score is written in the background; reading the lead
    # waits for what this process has computed.
    detail = client.request("GET", f"/v1/leads/{lead_id}", key="read").json()
    assert len(detail["history"]) == 2
    assert detail["score"]["as_of"] == score["as_of"]
    assert detail["score"]["probability"] == score["probability"]


def test_payload_scoring_is_the_library_path(client: Client, trained: TrainedPropensity) -> None:
    run = client.run
    lead = run.leads.filter(pl.col("lead_id") == client.lead_ids[0])
    events = run.touchpoints.filter(pl.col("lead_id") == client.lead_ids[0])
    as_of = lead["created_at"][0] + timedelta(days=40)
    payload = {
        "as_of": as_of.isoformat(),
        "leads": [
            {
                **json_ready(lead.drop("lead_id").row(0, named=True)),
                "lead_id": "payload-lead",
                "touchpoints": [
                    json_ready({k: v for k, v in e.items() if k != "lead_id"})
                    for e in events.to_dicts()
                ],
            }
        ],
    }
    answer = client.request("POST", "/v1/score", json=payload, key="score")
    assert answer.status_code == 200, answer.text
    got = answer.json()["scores"][0]
    snapshots = open_snapshots(
        lead, run.outcomes.head(0), pl.Series("as_of", [as_of], dtype=TIMESTAMP)
    )
    expected = score_snapshots(trained.model, lead, events, snapshots, ScoringConfig()).row(
        0, named=True
    )
    assert got["probability"] == pytest.approx(expected["probability"], abs=1e-12)
    assert (got["grade"], got["reasons"]) == (expected["grade"], expected["reasons"])


def test_touchpoints_are_idempotent_and_answer_the_same(client: Client) -> None:
    lead_id = _new_lead(client)
    batch = {"touchpoints": _events(lead_id, 5)}
    first = client.request("POST", "/v1/touchpoints", json=batch, key="ingest")
    again = client.request("POST", "/v1/touchpoints", json=batch, key="ingest")
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert first.json()["received"] == 5
    detail = client.request("GET", f"/v1/leads/{lead_id}").json()
    assert detail["touchpoints"]["count"] == 5
    assert len(detail["history"]) == 2  # the upsert and the first batch; not the replay
    assert detail["score"]["lead_id"] == lead_id


def test_unknown_leads_are_refused_with_field_paths(client: Client) -> None:
    lead_id = _new_lead(client)
    batch = _events(lead_id, 3)
    batch[1]["lead_id"] = "nobody"
    answer = client.request("POST", "/v1/touchpoints", json={"touchpoints": batch})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    assert [e["loc"] for e in answer.json()["errors"]] == ["body.touchpoints[1].lead_id"]
    detail = client.request("GET", f"/v1/leads/{lead_id}").json()
    assert detail["touchpoints"]["count"] == 0  # nothing of the batch was stored


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"timestamp": "2025-01-01T00:00:00"}, "body.touchpoints[0].timestamp"),
        ({"initiated_by": "robot"}, "body.touchpoints[0].initiated_by"),
        ({"channel": "Web Site"}, "body.touchpoints[0].channel"),
        ({"event_id": None}, "body.touchpoints[0].event_id"),
    ],
    ids=["naive-time", "initiator", "not-identifier", "no-event-id"],
)
def test_invalid_payloads_get_422_with_paths(
    client: Client, change: dict[str, object], loc: str
) -> None:
    event = {**_events("x", 1)[0], **change}
    answer = client.request("POST", "/v1/touchpoints", json={"touchpoints": [event]})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["status"] == 422 and problem["type"].endswith("invalid-input")
    assert loc in [e["loc"] for e in problem["errors"]]


def test_not_json_and_oversized_bodies(client: Client) -> None:
    broken = client.request(
        "POST", "/v1/score", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and broken.headers["content-type"] == PROBLEM
    huge = {"lead_ids": ["x" * 150] * 2000}
    too_big = client.request("POST", "/v1/score", json=huge)
    assert too_big.status_code == 413 and too_big.headers["content-type"] == PROBLEM


def test_lead_page_outcomes_and_rankings(client: Client) -> None:
    owner = f"owner-{uuid.uuid4().hex[:6]}"
    ids = [_new_lead(client, owner=owner, deal_value=1000 * n) for n in range(1, 6)]
    for lead_id in ids:
        client.request("POST", "/v1/touchpoints", json={"touchpoints": _events(lead_id, 2)})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"owner": owner, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.request("GET", "/v1/rankings", params=params, key="read").json()
        seen += [item["lead_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    closed = client.request(
        "POST",
        "/v1/outcomes",
        json={"outcomes": [{"lead_id": ids[0], "lost_at": datetime.now(UTC).isoformat()}]},
        key="ingest",
    )
    assert closed.json() == {"recorded": 1}
    csv = client.request(
        "GET", "/v1/rankings", params={"owner": owner}, headers={"Accept": "text/csv"}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("lead_id,owner,source,grade,score")
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(ids[1:])
    detail = client.request("GET", f"/v1/leads/{ids[0]}", key="read").json()
    assert detail["outcome"] == "lost"
    assert detail["lead"]["owner"] == owner
    missing = client.request("GET", "/v1/leads/nobody-at-all")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    bad_cursor = client.request("GET", "/v1/rankings", params={"cursor": "garbage"})
    assert bad_cursor.status_code == 422


def test_keys_scopes_and_problems(client: Client) -> None:
    for method, url in [("POST", "/v1/score"), ("GET", "/v1/rankings"), ("GET", "/metrics")]:
        answer = client.request(method, url, key=None, json={})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.headers["content-type"] == PROBLEM
    wrong = client.http.get(
        "/v1/rankings", headers={"X-API-Key": "lsk_0123456789abcdef_" + "x" * 43}
    )
    assert wrong.status_code == 401
    lacking = client.request("POST", "/v1/score", json={"lead_ids": ["a"]}, key="read")
    assert lacking.status_code == 403
    assert "lacks the scope 'score'" in lacking.json()["detail"]
    via_header = client.http.get("/v1/rankings", headers={"X-API-Key": client.keys["read"]})
    assert via_header.status_code == 200
    assert client.http.get("/healthz").json() == {"status": "ok"}


def test_readiness_and_metrics(client: Client) -> None:
    ready = client.request("GET", "/readyz", key="metrics")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "model_version": "1", "database": True, "detail": None}
    client.request("POST", "/v1/score", json={"lead_ids": client.lead_ids[:5]})
    text = client.request("GET", "/metrics", key="metrics").text
    assert "leadscore_model_version 1.0" in text
    assert 'leadscore_http_request_duration_seconds_count{method="POST",route="/v1/score"' in text
    assert "leadscore_scores_total{grade=" in text
    assert "leadscore_touchpoints_ingested_total" in text
    client.request("GET", f"/v1/leads/{client.lead_ids[0]}")  # waits for the history writes
    text = client.request("GET", "/metrics", key="metrics").text
    history = {
        name: float(value)
        for name, value in re.findall(r"^(leadscore_score_history_\w+) (\S+)$", text, re.M)
    }
    assert history["leadscore_score_history_pending"] == 0
    assert history["leadscore_score_history_written_total"] >= 1
    assert history["leadscore_score_history_dropped_total"] == 0
    assert history["leadscore_score_history_process_failures_total"] == 0


def test_a_valid_key_is_remembered_and_a_revoked_one_refused_once_forgotten(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = client.http.app.state.keys  # type: ignore[attr-defined]
    store = client.http.app.state.store  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    with store.transaction() as session:
        created = create_key(session, "short-lived", ["read"], now)
    lookups: list[str] = []
    real = auth._lookup

    def counted(store: Store, key: str) -> KeyInfo | None:
        lookups.append(key[:4])
        return real(store, key)

    monkeypatch.setattr(auth, "_lookup", counted)
    headers = {"X-API-Key": created.key}
    for _ in range(3):
        assert client.http.get("/v1/rankings", headers=headers).status_code == 200
    assert len(lookups) == 1  # then from the cache
    with store.transaction() as session:
        revoke_key(session, created.info.key_id, now)
    assert client.http.get("/v1/rankings", headers=headers).status_code == 200  # remembered
    keys.clear()  # what the cache time does on its own
    refused = client.http.get("/v1/rankings", headers=headers)
    assert refused.status_code == 401 and "unknown or revoked" in refused.text
    assert len(lookups) == 2
    unknown = {"X-API-Key": "lsk_0123456789abcdef_" + "y" * 43}
    for _ in range(2):
        assert client.http.get("/v1/rankings", headers=unknown).status_code == 401
    assert len(lookups) == 4  # unknown keys are looked up every time


def test_key_cache_forgets_after_its_time_and_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    info = KeyInfo("k", "name", ("read",), datetime.now(UTC), None)
    cache = auth.KeyCache(5.0, size=3)
    cache.put("first", info)
    assert cache.get("first") == info and cache.get("other") is None
    clock[0] += 4.9
    assert cache.get("first") == info
    clock[0] += 0.2
    assert cache.get("first") is None
    for name in ("a", "b", "c", "a", "d"):  # "a" put again is newer than "b"
        cache.put(name, info)
    assert [cache.get(n) is not None for n in ("a", "b", "c", "d")] == [True, False, True, True]
    off = auth.KeyCache(0.0)
    off.put("first", info)
    assert off.get("first") is None
