"""Liveness heartbeats (`runtime/activity_liveness.py`) on the real Temporal dev server: a GitHub call
that outlives its heartbeat timeout in a live worker completes, because the worker beats for it; the
same slow call of another kind, unbeaten, times out on its heartbeat (as a killed worker's call does)."""

from __future__ import annotations

import concurrent.futures
import uuid

from temporalio.client import Client
from temporalio.worker import Worker

from tests.support.liveness_workflow import BEATEN, UNBEATEN, LivenessWorkflow, beaten, unbeaten
from worker import interceptors


async def test_a_live_worker_beats_for_its_github_calls_and_only_for_them(client: Client) -> None:
    queue = f"liveness-{uuid.uuid4().hex[:8]}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[LivenessWorkflow],
            activities=[beaten, unbeaten],
            activity_executor=executor,
            interceptors=interceptors(),
        ):
            results = {
                name: await client.execute_workflow(
                    LivenessWorkflow.run, name, id=f"{queue}-{name}", task_queue=queue
                )
                for name in (BEATEN, UNBEATEN)
            }
    assert results[BEATEN] == "done", results
    assert results[UNBEATEN].startswith("failed") and "eartbeat" in results[UNBEATEN], results
