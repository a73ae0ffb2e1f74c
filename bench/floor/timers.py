"""The stall -> action floor: bare workflows that each take one signal (the PR's last progress), wait
on a timer of the staleness threshold, then run one activity (the action) and return when it started.

Run in-process by `bench/latency.py`; nothing of Mender is imported.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow


@activity.defn(name="floor.act")
def act() -> str:
    """The action: it only tells when it started (ISO 8601)."""
    return datetime.now().astimezone().isoformat()


@workflow.defn(name="FloorStall")
class FloorStall:
    def __init__(self) -> None:
        self.progress_at: str | None = None

    @workflow.signal(name="progress")
    def progress(self, at: str) -> None:
        """The last progress, as the sender's clock saw it (ISO 8601)."""
        self.progress_at = at

    @workflow.run
    async def run(self, threshold_seconds: float) -> list[str]:
        await workflow.wait_condition(lambda: self.progress_at is not None)
        await workflow.sleep(timedelta(seconds=threshold_seconds))
        acted = await workflow.execute_activity(
            "floor.act", start_to_close_timeout=timedelta(seconds=30), result_type=str
        )
        assert self.progress_at is not None
        return [self.progress_at, acted]
