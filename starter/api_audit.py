"""The Admin API's route class: authenticate and check the route's role first (before the body is even
parsed), then answer, and leave one `api.call` audit row per call: who (key name, never the key), what,
how it went."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from domain.pr_healing.events import REPO_PATTERN
from domain.shared.audit import AuditAction, AuditEntry, AuditSource
from starter.auth import ANONYMOUS, bearer, check, needed_role
from store import audit as audit_store
from store.db import engine_for

log = logging.getLogger("mender.api")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def note(request: Request, **details: Any) -> None:
    """Add details (JSON values) to the audit row of the current call."""
    request.state.audit_details = {**getattr(request.state, "audit_details", {}), **details}


def _reason(exc: RequestValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
    return "; ".join(parts)


def _subject(request: Request, path: str) -> tuple[str, str | None]:
    """The audit target and repository: `owner/repo#N` for PR endpoints, else the route path."""
    params = request.path_params
    repo = f"{params.get('owner')}/{params.get('repo')}" if "owner" in params else None
    if repo is None or not re.match(REPO_PATTERN, repo):
        return path, None
    number = params.get("number")
    return (f"{repo}#{number}" if number else repo), repo


class AdminRoute(APIRoute):
    """An APIRoute that checks the bearer key first and records one audit row per call, whatever the outcome."""

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()
        route_path = self.path
        roles = {method: needed_role(method, self.openapi_extra) for method in self.methods}

        async def audited(request: Request) -> Response:
            status, error = 500, "internal error"
            try:
                await check(request, await bearer(request), roles.get(request.method, "admin"))
                response = await handle(request)
                status, error = response.status_code, None
                return response
            except HTTPException as exc:
                status, error = exc.status_code, str(exc.detail)
                raise
            except RequestValidationError as exc:
                status, error = 422, _reason(exc)
                raise
            finally:
                await _record(request, route_path, status, error)

        return audited


async def _record(request: Request, route_path: str, status: int, error: str | None) -> None:
    target, repository = _subject(request, route_path)
    details = {
        "method": request.method,
        "route": route_path,
        "status": status,
        "path_params": dict(request.path_params),
        **getattr(request.state, "audit_details", {}),
    }
    entry = AuditEntry(
        action=AuditAction.API_CALL,
        actor=getattr(request.state, "audit_actor", ANONYMOUS),
        target=target,
        repository=repository,
        source=AuditSource.API,
        outcome=f"{status // 100}xx",
        details=details,
        error=error,
    )
    try:
        await run_in_threadpool(
            audit_store.record, engine_for(request.app.state.settings.database_url), entry
        )
    except Exception:  # the call is answered; a lost audit row is logged loudly
        log.exception("audit row for %s %s (status %d) NOT recorded", request.method, route_path, status)
