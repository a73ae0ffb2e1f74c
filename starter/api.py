"""The Admin API (`/api`): PRs, commands, the reconciler, the circuit breaker and the audit trail.

Every call needs `Authorization: Bearer <key>` (401 without an active key; 403 when the key's role is
below the endpoint's: read for GETs, operate for PR commands and reconciler runs, admin for the breaker
reset and key management, `starter.api_keys`) and leaves an `api.call` audit row. Bad input is a 4xx with a reason; Temporal being
unreachable is a 503.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.breaker import BreakerActivities
from contracts.pr import STATUS_QUERY, PRStatus
from contracts.sweeps import RECONCILER_SCHEDULE_ID
from domain.pr_healing import commands
from domain.pr_healing.commands import MAX_KEY_LENGTH, CommandRequest, CommandSource
from domain.pr_healing.events import REPO_PATTERN, PRRef
from domain.shared.admin_config import Role
from domain.shared.audit import AuditFilter, AuditRow
from runtime.config_reload import reload_settings
from runtime.dispatch import EventDispatcher, TemporalUnavailable
from runtime.settings import Settings, set_settings
from starter.api_audit import AdminRoute, note
from starter.api_models import (
    BreakerView,
    CommandBody,
    CommandResult,
    ConfigReload,
    ErrorBody,
    PRDetail,
    PRSummary,
    ReconcilerRun,
    StalePR,
)
from starter.auth import Principal, authorize, needs
from store import audit as audit_store
from store import repository, stale
from store.db import engine_for

TEMPORAL_TIMEOUT = 10.0  # seconds for a query, a reset or a trigger
COMMAND_TIMEOUT = 60.0  # seconds for a command update to complete
API_KEY_PREFIX = "api:"  # idempotency keys of API commands


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


router = APIRouter(
    prefix="/api",
    tags=["admin"],
    route_class=AdminRoute,
    dependencies=[Depends(authorize)],
    responses=_errors(401, 422, 503),  # 503 also when the store cannot answer
)
Caller = Annotated[Principal, Depends(authorize)]
Owner = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100, description="Repository owner")]
Repo = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100, description="Repository name")]
Number = Annotated[int, Path(gt=0, le=2_147_483_647, description="PR number")]
Scope = Annotated[
    str | None,
    Query(pattern=r"^[\w./-]+$", max_length=200, description="Breaker scope; default `breaker.scope`."),
]


def _one_command(text: str) -> str:
    """The one known command in `text`, by the grammar of PR comments; ValueError otherwise."""
    found = commands.parse(text)
    if len(found) != 1:
        what = "no known command" if not found else f"{len(found)} commands ({', '.join(found)})"
        known = ", ".join(commands.COMMANDS)
        raise ValueError(f"expected exactly one command, found {what} in {text!r}; known: {known}")
    return found[0]


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _dispatcher(request: Request) -> EventDispatcher:
    return request.app.state.dispatcher


def _pr(owner: str, repo: str, number: int) -> PRRef:
    return PRRef(repo=f"{owner}/{repo}", number=number)


async def _store(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a store function off the event loop; 503 when the database cannot answer."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except SQLAlchemyError as exc:
        raise HTTPException(503, f"the store is unavailable: {type(exc).__name__}") from exc


@asynccontextmanager
async def _temporal(what: str, timeout: float = TEMPORAL_TIMEOUT) -> AsyncIterator[None]:
    """Map Temporal failures: 404 when `what` does not exist, 503 when Temporal cannot answer."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except TemporalUnavailable as exc:
        raise HTTPException(503, str(exc)) from exc
    except TimeoutError as exc:
        raise HTTPException(503, f"{what}: no answer within {timeout:.0f} s (is a worker running?)") from exc
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"{what}: not found") from exc
        raise HTTPException(503, f"{what}: Temporal refused: {exc.status.name}") from exc


async def _client(request: Request) -> Client:
    async with _temporal("Temporal"):
        return await _dispatcher(request).client()


