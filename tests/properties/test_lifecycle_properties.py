"""Hypothesis properties of the lifecycle state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.pr_healing.events import EventType, PREvent, PRRef
from domain.pr_healing.lifecycle import (
    TERMINAL_STATES,
    PRLifecycle,
    PRState,
    TransitionOutcome,
    apply,
    replay,
)
from tests.support.events import HAPPY_PATH

PR = PRRef(repo="acme/api", number=7)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def histories(draw: st.DrawFn, min_size: int = 0) -> list[PREvent]:
    """Arbitrary event sequences with distinct keys and one of two head shas."""
    types = draw(st.lists(st.sampled_from(list(EventType)), min_size=min_size, max_size=30))
    heads = draw(
        st.lists(st.sampled_from(["a" * 40, "b" * 40, None]), min_size=len(types), max_size=len(types))
    )
    return [
        PREvent(key=f"k{i}", pr=PR, type=t, occurred_at=T0 + timedelta(seconds=i), head_sha=h)
        for i, (t, h) in enumerate(zip(types, heads, strict=True))
    ]


def with_duplicates(events: list[PREvent], picks: list[tuple[int, int]]) -> list[PREvent]:
    """Insert a copy of event i at a position after it, for each (i, offset) pick."""
    result = list(events)
    for index, offset in picks:
        if not result:
            break
        source = index % len(result)
        original = result[source]
        result.insert(source + 1 + offset % (len(result) - source), original)
    return result


@given(histories(), st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), max_size=10))
def test_duplicating_any_event_leaves_the_final_state_unchanged(events: list[PREvent], picks) -> None:
    plain = replay(PR, events)
    duplicated = replay(PR, with_duplicates(events, picks))
    assert duplicated.state == plain.state
    assert duplicated.head_sha == plain.head_sha
    assert duplicated.invalid_count == plain.invalid_count


@given(st.lists(st.integers(0, len(HAPPY_PATH) - 1), max_size=15))
def test_valid_lifecycle_ends_in_the_same_terminal_state_as_its_deduplicated_form(repeats: list[int]) -> None:
    events = [
        PREvent(key=f"k{i}", pr=PR, type=t, occurred_at=T0 + timedelta(seconds=i), head_sha="a" * 40)
        for i, t in enumerate(HAPPY_PATH)
    ]
    noisy = list(events)
    for r in repeats:  # redeliveries arrive later than the original
        noisy.insert(min(len(noisy), noisy.index(events[r]) + 1 + r), events[r])
    assert replay(PR, noisy).state == replay(PR, events).state == PRState.MERGED


@given(histories())
def test_apply_never_raises_and_counts_what_it_flags(events: list[PREvent]) -> None:
    lifecycle = PRLifecycle(pr=PR)
    flagged = 0
    for event in events:
        before = lifecycle.state
        lifecycle, verdict = apply(lifecycle, event)
        flagged += verdict.flagged
        assert lifecycle.state is None or isinstance(lifecycle.state, PRState)
        if verdict.outcome in (
            TransitionOutcome.INVALID,
            TransitionOutcome.LATE,
            TransitionOutcome.STALE,
            TransitionOutcome.DUPLICATE,
            TransitionOutcome.NOTED,
        ):
            assert lifecycle.state == before
        if before in TERMINAL_STATES and verdict.outcome is not TransitionOutcome.APPLIED:
            assert lifecycle.state == before
    assert lifecycle.invalid_count == flagged
