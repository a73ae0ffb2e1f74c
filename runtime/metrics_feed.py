"""Move Mender's metrics from what the activities store: audit entries and the PR journal.

Workflows write audit rows and journal entries through activities; counting there (once a row is new)
keeps metrics out of workflow code and counts a retried write once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from domain.pr_healing.events import EventType
from domain.pr_healing.lifecycle import JournalEntry, TransitionOutcome
from domain.pr_healing.remediation import RemedyOutcome
from domain.shared.audit import AuditAction, AuditEntry
from runtime import metrics
from store.models import PREventRecord


def observe_audit(entry: AuditEntry, breaker_scopes: Iterable[str] = ()) -> None:
    """Count one newly stored audit entry."""
    details = entry.details
    match entry.action:
        case AuditAction.PR_REMEDIATION:
            metrics.remediation(details.get("action"), details.get("outcome"))
        case AuditAction.PR_ESCALATED:
            metrics.escalated("pr", entry.outcome)
        case AuditAction.PR_COMMAND:
            metrics.command(entry.outcome)
        case AuditAction.BREAKER_CHANGE:
            scope = entry.target.removeprefix("breaker/")
            metrics.breaker_changed(scope, entry.outcome, breaker_scopes)
        case AuditAction.CI_DIAGNOSED:
            metrics.ci_diagnosed(entry.outcome, details.get("action"))
        case AuditAction.CI_REMEDIATION:
            metrics.ci_remediated(entry.outcome)
        case AuditAction.CI_APPROVAL:
            metrics.approval(entry.outcome)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class _Line(NamedTuple):
    at: datetime
    kind: str
    state_changed: bool  # an applied event that moved the PR to another state
    details: dict
    key: object


def _row(at: datetime, kind: str, applied: bool, changed: bool, details: dict, key: object) -> _Line:
    return _Line(_aware(at), kind, applied and changed, details, key)


def observe_journal(stored: Sequence[PREventRecord], new: Sequence[JournalEntry]) -> None:
    """Latencies of new remediation records: since the PR entered its state, and until the effect."""
    applied = TransitionOutcome.APPLIED
    rows = [
        _row(
            r.occurred_at,
            r.type,
            r.outcome == applied.value,
            r.from_state != r.to_state,
            r.payload.get("details") or {},
            r.payload.get("key"),
        )
        for r in stored
    ] + [
        _row(
            e.event.occurred_at,
            e.event.type.value,
            e.transition.outcome is applied,
            e.transition.from_state != e.transition.to_state,
            e.event.details,
            e.event.key,
        )
        for e in new
    ]
    for entry in new:
        event = entry.event
        if event.type is not EventType.REMEDIATION:
            continue
        at = _aware(event.occurred_at)
        action = event.details.get("action")
        outcome = event.details.get("outcome")
        earlier = [r for r in rows if r.at <= at and r.key != event.key]
        if outcome == RemedyOutcome.ACTED:
            entered = [r.at for r in earlier if r.state_changed]
            if entered:
                metrics.stall_to_action(action, (at - max(entered)).total_seconds())
        elif outcome == RemedyOutcome.EFFECT:
            acted = [
                r.at
                for r in earlier
                if r.kind == EventType.REMEDIATION.value
                and r.details.get("action") == action
                and r.details.get("outcome") == RemedyOutcome.ACTED
            ]
            if acted:
                metrics.action_to_effect(action, (at - max(acted)).total_seconds())
