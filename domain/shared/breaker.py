"""The circuit breaker state machine: closed → open → half_open → closed | open.

Pure and deterministic: every function takes the breaker, the current time and the configuration,
and returns the next breaker plus what happened. Time only enters through `now`.

- closed: every permit is granted; outcomes fill a sliding window of `window_seconds`; the breaker
  opens once the window holds `min_samples` outcomes and their failure rate reaches `failure_rate`.
- open: permits are refused until `cooldown_seconds` after opening; the first request after that
  moves to half_open and is granted as the one probe. Outcomes are recorded but change nothing.
- half_open: while the probe is in flight every other request is refused. The probe's outcome
  closes (window cleared) or re-opens (new cooldown). A probe unreported for `cooldown_seconds` is
  considered lost and the next request becomes the new probe, so a crashed caller cannot wedge it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from domain.config import BreakerConfig
from domain.shared.models import Frozen

WINDOW_OUTCOMES_KEPT = 1000  # bounds the carried state even under heavy traffic
CHANGES_KEPT = 20


class BreakerState(StrEnum):
    """Closed lets work through, open refuses it, half_open lets one probe through."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerSample(Frozen):
    """One reported result of guarded work, at the time it was recorded."""

    at: datetime
    ok: bool


class StateChange(Frozen):
    """A transition, with the window's failure rate and sample count just before it."""

    old: BreakerState
    new: BreakerState
    reason: str
    at: datetime
    failure_rate: float | None = None
    samples: int = 0


class Permit(Frozen):
    """The answer to a permit request; `retry_at` says when asking again may succeed."""

    granted: bool
    state: BreakerState
    reason: str = ""
    probe: bool = False
    retry_at: datetime | None = None


class Breaker(Frozen):
    """The whole state of one breaker (carried across continue-as-new)."""

    state: BreakerState = BreakerState.CLOSED
    window: list[BreakerSample] = Field(default_factory=list)
    opened_at: datetime | None = None
    probe_in_flight: bool = False
    probe_started_at: datetime | None = None
    probe_requester: str | None = None
    changes: list[StateChange] = Field(default_factory=list)  # most recent last


def in_window(outcomes: list[BreakerSample], now: datetime, cfg: BreakerConfig) -> list[BreakerSample]:
    """The outcomes no older than `window_seconds` at `now`."""
    horizon = now - timedelta(seconds=cfg.window_seconds)
    return [o for o in outcomes if o.at >= horizon]


def rate_of(outcomes: list[BreakerSample]) -> tuple[float | None, int]:
    """(failure rate, sample count) of `outcomes`; the rate is None without samples."""
    if not outcomes:
        return None, 0
    return sum(not o.ok for o in outcomes) / len(outcomes), len(outcomes)


def window_stats(b: Breaker, now: datetime, cfg: BreakerConfig) -> tuple[float | None, int]:
    """(failure rate, sample count) over the window as of `now`."""
    return rate_of(in_window(b.window, now, cfg))


def probe_at(b: Breaker, cfg: BreakerConfig) -> datetime | None:
    """When an open breaker will grant its probe (None unless open)."""
    if b.state is not BreakerState.OPEN or b.opened_at is None:
        return None
    return b.opened_at + timedelta(seconds=cfg.cooldown_seconds)


def _change(
    b: Breaker,
    new: BreakerState,
    now: datetime,
    reason: str,
    outcomes: list[BreakerSample],
    **updates: object,
) -> tuple[Breaker, StateChange]:
    rate, samples = rate_of(outcomes)
    change = StateChange(old=b.state, new=new, reason=reason, at=now, failure_rate=rate, samples=samples)
    changes = [*b.changes, change][-CHANGES_KEPT:]
    return b.model_copy(update={"state": new, "changes": changes, **updates}), change


_NO_PROBE: dict[str, object] = {"probe_in_flight": False, "probe_started_at": None, "probe_requester": None}


def _grant_probe(b: Breaker, now: datetime, requester: str | None, reason: str) -> tuple[Breaker, Permit]:
    probing = {"probe_in_flight": True, "probe_started_at": now, "probe_requester": requester}
    permit = Permit(granted=True, state=BreakerState.HALF_OPEN, reason=reason, probe=True)
    return b.model_copy(update=probing), permit


def request_permit(
    b: Breaker, now: datetime, cfg: BreakerConfig, requester: str | None = None
) -> tuple[Breaker, Permit]:
    """May guarded work start now? Moves open → half_open when the cooldown is over."""
    cooldown = timedelta(seconds=cfg.cooldown_seconds)
    if b.state is BreakerState.CLOSED:
        return b, Permit(granted=True, state=b.state)
    if b.state is BreakerState.OPEN:
        ready = probe_at(b, cfg) or now
        if now < ready:
            reason = f"breaker open; probing from {ready.isoformat()}"
            return b, Permit(granted=False, state=b.state, reason=reason, retry_at=ready)
        reason = f"cooldown of {cfg.cooldown_seconds:g} s over: probing"
        b, _ = _change(b, BreakerState.HALF_OPEN, now, reason, in_window(b.window, now, cfg))
        return _grant_probe(b, now, requester, "probe")
    lease_end = (b.probe_started_at or now) + cooldown
    if b.probe_in_flight and now < lease_end:
        reason = f"probe in flight ({b.probe_requester or 'unknown requester'})"
        return b, Permit(granted=False, state=b.state, reason=reason, retry_at=lease_end)
    return _grant_probe(b, now, requester, "previous probe unreported: new probe")


def record_outcome(
    b: Breaker, now: datetime, ok: bool, cfg: BreakerConfig, requester: str | None = None
) -> tuple[Breaker, StateChange | None]:
    """Add an outcome to the window and apply it: may open (closed), close or re-open (half_open).

    In half_open only the probe's outcome decides: a `requester` other than the probe's is recorded
    only (an outcome without a requester is taken as the probe's).
    """
    window = [*in_window(b.window, now, cfg), BreakerSample(at=now, ok=ok)][-WINDOW_OUTCOMES_KEPT:]
    b = b.model_copy(update={"window": window})
    if b.state is BreakerState.CLOSED:
        rate, samples = rate_of(window)
        if samples >= cfg.min_samples and rate is not None and rate >= cfg.failure_rate:
            failures = sum(not o.ok for o in window)
            reason = (
                f"{failures}/{samples} failed in the last {cfg.window_seconds:g} s "
                f"(threshold {cfg.failure_rate:.0%})"
            )
            return _change(b, BreakerState.OPEN, now, reason, window, opened_at=now)
        return b, None
    if b.state is BreakerState.OPEN:
        return b, None
    if requester is not None and b.probe_requester is not None and requester != b.probe_requester:
        return b, None
    if ok:
        return _change(
            b, BreakerState.CLOSED, now, "probe succeeded", window, window=[], opened_at=None, **_NO_PROBE
        )
    return _change(b, BreakerState.OPEN, now, "probe failed", window, opened_at=now, **_NO_PROBE)


def reset(
    b: Breaker, now: datetime, actor: str, cfg: BreakerConfig | None = None
) -> tuple[Breaker, StateChange | None]:
    """Manual reset to closed with an empty window; no state change if it was already closed."""
    outcomes = in_window(b.window, now, cfg) if cfg else b.window
    cleared = b.model_copy(update={"window": [], "opened_at": None, **_NO_PROBE})
    if b.state is BreakerState.CLOSED:
        return cleared, None
    return _change(cleared, BreakerState.CLOSED, now, f"manual reset by {actor}", outcomes)
