"""A rate limit does not use up a GitHub call's bounded attempts (`workflows/calls.py`), on the real
Temporal dev server against the GitHub simulator's 429 + `Retry-After`: the call is scheduled again
after exactly the delay GitHub named, however often; a real failure (502) still ends it after its three
attempts, and so does a rate limit that never ends (`RATE_LIMIT_WAITS`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from activities import github as gh
from activities.github_gate import GATE
from contracts.activities import FETCH_SNAPSHOT, lane_queue
from domain.pr_healing.events import PRRef
from runtime.serving import ServerThread
from runtime.settings import set_settings
from simulators.github import Simulator, SimulatorConfig, create_app
from simulators.github.world_faults import GitHubOutage
from tests.support.rate_limit_workflow import RateLimitWorkflow
from tests.support.stack import make_settings
from worker import Workers, interceptors
from workflows import calls

REPO = "acme/api"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[Simulator, str, PRRef]]:
    simulator = Simulator(SimulatorConfig(actors=()))
    server = ServerThread(create_app(simulator))
    simulator.set_base_url(server.url)
    with server:
        settings = make_settings(tmp_path)
        settings.config = settings.config.model_copy(
            update={"github": settings.config.github.model_copy(update={"simulator_url": server.url})}
        )
        number = httpx.post(f"{server.url}/_sim/prs", json={"repo": REPO}).json()["number"]
        GATE.clear()
        yield simulator, server.url, PRRef(repo=REPO, number=number)
        GATE.clear()
    set_settings(None)


def answers(url: str, status: int) -> list[float]:
    """When the simulator answered `status` to a call about the repository."""
    rows = httpx.get(f"{url}/_sim/requests").json()
    return [r["at"] for r in rows if r["status"] == status and r["path"].startswith(f"/repos/{REPO}")]


async def until(check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


def refuse(url: str, kind: str | None, retry_after: int = 1) -> None:
    body = {"repo": REPO, "kind": kind, "retry_after": retry_after}
    httpx.post(f"{url}/_sim/repos/refusal", json=body).raise_for_status()


async def test_rate_limits_wait_without_using_attempts_and_real_failures_stay_bounded(
    client: Client, sim: tuple[Simulator, str, PRRef], monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator, url, pr = sim
    queue = f"ratelimit-{uuid.uuid4().hex[:8]}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
        reads = lane_queue(queue, FETCH_SNAPSHOT.lane)  # the workflow's call is polled from its lane
        async with Workers(
            [
                Worker(client, task_queue=queue, workflows=[RateLimitWorkflow], activity_executor=executor),
                Worker(
                    client,
                    task_queue=reads,
                    activities=[gh.fetch_snapshot],
                    activity_executor=executor,
                    interceptors=interceptors(),
                ),
            ]
        ):
            # 1. limited 4 times in a row (more than the 3 attempts), then GitHub answers: the call succeeds
            refuse(url, "rate_limited")
            handle = await client.start_workflow(RateLimitWorkflow.run, pr, id=f"{queue}-1", task_queue=queue)
            await until(lambda: len(answers(url, 429)) >= 4)
            refuse(url, None)
            assert (await handle.result()).startswith("read head")
            limited = answers(url, 429)
            assert all(b - a >= 0.9 for a, b in itertools.pairwise(limited)), limited  # Retry-After

            # 2. limited again, then GitHub fails for real (502): three attempts after the last limit, no more
            refuse(url, "rate_limited")
            before = len(answers(url, 429))
            handle = await client.start_workflow(RateLimitWorkflow.run, pr, id=f"{queue}-2", task_queue=queue)
            await until(lambda: len(answers(url, 429)) >= before + 2)
            simulator.faults.world.start([GitHubOutage(type="github_outage", duration_seconds=600)], seed=0)
            refuse(url, None)  # (the outage answers first)
            result = await handle.result()
            assert result.startswith("failed") and "502" in result, result
            assert len(answers(url, 502)) == 3
            simulator.faults.world.start([], seed=0)

            # 3. a limit that never ends: the call gives up after its waits (2 here) and says why
            monkeypatch.setattr(calls, "RATE_LIMIT_WAITS", 2)
            GATE.clear()
            refuse(url, "rate_limited")
            before = len(answers(url, 429))
            handle = await client.start_workflow(RateLimitWorkflow.run, pr, id=f"{queue}-3", task_queue=queue)
            result = await handle.result()
            assert result.startswith("failed") and "rate limit" in result, result
            assert 2 <= len(answers(url, 429)) - before <= 3  # the first try, one after each wait (or the
            # token's own wait in the worker held it: not sent)