@router.get("/prs", summary="List tracked PRs", response_model=list[PRSummary])
async def list_prs(
    request: Request,
    state: Annotated[str | None, Query(max_length=40, description="e.g. CHECKS_FAILED")] = None,
    repo: Annotated[str | None, Query(pattern=REPO_PATTERN, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Skip this many (paging).")] = 0,
) -> list[PRSummary]:
    """Tracked PRs from the store, most recently active first, optionally of one state or repository."""
    engine = engine_for(_settings(request).database_url)
    records = await _store(repository.list_prs, engine, state=state, repo=repo, limit=limit, offset=offset)
    return [PRSummary.of(r) for r in records]


@router.get("/prs/stale", summary="List stale PRs", response_model=list[StalePR])
async def stale_prs(request: Request) -> list[StalePR]:
    """Open PRs whose state has not changed for longer than its staleness threshold, stalest first."""
    settings = _settings(request)
    found = await _store(
        stale.stale_prs, engine_for(settings.database_url), settings.config, datetime.now(UTC)
    )
    return [
        StalePR(
            pr=s.record.key,
            repo=s.record.repo,
            number=s.record.number,
            state=s.record.state or "",
            since=s.since,
            stale_seconds=round(s.seconds, 1),
            threshold_seconds=s.threshold,
        )
        for s in found
    ]


@router.get(
    "/pr/{owner}/{repo}/{number}/status",
    summary="Show one PR",
    response_model=PRDetail,
    responses=_errors(404, 503),
)
async def pr_status(request: Request, owner: Owner, repo: Repo, number: Number) -> PRDetail:
    """State, retry counts and recent events from the PR's workflow, or from the store once it is gone."""
    pr = _pr(owner, repo, number)
    record, events = await _store(repository.get_pr, engine_for(_settings(request).database_url), pr)
    try:
        async with _temporal(f"workflow {pr.workflow_id}"):
            client = await _dispatcher(request).client()
            handle = client.get_workflow_handle(pr.workflow_id)
            status = await handle.query(
                STATUS_QUERY, result_type=PRStatus, rpc_timeout=timedelta(seconds=TEMPORAL_TIMEOUT)
            )
        return PRDetail.of_status(status, record)
    except (HTTPException, WorkflowQueryFailedError) as exc:
        if record is not None:
            return PRDetail.of_store(record, events, pr.workflow_id)
        if isinstance(exc, HTTPException) and exc.status_code == 503:
            raise
        raise HTTPException(404, f"{pr.key} is not tracked") from exc


@router.post(
    "/pr/{owner}/{repo}/{number}/command",
    summary="Command one PR",
    response_model=CommandResult,
    responses=_errors(400, 403, 404, 503),
    openapi_extra=needs(Role.OPERATE),
)
async def pr_command(
    request: Request,
    caller: Caller,
    owner: Owner,
    repo: Repo,
    number: Number,
    body: Annotated[CommandBody, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_KEY_LENGTH - len(API_KEY_PREFIX),
            pattern=r"^[\x21-\x7e]+$",
            description="Repeat a call with the same key: the command runs once.",
        ),
    ] = None,
) -> CommandResult:
    """Send a PR command (as written in a comment, e.g. `/rebuild`) to the PR's workflow."""
    try:
        command = _one_command(body.command)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    pr = _pr(owner, repo, number)
    key = f"{API_KEY_PREFIX}{idempotency_key or uuid.uuid4()}"
    note(request, command=command, idempotency_key=key)
    order = CommandRequest(
        command=command, requester=caller.name, source=CommandSource.API, idempotency_key=key
    )
    async with _temporal(f"workflow {pr.workflow_id}", COMMAND_TIMEOUT):
        answer = await _dispatcher(request).command(pr, order, wait="completed")
    if answer is None:
        raise HTTPException(404, f"no workflow for {pr.key}")
    note(request, accepted=answer.accepted, reason=answer.reason)
    return CommandResult(**answer.model_dump(include={"accepted", "command", "reason", "duplicate"}))


@router.post(
    "/reconciler/run",
    summary="Run the reconciler now",
    response_model=ReconcilerRun,
    responses=_errors(403, 404, 503),
    openapi_extra=needs(Role.OPERATE),
)
async def run_reconciler(request: Request) -> ReconcilerRun:
    """Trigger the reconciler schedule: a sweep of open bot PRs starts now (skipped if one is running)."""
    client = await _client(request)
    async with _temporal(f"schedule {RECONCILER_SCHEDULE_ID} (a worker creates it at start)"):
        await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).trigger()
    return ReconcilerRun(triggered=True, schedule_id=RECONCILER_SCHEDULE_ID)


def _breakers(request: Request, client: Client) -> BreakerActivities:
    settings = _settings(request)
    return BreakerActivities(client, _dispatcher(request).task_queue, lambda: settings.config.breaker)


@router.get(
    "/circuit-breaker", summary="Show the circuit breaker", response_model=BreakerView, responses=_errors(503)
)
async def breaker_status(request: Request, scope: Scope = None) -> BreakerView:
    """State, failure rate over the window, and recent state changes of one breaker scope."""
    scope = scope or _settings(request).config.breaker.scope
    client = await _client(request)
    async with _temporal(f"breaker {scope}"):
        status = await _breakers(request, client).status(scope)
    if status is None:
        return BreakerView(
            scope=scope,
            state="closed",
            failure_rate=None,
            samples=0,
            opened_at=None,
            changes=[],
            running=False,
        )
    return BreakerView(**status.model_dump())


@router.post(
    "/circuit-breaker/reset",
    summary="Reset the circuit breaker",
    response_model=BreakerView,
    responses=_errors(403, 503),
    openapi_extra=needs(Role.ADMIN),
)
async def breaker_reset(request: Request, caller: Caller, scope: Scope = None) -> BreakerView:
    """Close one breaker scope by hand and clear its window (the key's name is the actor)."""
    scope = scope or _settings(request).config.breaker.scope
    client = await _client(request)
    async with _temporal(f"breaker {scope}"):
        status = await _breakers(request, client).reset(scope, actor=f"api:{caller.name}")
    note(request, scope=scope, state=status.state.value)
    return BreakerView(**status.model_dump())


@router.get("/audit", summary="Read the audit trail", response_model=list[AuditRow])
async def read_audit(request: Request, filters: Annotated[AuditFilter, Query()]) -> list[AuditRow]:
    """Audit rows matching every given filter, newest first (`since` inclusive, `until` exclusive)."""
    note(request, filters=filters.model_dump(mode="json", exclude_defaults=True))
    return await _store(audit_store.query, engine_for(_settings(request).database_url), filters)


@router.post(
    "/config/reload",
    summary="Reload mender.yaml",
    response_model=ConfigReload,
    responses=_errors(403),
)
async def config_reload(request: Request, caller: Caller) -> ConfigReload:
    """Read `mender.yaml` again: a valid change applies at once (workflows see it at their next decision);
    an invalid one is refused with every key path and reason, and the settings in force stay."""
    result, after = await asyncio.to_thread(reload_settings, _settings(request), f"api:{caller.name}", "api")
    if after is not _settings(request):
        request.app.state.settings = after
        set_settings(after)
    note(request, applied=result.applied, changed=result.changed)
    return ConfigReload(applied=result.applied, changed=result.changed, error=result.error)
