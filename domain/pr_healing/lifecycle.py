"""The PR lifecycle state machine: the one home of states and transitions.

`apply(lifecycle, event)` is pure: it returns the next lifecycle and a `Transition` saying what the
event did (applied, noted, duplicate, stale, invalid, late, ignored). Nothing here raises on a bad
event: an invalid transition is recorded and flagged by the caller.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.pr_healing.events import EventType, PREvent, PRRef

SEEN_KEYS_KEPT = 2000
PAST_HEADS_KEPT = 50


class PRState(StrEnum):
    """The twelve lifecycle states of a bot PR."""

    CREATED = "CREATED"
    CHECKS_RUNNING = "CHECKS_RUNNING"
    CHECKS_PASSED = "CHECKS_PASSED"
    CHECKS_FAILED = "CHECKS_FAILED"
    POLICY_EVALUATING = "POLICY_EVALUATING"
    POLICY_PASSED = "POLICY_PASSED"
    POLICY_FAILED = "POLICY_FAILED"
    APPROVED = "APPROVED"
    MERGING = "MERGING"
    MERGED = "MERGED"
    CLOSED = "CLOSED"
    NEEDS_INTERVENTION = "NEEDS_INTERVENTION"


TERMINAL_STATES = frozenset({PRState.MERGED, PRState.CLOSED})

S, E = PRState, EventType

_CHECK_RESTARTS = {E.CHECKS_STARTED: S.CHECKS_RUNNING, E.CHECKS_FAILED: S.CHECKS_FAILED}
_CHECK_RESULTS = {**_CHECK_RESTARTS, E.CHECKS_PASSED: S.CHECKS_PASSED}
_POLICY_RESULTS = {
    E.POLICY_PENDING: S.POLICY_EVALUATING,
    E.POLICY_PASSED: S.POLICY_PASSED,
    E.POLICY_FAILED: S.POLICY_FAILED,
}
# Allowed from every open state: a new head restarts the flow; closing and escalation end or pause it.
_FROM_ANY_OPEN = {
    E.SYNCHRONIZE: S.CREATED,
    E.MERGED: S.MERGED,
    E.CLOSED: S.CLOSED,
    E.ESCALATED: S.NEEDS_INTERVENTION,
}

TRANSITIONS: dict[PRState, dict[EventType, PRState]] = {
    S.CREATED: {**_CHECK_RESULTS},
    S.CHECKS_RUNNING: {**_CHECK_RESULTS},
    S.CHECKS_FAILED: {**_CHECK_RESULTS},
    S.CHECKS_PASSED: {**_CHECK_RESTARTS, **_POLICY_RESULTS},
    S.POLICY_EVALUATING: {**_CHECK_RESTARTS, **_POLICY_RESULTS},
    S.POLICY_PASSED: {**_CHECK_RESTARTS, **_POLICY_RESULTS, E.APPROVED: S.APPROVED},
    S.POLICY_FAILED: {**_CHECK_RESTARTS, **_POLICY_RESULTS},
    S.APPROVED: {**_CHECK_RESTARTS, **_POLICY_RESULTS, E.MERGE_STARTED: S.MERGING},
    S.MERGING: {E.MERGE_FAILED: S.APPROVED, E.CHECKS_FAILED: S.CHECKS_FAILED},
    S.NEEDS_INTERVENTION: {**_CHECK_RESULTS, **_POLICY_RESULTS},
    S.MERGED: {},
    S.CLOSED: {E.REOPENED: S.CREATED},
}
for _state in PRState:
    if _state not in TERMINAL_STATES:
        TRANSITIONS[_state] = {**_FROM_ANY_OPEN, **TRANSITIONS[_state]}

# Facts worth keeping that never move the state by themselves.
INFORMATIONAL = frozenset(
    {E.CHECK_RUN_COMPLETED, E.OPENED, E.REOPENED, E.APPROVED, E.REMEDIATION, E.REPLACED}
)
# Facts about one head commit: ignored as stale once the PR has moved to another head.
HEAD_SCOPED = frozenset(
    {
        E.CHECKS_STARTED,
        E.CHECK_RUN_COMPLETED,
        E.CHECKS_PASSED,
        E.CHECKS_FAILED,
        E.POLICY_PENDING,
        E.POLICY_PASSED,
        E.POLICY_FAILED,
    }
)
OPENINGS = frozenset({E.OPENED, E.REOPENED})
_PR_FACTS = frozenset({E.OPENED, E.REOPENED, E.SYNCHRONIZE, E.CLOSED})  # ordered by the PR's updated_at
_SUITE_FACTS = frozenset({E.CHECKS_STARTED, E.CHECKS_PASSED, E.CHECKS_FAILED})  # by the suite's
_POLICY_FACTS = frozenset({E.POLICY_PENDING, E.POLICY_PASSED, E.POLICY_FAILED})  # by the status's


class TransitionOutcome(StrEnum):
    """What an event did to the lifecycle."""

    APPLIED = "applied"
    NOTED = "noted"
    DUPLICATE = "duplicate"
    STALE = "stale"
    INVALID = "invalid"
    LATE = "late"
    IGNORED = "ignored"


RECORDED_OUTCOMES = frozenset(set(TransitionOutcome) - {TransitionOutcome.DUPLICATE})


class Transition(BaseModel):
    """The verdict on one event: outcome, states before and after, and why."""

    model_config = ConfigDict(frozen=True)

    outcome: TransitionOutcome
    from_state: PRState | None
    to_state: PRState | None
    reason: str = ""

    @property
    def flagged(self) -> bool:
        """True when an operator should look at this event (an invalid transition)."""
        return self.outcome is TransitionOutcome.INVALID


class PRLifecycle(BaseModel):
    """The lifecycle of one PR: carried across continue-as-new, rebuilt by replaying events."""

    pr: PRRef
    state: PRState | None = None
    head_sha: str | None = None
    approved: bool = False
    last_event_at: datetime | None = None
    invalid_count: int = 0
    retry_counts: dict[str, int] = Field(default_factory=dict)
    seen_keys: list[str] = Field(default_factory=list)
    past_heads: list[str] = Field(default_factory=list)  # heads the PR has left, oldest first
    github_at: dict[str, datetime] = Field(default_factory=dict)  # newest GitHub time applied per family

    @property
    def tracked(self) -> bool:
        """True once an opening has been seen."""
        return self.state is not None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


def family(event: PREvent) -> str | None:
    """The facts `event` is ordered with by GitHub's time (None: not ordered by time)."""
    if event.github_at is None:
        return None
    if event.type in _PR_FACTS:
        return "pr"
    if event.type in _SUITE_FACTS and event.details.get("check_suite_id") is not None:
        return f"suite:{event.details['check_suite_id']}"
    return "policy" if event.type in _POLICY_FACTS else None


