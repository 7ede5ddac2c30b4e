"""The committed contract: ``api/openapi.json`` matches the app; every protected route needs a
key; keys never show up in answers or logs."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from service_support import Client

from leadscore.cli.serve import write_openapi

API = Path(__file__).resolve().parents[2] / "api"
PROBLEM = "application/problem+json"


def test_committed_openapi_is_current(tmp_path: Path) -> None:
    fresh = write_openapi(tmp_path / "openapi.json").read_text(encoding="utf-8")
    committed = (API / "openapi.json").read_text(encoding="utf-8")
    assert fresh == committed, (
        "api/openapi.json is stale: regenerate it with "
        "`.venv/bin/leadscore serve --openapi api/openapi.json`."
    )


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = json.loads((API / "openapi.json").read_text(encoding="utf-8"))
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [(m, p) for m, p, _ in _operations() if p != "/healthz"],
    ids=str,
)
def test_every_protected_route_answers_401_without_a_key(
    client: Client, method: str, path: str
) -> None:
    url = re.sub(r"\{[^}]+\}", "0" * 32, path)
    answer = client.request(method, url, key=None, json={})
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == PROBLEM


def test_every_error_answer_is_documented_as_problem_json() -> None:
    for method, path, operation in _operations():
        for status, answer in operation["responses"].items():
            if int(status) >= 400 and not (path == "/readyz" and status == "503"):
                assert list(answer["content"]) == [PROBLEM], (method, path, status)


def test_keys_never_appear_in_answers_or_logs(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [
        client.request("POST", "/v1/score", json={"lead_ids": client.lead_ids[:3]}),
        client.request("GET", "/v1/rankings"),
        client.request("GET", f"/v1/leads/{client.lead_ids[0]}"),
        client.request("POST", "/v1/score", json={"lead_ids": ["a"]}, key="read"),
        client.request("GET", "/metrics", key="metrics"),
        client.request("GET", "/v1/webhooks", key="webhooks"),
    ]
    secrets = {key.split("_", 2)[2] for key in client.keys.values()}
    for answer in answers:
        for secret in secrets:
            assert secret not in answer.text
            assert secret not in str(answer.headers)
    for secret in secrets:
        assert secret not in caplog.text
