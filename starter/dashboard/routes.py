"""`/dashboard`: sign in with an Admin API key (read is enough), then server-rendered pages.

The key travels as `Authorization: Bearer` or, from a browser, in an HttpOnly, SameSite=Strict cookie
set by the sign-in form. Pages show exactly what `/api/needs-me`, `/api/success`, `/api/ci/summary`,
`/api/health`, `/api/merge-queues` and `/api/review` answer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.ci_healing.review_queue import ReviewStatus
from domain.pr_healing.events import REPO_PATTERN
from starter import api_ops, ops_data
from starter.auth import authenticate
from starter.dashboard import pages, review_page
from starter.dashboard.layout import CSP, login_page
from starter.merge_queues import merge_queues
from store import review_queue

log = logging.getLogger("mender.dashboard")
router = APIRouter(prefix="/dashboard", include_in_schema=False)
COOKIE = "mender_dashboard_key"
End = Annotated[str | None, Query(max_length=40)]
Days = Annotated[int, Query(ge=1, le=366)]


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        text,
        status_code=status,
        headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Cache-Control": "no-store"},
    )


def _signed_in(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    presented = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    presented = presented or request.cookies.get(COOKIE)
    return authenticate(request.app.state.settings.config.api.keys, presented) is not None


def _guard(request: Request) -> Response | None:
    return None if _signed_in(request) else RedirectResponse("/dashboard/login", status_code=303)


@router.get("")
@router.get("/")
async def home(request: Request) -> Response:
    return RedirectResponse("/dashboard/needs-me", status_code=303)


@router.get("/login")
async def login_form() -> HTMLResponse:
    return _html(login_page())


@router.post("/login")
async def login(request: Request) -> Response:
    body = await request.body()
    key = (parse_qs(body.decode("utf-8", "replace")).get("key") or [""])[0][:200]
    if authenticate(request.app.state.settings.config.api.keys, key) is None:
        log.warning("dashboard sign-in refused: unknown key")
        return _html(login_page("Unknown key."), 401)
    response = RedirectResponse("/dashboard/needs-me", status_code=303)
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        COOKIE, key, httponly=True, samesite="strict", secure=secure, path="/dashboard", max_age=8 * 3600
    )
    return response


@router.get("/logout")
async def logout() -> Response:
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


def _end(end: str | None) -> datetime:
    try:
        return ops_data.parse_end(end)
    except ValueError as exc:
        raise HTTPException(422, f"end: not an ISO 8601 time: {exc}") from exc


@router.get("/needs-me")
async def needs_me_page(request: Request, end: End = None) -> Response:
    if refused := _guard(request):
        return refused
    view = await api_ops.compute(request, ops_data.needs_me, request.app.state.settings.config, _end(end))
    return _html(pages.needs_me(view, {"end": end}))


@router.get("/success")
async def success_page(request: Request, end: End = None, days: Days = 30) -> Response:
    if refused := _guard(request):
        return refused
    view = await api_ops.compute(
        request, ops_data.success, request.app.state.settings.config, _end(end), days
    )
    return _html(pages.success(view, {"end": end, "days": days}))


@router.get("/ci")
async def ci_page(request: Request, end: End = None, days: Days = 30) -> Response:
    if refused := _guard(request):
        return refused
    view = await api_ops.compute(
        request, ops_data.ci_summary, request.app.state.settings.config, _end(end), days
    )
    return _html(pages.ci(view, {"end": end, "days": days}))


@router.get("/health")
async def health_page(
    request: Request, end: End = None, hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0
) -> Response:
    if refused := _guard(request):
        return refused
    view = await api_ops.compute(request, ops_data.health, _end(end), hours)
    view.reconciler = await api_ops.reconciler_info(request)
    return _html(pages.health(view, {"end": end, "hours": hours}))


@router.get("/queues")
async def queues_page(
    request: Request, repo: Annotated[str | None, Query(pattern=REPO_PATTERN, max_length=200)] = None
) -> Response:
    if refused := _guard(request):
        return refused
    try:
        client = await request.app.state.dispatcher.client()
        view = await merge_queues(client, repo)
    except Exception as exc:  # Temporal away: say so on the page, as the Health page does
        log.warning("dashboard: merge queues unavailable: %s", type(exc).__name__)
        return _html(pages.page_unavailable("queues", "Merge queues", type(exc).__name__), 503)
    return _html(pages.queues(view, {"repo": repo}))


@router.get("/review")
async def review_queue_page(
    request: Request, status: Annotated[ReviewStatus | Literal["all"], Query()] = ReviewStatus.PENDING
) -> Response:
    if refused := _guard(request):
        return refused
    wanted = None if status == "all" else ReviewStatus(status)
    items = await api_ops.compute(request, review_queue.items, wanted, 500)
    now = datetime.now(UTC)
    return _html(review_page.review(items, wanted, now, {}))
