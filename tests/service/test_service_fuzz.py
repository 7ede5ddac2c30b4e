"""Property-based fuzzing of every route of ``api/openapi.json`` (schemathesis): no answer is a
5xx, every status and content type is documented, and every body matches its schema."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_support import Client

API = Path(__file__).resolve().parents[2] / "api" / "openapi.json"
schema = schemathesis.openapi.from_path(API)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_routes_hold_their_contract(case: Any, client: Client) -> None:
    headers = {"Authorization": f"Bearer {client.keys['all']}"}
    with warnings.catch_warnings():
        # schemathesis drives the app through Starlette's test client (see service_support)
        warnings.filterwarnings(
            "ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated"
        )
        case.call_and_validate(app=client.http.app, headers=headers, checks=CHECKS)


def test_the_fuzzed_document_covers_every_route() -> None:
    found = [result.ok() for result in schema.get_all_operations()]
    operations = {f"{op.method.upper()} {op.path}" for op in found}
    assert "POST /v1/touchpoints" in operations
    assert len(operations) == 14
