"""A workflow calling a slow activity with a short heartbeat timeout (the liveness test). Minimal
imports: the workflow sandbox re-imports this module."""

from __future__ import annotations

import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

BEATEN = "github.fetch_snapshot"  # a GitHub call: heartbeats while it runs
UNBEATEN = "liveness-test.slow"  # not a call of a liveness kind
SLOW_SECONDS = 10.0  # 2.5 heartbeat timeouts: unbeaten, it cannot finish


def _slow() -> str:
    time.sleep(SLOW_SECONDS)  # never heartbeats itself
    return "done"


@activity.defn(name=BEATEN)
def beaten() -> str:
    return _slow()


@activity.defn(name=UNBEATEN)
def unbeaten() -> str:
    return _slow()


@workflow.defn(name="LivenessTest")
class LivenessWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        try:
            return await workflow.execute_activity(
                name,
                start_to_close_timeout=timedelta(seconds=30),
                # 1 s timed out a beaten call under a load average of 20 (a starved event loop)
                heartbeat_timeout=timedelta(seconds=4),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as exc:
            return f"failed: {exc.cause}"
