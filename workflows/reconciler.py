"""The reconciler: a Temporal Schedule runs this sweep of open bot PRs every few minutes."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.reconcile import SweepReport

RECONCILER_WORKFLOW_ID = "reconciler"
RECONCILER_SCHEDULE_ID = "mender-reconciler"


@workflow.defn(name="Reconciler")
class ReconcilerWorkflow:
    """One sweep: start workflows for PRs that never got a webhook, refresh those GitHub disagrees with.

    It runs apart from the PR workflows: its failure only fails this run, and the next run starts fresh.
    """

    @workflow.run
    async def run(self) -> SweepReport:
        return await workflow.execute_activity(
            "reconcile.sweep",
            result_type=SweepReport,
            start_to_close_timeout=timedelta(minutes=15),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
