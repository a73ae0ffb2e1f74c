"""Operator views of the Admin API (read keys suffice): needs-me, success metrics, CI, health, doctor,
merge queues.

The dashboard renders exactly these answers; `end` (ISO 8601) pins the window for reproducible reads.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from contracts.sweeps import RECONCILER_SCHEDULE_ID
from domain.pr_healing.events import REPO_PATTERN
from domain.reports.ci_view import CIView
from domain.reports.needs_me import NeedsMe
from domain.shared.github_access import DoctorReport
from starter import ops_data
from starter.api_audit import AdminRoute
from starter.api_common import app_settings, error_responses, in_store, temporal_call, temporal_client
from starter.auth import authorize
from starter.doctor import run_doctor
from starter.merge_queues import QueuesView, merge_queues
from store.db import engine_for

router = APIRouter(
    prefix="/api",
    tags=["operations"],
    route_class=AdminRoute,
    dependencies=[Depends(authorize)],
    responses=error_responses(401, 422, 503),
)
End = Annotated[str | None, Query(max_length=40, description="Window end, ISO 8601 (default now).")]
Days = Annotated[int, Query(ge=1, le=366, description="Window length in days.")]


def _end(value: str | None) -> datetime:
    try:
        return ops_data.parse_end(value)
    except ValueError as exc:
        raise HTTPException(422, f"end: not an ISO 8601 time: {exc}") from exc


async def compute(request: Request, fn: Any, *args: Any) -> Any:
    settings = app_settings(request)
    return await in_store(fn, engine_for(settings.database_url), *args)


@router.get("/needs-me", summary="What needs a human", response_model=NeedsMe)
async def needs_me(request: Request, end: End = None) -> NeedsMe:
    """Stuck PRs with what Mender tried, CI failures handed over or awaiting approval, fix PRs to review."""
    return await compute(request, ops_data.needs_me, app_settings(request).config, _end(end))


@router.get("/success", summary="Success metrics", response_model=ops_data.SuccessView)
async def success(request: Request, end: End = None, days: Days = 30) -> ops_data.SuccessView:
    """The seven success metrics (current vs baseline vs target), weekly and monthly trends, ROI tracker."""
    return await compute(request, ops_data.success, app_settings(request).config, _end(end), days)


@router.get("/ci/summary", summary="CI failures and fixes", response_model=CIView)
async def ci_summary(request: Request, end: End = None, days: Days = 30) -> CIView:
    """Failure trend, top categories, fix rate by category, time saved, flaky tests."""
    return await compute(request, ops_data.ci_summary, app_settings(request).config, _end(end), days)


@router.get("/health", summary="Operational health", response_model=ops_data.HealthView)
async def health(
    request: Request, end: End = None, hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0
) -> ops_data.HealthView:
    """Webhook intake, actions by type, breaker states, errors, and the reconciler schedule."""
    view = await compute(request, ops_data.health, _end(end), hours)
    view.reconciler = await reconciler_info(request)
    return view


@router.get("/doctor", summary="GitHub access per repository", response_model=DoctorReport)
async def doctor(request: Request) -> DoctorReport:
    """Per swept repository: token valid, repository reachable, the permissions the remediations need,
    rate limit left, and the refusals (401/403) activities met in the last 24 h, each with its reason."""
    return await in_store(run_doctor, app_settings(request))


@router.get("/merge-queues", summary="Merge queues", response_model=QueuesView)
async def queues(
    request: Request,
    repo: Annotated[str | None, Query(pattern=REPO_PATTERN, max_length=200, description="owner/repo")] = None,
) -> QueuesView:
    """Per (repository, base branch): the PR being brought up to date (its lease) and the PRs waiting,
    in turn order (nearest to merge first), with the turns given and expired so far."""
    client = await temporal_client(request)
    async with temporal_call("merge queues"):
        return await merge_queues(client, repo)


async def reconciler_info(request: Request) -> dict[str, Any]:
    """Runs and next run of the reconciler schedule; `{"available": False, ...}` when Temporal cannot say."""
    try:
        async with asyncio.timeout(5):
            client = await request.app.state.dispatcher.client()
            described = await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).describe()
    except Exception as exc:  # RPCError, timeout, TemporalUnavailable ...: the page still renders
        return {"available": False, "reason": type(exc).__name__}
    info = described.info
    recent = info.recent_actions[-1].started_at.isoformat() if info.recent_actions else None
    upcoming = info.next_action_times[0].isoformat() if info.next_action_times else None
    return {"available": True, "sweeps": info.num_actions, "last": recent, "next": upcoming}
