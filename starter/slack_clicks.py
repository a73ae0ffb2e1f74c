"""A Slack approval is decided once: the first delivered click is recorded, later clicks are told so.

Slack retries a click that was not answered in 3 seconds, and two approvers may click the same message.
The CI workflow keeps only the first decision; here the starter remembers the decision it delivered
(an audit row `slack.click` whose idempotency key is the workflow id), so a second click is answered
"already decided" without signalling again. The row is written after the signal is delivered, so a
click that failed to reach Temporal (503) can be retried.
"""

from __future__ import annotations

from sqlalchemy import Engine

from domain.shared.audit import AuditAction, AuditEntry, AuditFilter, AuditOutcome, AuditRow, AuditSource
from store import audit


def _key(workflow_id: str) -> str:
    return f"{AuditAction.SLACK_CLICK}:{workflow_id}"


def decided(engine: Engine, workflow_id: str) -> AuditRow | None:
    """The decision already delivered for `workflow_id`, if any."""
    rows = audit.query(engine, AuditFilter(action=AuditAction.SLACK_CLICK, target=workflow_id, limit=1))
    return rows[0] if rows else None


def remember(engine: Engine, workflow_id: str, approved: bool, approver: str) -> bool:
    """Record the delivered decision; False when one was recorded already (a concurrent click)."""
    entry = AuditEntry(
        action=AuditAction.SLACK_CLICK,
        actor=approver,
        outcome=AuditOutcome.ACCEPTED,
        target=workflow_id,
        source=AuditSource.SLACK,
        details={"approved": approved},
        idempotency_key=_key(workflow_id),
    )
    return audit.record(engine, entry)


def already(row: AuditRow) -> str:
    """The answer to a click on a decided approval."""
    verdict = "approved" if row.details.get("approved") else "rejected"
    return f"Already decided: {verdict} by {row.actor}. Nothing changed."
