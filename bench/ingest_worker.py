"""`mender worker` with worker settings `worker.py` does not expose, for `bench/ingest.py`:
`--worker-cache N` (the sticky cache, `max_cached_workflows`, SDK default 1,000), `--workflow-slots N`
(`max_concurrent_workflow_tasks`), `--sticky-timeout S` (`sticky_queue_schedule_to_start_timeout`, SDK
default 10 s: a cached workflow's next task not taken within it goes to the shared queue and is replayed
from its whole history) and `--unsandboxed` (workflow code without the sandbox, which builds a module
namespace for each workflow run). Measurement only: the values go to every `Worker` the process builds,
then `worker.run_worker()` runs unchanged. From the environment: BENCH_WORKER_CACHE,
BENCH_WORKFLOW_SLOTS, BENCH_STICKY_TIMEOUT_S (unset: the SDK's default), BENCH_UNSANDBOXED=1.

Run: python -m bench.ingest_worker
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

import temporalio.worker
from temporalio.worker import UnsandboxedWorkflowRunner

import worker as mender_worker
from runtime.logs import configure_logging

_Worker = temporalio.worker.Worker
SETTINGS = {
    "max_cached_workflows": "BENCH_WORKER_CACHE",
    "max_concurrent_workflow_tasks": "BENCH_WORKFLOW_SLOTS",
}


def with_settings(*args: Any, **kwargs: Any) -> temporalio.worker.Worker:
    for name, variable in SETTINGS.items():
        if os.environ.get(variable):
            kwargs[name] = int(os.environ[variable])
    if os.environ.get("BENCH_STICKY_TIMEOUT_S"):
        seconds = float(os.environ["BENCH_STICKY_TIMEOUT_S"])
        kwargs["sticky_queue_schedule_to_start_timeout"] = timedelta(seconds=seconds)
    return _Worker(*args, **kwargs)


if __name__ == "__main__":
    configure_logging()
    mender_worker.Worker = with_settings  # type: ignore[assignment,misc]
    if os.environ.get("BENCH_UNSANDBOXED"):
        mender_worker.SANDBOX = UnsandboxedWorkflowRunner()  # type: ignore[assignment]
    asyncio.run(mender_worker.run_worker())
