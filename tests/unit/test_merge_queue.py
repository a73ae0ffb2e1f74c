"""Merge-queue-lite as tables: the queue (turns, priority, leases) and the PR decider's side of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.config import MenderConfig
from domain.pr_healing import decider
from domain.pr_healing import merge_queue as q
from domain.pr_healing.classifier import Decision, PRAction
from domain.pr_healing.effects import (
    AskPermit,
    AskTurn,
    Context,
    Effect,
    Failed,
    FetchSnapshot,
    Plan,
    PRMemory,
    Purpose,
    ReleaseTurn,
)
from domain.pr_healing.events import EventSource, EventType
from domain.pr_healing.lifecycle import PRLifecycle, PRState
from domain.pr_healing.merge_queue import Membership, MergeQueue, Turn, TurnRequest
from domain.pr_healing.remediation import Expectation, RemedyOutcome
from domain.pr_healing.snapshot import StatusFact
from tests.support.events import HEAD, make_event
from tests.support.snapshots import PR, run, snapshot

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 60.0


def ask(
    queue: MergeQueue, number: int, nearness: int = 0, at: float = 0
) -> tuple[MergeQueue, Turn, list[str]]:
    req = TurnRequest(
        pr_number=number, requester=f"pr/acme/api/{number}", nearness=nearness, lease_seconds=LEASE
    )
    return q.request_turn(queue, req, NOW + timedelta(seconds=at))


# --- the queue ----------------------------------------------------------------------------------


def test_the_first_to_ask_an_empty_queue_gets_the_turn_and_the_next_waits() -> None:
    queue, first, wake = ask(MergeQueue(), 1)
    assert first.granted and first.lease_until == NOW + timedelta(seconds=LEASE) and wake == []
    queue, second, wake = ask(queue, 2, nearness=4, at=1)
    assert not second.granted and second.position == 1 and second.holder == 1 and wake == []
    queue, again, _ = ask(queue, 1, at=30)  # the holder asks again: granted, lease renewed
    assert again.granted and again.lease_until == NOW + timedelta(seconds=30 + LEASE)


def test_the_turn_goes_to_the_pr_nearest_to_merge_then_to_the_earliest() -> None:
    queue, _, _ = ask(MergeQueue(), 1)
    queue, _, _ = ask(queue, 2, nearness=1, at=1)
    queue, _, _ = ask(queue, 3, nearness=3, at=2)
    queue, _, _ = ask(queue, 4, nearness=3, at=3)
    assert [s.pr_number for s in queue.waiting] == [3, 4, 2]
    queue, wake = q.release(queue, 1, NOW + timedelta(seconds=5), LEASE)
    assert queue.holder is not None and queue.holder.pr_number == 3 and wake == ["pr/acme/api/3"]
    queue, turn, _ = ask(queue, 3, nearness=3, at=6)  # the woken PR claims its turn
    assert turn.granted


def test_a_waiter_keeps_its_place_in_line_when_it_asks_again() -> None:
    queue, _, _ = ask(MergeQueue(), 1)
    queue, _, _ = ask(queue, 2, nearness=2, at=1)
    queue, _, _ = ask(queue, 3, nearness=2, at=2)
    queue, turn, _ = ask(queue, 2, nearness=2, at=10)
    assert turn.position == 1 and queue.waiting[0].since == NOW + timedelta(seconds=1)


def test_a_dead_holder_cannot_block_the_queue_its_lease_runs_out() -> None:
    queue, _, _ = ask(MergeQueue(), 1)
    queue, _, _ = ask(queue, 2, at=1)
    assert q.next_deadline(queue) == NOW + timedelta(seconds=LEASE)
    same, wake, expired = q.expire(queue, NOW + timedelta(seconds=LEASE - 1), LEASE)
    assert (same, wake, expired) == (queue, [], None)
    queue, wake, expired = q.expire(queue, NOW + timedelta(seconds=LEASE), LEASE)
    assert expired is not None and expired.pr_number == 1 and wake == ["pr/acme/api/2"]
    assert queue.holder is not None and queue.holder.pr_number == 2 and queue.expired == 1
    queue, turn, _ = ask(queue, 1, at=LEASE + 1)  # the late one queues up again
    assert not turn.granted and turn.holder == 2


def test_a_request_after_an_expired_lease_is_granted_to_the_best_waiter() -> None:
    queue, _, _ = ask(MergeQueue(), 1)
    queue, _, _ = ask(queue, 2, nearness=4, at=1)
    queue, turn, wake = ask(queue, 3, nearness=0, at=LEASE + 5)
    assert not turn.granted and turn.holder == 2 and wake == ["pr/acme/api/2"]


def test_release_of_a_waiter_or_a_stranger() -> None:
    queue, _, _ = ask(MergeQueue(), 1)
    queue, _, _ = ask(queue, 2, at=1)
    assert q.release(queue, 9, NOW, LEASE) == (queue, [])
    queue, wake = q.release(queue, 2, NOW, LEASE)
    assert wake == [] and queue.waiting == [] and queue.holder is not None
    queue, wake = q.release(queue, 1, NOW, LEASE)
    assert q.idle(queue) and wake == []


def test_nearness_counts_approved_green_policy_and_auto_merge() -> None:
    green = snapshot(labels=["automerge"])
    assert q.nearness(green, "policy-bot") == 4
    assert q.nearness(snapshot(), "policy-bot") == 3
    failing = snapshot(runs=[run("test", "failure")], approved=False, policy="pending")
    assert q.nearness(failing, "policy-bot") == 0
    other = snapshot(statuses=[StatusFact(id=1, context="other", state="success")])
    assert q.nearness(other, "policy-bot") == 2


# --- the PR decider's side ------------------------------------------------------------------------


def context(**config: Any) -> Context:
    raw = {"mode": "act", **config}
    return Context(policy=MenderConfig.model_validate(raw).policy_for(PR.repo), now=NOW, run_id="run-1")


def memory(state: PRState = PRState.APPROVED, **fields: Any) -> PRMemory:
    lifecycle = PRLifecycle(pr=PR, state=state, head_sha=HEAD, retry_counts=fields.pop("retry_counts", {}))
    return PRMemory(lifecycle=lifecycle, **fields)


def kinds(effects: list[Effect]) -> list[str]:
    return [type(e).__name__ for e in effects]


BEHIND = snapshot(mergeable_state="behind", base_ref="main")
UPDATE = Plan(
    decision=Decision(action=PRAction.UPDATE_BRANCH, reason="behind"),
    head_sha=HEAD,
    base_ref="main",
    attempt=1,
)
STALE = FetchSnapshot(Purpose.STALE, before=(PRState.APPROVED.value, HEAD))


def test_a_behind_pr_asks_its_base_queue_with_its_nearness() -> None:
    step = decider.resume(memory(), context(), STALE, BEHIND)
    ask_turn = step.effects[-1]
    assert isinstance(ask_turn, AskTurn)
    assert (ask_turn.plan.base_ref, ask_turn.plan.nearness, ask_turn.plan.attempt) == ("main", 3, 1)


def test_a_behind_pr_with_a_transient_failure_is_updated_not_rebuilt() -> None:
    flaky_behind = snapshot(mergeable_state="behind", runs=[run("test", "failure", output="ETIMEDOUT")])
    step = decider.resume(
        memory(state=PRState.CHECKS_FAILED),
        context(),
        FetchSnapshot(Purpose.STALE, before=(PRState.CHECKS_FAILED.value, HEAD)),
        flaky_behind,
    )
    assert isinstance(step.effects[-1], AskTurn)
    assert step.effects[-1].plan.nearness == 2  # approved, policy passed; not green


@pytest.mark.parametrize(
    ("turn", "expected", "seat"),
    [
        pytest.param(
            Turn(granted=True, holder=PR.number),
            ["AskPermit"],
            Membership(base_ref="main", holds=True),
            id="granted",
        ),
        pytest.param(
            Turn(granted=False, position=2, holder=99, reason="PR #99 first"),
            ["Record", "Publish", "Audit", "Log"],
            Membership(base_ref="main"),
            id="waits-journaled-once-per-head",
        ),
        pytest.param(
            Failed("queue down"), ["Log", "AskPermit"], Membership(), id="unreachable-queue-updates-anyway"
        ),
    ],
)
def test_the_queue_answer(turn: Turn | Failed, expected: list[str], seat: Membership) -> None:
    step = decider.resume(memory(), context(), AskTurn(UPDATE), turn)
    assert kinds(step.effects) == expected
    assert step.memory.queue == seat
    if "AskPermit" in expected:
        assert step.effects[-1] == AskPermit(UPDATE)
    if isinstance(turn, Turn) and not turn.granted:
        outcomes = [e.event.details["outcome"] for e in step.memory.recent]
        assert outcomes == [RemedyOutcome.QUEUED]
        again = decider.resume(step.memory, context(), AskTurn(UPDATE), turn)
        assert kinds(again.effects) == ["Log"]  # the same wait is not journaled twice


def test_an_update_that_made_the_pr_current_is_not_charged_and_keeps_the_turn() -> None:
    expecting = Expectation(
        action=PRAction.UPDATE_BRANCH, attempt=2, deadline=NOW + timedelta(minutes=5), head_sha=HEAD
    )
    seat = Membership(base_ref="main", holds=True)
    m = memory(retry_counts={"update_branch": 2}, expecting=expecting, queue=seat)
    synced = make_event(PR, EventType.SYNCHRONIZE, head_sha="b" * 40, source=EventSource.WEBHOOK)
    step = decider.on_events(m, context(), [synced])
    assert step.memory.lifecycle.retry_counts["update_branch"] == 1
    assert step.memory.queue == Membership(base_ref="main", holds=True, updated=True, effective_updates=1)
    # The base moves again: the PR is behind, the classifier does not count the effective update.
    again = step.memory.model_copy(
        update={"lifecycle": step.memory.lifecycle.model_copy(update={"state": PRState.APPROVED})}
    )
    head = again.lifecycle.head_sha
    behind = snapshot(mergeable_state="behind", head_sha=head)
    fetched = decider.resume(
        again, context(), FetchSnapshot(Purpose.STALE, before=("APPROVED", head)), behind
    )
    assert isinstance(fetched.effects[-1], AskTurn) and fetched.effects[-1].plan.attempt == 2


def test_effective_updates_are_free_only_up_to_the_maximum() -> None:
    expecting = Expectation(
        action=PRAction.UPDATE_BRANCH, attempt=1, deadline=NOW + timedelta(minutes=5), head_sha=HEAD
    )
    seat = Membership(base_ref="main", holds=True, effective_updates=1)
    m = memory(retry_counts={"update_branch": 1}, expecting=expecting, queue=seat)
    synced = make_event(PR, EventType.SYNCHRONIZE, head_sha="b" * 40, source=EventSource.WEBHOOK)
    config = {"remediation": {"merge_queue": {"effective_updates_max": 1}}}
    step = decider.on_events(m, context(**config), [synced])
    assert step.memory.lifecycle.retry_counts["update_branch"] == 1


@pytest.mark.parametrize(
    ("event_type", "state"),
    [
        pytest.param(EventType.MERGED, PRState.MERGED, id="merged"),
        pytest.param(EventType.CLOSED, PRState.CLOSED, id="closed"),
    ],
)
def test_a_pr_that_is_over_makes_way(event_type: EventType, state: PRState) -> None:
    m = memory(queue=Membership(base_ref="main", holds=True, updated=True))
    step = decider.on_events(m, context(), [make_event(PR, event_type, source=EventSource.WEBHOOK)])
    assert step.memory.lifecycle.state is state
    assert ReleaseTurn("main") in step.effects and step.memory.queue.base_ref is None


def test_an_escalated_pr_makes_way() -> None:
    m = memory(state=PRState.CHECKS_FAILED, queue=Membership(base_ref="main"))
    broken = snapshot(mergeable_state="behind", runs=[run("test", "failure", output="AssertionError")])
    stale = FetchSnapshot(Purpose.STALE, before=(PRState.CHECKS_FAILED.value, HEAD))
    step = decider.resume(m, context(), stale, broken)
    assert step.memory.lifecycle.state is PRState.NEEDS_INTERVENTION
    assert kinds(step.effects).count("ReleaseTurn") == 1


def test_a_pr_not_behind_when_its_turn_comes_makes_way_without_an_update() -> None:
    m = memory(queue=Membership(base_ref="main", holds=True))
    assert decider.on_turn(m, context()).effects == [STALE]
    step = decider.resume(m, context(), STALE, snapshot())  # green, approved, not behind: merge it
    assert kinds(step.effects).count("ReleaseTurn") == 1 and "AskTurn" not in kinds(step.effects)
    assert step.memory.queue == Membership()


def test_a_pr_brought_up_to_date_keeps_its_turn_until_it_merges() -> None:
    m = memory(queue=Membership(base_ref="main", holds=True, updated=True))
    step = decider.resume(m, context(), STALE, snapshot(approved=False))
    assert "ReleaseTurn" not in kinds(step.effects) and step.memory.queue.holds


def test_a_human_command_to_update_goes_straight_through() -> None:
    assert not decider.queue_steps.needs_turn(
        context(),
        Plan(
            decision=UPDATE.decision,
            head_sha=HEAD,
            base_ref="main",
            command=object(),  # type: ignore[arg-type]
        ),
    )


def test_a_run_decided_before_the_queue_replays_without_turns() -> None:
    from dataclasses import replace

    old = replace(context(), merge_queue_known=False)
    step = decider.resume(memory(), old, STALE, BEHIND)
    assert kinds(step.effects)[-1] == "AskPermit"
    flaky_behind = snapshot(mergeable_state="behind", runs=[run("test", "failure", output="ETIMEDOUT")])
    stale = FetchSnapshot(Purpose.STALE, before=(PRState.CHECKS_FAILED.value, HEAD))
    step = decider.resume(memory(state=PRState.CHECKS_FAILED), old, stale, flaky_behind)
    assert step.effects[-1].plan.decision.action is PRAction.RETRY_CHECKS  # type: ignore[attr-defined]
