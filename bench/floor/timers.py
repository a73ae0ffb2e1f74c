"""The stall -> action floor: bare workflows that each take one signal (the PR's last progress), wait
on a timer of the staleness threshold, then run one activity (the action).

Run in-process by `bench/latency.py`, which reads `ACTED` (when each workflow's action started, by
workflow id); nothing of Mender is imported.
"""

from __future__ import annotations

import time
from datetime import timedelta

from temporalio import activity, workflow

ACTED: dict[str, float] = {}  # workflow id -> wall-clock time its action started


@activity.defn(name="floor.act")
def act() -> None:
    """The action: it only notes when it started."""
    ACTED.setdefault(activity.info().workflow_id, time.time())


@workflow.defn(name="FloorStall")
class FloorStall:
    def __init__(self) -> None:
        self.progressed = False

    @workflow.signal(name="progress")
    def progress(self) -> None:
        self.progressed = True

    @workflow.run
    async def run(self, threshold_seconds: float) -> None:
        await workflow.wait_condition(lambda: self.progressed)
        await workflow.sleep(timedelta(seconds=threshold_seconds))
        await workflow.execute_activity("floor.act", start_to_close_timeout=timedelta(seconds=30))
