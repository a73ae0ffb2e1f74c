"""The review queue of fix PRs in the Admin API: list (read), approve and reject (operate).

Approve and reject become the `review` signal of the fix PR's workflow (`fixpr/...`), which merges or
closes the PR and records the outcome; 409 when the item is no longer pending or its workflow is gone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from contracts.fixpr import REVIEW_SIGNAL
from domain.ci_healing.review_queue import ReviewDecision, ReviewItem, ReviewStatus
from domain.shared.admin_config import Role
from starter.api_audit import AdminRoute, note
from starter.api_common import app_settings, error_responses, in_store, temporal_call, temporal_client
from starter.auth import Principal, authorize, needs
from store import review_queue
from store.db import engine_for

router = APIRouter(
    prefix="/api",
    tags=["review"],
    route_class=AdminRoute,
    dependencies=[Depends(authorize)],
    responses=error_responses(401, 422, 503),
)


class ReviewBody(BaseModel):
    reason: str = Field("", max_length=2000, description="Why; shown on the PR when it is rejected.")


Caller = Annotated[Principal, Depends(authorize)]
OptionalBody = Annotated[ReviewBody | None, Body()]
ItemId = Annotated[int, Path(gt=0, le=2_147_483_647, description="Review queue item id")]


class ReviewAnswer(BaseModel):
    id: int
    workflow_id: str
    approved: bool
    detail: str


@router.get("/review", summary="List the review queue", response_model=list[ReviewItem])
async def list_review(
    request: Request,
    status: Annotated[
        ReviewStatus | None, Query(description="pending (default), approved, rejected, closed")
    ] = (ReviewStatus.PENDING),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReviewItem]:
    """Queued fix PRs, oldest first, with their confidence and why they wait."""
    return await in_store(review_queue.items, engine_for(app_settings(request).database_url), status, limit)


async def _decide(
    request: Request, caller: Principal, item_id: int, approved: bool, reason: str
) -> ReviewAnswer:
    engine = engine_for(app_settings(request).database_url)
    item = await in_store(review_queue.get, engine, item_id)
    if item is None:
        raise HTTPException(404, f"review item {item_id}: not found")
    if item.status is not ReviewStatus.PENDING:
        raise HTTPException(409, f"review item {item_id} is {item.status.value}, not pending")
    decision = ReviewDecision(approved=approved, by=f"api:{caller.name}", reason=reason, at=datetime.now(UTC))
    client = await temporal_client(request)
    try:
        async with temporal_call(f"fix PR workflow {item.workflow_id}"):
            await client.get_workflow_handle(item.workflow_id).signal(REVIEW_SIGNAL, decision)
    except HTTPException as exc:
        if exc.status_code == 404:
            raise HTTPException(409, f"{item.workflow_id} no longer waits for a review") from exc
        raise
    note(request, item=item_id, approved=approved)
    verb = "approved: Mender merges it" if approved else "rejected: Mender closes it"
    return ReviewAnswer(id=item_id, workflow_id=item.workflow_id, approved=approved, detail=verb)


@router.post(
    "/review/{item_id}/approve",
    summary="Approve a queued fix PR",
    response_model=ReviewAnswer,
    responses=error_responses(400, 403, 404, 409),  # 400: a body that is not JSON
    openapi_extra=needs(Role.OPERATE),
)
async def approve(
    request: Request, caller: Caller, item_id: ItemId, body: OptionalBody = None
) -> ReviewAnswer:
    """Merge the fix PR (or enable merging after approval); a security-blocked fix stays the approver's to merge."""
    return await _decide(request, caller, item_id, True, (body or ReviewBody()).reason)


@router.post(
    "/review/{item_id}/reject",
    summary="Reject a queued fix PR",
    response_model=ReviewAnswer,
    responses=error_responses(400, 403, 404, 409),  # 400: a body that is not JSON
    openapi_extra=needs(Role.OPERATE),
)
async def reject(
    request: Request, caller: Caller, item_id: ItemId, body: OptionalBody = None
) -> ReviewAnswer:
    """Close the fix PR with the reason and record it."""
    return await _decide(request, caller, item_id, False, (body or ReviewBody()).reason)
