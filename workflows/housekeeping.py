"""Housekeeping run by Temporal Schedules: the audit trail's retention sweep."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.shared.audit import AUDIT_SWEEP, RetentionReport

AUDIT_RETENTION_WORKFLOW_ID = "audit-retention"
AUDIT_RETENTION_SCHEDULE_ID = "mender-audit-retention"
SWEEP_TIMEOUT = timedelta(minutes=30)


@workflow.defn(name="AuditRetention")
class AuditRetentionWorkflow:
    """One retention sweep: archive and delete audit rows older than `audit.retention_days`."""

    @workflow.run
    async def run(self) -> RetentionReport:
        return await workflow.execute_activity(
            AUDIT_SWEEP,
            result_type=RetentionReport,
            start_to_close_timeout=SWEEP_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
