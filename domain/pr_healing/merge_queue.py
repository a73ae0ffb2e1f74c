"""Merge-queue-lite: branch updates one PR at a time per (repository, base branch), pure.

A PR that needs its branch brought up to date asks the queue of its base for a turn. The turn goes to
one PR at a time, the one nearest to merge first (`nearness`: approved, green, policy passed,
auto-merge on), ties to the one that asked first. The holder keeps the turn until it merges, closes,
is escalated or finds it needs no update; a turn not renewed within the lease passes on, so a dead PR
cannot block its queue. When the turn frees up, the next PR is woken (`wake`) to look again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from domain.pr_healing.snapshot import PRSnapshot
from domain.shared.models import Frozen

WAITING_KEPT = 1000  # a queue never remembers more waiters than this (the farthest from merge go first)
AUTO_MERGE_LABELS = frozenset({"automerge", "auto-merge", "merge-when-green"})


class TurnRequest(Frozen):
    """A PR asking for its turn: who (its workflow id), how near to merge, how long a turn lasts."""

    pr_number: int = Field(ge=1)
    requester: str = Field(min_length=1, max_length=300)
    nearness: int = Field(0, ge=0, le=10)
    head_sha: str | None = None
    lease_seconds: float = Field(600.0, gt=0)


class Seat(Frozen):
    """A PR in the queue: waiting (`lease_until` None) or holding the turn until `lease_until`."""

    pr_number: int
    requester: str
    nearness: int
    since: datetime  # when it first asked: ties go to the earliest
    lease_until: datetime | None = None


class MergeQueue(Frozen):
    """The whole state of one queue (carried across continue-as-new)."""

    holder: Seat | None = None
    waiting: list[Seat] = Field(default_factory=list)
    granted: int = 0  # turns given so far
    expired: int = 0  # turns that passed on because their lease ran out


class Turn(Frozen):
    """The answer to a turn request: granted, or the position among the waiting (1 = next)."""

    granted: bool
    position: int = 0
    holder: int | None = None  # the PR number holding the turn
    reason: str = ""
    lease_until: datetime | None = None


def nearness(snap: PRSnapshot, policy_context: str) -> int:
    """How near to merge a PR is: one point each for approved, green, policy passed and auto-merge on."""
    policy = snap.status_for(policy_context)
    auto = bool(AUTO_MERGE_LABELS & {label.lower() for label in snap.labels})
    return sum(
        (
            snap.approval() is not None,
            snap.checks_passed,
            policy is not None and policy.state == "success",
            auto,
        )
    )


def _order(seat: Seat) -> tuple[int, datetime, int]:
    return (-seat.nearness, seat.since, seat.pr_number)


def _promote(q: MergeQueue, now: datetime, lease: float) -> tuple[MergeQueue, list[str]]:
    """With nobody holding the turn, the best waiter gets it (and is woken to claim it)."""
    if q.holder is not None or not q.waiting:
        return q, []
    best, *rest = sorted(q.waiting, key=_order)
    holder = best.model_copy(update={"lease_until": now + timedelta(seconds=lease)})
    return q.model_copy(update={"holder": holder, "waiting": rest, "granted": q.granted + 1}), [
        best.requester
    ]


def expire(q: MergeQueue, now: datetime, lease: float) -> tuple[MergeQueue, list[str], Seat | None]:
    """A holder whose lease ran out loses the turn; the next PR gets it. (queue, wake, expired holder)."""
    holder = q.holder
    if holder is None or holder.lease_until is None or now < holder.lease_until:
        return q, [], None
    q = q.model_copy(update={"holder": None, "expired": q.expired + 1})
    q, wake = _promote(q, now, lease)
    return q, wake, holder


def request_turn(q: MergeQueue, req: TurnRequest, now: datetime) -> tuple[MergeQueue, Turn, list[str]]:
    """A PR asks for the turn: granted (and the lease renewed) if it holds it or is next; else queued."""
    lease = req.lease_seconds
    q, wake, _ = expire(q, now, lease)
    if q.holder is not None and q.holder.pr_number == req.pr_number:
        holder = q.holder.model_copy(
            update={"requester": req.requester, "lease_until": now + timedelta(seconds=lease)}
        )
        q = q.model_copy(update={"holder": holder})
        wake = [w for w in wake if w != req.requester]
        return (
            q,
            Turn(granted=True, holder=req.pr_number, reason="your turn", lease_until=holder.lease_until),
            wake,
        )
    known = next((s for s in q.waiting if s.pr_number == req.pr_number), None)
    seat = Seat(
        pr_number=req.pr_number,
        requester=req.requester,
        nearness=req.nearness,
        since=known.since if known else now,
    )
    others = [s for s in q.waiting if s.pr_number != req.pr_number]
    waiting = sorted([*others, seat], key=_order)[:WAITING_KEPT]
    q = q.model_copy(update={"waiting": waiting})
    if q.holder is None:
        q, promoted = _promote(q, now, lease)
        if q.holder is not None and q.holder.pr_number == req.pr_number:
            turn = Turn(
                granted=True, holder=req.pr_number, reason="your turn", lease_until=q.holder.lease_until
            )
            return q, turn, wake
        wake += promoted
    assert q.holder is not None
    position = next((i + 1 for i, s in enumerate(q.waiting) if s.pr_number == req.pr_number), 0)
    reason = f"PR #{q.holder.pr_number} is being brought up to date first (position {position})"
    return q, Turn(granted=False, position=position, holder=q.holder.pr_number, reason=reason), wake


def release(q: MergeQueue, pr_number: int, now: datetime, lease: float) -> tuple[MergeQueue, list[str]]:
    """A PR leaves the queue (merged, closed, escalated, or no update needed); the next gets the turn."""
    waiting = [s for s in q.waiting if s.pr_number != pr_number]
    holder = None if q.holder is not None and q.holder.pr_number == pr_number else q.holder
    if holder is q.holder and len(waiting) == len(q.waiting):
        return q, []
    return _promote(q.model_copy(update={"holder": holder, "waiting": waiting}), now, lease)


def next_deadline(q: MergeQueue) -> datetime | None:
    """When the holder's lease runs out (None when nobody holds the turn)."""
    return q.holder.lease_until if q.holder is not None else None


def idle(q: MergeQueue) -> bool:
    return q.holder is None and not q.waiting


class Membership(Frozen):
    """A PR's side of the queue (in its memory): which queue it is in, and what it did with its turn."""

    base_ref: str | None = None  # the base whose queue it is in (None: in no queue)
    holds: bool = False  # it holds the turn
    updated: bool = False  # it was brought up to date during this turn (keeps the turn until it merges)
    effective_updates: int = 0  # updates that made it current: not charged to its budget (up to a max)