def _newer(known: dict[str, datetime], event: PREvent) -> dict[str, datetime]:
    name = family(event)
    if name is None or event.github_at is None:
        return known
    updated = {**known, name: max(filter(None, [known.get(name), event.github_at]))}
    if event.type in (E.CHECKS_PASSED, E.CHECKS_FAILED):
        updated[f"{name}:done"] = updated[name]
    return updated


def out_of_order(lifecycle: PRLifecycle, event: PREvent) -> str | None:
    """Why `event` is older than what the lifecycle already applied (GitHub delivers webhooks out of
    order), or None. A push to a head the PR already left, from another head than the current one, is
    late; so is a fact older (by GitHub's time) than one of its family already applied, and a suite's
    start no newer than its completion."""
    if event.type is E.SYNCHRONIZE and event.head_sha in lifecycle.past_heads:
        before = event.details.get("before")
        if before is not None and before != lifecycle.head_sha:
            return f"a push to {event.head_sha[:12]}, a head the PR left (it is at {str(lifecycle.head_sha)[:12]})"
    name = family(event)
    if name is None or event.github_at is None:
        return None
    known = lifecycle.github_at.get(name)
    if known is not None and event.github_at < known:
        return f"GitHub time {event.github_at.isoformat()} is older than the {name} fact applied ({known.isoformat()})"
    done = lifecycle.github_at.get(f"{name}:done")
    if event.type is E.CHECKS_STARTED and done is not None and event.github_at <= done:
        return f"a start of {name} no newer than its completion ({done.isoformat()})"
    return None


