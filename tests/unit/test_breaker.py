"""Rules of the circuit breaker state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.config import BreakerConfig
from domain.shared.breaker import (
    CHANGES_KEPT,
    Breaker,
    BreakerState,
    record_outcome,
    request_permit,
    reset,
    window_stats,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CFG = BreakerConfig(window_seconds=60, failure_rate=0.5, min_samples=4, cooldown_seconds=30)
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def feed(b: Breaker, outcomes: list[bool], start: float = 0.0, cfg: BreakerConfig = CFG) -> Breaker:
    for i, ok in enumerate(outcomes):
        b, _ = record_outcome(b, at(start + i), ok, cfg)
    return b


def opened(at_second: float = 3.0) -> Breaker:
    b = feed(Breaker(), [False, False, False, False])
    assert b.state is OPEN and b.opened_at == at(at_second)
    return b


def half_open(requester: str = "probe") -> Breaker:
    b, permit = request_permit(opened(), at(33), CFG, requester=requester)
    assert permit.probe and b.state is HALF_OPEN
    return b


def test_closed_grants_permits() -> None:
    b, permit = request_permit(Breaker(), T0, CFG)
    assert permit.granted and not permit.probe and permit.state is CLOSED and b == Breaker()


def test_opening_needs_min_samples() -> None:
    b = feed(Breaker(), [False, False, False])
    assert b.state is CLOSED
    assert window_stats(b, at(2), CFG) == (1.0, 3)
    b, change = record_outcome(b, at(3), False, CFG)
    assert b.state is OPEN and change is not None
    assert (change.old, change.new, change.failure_rate, change.samples) == (CLOSED, OPEN, 1.0, 4)
    assert change.at == at(3) and b.opened_at == at(3) and "4/4 failed" in change.reason


def test_opening_needs_failure_rate_at_threshold() -> None:
    b = feed(Breaker(), [True, True, False])
    b, change = record_outcome(b, at(3), True, CFG)
    assert change is None and b.state is CLOSED  # 1/4 below 50%
    b, change = record_outcome(b, at(4), False, CFG)
    assert change is None  # 2/5 below 50%
    b, change = record_outcome(b, at(5), False, CFG)
    assert change is not None and change.failure_rate == 0.5 and b.state is OPEN


def test_old_outcomes_leave_the_window() -> None:
    b = feed(Breaker(), [False, False, False])
    # At 63 s the three failures (0-2 s) are out of the 60 s window: one more failure is 1 sample.
    b, change = record_outcome(b, at(63), False, CFG)
    assert change is None and b.state is CLOSED
    assert len(b.window) == 1 and window_stats(b, at(63), CFG) == (1.0, 1)


def test_window_stats_at_query_time_ignore_expired_outcomes() -> None:
    b = feed(Breaker(), [False, True])
    assert window_stats(b, at(1), CFG) == (0.5, 2)
    assert window_stats(b, at(60), CFG) == (0.5, 2)  # the outcome at 0 s is exactly 60 s old: still in
    assert window_stats(b, at(60.5), CFG) == (0.0, 1)
    assert window_stats(b, at(61.5), CFG) == (None, 0)


def test_open_refuses_until_cooldown() -> None:
    b = opened()
    for second in (3, 10, 32.9):
        b2, permit = request_permit(b, at(second), CFG)
        assert not permit.granted and permit.state is OPEN and b2 == b
        assert permit.retry_at == at(33) and "open" in permit.reason


def test_cooldown_grants_exactly_one_probe() -> None:
    b, permit = request_permit(opened(), at(33), CFG, requester="first")
    assert permit.granted and permit.probe and permit.state is HALF_OPEN
    assert b.state is HALF_OPEN and b.probe_in_flight and b.probe_requester == "first"
    assert (b.changes[-1].old, b.changes[-1].new) == (OPEN, HALF_OPEN)
    b2, second = request_permit(b, at(34), CFG, requester="second")
    assert not second.granted and not second.probe and second.state is HALF_OPEN
    assert "first" in second.reason and b2 == b


def test_lost_probe_is_replaced_after_a_cooldown() -> None:
    b = half_open("lost")
    _, refused = request_permit(b, at(62.9), CFG, requester="next")
    assert not refused.granted and refused.retry_at == at(63)
    b, permit = request_permit(b, at(63), CFG, requester="next")
    assert permit.granted and permit.probe and b.probe_requester == "next" and b.state is HALF_OPEN


def test_probe_success_closes_and_clears_the_window() -> None:
    b, change = record_outcome(half_open(), at(40), True, CFG, requester="probe")
    assert change is not None and (change.old, change.new) == (HALF_OPEN, CLOSED)
    assert change.reason == "probe succeeded"
    assert b.state is CLOSED and b.window == [] and b.opened_at is None and not b.probe_in_flight
    _, permit = request_permit(b, at(41), CFG)
    assert permit.granted and not permit.probe


def test_probe_failure_reopens_with_a_new_cooldown() -> None:
    b, change = record_outcome(half_open(), at(40), False, CFG, requester="probe")
    assert change is not None and (change.old, change.new) == (HALF_OPEN, OPEN)
    assert b.state is OPEN and b.opened_at == at(40) and not b.probe_in_flight
    _, refused = request_permit(b, at(69), CFG)
    assert not refused.granted and refused.retry_at == at(70)
    _, probe = request_permit(b, at(70), CFG)
    assert probe.granted and probe.probe


def test_outcomes_of_other_requesters_do_not_decide_half_open() -> None:
    b = half_open("probe")
    b, change = record_outcome(b, at(40), True, CFG, requester="straggler")
    assert change is None and b.state is HALF_OPEN and b.probe_in_flight
    b, change = record_outcome(b, at(41), True, CFG)  # no requester: taken as the probe's
    assert change is not None and b.state is CLOSED


def test_outcomes_while_open_are_recorded_without_effect() -> None:
    b = opened()
    before = len(b.window)
    b, change = record_outcome(b, at(10), True, CFG)
    assert change is None and b.state is OPEN and len(b.window) == before + 1 and b.opened_at == at(3)


def test_reset_closes_and_clears() -> None:
    b, change = reset(half_open(), at(40), "alice", CFG)
    assert change is not None and (change.old, change.new) == (HALF_OPEN, CLOSED)
    assert "alice" in change.reason and change.samples == 4
    assert b.state is CLOSED and b.window == [] and not b.probe_in_flight and b.opened_at is None
    b, change = reset(opened(), at(5), "bob")
    assert change is not None and (change.old, change.new) == (OPEN, CLOSED)


def test_reset_of_a_closed_breaker_clears_the_window_without_a_change() -> None:
    b = feed(Breaker(), [False, True])
    b, change = reset(b, at(3), "alice", CFG)
    assert change is None and b.window == [] and b.changes == []


def test_threshold_changes_apply_to_the_next_outcome() -> None:
    b = feed(Breaker(), [False, False, True])
    looser = CFG.model_copy(update={"min_samples": 10})
    b, change = record_outcome(b, at(3), False, looser)
    assert change is None
    stricter = CFG.model_copy(update={"failure_rate": 0.2})
    b, change = record_outcome(b, at(4), True, stricter)
    assert change is not None and b.state is OPEN  # 3/5 ≥ 20%


def test_changes_are_bounded_and_the_functions_are_pure() -> None:
    b = Breaker()
    t = 0.0
    for _ in range(CHANGES_KEPT):
        b = feed(b, [False] * 4, start=t)
        b, _ = reset(b, at(t + 5), "ops")
        t += 10
    assert len(b.changes) == CHANGES_KEPT and b.changes[-1].new is CLOSED
    snapshot = b.model_dump()
    request_permit(b, at(t), CFG)
    record_outcome(b, at(t), False, CFG)
    reset(b, at(t), "x")
    assert b.model_dump() == snapshot
    assert record_outcome(b, at(t), False, CFG) == record_outcome(b, at(t), False, CFG)
