"""Hypothesis properties of the circuit breaker state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.config import BreakerConfig
from domain.shared.breaker import (
    Breaker,
    BreakerState,
    StateChange,
    record_outcome,
    request_permit,
    reset,
    window_stats,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
ALLOWED = {(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED), (HALF_OPEN, OPEN), (OPEN, CLOSED)}
REQUESTERS = ["a", "b", "c", None]

configs = st.builds(
    BreakerConfig,
    window_seconds=st.sampled_from([1.0, 5.0, 20.0, 60.0]),
    failure_rate=st.sampled_from([0.1, 0.25, 0.5, 2 / 3, 1.0]),
    min_samples=st.integers(1, 6),
    cooldown_seconds=st.sampled_from([1.0, 5.0, 30.0]),
)
permits = st.tuples(st.just("permit"), st.sampled_from(REQUESTERS))
outcomes = st.tuples(st.just("outcome"), st.sampled_from(REQUESTERS), st.booleans())
resets = st.tuples(st.just("reset"))
actions = st.one_of(*[permits] * 3, *[outcomes] * 4, resets)  # resets are rarer
steps = st.tuples(st.integers(0, 20_000), actions)  # milliseconds since the previous step
scenarios = st.tuples(configs, st.lists(steps, min_size=10, max_size=80))


@dataclass
class Model:
    """What the breaker must agree with: the outcomes since the last clear, and the probe lent out."""

    cfg: BreakerConfig
    outcomes: list[tuple[datetime, bool]] = field(default_factory=list)
    probe_since: datetime | None = None
    state: BreakerState = CLOSED
    changes: list[StateChange] = field(default_factory=list)

    def window(self, now: datetime) -> list[tuple[datetime, bool]]:
        horizon = now - timedelta(seconds=self.cfg.window_seconds)
        return [(at, ok) for at, ok in self.outcomes if at >= horizon]

    def stats(self, now: datetime) -> tuple[float | None, int]:
        kept = self.window(now)
        return (sum(not ok for _, ok in kept) / len(kept) if kept else None), len(kept)

    def saw(self, change: StateChange | None, b: Breaker) -> None:
        if change is None:
            assert b.state is self.state
            return
        assert change.old is self.state and change.new is b.state and change.old is not change.new
        assert (change.old, change.new) in ALLOWED
        self.state = change.new
        self.changes.append(change)
        if change.new is not HALF_OPEN:
            self.probe_since = None
        if change.new is CLOSED:
            self.outcomes = []


def run(cfg: BreakerConfig, script: list[tuple[int, tuple]]) -> Model:
    """Play `script`, checking every property after every step."""
    b, model, now = Breaker(), Model(cfg), T0
    for delay_ms, (kind, *args) in script:
        now += timedelta(milliseconds=delay_ms)
        before = b
        if kind == "permit":
            b, permit = request_permit(b, now, cfg, requester=args[0])
            if permit.granted and not permit.probe:
                assert before.state is CLOSED and b.state is CLOSED, "non-probe permit outside closed"
            if permit.probe:
                assert permit.granted and b.state is HALF_OPEN
                lease = timedelta(seconds=cfg.cooldown_seconds)
                assert model.probe_since is None or now >= model.probe_since + lease, "second probe"
                model.probe_since = now
            if not permit.granted:
                assert b == before and b.state is not CLOSED
            model.saw(b.changes[-1] if b.state is not before.state else None, b)
        elif kind == "outcome":
            requester, ok = args
            model.outcomes.append((now, ok))
            b, change = record_outcome(b, now, ok, cfg, requester=requester)
            expected_rate, expected_samples = model.stats(now)
            if before.state is CLOSED:
                opens = expected_samples >= cfg.min_samples and (expected_rate or 0) >= cfg.failure_rate
                assert (change is not None) == opens
                if change:
                    assert (change.failure_rate, change.samples) == (expected_rate, expected_samples)
            if before.state is OPEN:
                assert change is None
            model.saw(change, b)
        else:
            b, change = reset(b, now, "ops", cfg)
            assert b.state is CLOSED and b.window == []
            model.saw(change, b)
            model.outcomes = []
        # Failure rate over the window only, at this moment and a little later.
        for later in (0, cfg.window_seconds / 2, cfg.window_seconds + 0.001):
            moment = now + timedelta(seconds=later)
            assert window_stats(b, moment, cfg) == model.stats(moment)
        assert b.probe_in_flight == (b.state is HALF_OPEN)
        assert (b.opened_at is not None) == (b.state is OPEN or b.state is HALF_OPEN)
    return model


@settings(max_examples=300, deadline=None)
@given(scenarios)
def test_breaker_invariants_hold_for_any_history(scenario: tuple[BreakerConfig, list]) -> None:
    run(*scenario)


@settings(max_examples=100, deadline=None)
@given(configs, st.lists(st.tuples(st.integers(0, 2_000), outcomes), max_size=60))
def test_outcomes_alone_only_ever_open(cfg: BreakerConfig, script: list) -> None:
    model = run(cfg, script)
    assert all(c.new is OPEN for c in model.changes) and len(model.changes) <= 1


@settings(max_examples=100, deadline=None)
@given(configs, st.lists(st.tuples(st.integers(0, 60_000), st.one_of(permits, outcomes)), max_size=80))
def test_an_open_breaker_grants_only_probes_and_only_after_the_cooldown(
    cfg: BreakerConfig, script: list
) -> None:
    b, now = Breaker(), T0
    for delay_ms, (kind, *args) in [(0, ("outcome", None, False))] * cfg.min_samples + script:
        now += timedelta(milliseconds=delay_ms)
        if kind == "outcome":
            b, _ = record_outcome(b, now, args[1], cfg, requester=args[0])
            continue
        was = b
        b, permit = request_permit(b, now, cfg, requester=args[0])
        if was.state is OPEN:
            assert was.opened_at is not None
            cooled = now >= was.opened_at + timedelta(seconds=cfg.cooldown_seconds)
            assert permit.granted == cooled and permit.probe == cooled
