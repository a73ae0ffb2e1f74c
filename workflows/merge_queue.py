"""The merge queue workflow: one small workflow per (repository, base branch), id `queue/<owner>/<repo>/<base>`.

A thin loop over the pure decider `domain/pr_healing/merge_queue_decider.py`. Handlers are synchronous,
so each turn request or release applies atomically. The run loop wakes the PRs whose turn came (the
`turn` signal of their workflows) and passes on a turn whose lease ran out. A PR that cannot be woken
(its workflow is gone) leaves the queue. An empty queue completes after a while; the next request
starts it again.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from contracts.merge_queue import (
        QUEUE_WORKFLOW,
        RELEASE_SIGNAL,
        REQUEST_TURN_UPDATE,
        STATUS_QUERY,
        QueueInput,
        QueueStatus,
        TurnRelease,
    )
    from contracts.pr import TURN_SIGNAL
    from domain.pr_healing import merge_queue_decider as decider
    from domain.pr_healing.merge_queue import MergeQueue, Turn, TurnRequest
    from domain.pr_healing.merge_queue_decider import QueueMemory


@workflow.defn(name=QUEUE_WORKFLOW)
class MergeQueueWorkflow:
    """Serialises branch updates of one base branch: one PR at a time, the nearest to merge first."""

    @workflow.init
    def __init__(self, input: QueueInput) -> None:
        self._input = input
        self._memory = QueueMemory(
            queue=input.carried or MergeQueue(),
            lease_seconds=input.lease_seconds,
            wakes=list(input.pending_wakes),
        )
        self._touched = False

    @workflow.update(name=REQUEST_TURN_UPDATE)
    def request_turn(self, req: TurnRequest) -> Turn:
        """The turn, if this PR holds it or is next; else its position among the waiting."""
        self._memory, turn = decider.on_request(self._memory, req, workflow.now())
        self._touched = True
        if turn.granted:
            workflow.logger.info("queue %s: turn to #%s", self._name(), req.pr_number)
        return turn

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, req: TurnRelease) -> None:
        """A PR leaves the queue (merged, closed, escalated or no update needed)."""
        self._memory = decider.on_release(self._memory, req.pr_number, workflow.now())
        self._touched = True

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> QueueStatus:
        return QueueStatus(repo=self._input.repo, base_ref=self._input.base_ref, queue=self._memory.queue)

    @workflow.run
    async def run(self, input: QueueInput) -> None:
        while True:
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried())
            self._touched = False
            try:
                await workflow.wait_condition(
                    lambda: bool(self._memory.wakes) or self._touched or self._history_too_long(),
                    timeout=timedelta(
                        seconds=decider.wait_seconds(self._memory, workflow.now(), self._input.idle_seconds)
                    ),
                )
            except TimeoutError:
                if decider.finished(self._memory):
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    if decider.finished(self._memory):
                        return
                self._memory, expired = decider.on_timer(self._memory, workflow.now())
                if expired is not None:
                    workflow.logger.warning(
                        "queue %s: #%s did not use its turn in time; next", self._name(), expired.pr_number
                    )
            await self._send_wakes()

    async def _send_wakes(self) -> None:
        while True:
            self._memory, requester = decider.woken(self._memory)
            if requester is None:
                return
            try:
                await workflow.get_external_workflow_handle(requester).signal(TURN_SIGNAL)
            except FailureError as err:  # its workflow is gone: it cannot use the turn
                workflow.logger.warning("queue %s: %s not woken (%s); next", self._name(), requester, err)
                self._memory = decider.on_unreachable(self._memory, requester, workflow.now())

    def _name(self) -> str:
        return f"{self._input.repo}@{self._input.base_ref}"

    def _carried(self) -> QueueInput:
        m = self._memory
        return self._input.model_copy(
            update={"carried": m.queue, "pending_wakes": m.wakes, "lease_seconds": m.lease_seconds}
        )

    def _history_too_long(self) -> bool:
        info = workflow.info()
        limit = self._input.history_events_before_continue
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= limit
