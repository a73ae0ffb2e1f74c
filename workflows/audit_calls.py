"""How workflows write the audit trail: `await audit(entry)` (never fails the calling workflow)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.shared.audit import AUDIT_RECORD, AuditEntry

__all__ = ["AUDIT_RECORD", "AuditEntry", "audit"]

AUDIT_START_TO_CLOSE = timedelta(seconds=30)
AUDIT_SCHEDULE_TO_CLOSE = timedelta(minutes=5)
AUDIT_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))


async def audit(entry: AuditEntry) -> None:
    """Record `entry` through the `audit.record` activity, from inside a workflow.

    Fills in `at` (workflow time) and an idempotency key (workflow id plus a replay-safe uuid) when the
    entry has none, so retries never double a row. An audit that still fails after five minutes of
    retries is logged and dropped: the audit trail must not break the work it describes.
    """
    updates: dict[str, object] = {}
    if entry.at is None:
        updates["at"] = workflow.now()
    if entry.idempotency_key is None:
        updates["idempotency_key"] = f"{workflow.info().workflow_id}:{workflow.uuid4()}"
    entry = entry.model_copy(update=updates)
    try:
        await workflow.execute_activity(
            AUDIT_RECORD,
            entry,
            result_type=bool,
            start_to_close_timeout=AUDIT_START_TO_CLOSE,
            schedule_to_close_timeout=AUDIT_SCHEDULE_TO_CLOSE,
            retry_policy=AUDIT_RETRY,
        )
    except ActivityError as err:
        workflow.logger.warning(
            "audit %s on %s not recorded: %s", entry.action, entry.target, err.cause or err
        )
