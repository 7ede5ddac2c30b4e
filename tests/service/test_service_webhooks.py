"""Webhooks against a local receiver: signed, retried after a failure, logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from service_support import Client, TestClient, make_keys, project_from

from leadscore.data.simulator import Tables
from leadscore.service import DeliveryPolicy, ServiceOptions, create_app


class Receiver:
    """A local HTTP server that answers 500 to the first ``fail`` requests, then 200."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                status = 500 if len(outer.received) <= outer.fail else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooked(mlflow_home: Path, tmp_path: Path, small_run: Tables) -> Iterator[Client]:
    project = project_from(mlflow_home, tmp_path)
    policy = DeliveryPolicy(poll_seconds=0.05, backoff_seconds=0.1, max_attempts=5)
    app = create_app(project.settings, ServiceOptions(refresh_seconds=0, webhooks=policy))
    with pytest.MonkeyPatch.context() as patch, TestClient(app) as http:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield Client(http, make_keys(app.state.store), [], small_run)


def _wait(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_signed_delivery_is_retried_until_received(hooked: Client) -> None:
    with Receiver(fail=1) as receiver:
        created = hooked.request(
            "POST",
            "/v1/webhooks",
            json={"url": receiver.url, "event": "score_crossed", "threshold": 0},
            key="webhooks",
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        lead_id = f"hook-{uuid.uuid4().hex[:8]}"
        lead = {
            "created_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
            "source": "referral",
        }
        assert hooked.request("PUT", f"/v1/leads/{lead_id}", json=lead).status_code == 200
        _wait(lambda: len(receiver.received) >= 2)
        log_url = f"/v1/webhooks/{hook['id']}/deliveries"
        _wait(lambda: hooked.request("GET", log_url).json()[0]["status"] == "delivered")
    log = hooked.request("GET", log_url).json()
    assert [(d["lead_id"], d["attempts"], d["last_status_code"]) for d in log] == [
        (lead_id, 2, 200)
    ]
    (first, body), (second, again) = receiver.received[:2]
    assert body == again
    assert first["X-Leadscore-Delivery"] == second["X-Leadscore-Delivery"] == log[0]["id"]
    for headers, raw in receiver.received[:2]:
        stamp = headers["X-Leadscore-Timestamp"]
        mac = hmac.new(hook["secret"].encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        assert headers["X-Leadscore-Signature"] == f"sha256={mac.hexdigest()}"
    payload = json.loads(body)
    assert (payload["event"], payload["lead_id"], payload["previous_score"]) == (
        "score_crossed",
        lead_id,
        None,
    )
    listed = hooked.request("GET", "/v1/webhooks").json()
    assert [h["id"] for h in listed] == [hook["id"]] and listed[0]["secret"] is None


def test_webhook_conditions_are_checked(hooked: Client) -> None:
    missing = hooked.request(
        "POST", "/v1/webhooks", json={"url": "http://x.example", "event": "grade_entered"}
    )
    assert missing.status_code == 422
    assert "needs grade" in missing.text
    gone = hooked.request("DELETE", f"/v1/webhooks/{uuid.uuid4().hex}")
    assert gone.status_code == 404
