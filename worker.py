"""The Mender worker: registers workflows and activities on the task queue and runs them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

from temporalio.client import Client
from temporalio.worker import Worker

from activities import config as config_activities
from activities import store as store_activities
from runtime.settings import get_settings
from runtime.temporal import make_client
from workflows.pr_lifecycle import PRLifecycleWorkflow

WORKFLOWS = [PRLifecycleWorkflow]
ACTIVITIES = [config_activities.repo_policy, store_activities.record_pr]

log = logging.getLogger("mender.worker")


def build_worker(
    client: Client,
    task_queue: str,
    executor: concurrent.futures.Executor,
    max_concurrent_activities: int = 32,
) -> Worker:
    """A worker with every Mender workflow and activity (sync activities run in `executor`)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,
        activity_executor=executor,
        max_concurrent_activities=max_concurrent_activities,
    )


async def run_worker() -> None:
    """Connect with the configured settings and run until cancelled."""
    settings = get_settings()
    client = await make_client(settings.temporal_address, settings.config.temporal.namespace)
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as executor:
        worker = build_worker(client, settings.config.temporal.task_queue, executor)
        log.info(
            "worker polling task queue %s at %s",
            settings.config.temporal.task_queue,
            settings.temporal_address,
        )
        await worker.run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_worker())
