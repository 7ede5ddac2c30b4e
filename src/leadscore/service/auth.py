"""API keys on requests: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

No key, or a key the store does not know: 401 with ``WWW-Authenticate: Bearer``. A valid key
without the route's scope: 403. The key is never logged or echoed.

A key found valid is remembered by the process for ``ServiceOptions.key_cache_seconds`` (by
its SHA-256, not in plain), so that a busy client does not cost a database read per request;
a revoked key is therefore refused by every replica within that time. Unknown keys are not
remembered: each is looked up again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Final

from anyio import to_thread
from fastapi import Request

from leadscore.service.problems import ProblemError
from leadscore.store import KeyInfo, Store, verify_key

__all__ = ["KeyCache", "key_from", "require_scope"]

_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="leadscore"'}


class KeyCache:
    """Keys found valid, each for ``seconds`` after it was looked up (0: none kept).

    At most ``size`` keys are kept; when full, the entries that expired are dropped first,
    then the oldest.
    """

    def __init__(self, seconds: float, size: int = 1024) -> None:
        self._seconds = seconds
        self._size = size
        self._entries: dict[bytes, tuple[float, KeyInfo]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(key: str) -> bytes:
        return hashlib.sha256(key.encode()).digest()

    def get(self, key: str) -> KeyInfo | None:
        """The remembered key, if it was found valid less than ``seconds`` ago."""
        entry = self._entries.get(self._digest(key))
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, info: KeyInfo) -> None:
        """Remember ``info`` as what ``key`` is."""
        if self._seconds <= 0:
            return
        now = time.monotonic()
        digest = self._digest(key)
        with self._lock:
            self._entries.pop(digest, None)  # a key put again counts as the newest
            if len(self._entries) >= self._size:
                self._entries = {d: e for d, e in self._entries.items() if e[0] > now}
                while len(self._entries) >= self._size:
                    del self._entries[next(iter(self._entries))]
            self._entries[digest] = (now + self._seconds, info)

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._entries = {}


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


def _lookup(store: Store, key: str) -> KeyInfo | None:
    with store.reading() as session:
        return verify_key(session, key)


def require_scope(scope: str) -> Callable[[Request], Awaitable[KeyInfo]]:
    """A dependency that admits requests whose key has ``scope``.

    A key remembered by the app's :class:`KeyCache` is checked without the store; another is
    looked up in the store (in a worker thread) and remembered if valid.
    """

    async def check(request: Request) -> KeyInfo:
        key = key_from(request)
        if key is None:
            raise ProblemError(
                401,
                "This route needs an API key: send 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>' (create one with `leadscore keys create --name NAME`).",
                headers=_CHALLENGE,
            )
        keys: KeyCache = request.app.state.keys
        info = keys.get(key)
        if info is None:
            info = await to_thread.run_sync(_lookup, request.app.state.store, key)
            if info is not None:
                keys.put(key, info)
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
