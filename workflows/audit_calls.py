"""How workflows write the audit trail: `await audit(entry)` (never fails the calling workflow)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.activities import AUDIT_RECORD
    from domain.shared.audit import AuditEntry
    from workflows.calls import call


async def audit(entry: AuditEntry, *, local: bool = True) -> None:
    """Record `entry` through the `audit.record` activity, from inside a workflow.

    Fills in `at` and an idempotency key (see `stamped`), so retries never double a row. An audit that
    still fails after five minutes of retries is logged and dropped: the audit trail must not break the
    work it describes. `local`: as `workflows.calls.call`.
    """
    entry = stamped(entry)
    try:
        await call(AUDIT_RECORD, entry, local=local)
    except ActivityError as err:
        workflow.logger.warning(
            "audit %s on %s not recorded: %s", entry.action, entry.target, err.cause or err
        )


def stamped(entry: AuditEntry) -> AuditEntry:
    """`entry` with `at` (workflow time) and an idempotency key (workflow id plus a replay-safe uuid)
    filled in where it has none."""
    updates: dict[str, object] = {}
    if entry.at is None:
        updates["at"] = workflow.now()
    if entry.idempotency_key is None:
        updates["idempotency_key"] = f"{workflow.info().workflow_id}:{workflow.uuid4()}"
    return entry.model_copy(update=updates) if updates else entry
