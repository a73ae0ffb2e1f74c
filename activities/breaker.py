"""Breaker activities: how workflows (which cannot update other workflows) reach a circuit breaker.

`request_permit` is an update-with-start and `report_outcome` a signal-with-start on `breaker/<scope>`,
so the breaker workflow comes into being on first use with the configuration current at that time.
`reset`, `configure` and `status` are plain methods for the CLI and API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.definition import defn
from contracts.breaker import (
    CONFIGURE_UPDATE,
    REPORT_OUTCOME_SIGNAL,
    REQUEST_PERMIT_UPDATE,
    RESET_UPDATE,
    STATUS_QUERY,
    WORKFLOW_TYPE,
    BreakerInput,
    BreakerOutcomeArgs,
    BreakerPermitArgs,
    BreakerStatus,
    OutcomeReport,
    PermitRequest,
    ResetRequest,
    breaker_workflow_id,
)
from domain.config import BreakerConfig
from domain.shared.breaker import Permit

# Temporal refuses more than 10 updates in flight on one workflow (RESOURCE_EXHAUSTED): with a fleet's
# stalled PRs asking at once, most requests failed and were retried seconds later. A worker process keeps
# its own under that limit; the rest wait here, in order.
PERMITS_IN_FLIGHT = 8


class BreakerActivities:
    """Breaker access through a Temporal client; `config()` gives the settings for new breakers."""

    def __init__(self, client: Client, task_queue: str, config: Callable[[], BreakerConfig]) -> None:
        self._client = client
        self.task_queue = task_queue
        self._config = config
        self._in_flight = asyncio.Semaphore(PERMITS_IN_FLIGHT)

    def _start(self, scope: str) -> WithStartWorkflowOperation[Any, Any]:
        return WithStartWorkflowOperation(
            WORKFLOW_TYPE,
            BreakerInput(scope=scope, config=self._config()),
            id=breaker_workflow_id(scope),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    @defn(name="breaker.request_permit")
    async def request_permit(self, req: BreakerPermitArgs) -> Permit:
        """Ask for a permit, starting the scope's breaker if it is not running yet."""
        try:
            async with self._in_flight:
                return await self._client.execute_update_with_start_workflow(
                    REQUEST_PERMIT_UPDATE,
                    PermitRequest(requester=req.requester, repo=req.repo),
                    start_workflow_operation=self._start(req.scope),
                    result_type=Permit,
                )
        except WorkflowUpdateFailedError as err:
            # A refusal by the validator: asking again would be refused again.
            raise ApplicationError(f"permit request rejected: {err.cause}", non_retryable=True) from err

    @defn(name="breaker.report_outcome")
    async def report_outcome(self, args: BreakerOutcomeArgs) -> None:
        """Report how guarded work went, starting the scope's breaker if it is not running yet."""
        await self._client.start_workflow(
            WORKFLOW_TYPE,
            BreakerInput(scope=args.scope, config=self._config()),
            id=breaker_workflow_id(args.scope),
            task_queue=self.task_queue,
            start_signal=REPORT_OUTCOME_SIGNAL,
            start_signal_args=[
                OutcomeReport(
                    requester=args.requester,
                    ok=args.ok,
                    detail=args.detail,
                    repo=args.repo,
                    repo_only=args.repo_only,
                )
            ],
        )

    async def reset(self, scope: str, actor: str) -> BreakerStatus:
        """Close the scope's breaker by hand (starting it, closed, if it was not running)."""
        return await self._client.execute_update_with_start_workflow(
            RESET_UPDATE,
            ResetRequest(actor=actor),
            start_workflow_operation=self._start(scope),
            result_type=BreakerStatus,
        )

    async def configure(self, scope: str, config: BreakerConfig) -> BreakerStatus:
        """Change the thresholds of the scope's breaker (starting it if it was not running)."""
        return await self._client.execute_update_with_start_workflow(
            CONFIGURE_UPDATE, config, start_workflow_operation=self._start(scope), result_type=BreakerStatus
        )

    async def status(self, scope: str) -> BreakerStatus | None:
        """The scope's breaker status, or None if it has never been started."""
        handle = self._client.get_workflow_handle(breaker_workflow_id(scope))
        try:
            return await handle.query(STATUS_QUERY, result_type=BreakerStatus)
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return None
            raise
