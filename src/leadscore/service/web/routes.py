"""The sales page's routes under ``/app``: ranked list, lead page, exports, sign-in.

Thin handlers: read with the same store functions as ``GET /v1/rankings`` and
``GET /v1/leads/{lead_id}``, render with :mod:`~leadscore.service.web.pages`. Errors answer
as HTML pages with the API's statuses (404 unknown lead, 422 bad filter or cursor), and a
page without a valid sign-in cookie redirects to the login page. None of these routes is
part of the API's OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from importlib.resources import files
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from leadscore.errors import DataError, StoreError, UsageError
from leadscore.service.deps import FreshScores, StoreDep
from leadscore.service.problems import ProblemError, field_path
from leadscore.service.routes.leads import LeadId, lead_detail, ranked_csv, ranked_items
from leadscore.service.schemas import RankedLeadOut
from leadscore.service.web.exports import XLSX, ranked_xlsx
from leadscore.service.web.markup import Markup
from leadscore.service.web.pages import (
    Filters,
    error_body,
    lead_body,
    login_body,
    page,
    rankings_body,
)
from leadscore.service.web.signin import (
    LOGIN_PATH,
    PAGES,
    SCOPE,
    LoginRequired,
    clear_key_cookie,
    from_this_site,
    key_info,
    local_target,
    set_key_cookie,
    signed_in,
)
from leadscore.store import KeyInfo, ranked_leads
from leadscore.training.config import ScoringConfig

__all__ = ["EXPORT_ROWS", "router"]

EXPORT_ROWS: Final = 10_000
"""Most rows an export holds (the best ones of the filtered list)."""
_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
_CSS: Final = files("leadscore.service.web") / "static" / "app.css"
_TITLES: Final = {404: "Not found", 403: "Not allowed", 422: "Invalid input", 503: "Unavailable"}


def _html(content: Markup, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=_HEADERS)


def _error_page(status: int, detail: str, errors: list[str] | None = None) -> HTMLResponse:
    title = _TITLES.get(status, "Error")
    return _html(page(title, error_body(title, detail, errors or [])), status)


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    answer = RedirectResponse(f"{LOGIN_PATH}?{urlencode({'next': target})}", status_code=303)
    answer.headers["Cache-Control"] = "no-store"
    return answer


class PageRoute(APIRoute):
    """A route whose errors are HTML pages, and which sends strangers to the login page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return _login_redirect(request)
            except ProblemError as exc:
                return _error_page(exc.status, exc.detail)
            except RequestValidationError as exc:
                errors = [
                    f"{field_path(e.get('loc', ()))}: {e.get('msg', 'invalid')}"
                    for e in exc.errors()[:20]
                ]
                return _error_page(422, "Some values of the request are not valid.", errors)
            except (UsageError, DataError) as exc:
                return _error_page(422, str(exc))
            except StoreError:
                return _error_page(503, "The database does not answer; try again shortly.")

        return answer


router = APIRouter(route_class=PageRoute, include_in_schema=False)
WebKey = Annotated[KeyInfo, Depends(signed_in)]
Owner = Annotated[str | None, Query(max_length=200)]
Grades = Annotated[list[str] | None, Query(max_length=10)]
Source = Annotated[str | None, Query(max_length=100)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=500)]


def _grades(request: Request) -> list[str]:
    """The grades of the champion's scoring settings, best first."""
    scoring = request.app.state.champion.scoring()
    config: ScoringConfig = ScoringConfig() if scoring is None else scoring.config
    return [*config.grades, config.fallback_grade]


def _filters(
    request: Request, owner: str | None, grade: list[str] | None, source: str | None, limit: int
) -> Filters:
    known = _grades(request)
    chosen = tuple(g for g in grade or [] if g)
    unknown = [g for g in chosen if g not in known]
    if unknown:
        raise ProblemError(
            422,
            f"No grade {unknown[0]!r}: choose among {', '.join(known)}.",
        )
    return Filters(owner or None, chosen, source or None, limit)


@router.get("/")
def home() -> RedirectResponse:
    """The sales page."""
    return RedirectResponse(PAGES, status_code=303)


