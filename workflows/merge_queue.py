"""The merge queue workflow: one small workflow per (repository, base branch), id `queue/<owner>/<repo>/<base>`.

Handlers are synchronous, so each turn request or release applies atomically to the pure queue in
`domain/pr_healing/merge_queue.py`. The run loop wakes the PR whose turn came (the `turn` signal of
its workflow) and passes on a turn whose lease ran out. A PR that cannot be woken (its workflow is
gone) leaves the queue. An empty queue completes after a while; the next request starts it again.
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
    from domain.pr_healing import merge_queue as machine
    from domain.pr_healing.merge_queue import MergeQueue, Turn, TurnRequest


@workflow.defn(name=QUEUE_WORKFLOW)
class MergeQueueWorkflow:
    """Serialises branch updates of one base branch: one PR at a time, the nearest to merge first."""

    @workflow.init
    def __init__(self, input: QueueInput) -> None:
        self._input = input
        self._queue = input.carried or MergeQueue()
        self._lease = input.lease_seconds
        self._wake: list[str] = list(input.pending_wakes)
        self._touched = False

    @workflow.update(name=REQUEST_TURN_UPDATE)
    def request_turn(self, req: TurnRequest) -> Turn:
        """The turn, if this PR holds it or is next; else its position among the waiting."""
        self._lease = req.lease_seconds
        self._queue, turn, wake = machine.request_turn(self._queue, req, workflow.now())
        self._woken(wake)
        if turn.granted:
            workflow.logger.info("queue %s: turn to #%s", self._name(), req.pr_number)
        return turn

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, req: TurnRelease) -> None:
        """A PR leaves the queue (merged, closed, escalated or no update needed)."""
        self._queue, wake = machine.release(self._queue, req.pr_number, workflow.now(), self._lease)
        self._woken(wake)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> QueueStatus:
        return QueueStatus(repo=self._input.repo, base_ref=self._input.base_ref, queue=self._queue)

    @workflow.run
    async def run(self, input: QueueInput) -> None:
        while True:
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried())
            self._touched = False
            try:
                await workflow.wait_condition(
                    lambda: bool(self._wake) or self._touched or self._history_too_long(),
                    timeout=timedelta(seconds=self._seconds_to_wait()),
                )
            except TimeoutError:
                if machine.idle(self._queue):
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    if machine.idle(self._queue) and not self._wake:
                        return
                self._queue, wake, expired = machine.expire(self._queue, workflow.now(), self._lease)
                if expired is not None:
                    workflow.logger.warning(
                        "queue %s: #%s did not use its turn in time; next", self._name(), expired.pr_number
                    )
                self._woken(wake)
            await self._send_wakes()

    def _woken(self, wake: list[str]) -> None:
        self._wake.extend(w for w in wake if w not in self._wake)
        self._touched = True

    async def _send_wakes(self) -> None:
        while self._wake:
            requester = self._wake.pop(0)
            try:
                await workflow.get_external_workflow_handle(requester).signal(TURN_SIGNAL)
            except FailureError as err:  # its workflow is gone: it cannot use the turn
                workflow.logger.warning("queue %s: %s not woken (%s); next", self._name(), requester, err)
                gone = [s.pr_number for s in self._seats() if s.requester == requester]
                for number in gone:
                    self._queue, wake = machine.release(self._queue, number, workflow.now(), self._lease)
                    self._woken(wake)

    def _seats(self) -> list[machine.Seat]:
        holder = [self._queue.holder] if self._queue.holder else []
        return [*holder, *self._queue.waiting]

    def _seconds_to_wait(self) -> float:
        if machine.idle(self._queue):
            return self._input.idle_seconds
        deadline = machine.next_deadline(self._queue)
        if deadline is None:
            return self._lease
        return max((deadline - workflow.now()).total_seconds(), 0.001)

    def _name(self) -> str:
        return f"{self._input.repo}@{self._input.base_ref}"

    def _carried(self) -> QueueInput:
        return self._input.model_copy(
            update={"carried": self._queue, "pending_wakes": self._wake, "lease_seconds": self._lease}
        )

    def _history_too_long(self) -> bool:
        info = workflow.info()
        limit = self._input.history_events_before_continue
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= limit
