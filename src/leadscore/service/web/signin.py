"""Signing in to the sales page with an API key kept in a cookie.

A browser cannot add ``Authorization`` headers to links, so the login form takes a key with
the ``read`` scope, checks it with :func:`~leadscore.store.verify_key` (as the API does) and
keeps it in an HttpOnly, SameSite=Strict cookie valid under ``/app`` (Secure over https).
Every page checks the cookie again, so a revoked key signs the browser out at once. The key
is never written into a page, a URL or a log line. Forms that change the sign-in state are
refused when the browser says they come from another site (``Origin``, ``Sec-Fetch-Site``).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from fastapi import Request, Response

from leadscore.store import KeyInfo, Store, verify_key

__all__ = [
    "COOKIE",
    "LOGIN_PATH",
    "PAGES",
    "SCOPE",
    "LoginRequired",
    "clear_key_cookie",
    "from_this_site",
    "key_info",
    "local_target",
    "set_key_cookie",
    "signed_in",
]

COOKIE: Final = "leadscore_key"
SCOPE: Final = "read"
PAGES: Final = "/app"
LOGIN_PATH: Final = "/app/login"
_MAX_AGE: Final = 12 * 3600
_KEY_LENGTH: Final = 200


class LoginRequired(Exception):
    """The request has no valid sign-in cookie; the page answers with the login page."""


def key_info(store: Store, key: str) -> KeyInfo | None:
    """The key's record when the store knows it and it is not revoked."""
    if not key or len(key) > _KEY_LENGTH:
        return None
    with store.reading() as session:
        return verify_key(session, key)


def signed_in(request: Request) -> KeyInfo:
    """The key of the sign-in cookie; :class:`LoginRequired` without a valid one."""
    store: Store = request.app.state.store
    info = key_info(store, request.cookies.get(COOKIE, ""))
    if info is None or SCOPE not in info.scopes:
        raise LoginRequired
    return info


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_key_cookie(response: Response, request: Request, key: str) -> None:
    """Keep ``key`` in the browser for the pages (HttpOnly, SameSite=Strict)."""
    response.set_cookie(
        COOKIE,
        key,
        max_age=_MAX_AGE,
        path=PAGES,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def clear_key_cookie(response: Response, request: Request) -> None:
    """Forget the key."""
    response.delete_cookie(
        COOKIE, path=PAGES, secure=_secure(request), httponly=True, samesite="strict"
    )


def from_this_site(request: Request) -> bool:
    """Whether a form post comes from this site (no ``Origin`` header: a non-browser client)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def local_target(target: str | None) -> str:
    """Where to go after signing in: a page of this app, never another site."""
    if target and target.startswith(PAGES) and "//" not in target and "\\" not in target:
        return target
    return PAGES