@router.get(PAGES)
def ranked_page(
    request: Request,
    key: WebKey,
    store: StoreDep,
    _fresh: FreshScores,
    owner: Owner = None,
    grade: Grades = None,
    source: Source = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    start: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    """Open leads by score, filtered, a page at a time."""
    filters = _filters(request, owner, grade, source, limit)
    with store.reading() as session:
        ranked = ranked_leads(
            session,
            owner=filters.owner,
            grades=filters.grades,
            source=filters.source,
            limit=limit,
            cursor=cursor or None,
        )
    body = rankings_body(
        filters,
        ranked_items(ranked),
        grades=_grades(request),
        start=start if cursor else 0,
        cursor=cursor or None,
        next_cursor=ranked.next_cursor,
    )
    return _html(page("Open leads", body, key.name))


@router.get(PAGES + "/leads/{lead_id}")
def lead_page(
    request: Request, lead_id: LeadId, key: WebKey, store: StoreDep, _fresh: FreshScores
) -> HTMLResponse:
    """A lead with its score, reasons, risks, next touchpoints, activity and history."""
    detail = lead_detail(store, lead_id)
    body = lead_body(detail, _grades(request))
    return _html(page(f"Lead {lead_id}", body, key.name))


def _export(
    request: Request,
    store: StoreDep,
    owner: str | None,
    grade: list[str] | None,
    source: str | None,
) -> list[RankedLeadOut]:
    filters = _filters(request, owner, grade, source, EXPORT_ROWS)
    with store.reading() as session:
        ranked = ranked_leads(
            session,
            owner=filters.owner,
            grades=filters.grades,
            source=filters.source,
            limit=EXPORT_ROWS,
        )
    return ranked_items(ranked)


def _download(content: bytes, media_type: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(content, media_type=media_type, headers=headers)


@router.get(PAGES + "/export.csv")
def export_csv(
    request: Request,
    _key: WebKey,
    store: StoreDep,
    _fresh: FreshScores,
    owner: Owner = None,
    grade: Grades = None,
    source: Source = None,
) -> Response:
    """The filtered list as CSV, as ``GET /v1/rankings`` writes it."""
    items = _export(request, store, owner, grade, source)
    return _download(ranked_csv(items), "text/csv; charset=utf-8", "leads.csv")


@router.get(PAGES + "/export.xlsx")
def export_xlsx(
    request: Request,
    _key: WebKey,
    store: StoreDep,
    _fresh: FreshScores,
    owner: Owner = None,
    grade: Grades = None,
    source: Source = None,
) -> Response:
    """The filtered list as an Excel workbook."""
    items = _export(request, store, owner, grade, source)
    return _download(ranked_xlsx(items), XLSX, "leads.xlsx")


@router.get(LOGIN_PATH)
def login_page(
    target: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> HTMLResponse:
    """The sign-in form."""
    return _html(page("Sign in", login_body(local_target(target))))


@router.post(LOGIN_PATH)
def login(
    request: Request,
    store: StoreDep,
    key: Annotated[str, Form(max_length=500)] = "",
    target: Annotated[str, Form(alias="next", max_length=2000)] = PAGES,
) -> Response:
    """Check the key and keep it in the sign-in cookie; back to the form when it fails."""
    target = local_target(target)
    if not from_this_site(request):
        return _error_page(403, "Sign-in forms are only accepted from this site.")
    info = key_info(store, key.strip())
    if info is None:
        message = "This key is unknown or revoked. Check it and try again."
        return _html(page("Sign in", login_body(target, message)), 401)
    if SCOPE not in info.scopes:
        message = f"The key {info.name!r} lacks the {SCOPE!r} scope the page needs."
        return _html(page("Sign in", login_body(target, message)), 403)
    answer = RedirectResponse(target, status_code=303)
    set_key_cookie(answer, request, key.strip())
    return answer


@router.post(PAGES + "/logout")
def logout(request: Request) -> Response:
    """Forget the key of this browser."""
    if not from_this_site(request):
        return _error_page(403, "Sign-out forms are only accepted from this site.")
    answer = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_key_cookie(answer, request)
    return answer


@router.get(PAGES + "/static/app.css")
def stylesheet() -> Response:
    """The page's stylesheet (no key needed)."""
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(_CSS.read_bytes(), media_type="text/css", headers=headers)


@router.get(PAGES + "/{rest:path}")
def unknown_page(rest: str) -> Response:
    """Any other address under the page: a 404 page rather than a problem document."""
    return _error_page(404, "There is no such page.")
