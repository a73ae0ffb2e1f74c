"""The merge queue workflow and its activities against a real Temporal dev server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from activities.merge_queue import MergeQueueActivities
from contracts.merge_queue import (
    RELEASE_SIGNAL,
    QueueInput,
    QueueStatus,
    ReleaseArgs,
    TurnArgs,
    TurnRelease,
    queue_workflow_id,
)
from contracts.pr import TURN_SIGNAL
from domain.pr_healing.merge_queue import TurnRequest
from tests.support.events import eventually
from workflows.merge_queue import MergeQueueWorkflow

BUDGET = 20  # history events per run of the flooded queue (the least the input allows)


@workflow.defn(name="TurnTakerTest", sandboxed=False)
class TurnTaker:
    """Stands in for a PR workflow: counts the turns its queue offers it."""

    def __init__(self) -> None:
        self.offered = 0

    @workflow.signal(name=TURN_SIGNAL)
    def turn(self) -> None:
        self.offered += 1

    @workflow.query
    def offers(self) -> int:
        return self.offered

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


@asynccontextmanager
async def queue_worker(client: Client) -> AsyncIterator[MergeQueueActivities]:
    task_queue = f"queue-test-{uuid.uuid4().hex[:8]}"
    acts = MergeQueueActivities(client, task_queue)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[MergeQueueWorkflow, TurnTaker],
        activities=[acts.request_turn, acts.release_turn],
    ):
        yield acts


def args(repo: str, number: int, requester: str, nearness: int = 0, lease: float = 600) -> TurnArgs:
    request = TurnRequest(pr_number=number, requester=requester, nearness=nearness, lease_seconds=lease)
    return TurnArgs(repo=repo, base_ref="main", request=request)


async def taker(client: Client, acts: MergeQueueActivities, name: str) -> str:
    handle = await client.start_workflow(TurnTaker.run, id=name, task_queue=acts.task_queue)
    return handle.id


async def offers(client: Client, workflow_id: str) -> int:
    return await client.get_workflow_handle(workflow_id).query(TurnTaker.offers)


async def holder(acts: MergeQueueActivities, repo: str) -> int | None:
    status: QueueStatus | None = await acts.status(repo, "main")
    return status.queue.holder.pr_number if status and status.queue.holder else None


async def test_one_turn_at_a_time_and_the_next_is_woken_on_release(client: Client) -> None:
    repo = f"acme/q{uuid.uuid4().hex[:6]}"
    async with queue_worker(client) as acts:
        second = await taker(client, acts, f"pr/{repo}/2")
        first = await acts.request_turn(args(repo, 1, f"pr/{repo}/1"))
        waits = await acts.request_turn(args(repo, 2, second, nearness=3))
        assert first.granted and not waits.granted and waits.position == 1 and waits.holder == 1
        await acts.release_turn(ReleaseArgs(repo=repo, base_ref="main", pr_number=1))
        assert await eventually(lambda: offers(client, second), lambda n: n == 1) == 1
        assert await holder(acts, repo) == 2
        assert (await acts.request_turn(args(repo, 2, second, nearness=3))).granted
        await acts.release_turn(ReleaseArgs(repo="acme/never-queued", base_ref="main", pr_number=3))


async def test_a_turn_not_renewed_passes_on_and_a_gone_pr_is_skipped(client: Client) -> None:
    repo = f"acme/q{uuid.uuid4().hex[:6]}"
    async with queue_worker(client) as acts:
        alive = await taker(client, acts, f"pr/{repo}/2")
        assert (await acts.request_turn(args(repo, 1, f"pr/{repo}/1", lease=1))).granted
        # Nearest to merge but its workflow is gone: it cannot be woken and leaves the queue.
        assert not (await acts.request_turn(args(repo, 5, f"pr/{repo}/5", nearness=4, lease=30))).granted
        assert not (await acts.request_turn(args(repo, 2, alive, nearness=1, lease=30))).granted
        assert await eventually(lambda: offers(client, alive), lambda n: n >= 1, timeout=30) >= 1
        assert await holder(acts, repo) == 2


async def test_a_flood_of_releases_continues_as_new_with_the_queue(client: Client) -> None:
    """Issue 14 (3): every event path checks the history budget: releases of PRs not in the queue change
    nothing, yet grow the history; the queue continues as new at its budget and keeps its holder."""
    repo = f"acme/q{uuid.uuid4().hex[:6]}"
    async with queue_worker(client) as acts:
        handle = await client.start_workflow(
            MergeQueueWorkflow.run,
            QueueInput(repo=repo, base_ref="main", history_events_before_continue=BUDGET),
            id=queue_workflow_id(repo, "main"),
            task_queue=acts.task_queue,
        )
        try:
            assert (await acts.request_turn(args(repo, 1, f"pr/{repo}/1"))).granted
            first = (await handle.describe()).run_id
            for _ in range(3 * BUDGET // 2):  # one after the other, as a sustained flood comes
                await handle.signal(RELEASE_SIGNAL, TurnRelease(pr_number=99))
            await eventually(handle.describe, lambda d: d.run_id != first)
            assert await holder(acts, repo) == 1  # the queue went along
            history = await client.get_workflow_handle(handle.id, run_id=first).fetch_history()
            assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            assert len(history.events) <= BUDGET + 15, len(history.events)
        finally:
            await handle.terminate("test over")