def apply(lifecycle: PRLifecycle, event: PREvent) -> tuple[PRLifecycle, Transition]:
    """Fold one event into the lifecycle; return the new lifecycle and the verdict."""
    before = lifecycle.state
    pushed_to_head = event.type is E.SYNCHRONIZE and event.head_sha and event.head_sha == lifecycle.head_sha
    if event.key in lifecycle.seen_keys or pushed_to_head:
        same = Transition(outcome=TransitionOutcome.DUPLICATE, from_state=before, to_state=before)
        if pushed_to_head:  # the push is known (from the reconciler, say): remember GitHub's time of it
            return lifecycle.model_copy(update={"github_at": _newer(lifecycle.github_at, event)}), same
        return lifecycle, same
    verdict = _judge(lifecycle, event)
    updates: dict[str, object] = {
        "seen_keys": [*lifecycle.seen_keys, event.key][-SEEN_KEYS_KEPT:],
        "last_event_at": max(filter(None, [lifecycle.last_event_at, event.occurred_at])),
        "state": verdict.to_state,
    }
    if verdict.outcome is TransitionOutcome.LATE:  # a fact the (closed) PR is past: its time still counts
        updates["github_at"] = _newer(lifecycle.github_at, event)
    if verdict.outcome in (TransitionOutcome.APPLIED, TransitionOutcome.NOTED):
        updates["github_at"] = _newer(lifecycle.github_at, event)
        if event.type in OPENINGS | {E.SYNCHRONIZE} and event.head_sha:
            if lifecycle.head_sha and event.head_sha != lifecycle.head_sha:
                left = [h for h in lifecycle.past_heads if h != lifecycle.head_sha]
                updates["past_heads"] = [*left, lifecycle.head_sha][-PAST_HEADS_KEPT:]
                pr_time = updates["github_at"].get("pr")  # type: ignore[union-attr]
                updates["github_at"] = {"pr": pr_time} if pr_time else {}  # suites and statuses: per head
            updates["head_sha"] = event.head_sha
            if event.type is E.SYNCHRONIZE:  # a later push back to an earlier head is a new fact
                kept = [k for k in updates["seen_keys"] if not k.startswith("synchronize:")]  # type: ignore[union-attr]
                updates["seen_keys"] = [*kept, event.key]
        if event.type is E.APPROVED:
            updates["approved"] = True
        if verdict.to_state is S.POLICY_PASSED and (lifecycle.approved or event.type is E.APPROVED):
            verdict = verdict.model_copy(update={"to_state": S.APPROVED, "reason": "already approved"})
            updates["state"] = S.APPROVED
    if verdict.flagged:
        updates["invalid_count"] = lifecycle.invalid_count + 1
    return lifecycle.model_copy(update=updates), verdict


def _judge(lifecycle: PRLifecycle, event: PREvent) -> Transition:
    state = lifecycle.state
    if state is None:
        if event.type in OPENINGS:
            return Transition(outcome=TransitionOutcome.APPLIED, from_state=None, to_state=S.CREATED)
        return Transition(
            outcome=TransitionOutcome.IGNORED,
            from_state=None,
            to_state=None,
            reason=f"unknown PR: {event.type} before any opening",
        )
    target = TRANSITIONS[state].get(event.type)
    if state is not S.MERGED and (late := out_of_order(lifecycle, event)) is not None:
        return Transition(outcome=TransitionOutcome.STALE, from_state=state, to_state=state, reason=late)
    if (
        event.type in HEAD_SCOPED
        and event.head_sha
        and lifecycle.head_sha
        and event.head_sha != lifecycle.head_sha
    ):
        return Transition(
            outcome=TransitionOutcome.STALE,
            from_state=state,
            to_state=state,
            reason=f"about head {event.head_sha[:12]}, PR is at {lifecycle.head_sha[:12]}",
        )
    if target is not None:
        return Transition(outcome=TransitionOutcome.APPLIED, from_state=state, to_state=target)
    if state in TERMINAL_STATES:
        return Transition(
            outcome=TransitionOutcome.LATE,
            from_state=state,
            to_state=state,
            reason=f"{event.type} after {state}",
        )
    if event.type in INFORMATIONAL:
        return Transition(outcome=TransitionOutcome.NOTED, from_state=state, to_state=state)
    return Transition(
        outcome=TransitionOutcome.INVALID,
        from_state=state,
        to_state=state,
        reason=f"{event.type} is not a valid transition from {state}",
    )


def replay(pr: PRRef, events: list[PREvent]) -> PRLifecycle:
    """The lifecycle after applying `events` in order to a fresh PR."""
    lifecycle = PRLifecycle(pr=pr)
    for event in events:
        lifecycle, _ = apply(lifecycle, event)
    return lifecycle


class JournalEntry(BaseModel):
    """One event with the verdict on it: a line of the PR's event log."""

    model_config = ConfigDict(frozen=True)

    event: PREvent
    transition: Transition

    def summary(self) -> str:
        """`checks_passed (webhook): CHECKS_RUNNING -> CHECKS_PASSED`, plus the reason if any."""
        t = self.transition
        arrow = f"{t.from_state or '-'} -> {t.to_state or '-'}"
        text = f"{self.event.type} ({self.event.source}): {t.outcome} {arrow}"
        return f"{text} [{t.reason}]" if t.reason else text
