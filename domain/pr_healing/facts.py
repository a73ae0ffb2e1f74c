"""Fact keys and trust-but-verify folding.

A fact has the same idempotency key whichever source reports it (webhook, reconciler), so folding a
refresh after the webhook arrived, or the other way round, records it once. `missed_facts` compares a
live snapshot with the lifecycle and returns only the events needed to bring the lifecycle up to date.
"""

from __future__ import annotations

from datetime import datetime

from domain.pr_healing.events import EventSource, EventType, PREvent
from domain.pr_healing.lifecycle import PRLifecycle, PRState
from domain.pr_healing.snapshot import PRSnapshot
from domain.shared.times import aware


def github_time(text: str | None) -> datetime | None:
    """GitHub's ISO 8601 time as an aware datetime (UTC when it names no zone); None when unreadable."""
    if not text or len(text) > 40:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return aware(value)


def opened_key(head_sha: str) -> str:
    return f"opened:{head_sha}"


def synchronize_key(before: str | None, after: str) -> str:
    """A push moved the head from `before` to `after`: A→B→A gives two facts, not one."""
    return f"synchronize:{before}:{after}"


def merged_key(merge_commit_sha: str | None, closed_at: str | None) -> str:
    return f"merged:{merge_commit_sha or closed_at}"


def closed_key(closed_at: str | None) -> str:
    return f"closed:{closed_at}"


def suite_started_key(suite_id: int, updated_at: str | None) -> str:
    return f"check_suite:{suite_id}:started:{updated_at}"


def suite_completed_key(suite_id: int, conclusion: str | None, updated_at: str | None) -> str:
    return f"check_suite:{suite_id}:completed:{conclusion}:{updated_at}"


def check_run_key(run_id: int, completed_at: str | None) -> str:
    return f"check_run:{run_id}:{completed_at}"


def status_key(status_id: int) -> str:
    return f"status:{status_id}"


def review_key(review_id: int) -> str:
    return f"review:{review_id}"


POLICY_EVENTS = {
    "pending": EventType.POLICY_PENDING,
    "success": EventType.POLICY_PASSED,
    "failure": EventType.POLICY_FAILED,
    "error": EventType.POLICY_FAILED,
}
_BEFORE_CHECKS_RESULT = {
    PRState.CREATED,
    PRState.CHECKS_RUNNING,
    PRState.CHECKS_FAILED,
    PRState.NEEDS_INTERVENTION,
}
_AWAITING_POLICY = {PRState.CHECKS_PASSED, PRState.POLICY_EVALUATING, PRState.POLICY_FAILED}


def missed_facts(
    lifecycle: PRLifecycle, snap: PRSnapshot, policy_context: str, now: datetime
) -> list[PREvent]:
    """Events (source reconciler) for what GitHub shows but the lifecycle has not seen yet."""
    state = lifecycle.state

    def event(type: EventType, key: str, **fields: object) -> PREvent:
        return PREvent(
            key=key,
            pr=snap.pr,
            type=type,
            source=EventSource.RECONCILER,
            occurred_at=now,
            head_sha=snap.head_sha,
            **fields,  # type: ignore[arg-type]
        )

    if state is None or lifecycle.terminal:
        return []
    if snap.merged:
        return [event(EventType.MERGED, merged_key(snap.merge_commit_sha, snap.closed_at))]
    if snap.state == "closed":
        return [event(EventType.CLOSED, closed_key(snap.closed_at))]
    events: list[PREvent] = []
    if lifecycle.head_sha and snap.head_sha != lifecycle.head_sha:
        before = {"before": lifecycle.head_sha}
        events.append(
            event(EventType.SYNCHRONIZE, synchronize_key(lifecycle.head_sha, snap.head_sha), details=before)
        )
        state = PRState.CREATED
    latest = snap.check_suites[-1] if snap.check_suites else None
    if latest is None:
        return events
    suite = {"details": {"check_suite_id": latest.id}, "github_at": github_time(latest.updated_at)}
    if snap.checks_pending:
        if state is not PRState.CHECKS_RUNNING:
            events.append(
                event(EventType.CHECKS_STARTED, suite_started_key(latest.id, latest.updated_at), **suite)
            )
        return events
    completed = suite_completed_key(latest.id, latest.conclusion, latest.updated_at)
    if snap.failed_runs:
        if state is not PRState.CHECKS_FAILED:
            failed = {"failed": [r.name for r in snap.failed_runs], "check_suite_id": latest.id}
            events.append(
                event(EventType.CHECKS_FAILED, completed, details=failed, github_at=suite["github_at"])
            )
        return events
    if not snap.checks_passed:
        return events
    if state in _BEFORE_CHECKS_RESULT:
        events.append(event(EventType.CHECKS_PASSED, completed, **suite))
        state = PRState.CHECKS_PASSED
    policy = snap.status_for(policy_context)
    if policy is not None and state in _AWAITING_POLICY | {PRState.POLICY_PASSED}:
        policy_type = POLICY_EVENTS.get(policy.state)
        target = {
            EventType.POLICY_PENDING: PRState.POLICY_EVALUATING,
            EventType.POLICY_PASSED: PRState.POLICY_PASSED,
            EventType.POLICY_FAILED: PRState.POLICY_FAILED,
        }.get(policy_type)  # type: ignore[arg-type]
        if policy_type and target is not state:
            events.append(event(policy_type, status_key(policy.id)))
            state = target
    approval = snap.approval()
    if approval and not lifecycle.approved and state in (PRState.POLICY_PASSED, *_AWAITING_POLICY):
        events.append(event(EventType.APPROVED, review_key(approval.id), actor=approval.user))
    return events
