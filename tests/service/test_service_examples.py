"""``api/examples/``: real requests and the real app's answers.

With ``LEADSCORE_WRITE_EXAMPLES=1`` this test writes the files from the running app; without it
the test replays every committed request and checks that status, content type and the shape of
each answer (its keys, recursively) are still what the files show. Requests are dated relative
to the day the examples run, so dates in a path are compared as ``DATE``.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_support import Client, TestClient, make_keys, project_from

from leadscore.data.simulator import Tables
from leadscore.service import ServiceOptions, create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "api" / "examples"
KEY = "<API_KEY>"
NOW = datetime.now(UTC).replace(microsecond=0)


def _at(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def _requests() -> list[tuple[str, str, str, Any]]:
    """(name, method, path, body) in the order an integration would send them."""
    lead = {
        "created_at": _at(30),
        "source": "trade_fair",
        "industry": "manufacturing",
        "company_size": 480,
        "country": "DE",
        "job_level": "director",
        "deal_value": 42000,
        "owner": "anna.schmidt",
    }
    events = [
        {
            "event_id": f"crm-evt-{n}",
            "lead_id": "lead-1001",
            "timestamp": _at(n + 0.5),
            "channel": channel,
            "action": action,
            "initiated_by": by,
        }
        for n, (channel, action, by) in enumerate(
            [
                ("web", "pricing_page_view", "lead"),
                ("web", "pricing_page_view", "lead"),
                ("webinar", "webinar_attendance", "lead"),
                ("email", "email_click", "lead"),
                ("phone", "call", "company"),
            ]
        )
    ]
    payload_lead = {
        **lead,
        "lead_id": "prospect-77",
        "touchpoints": [{k: v for k, v in e.items() if k != "lead_id"} for e in events[:3]],
    }
    return [
        ("01-put-lead", "PUT", "/v1/leads/lead-1001", lead),
        ("02-put-second-lead", "PUT", "/v1/leads/lead-1002", {**lead, "deal_value": 9000}),
        ("03-post-touchpoints", "POST", "/v1/touchpoints", {"touchpoints": events}),
        ("04-post-touchpoints-replay", "POST", "/v1/touchpoints", {"touchpoints": events}),
        ("05-score-by-id", "POST", "/v1/score", {"lead_ids": ["lead-1001", "lead-1002"]}),
        ("06-score-payload", "POST", "/v1/score", {"leads": [payload_lead]}),
        ("07-get-lead", "GET", "/v1/leads/lead-1001", None),
        ("08-rankings", "GET", "/v1/rankings?owner=anna.schmidt&limit=1", None),
        (
            "09-outcome",
            "POST",
            "/v1/outcomes",
            {"outcomes": [{"lead_id": "lead-1002", "lost_at": _at(0.1)}]},
        ),
        (
            "10-invalid-touchpoint",
            "POST",
            "/v1/touchpoints",
            {"touchpoints": [{**events[0], "event_id": "x", "timestamp": "2025-05-01 10:00"}]},
        ),
        ("11-no-key", "GET", "/v1/rankings", None),
        (
            "12-forecast",
            "GET",
            f"/v1/forecast?target=40000&period={NOW:%Y-%m-%d}..{NOW + timedelta(days=29):%Y-%m-%d}",
            None,
        ),
    ]


@pytest.fixture(scope="module")
def fresh(mlflow_home: Path, tmp_path_factory: pytest.TempPathFactory, small_run: Tables) -> Any:
    project = project_from(mlflow_home, tmp_path_factory.mktemp(f"ex-{uuid.uuid4().hex[:6]}"))
    app = create_app(project.settings, ServiceOptions(refresh_seconds=0, deliver_webhooks=False))
    with pytest.MonkeyPatch.context() as patch, TestClient(app) as http:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield Client(http, make_keys(app.state.store), [], small_run)


def _undated(path: str) -> str:
    return re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", path)


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else None


def _send(client: Client, name: str, method: str, path: str, body: Any) -> dict[str, Any]:
    key = None if name.endswith("no-key") else "all"
    answer = client.request(method, path, key=key, json=body)
    kind = answer.headers["content-type"]
    return {
        "request": {
            "method": method,
            "path": path,
            "headers": {} if key is None else {"Authorization": f"Bearer {KEY}"},
            "body": body,
        },
        "response": {
            "status": answer.status_code,
            "headers": {"content-type": kind},
            "body": answer.json() if "json" in kind else answer.text,
        },
    }


def test_examples_are_what_the_app_answers(fresh: Client) -> None:
    write = os.environ.get("LEADSCORE_WRITE_EXAMPLES") == "1"
    for name, method, path, body in _requests():
        exchange = _send(fresh, name, method, path, body)
        file = EXAMPLES / f"{name}.json"
        if write:
            EXAMPLES.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(exchange, indent=2, ensure_ascii=False) + "\n")
            continue
        committed = json.loads(file.read_text(encoding="utf-8"))
        assert _undated(committed["request"]["path"]) == _undated(path), name
        assert exchange["response"]["status"] == committed["response"]["status"], name
        assert exchange["response"]["headers"] == committed["response"]["headers"], name
        got, want = exchange["response"]["body"], committed["response"]["body"]
        if name.startswith("04"):
            assert got == _send(fresh, name, method, path, body)["response"]["body"]
        if isinstance(want, dict) and want.get("scores") == []:
            continue
        assert _shape(got).keys() == _shape(want).keys(), name
