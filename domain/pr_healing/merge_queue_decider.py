"""The merge queue workflow's decider: (memory, input) -> (memory, PRs to wake), pure and table-tested.

Inputs: a turn request, a release, the lease timer, and a PR that could not be woken (its workflow is
gone). Each applies to the queue (`merge_queue.py`) and adds the PRs whose turn came to the memory's
`wakes`, which the workflow (`workflows/merge_queue.py`) signals in order (`turn`). `wait_seconds` is
how long the workflow sleeps; `finished` says when an idle queue may complete.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from domain.pr_healing import merge_queue as machine
from domain.pr_healing.merge_queue import MergeQueue, Seat, Turn, TurnRequest
from domain.shared.models import Frozen


class QueueMemory(Frozen):
    """What one queue's workflow remembers; carried across continue-as-new."""

    queue: MergeQueue = Field(default_factory=MergeQueue)
    lease_seconds: float = Field(600.0, gt=0)  # the last requester's lease (applies to passing turns on)
    wakes: list[str] = Field(default_factory=list)  # requesters whose turn came, not woken yet


def on_request(m: QueueMemory, req: TurnRequest, now: datetime) -> tuple[QueueMemory, Turn]:
    """The turn, if this PR holds it or is next; else its position among the waiting."""
    queue, turn, wake = machine.request_turn(m.queue, req, now)
    return _woken(m.model_copy(update={"queue": queue, "lease_seconds": req.lease_seconds}), wake), turn


def on_release(m: QueueMemory, pr_number: int, now: datetime) -> QueueMemory:
    """A PR leaves the queue (merged, closed, escalated or no update needed); the next gets the turn."""
    queue, wake = machine.release(m.queue, pr_number, now, m.lease_seconds)
    return _woken(m.model_copy(update={"queue": queue}), wake)


def on_timer(m: QueueMemory, now: datetime) -> tuple[QueueMemory, Seat | None]:
    """A holder whose lease ran out loses the turn to the next PR (returned, to be logged)."""
    queue, wake, expired = machine.expire(m.queue, now, m.lease_seconds)
    return _woken(m.model_copy(update={"queue": queue}), wake), expired


def on_unreachable(m: QueueMemory, requester: str, now: datetime) -> QueueMemory:
    """A PR whose workflow is gone cannot use its turn: every seat it holds leaves the queue."""
    holder = [m.queue.holder] if m.queue.holder else []
    for seat in [*holder, *m.queue.waiting]:
        if seat.requester == requester:
            m = on_release(m, seat.pr_number, now)
    return m


def woken(m: QueueMemory) -> tuple[QueueMemory, str | None]:
    """The next requester to wake (taken off `wakes`), or None."""
    if not m.wakes:
        return m, None
    return m.model_copy(update={"wakes": m.wakes[1:]}), m.wakes[0]


def wait_seconds(m: QueueMemory, now: datetime, idle_seconds: float) -> float:
    """Until the holder's lease runs out; an idle queue waits `idle_seconds` before it completes."""
    if machine.idle(m.queue):
        return idle_seconds
    deadline = machine.next_deadline(m.queue)
    if deadline is None:
        return m.lease_seconds
    return max((deadline - now).total_seconds(), 0.001)


def finished(m: QueueMemory) -> bool:
    """Nobody holds the turn, waits for it, or is still to be woken: the workflow may complete."""
    return machine.idle(m.queue) and not m.wakes


def _woken(m: QueueMemory, wake: list[str]) -> QueueMemory:
    return m.model_copy(update={"wakes": [*m.wakes, *(w for w in wake if w not in m.wakes)]})
