"""The floor's worker: one workflow type that takes one signal, keeps it as its status, and then waits
on a long timer the way a PR workflow waits on its staleness threshold.

Run: python -m bench.floor.worker ADDRESS TASK_QUEUE
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

WAIT = timedelta(hours=6)


@workflow.defn(name="FloorPR")
class FloorPR:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    @workflow.signal(name="event")
    def event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    @workflow.query(name="status")
    def status(self) -> dict[str, Any]:
        return {"events": len(self.events), "last": self.events[-1] if self.events else None}

    @workflow.run
    async def run(self, workflow_id: str) -> int:
        await workflow.wait_condition(lambda: bool(self.events))
        with contextlib.suppress(TimeoutError):  # the long wait a PR workflow does on its staleness timer
            await workflow.wait_condition(lambda: len(self.events) > 1_000, timeout=WAIT)
        return len(self.events)


async def main(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    async with Worker(client, task_queue=task_queue, workflows=[FloorPR]):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
