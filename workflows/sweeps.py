"""The scheduled sweeps: each runs one activity, started by a Temporal Schedule apart from the PR workflows.

A sweep's failure only fails that run; the next scheduled run starts fresh. The ids and schedules come
from `contracts.sweeps`, the timeouts from the activity's kind (`workflows.calls`).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts import sweeps
    from contracts.sweeps import PollReport, SweepReport
    from domain.shared.audit import RetentionReport
    from workflows.calls import call


@workflow.defn(name=sweeps.RECONCILER.workflow)
class ReconcilerWorkflow:
    """Trust but verify: start workflows for PRs that never got a webhook, refresh those GitHub disagrees with."""

    @workflow.run
    async def run(self) -> SweepReport:
        return await call(catalogue.RECONCILE_SWEEP)


@workflow.defn(name=sweeps.CI_POLLER.workflow)
class CIPollerWorkflow:
    """The CI polling fallback: failed runs whose webhook never came; a known run starts nothing."""

    @workflow.run
    async def run(self) -> PollReport:
        return await call(catalogue.CI_POLL)


@workflow.defn(name=sweeps.AUDIT_RETENTION.workflow)
class AuditRetentionWorkflow:
    """Archive and delete audit rows older than `audit.retention_days`."""

    @workflow.run
    async def run(self) -> RetentionReport:
        return await call(catalogue.AUDIT_SWEEP)


SWEEP_WORKFLOWS = [ReconcilerWorkflow, CIPollerWorkflow, AuditRetentionWorkflow]
