"""Merge queue activities: how PR workflows (which cannot update other workflows) reach their queue.

`request_turn` is an update-with-start on `queue/<owner>/<repo>/<base>`, so a queue comes into being
on first use; `release_turn` signals it (a queue that is not running has nobody to release).
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.definition import defn
from contracts.merge_queue import (
    QUEUE_WORKFLOW,
    RELEASE_SIGNAL,
    REQUEST_TURN_UPDATE,
    STATUS_QUERY,
    QueueInput,
    QueueStatus,
    ReleaseArgs,
    TurnArgs,
    TurnRelease,
    queue_workflow_id,
)
from domain.pr_healing.merge_queue import Turn


class MergeQueueActivities:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self.task_queue = task_queue

    def _start(self, args: TurnArgs) -> WithStartWorkflowOperation[Any, Any]:
        return WithStartWorkflowOperation(
            QUEUE_WORKFLOW,
            QueueInput(repo=args.repo, base_ref=args.base_ref, lease_seconds=args.request.lease_seconds),
            id=queue_workflow_id(args.repo, args.base_ref),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    @defn(name="queue.request_turn")
    async def request_turn(self, args: TurnArgs) -> Turn:
        """Ask for the turn to update the branch, starting the base's queue if it is not running."""
        try:
            return await self._client.execute_update_with_start_workflow(
                REQUEST_TURN_UPDATE,
                args.request,
                start_workflow_operation=self._start(args),
                result_type=Turn,
            )
        except WorkflowUpdateFailedError as err:
            raise ApplicationError(f"turn request rejected: {err.cause}", non_retryable=True) from err

    @defn(name="queue.release_turn")
    async def release_turn(self, args: ReleaseArgs) -> None:
        """Leave the base's queue; a queue that is not running holds nobody."""
        handle = self._client.get_workflow_handle(queue_workflow_id(args.repo, args.base_ref))
        try:
            await handle.signal(RELEASE_SIGNAL, TurnRelease(pr_number=args.pr_number))
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise

    async def status(self, repo: str, base_ref: str) -> QueueStatus | None:
        """The queue's status, or None when it is not running."""
        handle = self._client.get_workflow_handle(queue_workflow_id(repo, base_ref))
        try:
            return await handle.query(STATUS_QUERY, result_type=QueueStatus)
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return None
            raise
