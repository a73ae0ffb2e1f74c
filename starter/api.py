"""The Admin API (`/api`): PRs, commands, the reconciler, the circuit breaker and the audit trail.

Every call needs `Authorization: Bearer <key>` (401 without an active key; 403 when the key's role is
below the endpoint's: read for GETs, operate for PR commands and reconciler runs, admin for the breaker
reset and key management, `starter.api_keys`) and leaves an `api.call` audit row. Bad input is a 4xx with a reason; Temporal being
unreachable is a 503.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request
from temporalio.client import Client, WorkflowQueryFailedError

from activities.breaker import BreakerActivities
from contracts.pr import STATUS_QUERY, PRStatus
from contracts.sweeps import RECONCILER_SCHEDULE_ID
from domain.pr_healing import commands
from domain.pr_healing.commands import MAX_KEY_LENGTH, CommandRequest, CommandSource
from domain.pr_healing.events import REPO_PATTERN, PRRef
from domain.shared.admin_config import Role
from domain.shared.audit import AuditFilter, AuditRow
from runtime.config_reload import reload_settings
from runtime.settings import set_settings
from starter.api_audit import AdminRoute, note
from starter.api_common import (
    TEMPORAL_TIMEOUT,
    app_dispatcher,
    app_settings,
    error_responses,
    in_store,
    temporal_call,
    temporal_client,
)
from starter.api_models import (
    BreakerView,
    CommandBody,
    CommandResult,
    ConfigReload,
    PRDetail,
    PRSummary,
    ReconcilerRun,
    StalePR,
)
from starter.auth import Principal, authorize, needs
from store import audit as audit_store
from store import repository, stale
from store.db import engine_for

COMMAND_TIMEOUT = 60.0  # seconds for a command update to complete
API_KEY_PREFIX = "api:"  # idempotency keys of API commands


router = APIRouter(
    prefix="/api",
    tags=["admin"],
    route_class=AdminRoute,
    dependencies=[Depends(authorize)],
    responses=error_responses(401, 422, 503),  # 503 also when the store cannot answer
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


def _pr(owner: str, repo: str, number: int) -> PRRef:
    return PRRef(repo=f"{owner}/{repo}", number=number)


@router.get("/prs", summary="List tracked PRs", response_model=list[PRSummary])
async def list_prs(
    request: Request,
    state: Annotated[str | None, Query(max_length=40, description="e.g. CHECKS_FAILED")] = None,
    repo: Annotated[str | None, Query(pattern=REPO_PATTERN, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Skip this many (paging).")] = 0,
) -> list[PRSummary]:
    """Tracked PRs from the store, most recently active first, optionally of one state or repository."""
    engine = engine_for(app_settings(request).database_url)
    records = await in_store(repository.list_prs, engine, state=state, repo=repo, limit=limit, offset=offset)
    return [PRSummary.of(r) for r in records]


@router.get("/prs/stale", summary="List stale PRs", response_model=list[StalePR])
async def stale_prs(request: Request) -> list[StalePR]:
    """Open PRs whose state has not changed for longer than its staleness threshold, stalest first."""
    settings = app_settings(request)
    found = await in_store(
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
    responses=error_responses(404, 503),
)
async def pr_status(request: Request, owner: Owner, repo: Repo, number: Number) -> PRDetail:
    """State, retry counts and recent events from the PR's workflow, or from the store once it is gone."""
    pr = _pr(owner, repo, number)
    record, events = await in_store(repository.get_pr, engine_for(app_settings(request).database_url), pr)
    try:
        async with temporal_call(f"workflow {pr.workflow_id}"):
            client = await app_dispatcher(request).client()
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
    responses=error_responses(400, 403, 404, 503),
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
    async with temporal_call(f"workflow {pr.workflow_id}", COMMAND_TIMEOUT):
        answer = await app_dispatcher(request).command(pr, order, wait="completed")
    if answer is None:
        raise HTTPException(404, f"no workflow for {pr.key}")
    note(request, accepted=answer.accepted, reason=answer.reason)
    return CommandResult(**answer.model_dump(include={"accepted", "command", "reason", "duplicate"}))


@router.post(
    "/reconciler/run",
    summary="Run the reconciler now",
    response_model=ReconcilerRun,
    responses=error_responses(403, 404, 503),
    openapi_extra=needs(Role.OPERATE),
)
async def run_reconciler(request: Request) -> ReconcilerRun:
    """Trigger the reconciler schedule: a sweep of open bot PRs starts now (skipped if one is running)."""
    client = await temporal_client(request)
    async with temporal_call(f"schedule {RECONCILER_SCHEDULE_ID} (a worker creates it at start)"):
        await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).trigger()
    return ReconcilerRun(triggered=True, schedule_id=RECONCILER_SCHEDULE_ID)


def _breakers(request: Request, client: Client) -> BreakerActivities:
    settings = app_settings(request)
    return BreakerActivities(client, app_dispatcher(request).task_queue, lambda: settings.config.breaker)


@router.get(
    "/circuit-breaker",
    summary="Show the circuit breaker",
    response_model=BreakerView,
    responses=error_responses(503),
)
async def breaker_status(request: Request, scope: Scope = None) -> BreakerView:
    """State, failure rate over the window, and recent state changes of one breaker scope."""
    scope = scope or app_settings(request).config.breaker.scope
    client = await temporal_client(request)
    async with temporal_call(f"breaker {scope}"):
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
    responses=error_responses(403, 503),
    openapi_extra=needs(Role.ADMIN),
)
async def breaker_reset(request: Request, caller: Caller, scope: Scope = None) -> BreakerView:
    """Close one breaker scope by hand and clear its window (the key's name is the actor)."""
    scope = scope or app_settings(request).config.breaker.scope
    client = await temporal_client(request)
    async with temporal_call(f"breaker {scope}"):
        status = await _breakers(request, client).reset(scope, actor=f"api:{caller.name}")
    note(request, scope=scope, state=status.state.value)
    return BreakerView(**status.model_dump())


@router.get("/audit", summary="Read the audit trail", response_model=list[AuditRow])
async def read_audit(request: Request, filters: Annotated[AuditFilter, Query()]) -> list[AuditRow]:
    """Audit rows matching every given filter, newest first (`since` inclusive, `until` exclusive)."""
    note(request, filters=filters.model_dump(mode="json", exclude_defaults=True))
    return await in_store(audit_store.query, engine_for(app_settings(request).database_url), filters)


@router.post(
    "/config/reload",
    summary="Reload mender.yaml",
    response_model=ConfigReload,
    responses=error_responses(403),
)
async def config_reload(request: Request, caller: Caller) -> ConfigReload:
    """Read `mender.yaml` again: a valid change applies at once (workflows see it at their next decision);
    an invalid one is refused with every key path and reason, and the settings in force stay."""
    result, after = await asyncio.to_thread(
        reload_settings, app_settings(request), f"api:{caller.name}", "api"
    )
    if after is not app_settings(request):
        request.app.state.settings = after
        set_settings(after)
    note(request, applied=result.applied, changed=result.changed)
    return ConfigReload(applied=result.applied, changed=result.changed, error=result.error)
