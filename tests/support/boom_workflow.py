"""A workflow whose one activity always fails (the activity-error metric test). Minimal imports: the
workflow sandbox re-imports this module."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

BOOM = "metrics-test.boom"


@activity.defn(name=BOOM)
async def boom() -> None:
    raise RuntimeError("always fails")


@workflow.defn(name="MetricsTestBoom")
class BoomWorkflow:
    @workflow.run
    async def run(self, attempts: int) -> str:
        try:
            await workflow.execute_activity(
                BOOM,
                start_to_close_timeout=timedelta(seconds=5),
                retry_policy=RetryPolicy(
                    maximum_attempts=attempts, initial_interval=timedelta(milliseconds=10)
                ),
            )
        except ActivityError:
            return "failed as expected"
        return "unexpected success"
