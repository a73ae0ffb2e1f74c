"""What a PR opening costs in history, by revision, and that every revision replays on today's code."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType as HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from contracts.activities import AUDIT_RECORD, FETCH_SNAPSHOT, PROJECT_PR, REPO_POLICY, REQUEST_PERMIT
from contracts.pr import EVENT_SIGNAL, PR_WORKFLOW, QUEUE_REVISION, REMOTE_REVISION, PRWorkflowInput
from contracts.visibility import MENDER_REPO
from domain.pr_healing.events import EventType, PRRef
from domain.pr_healing.lifecycle import PRState
from domain.shared.audit import AuditFilter
from runtime.dispatch import EventDispatcher
from runtime.settings import Settings, set_settings
from store.audit import query
from store.db import engine_for
from tests.conftest import FIXTURES
from tests.support.events import eventually, make_event
from tests.support.stack import make_settings, quick_lifecycle, running_worker
from tests.support.world import mender_world
from workflows.pr_lifecycle import PRLifecycleWorkflow

UPSERT = HistoryEvent.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
MARKER = HistoryEvent.EVENT_TYPE_MARKER_RECORDED
SCHEDULED = HistoryEvent.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
TASK_COMPLETED = HistoryEvent.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
TIMER = HistoryEvent.EVENT_TYPE_TIMER_STARTED
STATE = {"MenderState", "MenderNeedsHuman", "MenderLastEventAt"}
TIMER_STARTED = TIMER


async def _opened(client: Client, pr: PRRef, queue: str) -> WorkflowHistory:
    handle = client.get_workflow_handle(pr.workflow_id)
    await eventually(lambda: handle.query("status"), lambda s: s.get("state") == PRState.CREATED.value)

    return await eventually(handle.fetch_history, lambda h: any(e.event_type == TIMER for e in h.events))


def _opening(history: WorkflowHistory) -> WorkflowHistory:
    """The events up to the staleness timer the opening's decision started: what the opening cost."""
    events = list(history.events)
    last = next(i for i, e in enumerate(events) if e.event_type == TIMER)
    return WorkflowHistory(history.workflow_id, events[: last + 1])


def _started_with(history: WorkflowHistory) -> set[str]:
    start = history.events[0].workflow_execution_started_event_attributes
    return set(start.search_attributes.indexed_fields)


def _markers(history: WorkflowHistory) -> list[str]:
    return [e.marker_recorded_event_attributes.marker_name for e in history.events if e.event_type == MARKER]


def _scheduled(history: WorkflowHistory) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == SCHEDULED
    ]


def _queues(history: WorkflowHistory) -> dict[str, str]:
    """The task queue of each activity the run scheduled, by name."""
    return {
        e.activity_task_scheduled_event_attributes.activity_type.name: (
            e.activity_task_scheduled_event_attributes.task_queue.name
        )
        for e in history.events
        if e.event_type == SCHEDULED
    }


def _timers(history: WorkflowHistory) -> list[float]:
    """Seconds of every timer the run started (the staleness waits)."""
    return [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
        for e in history.events
        if e.event_type == TIMER_STARTED
    ]


def _fields(event: Any) -> set[str]:
    return set(event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)


def _upserted(history: WorkflowHistory) -> list[set[str]]:
    return [_fields(e) for e in history.events if e.event_type == UPSERT]


