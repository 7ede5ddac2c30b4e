"""API keys on requests: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

No key, or a key the store does not know: 401 with ``WWW-Authenticate: Bearer``. A valid key
without the route's scope: 403. The key is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from fastapi import Request

from leadscore.service.problems import ProblemError
from leadscore.store import KeyInfo, Store, verify_key

__all__ = ["key_from", "require_scope"]

_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="leadscore"'}


def key_from(request: Request) -> str | None:
    """The API key a request carries, if any."""
    header = request.headers.get("x-api-key")
    if header:
        return header.strip()
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def require_scope(scope: str) -> Callable[[Request], KeyInfo]:
    """A dependency that admits requests whose key has ``scope``."""

    def check(request: Request) -> KeyInfo:
        key = key_from(request)
        if key is None:
            raise ProblemError(
                401,
                "This route needs an API key: send 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>' (create one with `leadscore keys create --name NAME`).",
                headers=_CHALLENGE,
            )
        store: Store = request.app.state.store
        with store.reading() as session:
            info = verify_key(session, key)
        if info is None:
            raise ProblemError(401, "The API key is unknown or revoked.", headers=_CHALLENGE)
        if scope not in info.scopes:
            raise ProblemError(
                403,
                f"The API key {info.name!r} lacks the scope {scope!r} this route needs "
                f"(it has: {', '.join(info.scopes) or 'none'}).",
            )
        return info

    check.__name__ = f"require_{scope}"
    return check
