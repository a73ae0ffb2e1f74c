"""The PR workflow's audit rows (`pr.*`): pure builders; the workflow writes them.

What is written, and when (target `owner/repo#N`, repository `owner/repo`):
- `pr.detected`: the opening event that makes the workflow track the PR (once per PR); actor the PR
  author, source webhook or reconciler.
- `pr.classified`: a stale-PR decision that leads to a remediation or an escalation. "Wait" decisions
  (NO_ACTION) are not written: every staleness timeout would add one. A decision repeated while nothing
  changed (observe mode, an open breaker: same head, action and retry counts) is written once, through
  its idempotency key.
- `pr.remediation`: every remediation record that reaches the PR's journal: a strategy run (automatic,
  or by command with the requester as actor), its refusal, failure, observe-only or breaker pause, and
  later its effect seen or missed. Outcomes map onto `AuditOutcome`; the raw word is `details.outcome`.
- `pr.escalated`: NEEDS_INTERVENTION, once the human was notified (failed: the notice was not sent).
- `pr.command`: every answer to the `command` update (accepted, refused or duplicate), actor the
  requester, source comment/api/cli/reconciler. Malformed commands rejected by the validator never reach
  the workflow (the Admin API audits its own calls).
"""

from __future__ import annotations

from typing import Any

from domain.pr_healing.classifier import Decision
from domain.pr_healing.commands import CommandAnswer, CommandRequest
from domain.pr_healing.events import EventSource, PREvent, PRRef
from domain.pr_healing.lifecycle import PRState
from domain.pr_healing.remediation import RemedyOutcome
from domain.shared.audit import AuditAction, AuditEntry, AuditOutcome, AuditSource
from domain.shared.notifications import NoticeResult

MENDER = "mender"

SOURCE_OF: dict[EventSource, AuditSource] = {
    EventSource.WEBHOOK: AuditSource.WEBHOOK,
    EventSource.RECONCILER: AuditSource.RECONCILER,
}
REMEDIATION_OUTCOME: dict[str, AuditOutcome] = {
    RemedyOutcome.ACTED: AuditOutcome.SUCCEEDED,
    RemedyOutcome.EFFECT: AuditOutcome.SUCCEEDED,
    RemedyOutcome.NOOP: AuditOutcome.SKIPPED,
    RemedyOutcome.OBSERVED: AuditOutcome.SKIPPED,
    RemedyOutcome.REFUSED: AuditOutcome.REFUSED,
    RemedyOutcome.PAUSED: AuditOutcome.REFUSED,
    RemedyOutcome.FAILED: AuditOutcome.FAILED,
    RemedyOutcome.NO_EFFECT: AuditOutcome.FAILED,
}


def _entry(pr: PRRef, action: AuditAction, outcome: str, **fields: Any) -> AuditEntry:
    return AuditEntry(action=action, outcome=outcome, target=pr.key, repository=pr.repo, **fields)


def detected(event: PREvent) -> AuditEntry:
    """The opening that made Mender track the PR."""
    author = event.actor or event.details.get("author") or MENDER
    extra = {k: event.details[k] for k in ("title", "html_url") if k in event.details}
    return _entry(
        event.pr,
        AuditAction.PR_DETECTED,
        AuditOutcome.ACCEPTED,
        actor=str(author),
        source=SOURCE_OF.get(event.source, AuditSource.WORKFLOW),
        details={"event": event.type.value, "key": event.key, "head_sha": event.head_sha, **extra},
    )


def classified(
    pr: PRRef,
    state: PRState | None,
    head_sha: str | None,
    decision: Decision,
    retry_counts: dict[str, int],
    run: str,
) -> AuditEntry:
    """An actionable (or escalating) classifier decision; repeats without progress share one key.

    `run` is the workflow's first run id: stable across continue-as-new.
    """
    attempts = sum(retry_counts.values())
    return _entry(
        pr,
        AuditAction.PR_CLASSIFIED,
        AuditOutcome.SUCCEEDED,
        actor=MENDER,
        details={
            "decision": decision.action.value,
            "reason": decision.reason,
            "state": state.value if state else None,
            "head_sha": head_sha,
            "retry_counts": dict(retry_counts),
        },
        idempotency_key=f"{run}:classified:{head_sha}:{decision.action.value}:{attempts}",
    )


def remediation(event: PREvent) -> AuditEntry:
    """One journaled remediation record (`domain.pr_healing.remediation.remediation_event`)."""
    details = event.details
    raw = str(details.get("outcome"))
    error = None
    if raw == RemedyOutcome.FAILED:
        error = str(details.get("detail") or "the strategy failed")
    elif raw == RemedyOutcome.NO_EFFECT:
        error = f"{details.get('action')} had no effect"
    return _entry(
        event.pr,
        AuditAction.PR_REMEDIATION,
        REMEDIATION_OUTCOME.get(raw, raw),
        actor=str(details.get("requester") or MENDER),
        source=str(details.get("via") or AuditSource.WORKFLOW),
        details={**details, "key": event.key, "head_sha": event.head_sha},
        error=error,
    )


def escalated(pr: PRRef, reason: str, notice: NoticeResult | None, error: str | None) -> AuditEntry:
    """NEEDS_INTERVENTION: succeeded once the notice was posted, failed when it was not."""
    return _entry(
        pr,
        AuditAction.PR_ESCALATED,
        AuditOutcome.FAILED if notice is None else AuditOutcome.SUCCEEDED,
        actor=MENDER,
        details={"reason": reason, "notice": notice.model_dump(mode="json") if notice else None},
        error=error,
    )


def command(pr: PRRef, request: CommandRequest, answer: CommandAnswer) -> AuditEntry:
    """The answer to one command, with its requester and source."""
    if answer.duplicate:
        outcome = AuditOutcome.DUPLICATE
    else:
        outcome = AuditOutcome.ACCEPTED if answer.accepted else AuditOutcome.REFUSED
    return _entry(
        pr,
        AuditAction.PR_COMMAND,
        outcome,
        actor=request.requester,
        source=request.source.value,
        details={
            "command": answer.command,
            "accepted": answer.accepted,
            "reason": answer.reason,
            "idempotency_key": request.idempotency_key,
        },
    )
