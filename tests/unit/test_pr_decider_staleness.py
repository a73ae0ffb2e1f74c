"""Staleness counted from the PR's last event by its own time (EVENT_TIME_REVISION), as a table; and
the time a remediation was decided, journaled apart from the time GitHub took it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.pr_healing import decider
from domain.pr_healing.classifier import Decision, PRAction
from domain.pr_healing.effects import (
    AskPermit,
    Failed,
    FetchSnapshot,
    Plan,
    Purpose,
    RunStrategy,
    StrategyOutcome,
)
from domain.pr_healing.events import EventType
from domain.pr_healing.lifecycle import PRState
from domain.pr_healing.remediation import Expectation
from domain.shared.breaker import BreakerState, Permit
from tests.support.events import HEAD, make_event
from tests.support.snapshots import PR, snapshot
from tests.unit.test_pr_decider import NOW, STALE_BEFORE, context, memory

THRESHOLD = 20.0
CTX = context(lifecycle={"staleness_seconds": {"CHECKS_FAILED": THRESHOLD}})
BEFORE_REVISION = replace(CTX, stale_from_event_time=False)


def ago(seconds: float):
    return NOW - timedelta(seconds=seconds)


def at(last_event: float | None = None, checked: float | None = None, **fields):
    """A PR stuck in CHECKS_FAILED whose last event (and last staleness check) were that long ago."""
    m = memory(checked_at=None if checked is None else ago(checked), **fields)
    if last_event is None:
        return m
    return m.model_copy(
        update={"lifecycle": m.lifecycle.model_copy(update={"last_event_at": ago(last_event)})}
    )


@pytest.mark.parametrize(
    ("case", "m", "wait"),
    [
        ("event just applied", at(0), 20),
        ("event 5 s old when applied", at(5), 15),
        ("webhook applied after the threshold: check now", at(30), 0.001),
        ("event stamped 10 s in the future (clock skew): never later", at(-10), 20),
        ("no event time known: the full threshold", at(None), 20),
        ("checked 8 s ago, last event long before: a threshold after the check", at(300, checked=8), 12),
        ("an event after the last check counts from the event", at(3, checked=10), 17),
        ("a check stamped in the future cannot postpone", at(300, checked=-50), 20),
    ],
)
def test_the_wait_counts_from_the_last_event_time(case: str, m, wait: float) -> None:
    assert decider.seconds_to_wait(m, CTX) == pytest.approx(wait), case


@pytest.mark.parametrize("last_event", [0, 5, 30, -10, 300])
def test_runs_before_the_revision_wait_the_whole_threshold_from_now(last_event: float) -> None:
    assert decider.seconds_to_wait(at(last_event, checked=8), BEFORE_REVISION) == THRESHOLD


def test_an_expected_effect_overdue_earlier_still_wins() -> None:
    expecting = Expectation(action=PRAction.RETRY_CHECKS, attempt=1, deadline=NOW + timedelta(seconds=4))
    assert decider.seconds_to_wait(at(2, expecting=expecting), CTX) == pytest.approx(4)
    assert decider.seconds_to_wait(at(19, expecting=expecting), CTX) == pytest.approx(1)


def test_a_terminal_pr_still_waits_out_its_grace_from_when_it_settled() -> None:
    ctx = context(lifecycle={"terminal_grace_seconds": 60})
    m = at(500, state=PRState.MERGED, settled_at=ago(45))
    assert decider.seconds_to_wait(m, ctx) == pytest.approx(15)


def test_a_late_webhook_is_as_old_as_its_time_says() -> None:
    """Received 25 s ago, applied now: the PR is already past its 20 s threshold."""
    late = make_event(PR, EventType.CHECKS_FAILED).model_copy(update={"occurred_at": ago(25)})
    m = memory(state=PRState.CHECKS_RUNNING)
    m = decider.on_events(m, CTX, [late]).memory
    assert m.lifecycle.state is PRState.CHECKS_FAILED
    assert decider.seconds_to_wait(m, CTX) == pytest.approx(0.001)
    assert decider.seconds_to_wait(m, BEFORE_REVISION) == THRESHOLD


@pytest.mark.parametrize("result", [snapshot(), Failed("GitHub answered 502")])
def test_a_staleness_check_is_remembered_read_or_not(result) -> None:
    """After a check (even one whose read failed) the next is a threshold later, never at once."""
    m = at(300)
    step = decider.resume(m, CTX, FetchSnapshot(Purpose.STALE, before=STALE_BEFORE), result)
    after = step.memory
    assert after.checked_at == NOW and after.expecting is None
    assert decider.seconds_to_wait(after, CTX) == pytest.approx(CTX.policy.stale_after(after.lifecycle.state))


def test_a_requested_refresh_is_not_a_staleness_check() -> None:
    step = decider.resume(at(300), CTX, FetchSnapshot(Purpose.REFRESH), snapshot())
    assert step.memory.checked_at is None


@given(
    last_event=st.one_of(st.none(), st.floats(-1e6, 1e6)),
    checked=st.one_of(st.none(), st.floats(-1e6, 1e6)),
)
def test_the_wait_is_always_positive_and_never_past_the_threshold(
    last_event: float | None, checked: float | None
) -> None:
    wait = decider.seconds_to_wait(at(last_event, checked=checked), CTX)
    assert 0 < wait <= THRESHOLD


def test_a_remediation_journals_when_it_was_scheduled_beside_when_github_took_it() -> None:
    plan = Plan(decision=Decision(action=PRAction.RETRY_CHECKS, reason="flaky"), head_sha=HEAD)
    granted = Permit(granted=True, state=BreakerState.CLOSED)
    run = decider.resume(memory(), CTX, AskPermit(plan), granted).effects[0]
    assert isinstance(run, RunStrategy)
    later = replace(CTX, now=NOW + timedelta(seconds=70))  # its write waited for its turn
    step = decider.resume(memory(), later, run, StrategyOutcome(ok=True, detail="re-ran failed jobs"))
    acted = [e.event for e in step.memory.recent if e.event.type is EventType.REMEDIATION]
    assert [(e.details["outcome"], e.occurred_at, e.details["scheduled_at"]) for e in acted] == [
        ("acted", NOW + timedelta(seconds=70), NOW.isoformat())
    ]
