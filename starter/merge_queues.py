"""The merge queues as operators see them (`GET /api/merge-queues`, `mender queue`, the dashboard's
Queues page): per (repository, base branch), the PR holding the turn and the PRs waiting, in turn order.

Read from the running `MergeQueue` workflows (`queue/<owner>/<repo>/<base>`) by their `status` query; a
queue that is not running holds nobody (an idle queue completes and starts again on the next request).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.merge_queue import QUEUE_WORKFLOW, STATUS_QUERY, QueueStatus

MAX_QUEUES = 500  # at most this many queues are read per answer
QUERY_SECONDS = 5.0


class QueueSeatView(BaseModel):
    pr: str  # owner/repo#number
    pr_number: int
    position: int  # 0: holds the turn; 1: next
    nearness: int  # 0-4: approved, green, policy passed, auto-merge on
    since: datetime  # when it first asked for the turn
    lease_until: datetime | None = None  # the holder's turn passes on at this time unless renewed


class QueueView(BaseModel):
    repo: str
    base_ref: str
    workflow_id: str
    holder: QueueSeatView | None = None
    waiting: list[QueueSeatView] = Field(default_factory=list)
    granted: int = 0  # turns given so far
    expired: int = 0  # turns that passed on because their lease ran out


class QueuesView(BaseModel):
    queues: list[QueueView] = Field(default_factory=list)
    truncated: bool = False  # more than MAX_QUEUES queues are running


def view_of(workflow_id: str, status: QueueStatus) -> QueueView:
    def seat(s, position: int) -> QueueSeatView:
        return QueueSeatView(
            pr=f"{status.repo}#{s.pr_number}",
            pr_number=s.pr_number,
            position=position,
            nearness=s.nearness,
            since=s.since,
            lease_until=s.lease_until,
        )

    q = status.queue
    return QueueView(
        repo=status.repo,
        base_ref=status.base_ref,
        workflow_id=workflow_id,
        holder=seat(q.holder, 0) if q.holder else None,
        waiting=[seat(s, i + 1) for i, s in enumerate(q.waiting)],
        granted=q.granted,
        expired=q.expired,
    )


async def merge_queues(client: Client, repo: str | None = None) -> QueuesView:
    """Every running merge queue (of `repo` only, if given), sorted by repository and base."""
    ids: list[str] = []
    truncated = False
    query = f"WorkflowType='{QUEUE_WORKFLOW}' AND ExecutionStatus='Running'"
    async for execution in client.list_workflows(query):
        if repo is not None and not execution.id.startswith(f"queue/{repo}/"):
            continue
        if len(ids) == MAX_QUEUES:
            truncated = True
            break
        ids.append(execution.id)

    async def one(workflow_id: str) -> QueueView | None:
        try:
            async with asyncio.timeout(QUERY_SECONDS):
                status = await client.get_workflow_handle(workflow_id).query(
                    STATUS_QUERY, result_type=QueueStatus
                )
        except (RPCError, TimeoutError):  # completed meanwhile, or its worker is away: not shown
            return None
        return view_of(workflow_id, status)

    found = [v for v in await asyncio.gather(*(one(i) for i in ids)) if v is not None]
    if repo is not None:
        found = [v for v in found if v.repo == repo]
    return QueuesView(queues=sorted(found, key=lambda v: (v.repo, v.base_ref)), truncated=truncated)
