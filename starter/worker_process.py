"""The embedded stack's worker as its own `mender worker` process (benchmarks of large fleets).

In one process the simulators, the starter and the worker share one interpreter lock: with a large fleet
the simulators' threads starve the workflow code (workflow tasks over the SDK's 2 s deadlock limit fail
and are retried), which a real deployment, with its worker alone in its process, does not see.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import yaml
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from runtime.settings import Settings
from starter.children import stop_process

OUTSIDE_SECRETS = ("GITHUB_TOKEN", "SLACK_BOT_TOKEN", "GITLAB_TOKEN", "OPENAI_API_KEY")


@asynccontextmanager
async def worker_process(
    settings: Settings,
    client: Client,
    task_queue: str,
    data_dir: Path,
    activity_slots: int = 16,
    timeout: float = 120,
) -> AsyncIterator[subprocess.Popen]:
    """`mender worker` with `settings` (its configuration written to `data_dir`, metric ports off) until
    the block ends; yields once it polls `task_queue`."""
    config = settings.config.model_dump(mode="json")
    config["metrics"].update(worker_port=None, sdk_port=None)
    path = data_dir / "worker.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE_SECRETS}
    env.update(
        MENDER_CONFIG=str(path),
        MENDER_DATABASE_URL=settings.database_url,
        MENDER_TEMPORAL_ADDRESS=client.service_client.config.target_host,
        MENDER_WEBHOOK_SECRET=settings.webhook_secret,
        MENDER_WORKER_ACTIVITY_SLOTS=str(activity_slots),
    )
    mender = Path(sys.executable).parent / "mender"
    log = (data_dir / "worker.log").open("wb")
    process = subprocess.Popen([str(mender), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await _polling(client, task_queue, process, timeout)
        yield process
    finally:
        stop_process(process)
        log.close()


async def _polling(client: Client, task_queue: str, process: subprocess.Popen, timeout: float) -> None:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    for _ in range(int(timeout / 0.2)):
        if process.poll() is not None:
            raise RuntimeError(f"mender worker exited with {process.returncode}")
        if (await client.workflow_service.describe_task_queue(request)).pollers:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"mender worker does not poll {task_queue}")
