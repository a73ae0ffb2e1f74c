"""The CI polling fallback: a Temporal Schedule runs this sweep for failed runs whose webhook never came."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.ci_poll import PollReport

CI_POLLER_WORKFLOW_ID = "ci-poller"
CI_POLLER_SCHEDULE_ID = "mender-ci-poller"


@workflow.defn(name="CIPoller")
class CIPollerWorkflow:
    """One sweep over the watched projects; a known run starts nothing (its workflow id is taken)."""

    @workflow.run
    async def run(self) -> PollReport:
        return await workflow.execute_activity(
            "ci.poll",
            result_type=PollReport,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