async def test_an_opening_is_two_activities_and_no_upsert_and_older_runs_replay(
    client: Client, settings: Settings
) -> None:
    lean, old = PRRef(repo="acme/api", number=801), PRRef(repo="acme/api", number=802)
    given, local = PRRef(repo="acme/api", number=803), PRRef(repo="acme/api", number=804)
    # An opening the workflow applies 10 s after the intake stamped it, today and in REMOTE_REVISION.
    late, remote = PRRef(repo="acme/api", number=805), PRRef(repo="acme/api", number=806)

    def ten_seconds_old(pr: PRRef) -> Any:
        event = make_event(pr, EventType.OPENED)
        return event.model_copy(update={"occurred_at": event.occurred_at - timedelta(seconds=10)})

    async with running_worker(client) as queue:
        dispatcher = EventDispatcher("unused", client.namespace, queue, client=client)
        await dispatcher.deliver(make_event(lean, EventType.OPENED))
        await dispatcher.deliver(make_event(given, EventType.OPENED), settings.repo_policy(given.repo))
        await client.start_workflow(  # as the starter did before revisions: revision 0
            PR_WORKFLOW,
            PRWorkflowInput(pr=old),
            id=old.workflow_id,
            task_queue=queue,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[make_event(old, EventType.OPENED)],
            search_attributes=TypedSearchAttributes([SearchAttributePair(MENDER_REPO, old.repo)]),
        )
        await client.start_workflow(  # as the starter did before REMOTE_REVISION
            PR_WORKFLOW,
            PRWorkflowInput(pr=local, revision=QUEUE_REVISION),
            id=local.workflow_id,
            task_queue=queue,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[make_event(local, EventType.OPENED)],
            search_attributes=TypedSearchAttributes([SearchAttributePair(MENDER_REPO, local.repo)]),
        )
        await dispatcher.deliver(ten_seconds_old(late))
        await client.start_workflow(  # as the starter did before VISIBLE_REVISION and EVENT_TIME_REVISION
            PR_WORKFLOW,
            PRWorkflowInput(pr=remote, revision=REMOTE_REVISION),
            id=remote.workflow_id,
            task_queue=queue,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[ten_seconds_old(remote)],
            search_attributes=TypedSearchAttributes([SearchAttributePair(MENDER_REPO, remote.repo)]),
        )
        lean_history, old_history = await _opened(client, lean, queue), await _opened(client, old, queue)
        late_history, remote_history = (
            await _opened(client, late, queue),
            await _opened(client, remote, queue),
        )
        given_history, local_history = (
            await _opened(client, given, queue),
            await _opened(client, local, queue),
        )
    lean_opening, given_opening = _opening(lean_history), _opening(given_history)
    local_opening, remote_opening = _opening(local_history), _opening(remote_history)

    # Today's revision: the policy and the projection (row, journal, audit row) as two regular
    # activities (their results are history events, ordered with the signals around them). The
    # repository and the opening's state came with the start: no upsert. No marker.
    assert _markers(lean_opening) == [] and _scheduled(lean_opening) == [REPO_POLICY.name, PROJECT_PR.name]
    assert _upserted(lean_opening) == [] and _started_with(lean_history) == {"MenderRepo", *STATE}
    # The projection waits for a slot on its lane's queue, the policy on the workflow's (`Lane`).
    assert _queues(lean_opening) == {REPO_POLICY.name: queue, PROJECT_PR.name: f"{queue}-projections"}
    # The starter passes the repository's policy with the opening (as the intake does): no policy call.
    assert _markers(given_opening) == [] and _scheduled(given_opening) == [PROJECT_PR.name]
    assert _upserted(given_opening) == []
    # Revision 3 (started with MenderRepo alone) upserts the state, as it did.
    assert _markers(remote_opening) == [] and _scheduled(remote_opening) == [
        REPO_POLICY.name,
        PROJECT_PR.name,
    ]
    assert _upserted(remote_opening) == [STATE]
    # Revisions 1-2 keep their local activities.
    assert _markers(local_opening) == ["core_local_activity"] * 2 and _scheduled(local_opening) == []
    # Revision 0 keeps its commands: MenderRepo upserted again, the audit patch, one activity per effect.
    assert _markers(old_history).count("core_local_activity") == 3 and "core_patch" in _markers(old_history)
    assert {"MenderRepo"} in _upserted(old_history)
    # Today's revision counts staleness (30 s in CREATED here) from the opening's own time: a webhook
    # applied 10 s late waits 20 s at most; REMOTE_REVISION waited the whole 30 s from when it woke up.
    late_timers, remote_timers = _timers(late_history), _timers(remote_history)
    assert late_timers and 0 < late_timers[0] <= 20, late_timers
    assert remote_timers and remote_timers[0] == 30, remote_timers
    detected = query(engine_for(settings.database_url), AuditFilter(action="pr.detected"))
    prs = [lean, old, given, local, late, remote]
    assert sorted(r.target for r in detected) == sorted(pr.key for pr in prs)

    replayer = Replayer(workflows=[PRLifecycleWorkflow], data_converter=client.data_converter)
    for history in (lean_history, old_history, given_history, local_history, late_history, remote_history):
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure


async def test_a_run_from_before_activity_lanes_replays() -> None:
    """A stale PR's check and remediation recorded when every activity was on the workflow's queue (the
    store projections now go to their lane's queue): the task queue of a scheduled activity is not part
    of what replay compares, so runs in flight replay without a revision."""
    path = FIXTURES / "histories" / "pr_fleet_before_lanes.json"
    history = WorkflowHistory.from_json("replay/pr-fleet", json.loads(path.read_text()))
    queues = {
        e.activity_task_scheduled_event_attributes.task_queue.name
        for e in history.events
        if e.event_type == SCHEDULED
    }
    assert len(queues) == 1 and PROJECT_PR.name in _scheduled(history)  # all on one queue then
    replayer = Replayer(workflows=[PRLifecycleWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_a_staleness_check_reads_policy_and_github_at_once_and_replays(
    client: Client, tmp_path: Path
) -> None:
    """CONCURRENT_CHECK_REVISION: the timer fires, the policy read and the GitHub read are scheduled in
    one workflow task; the check's audit row and the breaker's permit in the next one. The run replays."""
    settings = make_settings(
        tmp_path, lifecycle=quick_lifecycle(), remediation={"effect_deadline_seconds": 2.0}
    )
    try:
        async with mender_world(client, settings) as world:
            number = await world.open_pr("acme/api", faults=["flaky_checks"])
            await eventually(
                lambda: world.status("acme/api", number), lambda s: s.state is PRState.MERGED, timeout=60
            )
            history = await client.get_workflow_handle(f"pr/acme/api/{number}").fetch_history()
    finally:
        set_settings(None)
    tasks = _scheduled_by_task(history)
    assert [REPO_POLICY.name, FETCH_SNAPSHOT.name] in [sorted(t) for t in tasks], tasks
    assert sorted([AUDIT_RECORD.name, REQUEST_PERMIT.name]) in [sorted(t) for t in tasks], tasks
    replayer = Replayer(workflows=[PRLifecycleWorkflow], data_converter=client.data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def _scheduled_by_task(history: WorkflowHistory) -> list[list[str]]:
    """The activities each workflow task scheduled, by name (tasks that scheduled none left out)."""
    tasks: list[list[str]] = [[]]
    for e in history.events:
        if e.event_type == TASK_COMPLETED:
            tasks.append([])
        elif e.event_type == SCHEDULED:
            tasks[-1].append(e.activity_task_scheduled_event_attributes.activity_type.name)
    return [t for t in tasks if t]
