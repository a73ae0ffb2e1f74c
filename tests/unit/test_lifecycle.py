"""The PR state machine: every valid transition, invalid ones flagged, duplicates idempotent."""

from __future__ import annotations

import pytest

from domain.pr_healing.events import EventType, PREvent, PRRef
from domain.pr_healing.facts import synchronize_key
from domain.pr_healing.lifecycle import (
    INFORMATIONAL,
    TERMINAL_STATES,
    TRANSITIONS,
    PRLifecycle,
    PRState,
    TransitionOutcome,
    apply,
    replay,
)
from tests.support.events import HAPPY_PATH, HEAD, make_event

PR = PRRef(repo="acme/api", number=1)
VALID = [(state, event, target) for state, table in TRANSITIONS.items() for event, target in table.items()]
NOT_IN_TABLE = [(s, e) for s in PRState for e in EventType if e not in TRANSITIONS[s]]


def at(state: PRState | None, **fields: object) -> PRLifecycle:
    return PRLifecycle(pr=PR, state=state, head_sha=HEAD, **fields)


def test_all_twelve_states_have_a_row() -> None:
    assert len(PRState) == 12
    assert set(TRANSITIONS) == set(PRState)


def fresh(event: EventType) -> PREvent:
    """An event of `event`'s type; a push always moves the head somewhere new."""
    return make_event(PR, event, head_sha="b" * 40 if event is EventType.SYNCHRONIZE else HEAD)


def test_a_force_push_back_to_an_earlier_head_is_a_new_fact() -> None:
    a, b = "a" * 40, "b" * 40
    lifecycle = at(PRState.CHECKS_PASSED)
    pushes = [(a, b), (b, a), (a, b)]
    heads = []
    for before, after in pushes:
        event = make_event(PR, EventType.SYNCHRONIZE, key=synchronize_key(before, after), head_sha=after)
        lifecycle, verdict = apply(lifecycle, event)
        assert verdict.outcome is TransitionOutcome.APPLIED
        heads.append(lifecycle.head_sha)
        again, repeat = apply(lifecycle, event)
        assert repeat.outcome is TransitionOutcome.DUPLICATE and again == lifecycle
    assert heads == [b, a, b]


@pytest.mark.parametrize(("state", "event", "target"), VALID, ids=lambda v: str(v))
def test_every_valid_transition(state: PRState, event: EventType, target: PRState) -> None:
    after, verdict = apply(at(state), fresh(event))
    assert verdict.outcome is TransitionOutcome.APPLIED
    assert (verdict.from_state, verdict.to_state, after.state) == (state, target, target)
    assert after.invalid_count == 0


@pytest.mark.parametrize(("state", "event"), NOT_IN_TABLE, ids=lambda v: str(v))
def test_events_outside_the_table_never_move_the_state(state: PRState, event: EventType) -> None:
    after, verdict = apply(at(state), fresh(event))
    assert after.state is state
    if state in TERMINAL_STATES:
        assert verdict.outcome is TransitionOutcome.LATE
    elif event in INFORMATIONAL:
        assert verdict.outcome is TransitionOutcome.NOTED
    else:
        assert verdict.outcome is TransitionOutcome.INVALID and verdict.flagged
        assert after.invalid_count == 1
        assert f"not a valid transition from {state}" in verdict.reason


def test_happy_path_ends_merged() -> None:
    assert replay(PR, [make_event(PR, t) for t in HAPPY_PATH]).state is PRState.MERGED


def test_duplicate_key_is_a_no_op() -> None:
    opened = make_event(PR, EventType.OPENED)
    once, _ = apply(PRLifecycle(pr=PR), opened)
    twice, verdict = apply(once, opened)
    assert verdict.outcome is TransitionOutcome.DUPLICATE
    assert twice == once


def test_events_before_an_opening_are_ignored_with_a_reason() -> None:
    after, verdict = apply(PRLifecycle(pr=PR), make_event(PR, EventType.CHECKS_PASSED))
    assert verdict.outcome is TransitionOutcome.IGNORED and "unknown PR" in verdict.reason
    assert after.state is None and not after.tracked


def test_facts_about_an_old_head_are_stale() -> None:
    after, verdict = apply(
        at(PRState.CHECKS_RUNNING), make_event(PR, EventType.CHECKS_PASSED, head_sha="b" * 40)
    )
    assert verdict.outcome is TransitionOutcome.STALE and after.state is PRState.CHECKS_RUNNING


def test_synchronize_moves_the_head_and_restarts() -> None:
    after, _ = apply(at(PRState.CHECKS_FAILED), make_event(PR, EventType.SYNCHRONIZE, head_sha="c" * 40))
    assert (after.state, after.head_sha) == (PRState.CREATED, "c" * 40)


def test_early_approval_is_noted_and_applied_when_policy_passes() -> None:
    lifecycle, verdict = apply(at(PRState.CHECKS_PASSED), make_event(PR, EventType.APPROVED))
    assert verdict.outcome is TransitionOutcome.NOTED and lifecycle.approved
    lifecycle, verdict = apply(lifecycle, make_event(PR, EventType.POLICY_PASSED))
    assert lifecycle.state is PRState.APPROVED and verdict.reason == "already approved"


def test_closed_pr_can_be_reopened_but_merged_cannot() -> None:
    assert apply(at(PRState.CLOSED), make_event(PR, EventType.REOPENED))[0].state is PRState.CREATED
    assert apply(at(PRState.MERGED), make_event(PR, EventType.REOPENED))[1].outcome is TransitionOutcome.LATE
