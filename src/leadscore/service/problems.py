"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error answer of the service is a :class:`Problem`: ``type``, ``title``, ``status``,
``detail`` and, for invalid input, ``errors`` with the field path of each violation
(``body.touchpoints[3].timestamp``). Errors of the library are mapped here, at the boundary:

=============================  ======
``UsageError``, ``DataError``  422
``StoreError``                 503
``ConfigError``                503 (e.g. no champion model yet)
anything unexpected            500, logged, without a traceback in the answer
=============================  ======
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadscore.errors import ConfigError, DataError, LeadscoreError, StoreError, UsageError

__all__ = [
    "PROBLEM_JSON",
    "FieldError",
    "Problem",
    "ProblemError",
    "field_path",
    "install_problem_handlers",
    "problem_response",
    "responses",
]

PROBLEM_JSON: Final = "application/problem+json"
_LOG = logging.getLogger("leadscore.service")
_TYPES: Final = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    500: "internal-error",
    503: "unavailable",
}
_TITLES: Final = {
    400: "Bad request",
    401: "Missing or unknown API key",
    403: "The API key lacks the scope",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal error",
    503: "Service unavailable",
}


class FieldError(BaseModel):
    """One violation in the input: where, what, and the rule's code."""

    loc: str = Field(description="Path of the field, e.g. body.touchpoints[3].timestamp.")
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldError] = Field(default_factory=list)


class ProblemError(Exception):
    """Raised by routes to answer with a problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json answer."""
    problem = Problem(
        type=f"urn:leadscore:problem:{_TYPES.get(status, 'error')}",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors),
    )
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "touchpoints", 3, "timestamp")`` as ``body.touchpoints[3].timestamp``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    return [
        FieldError(
            loc=field_path(err.get("loc", ())),
            message=str(err.get("msg", "invalid")),
            type=str(err.get("type", "value_error")),
        )
        for err in exc.errors()[:100]
    ]


def _status_of(exc: LeadscoreError) -> int:
    if isinstance(exc, UsageError | DataError):
        return 422
    if isinstance(exc, StoreError | ConfigError):
        return 503
    return 500


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with problem+json."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(
            exc.status,
            exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(
            exc.status_code,
            str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        detail = f"{len(exc.errors())} field(s) of the request are invalid; see errors."
        return problem_response(422, detail, instance=request.url.path, errors=errors)

    async def on_library(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LeadscoreError)
        status = _status_of(exc)
        if status >= 500:
            _LOG.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        errors = getattr(exc, "field_errors", ())
        return problem_response(status, str(exc), instance=request.url.path, errors=errors)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        _LOG.exception("unexpected error on %s", request.url.path, exc_info=exc)
        return problem_response(
            500,
            "The service failed unexpectedly; the error is logged on the server.",
            instance=request.url.path,
        )

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(LeadscoreError, on_library)
    app.add_exception_handler(Exception, on_unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses (problem+json)."""
    return {
        status: {
            "model": Problem,
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }
