"""The two floors of `bench/latency.py`, each on a dev server of its own, with the fleet's opening rate,
threshold and activity slots: bare timer + one activity (`bench/floor/timers.py`), and the same with the
activity reading the PR from GitHub through bare PyGithub (`bench/floor/github_reads.py`), against the
fleet's GitHub simulator world in its own process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.fleet import scenario
from bench.floor import github_reads
from bench.floor.timers import ACTED, FloorStall, act
from runtime.serving import free_port
from runtime.temporal import temporal_binary
from simulators.github import load_scenario
from starter.github_process import simulator_process

SIM_TOKEN = "simulator-token"  # the simulator's default token (Mender's in the embedded stack)
THRESHOLD = 20.0
OPEN_INTERVAL = 0.01  # as the fleet scenario opens its PRs (by default)
SLOTS = 16  # activity slots of the embedded Mender worker
T = TypeVar("T")


async def started(start: Callable[[], Awaitable[T]], attempts: int = 3) -> T:
    """`start()`, again when the dev server did not come up in the SDK's 5 s (a loaded machine)."""
    for attempt in range(attempts):
        try:
            return await start()
        except RuntimeError as exc:
            if "did not start" not in str(exc) or attempt == attempts - 1:
                raise
            print(f"dev server did not start in time, again ({exc})", file=sys.stderr)
    raise AssertionError("unreachable")


async def floor(prs: int, timeout: float, open_interval: float = OPEN_INTERVAL) -> list[float]:
    """Stall -> action seconds of each bare workflow that acted within `timeout`."""
    env = await started(
        lambda: WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()), dev_server_log_level="error"
        )
    )
    queue = f"floor-stall-{uuid.uuid4().hex[:8]}"
    sent: dict[str, float] = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=SLOTS) as pool:
            async with Worker(
                env.client,
                task_queue=queue,
                workflows=[FloorStall],
                activities=[act],
                activity_executor=pool,
                max_concurrent_activities=SLOTS,
            ):
                for n in range(prs):
                    workflow_id = f"{queue}-{n}"
                    sent[workflow_id] = time.time()
                    await env.client.start_workflow(
                        "FloorStall",
                        THRESHOLD,
                        id=workflow_id,
                        task_queue=queue,
                        start_signal="progress",
                    )
                    await asyncio.sleep(open_interval)
                deadline = time.monotonic() + timeout
                while len(sent.keys() & ACTED.keys()) < prs and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
    finally:
        await env.shutdown()
    return [ACTED[w] - sent[w] for w in sent if w in ACTED]


async def floor_github(
    prs: int, timeout: float, open_interval: float = OPEN_INTERVAL, points_per_minute: int | None = None
) -> tuple[list[float], dict[str, float]]:
    """Stall -> read-done seconds of each bare workflow that read its PR within `timeout`, and the GitHub
    requests the reads made (from the simulator's request log)."""
    fleet = scenario(prs, open_interval, points_per_minute)
    repos = fleet["repos"]
    env = await started(
        lambda: WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()), dev_server_log_level="error"
        )
    )
    queue = f"floor-github-{uuid.uuid4().hex[:8]}"
    sent: dict[str, float] = {}
    log = Path(tempfile.mkdtemp(prefix="floor-github-")) / "github.log"
    try:
        with simulator_process(free_port(), None, "floor", log) as sim:
            github_reads.CLIENT["github"] = github_reads.client(sim.url, SIM_TOKEN, points_per_minute)
            with concurrent.futures.ThreadPoolExecutor(max_workers=SLOTS) as pool:
                async with Worker(
                    env.client,
                    task_queue=queue,
                    workflows=[github_reads.FloorGitHubStall],
                    activities=[github_reads.read_and_act],
                    activity_executor=pool,
                    max_concurrent_activities=SLOTS,
                ):
                    sim.start_scenario(load_scenario(fleet))
                    for n in range(prs):  # the simulator opens PR n in repo n % repos, numbered per repo
                        workflow_id = f"{queue}-{n}"
                        sent[workflow_id] = time.time()
                        await env.client.start_workflow(
                            "FloorGitHubStall",
                            args=[THRESHOLD, repos[n % len(repos)], n // len(repos) + 1],
                            id=workflow_id,
                            task_queue=queue,
                            start_signal="progress",
                        )
                        await asyncio.sleep(open_interval)
                    deadline = time.monotonic() + timeout
                    while len(sent.keys() & github_reads.READ.keys()) < prs and time.monotonic() < deadline:
                        await asyncio.sleep(0.5)
            requests = [r for r in sim.state.requests if r["path"].startswith("/repos/")]
    finally:
        await env.shutdown()
    done = [github_reads.READ[w] - sent[w] for w in sent if w in github_reads.READ]
    counted = sum(1 for r in requests if r["status"] not in (304, 403, 429))
    return done, {
        "requests": len(requests),
        "per_read": round(len(requests) / max(1, len(done)), 2),
        "counted": counted,
        "refused": sum(1 for r in requests if r["status"] in (403, 429)),
    }
