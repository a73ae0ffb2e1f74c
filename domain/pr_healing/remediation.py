"""Remediation bookkeeping: expected effects, attempt records and escalation notices (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel

from domain.pr_healing.classifier import EFFECT_OF, PRAction
from domain.pr_healing.events import EventSource, EventType, PREvent, PRRef
from domain.pr_healing.lifecycle import JournalEntry
from domain.pr_healing.remedies import REMEDIES
from domain.shared.notifications import ActionAttempt, EscalationNotice


class Expectation(BaseModel):
    """After a remediation: the events that show it worked, and until when to wait for them."""

    action: PRAction
    attempt: int
    deadline: datetime
    head_sha: str | None = None  # the head the action was taken on
    since: datetime | None = None  # when it was taken: earlier events cannot be its effect

    def met_by(self, event: PREvent) -> bool:
        """True when `event` shows the action worked: the right kind, not older than the action, and
        about the right head (a new head for a branch update, the same head for everything else)."""
        if event.type not in EFFECT_OF.get(self.action, frozenset()):
            return False
        if self.since is not None and event.occurred_at < self.since:
            return False
        if self.head_sha and event.head_sha:
            moved = event.head_sha != self.head_sha
            return moved if self.action is PRAction.UPDATE_BRANCH else not moved
        return True


UNCHARGED_WHEN_EFFECTIVE = frozenset(a.value for a, r in REMEDIES.items() if not r.charged_when_effective)
# `Failed.kind` of an activity that timed out (start-to-close, heartbeat, schedule-to-close): Mender's
# worker died or hung, so whether the attempt worked could not be checked. Not an ineffective attempt.
MENDER_FAILURE_KINDS = frozenset({"ActivityTimeout"})


class RemedyOutcome:
    """Outcome words used in remediation events, notices and reports."""

    ACTED = "acted"
    NOOP = "nothing to do"
    REFUSED = "refused"
    FAILED = "failed"
    EFFECT = "effect seen"
    NO_EFFECT = "no effect"
    OBSERVED = "observe only"
    PAUSED = "paused by breaker"
    QUEUED = "waiting for its turn"
    UNCHECKED = "not checked: Mender failed"


def remediation_event(
    pr: PRRef, action: PRAction, outcome: str, key: str, at: datetime, head_sha: str | None, **details: object
) -> PREvent:
    """A REMEDIATION event recorded by Mender itself."""
    return PREvent(
        key=key,
        pr=pr,
        type=EventType.REMEDIATION,
        source=EventSource.MENDER,
        occurred_at=at,
        head_sha=head_sha,
        details={"action": action.value, "outcome": outcome, **details},
    )


def history_for_classifier(entries: Iterable[JournalEntry]) -> list[tuple[EventType, str | None]]:
    """(type, attempted action) per event: what the classifier counts attempts from.

    An attempt of a remedy that is charged only when it fails (`Remedy.charged_when_effective` False)
    and whose effect was seen is not an attempt to count: each "effect seen" cancels one "acted".
    """
    entries = list(entries)
    refunds = Counter(
        e.event.details.get("action")
        for e in entries
        if e.event.details.get("outcome") == RemedyOutcome.EFFECT
        and e.event.details.get("action") in UNCHARGED_WHEN_EFFECTIVE
    )
    history: list[tuple[EventType, str | None]] = []
    for e in entries:
        action = (
            e.event.details.get("action") if e.event.details.get("outcome") == RemedyOutcome.ACTED else None
        )
        if action is not None and refunds[action] > 0:
            refunds[action] -= 1
            action = None
        history.append((e.event.type, action))
    return history


def escalation_notice(
    pr: PRRef, reason: str, state: str | None, html_url: str | None, entries: Iterable[JournalEntry]
) -> EscalationNotice:
    """What a human needs to decide: the reason, recent history and every remediation tried."""
    entries = list(entries)
    actions = [
        ActionAttempt(
            action=str(e.event.details.get("action")),
            outcome=str(e.event.details.get("outcome")),
            at=e.event.occurred_at,
            detail=str(e.event.details.get("detail", "")),
        )
        for e in entries
        if e.event.type is EventType.REMEDIATION
    ]
    history = [f"{e.event.occurred_at:%Y-%m-%d %H:%M:%S} {e.summary()}" for e in entries][-20:]
    return EscalationNotice(
        pr=pr, html_url=html_url, state=state, reason=reason, history=history, actions=actions
    )
