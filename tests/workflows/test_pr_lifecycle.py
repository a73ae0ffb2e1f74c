"""PR lifecycle workflow against a real Temporal dev server."""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus

from contracts.pr import STATUS_QUERY, PRStatus
from domain.pr_healing.events import EventType, PRRef
from domain.pr_healing.lifecycle import PRState, TransitionOutcome
from runtime.dispatch import Delivered, EventDispatcher
from runtime.settings import Settings
from store import repository
from store.db import engine_for
from tests.support.events import HAPPY_PATH, eventually, make_event
from tests.support.stack import running_worker
from workflows.pr_lifecycle import PRLifecycleWorkflow


def _dispatcher(client: Client, queue: str) -> EventDispatcher:
    return EventDispatcher("unused", client.namespace, queue, client=client)


def _handle(client: Client, pr: PRRef):
    return client.get_workflow_handle_for(PRLifecycleWorkflow.run, pr.workflow_id)


async def _status(client: Client, pr: PRRef) -> PRStatus:
    return await client.get_workflow_handle(pr.workflow_id).query(STATUS_QUERY, result_type=PRStatus)


async def test_happy_path_reaches_merged_records_events_and_completes(
    client: Client, settings: Settings
) -> None:
    pr = PRRef(repo="acme/api", number=101)
    async with running_worker(client) as queue:
        dispatch = _dispatcher(client, queue)
        for type in HAPPY_PATH:
            await dispatch.deliver(make_event(pr, type))
        status = await eventually(lambda: _status(client, pr), lambda s: s.state is PRState.MERGED)
        assert [e.transition.to_state for e in status.recent_events] == [
            PRState.CREATED,
            PRState.CHECKS_RUNNING,
            PRState.CHECKS_PASSED,
            PRState.POLICY_EVALUATING,
            PRState.POLICY_PASSED,
            PRState.APPROVED,
            PRState.MERGED,
        ]
        result = await _handle(client, pr).result()
        assert result.state is PRState.MERGED

    record, events = repository.get_pr(engine_for(settings.database_url), pr)
    assert record is not None and record.state == "MERGED" and record.expires_at is not None
    assert [e.type for e in events] == [t.value for t in HAPPY_PATH]


async def test_duplicates_are_no_ops_and_invalid_transitions_are_flagged(
    client: Client, settings: Settings
) -> None:
    pr = PRRef(repo="acme/api", number=102)
    async with running_worker(client) as queue:
        dispatch = _dispatcher(client, queue)
        opened = make_event(pr, EventType.OPENED)
        started = make_event(pr, EventType.CHECKS_STARTED)
        for event in (opened, opened, started, started, make_event(pr, EventType.MERGE_FAILED)):
            await dispatch.deliver(event)
        status = await eventually(lambda: _status(client, pr), lambda s: s.invalid_events == 1)
        assert status.state is PRState.CHECKS_RUNNING
        outcomes = [e.transition.outcome for e in status.recent_events]
        assert outcomes == [TransitionOutcome.APPLIED, TransitionOutcome.APPLIED, TransitionOutcome.INVALID]
        assert "not a valid transition" in status.recent_events[-1].transition.reason

        async def stored() -> list[tuple[str, str]]:
            _, events = repository.get_pr(engine_for(settings.database_url), pr)
            return [(e.type, e.outcome) for e in events]

        rows = await eventually(stored, lambda rows: len(rows) >= 3)
        await client.get_workflow_handle(pr.workflow_id).terminate("test over")
    assert rows == [("opened", "applied"), ("checks_started", "applied"), ("merge_failed", "invalid")]


async def test_events_for_unknown_pr_are_ignored_and_workflow_completes(
    client: Client, settings: Settings
) -> None:
    pr = PRRef(repo="acme/api", number=103)
    async with running_worker(client) as queue:
        # Only openings use signal-with-start; a signal to a PR with no workflow starts nothing.
        outcome = await _dispatcher(client, queue).deliver(make_event(pr, EventType.CHECKS_PASSED))
        assert outcome is Delivered.NO_WORKFLOW
        # A workflow started by something else than an opening ignores the event, then completes.
        handle = await client.start_workflow(
            "PRLifecycle",
            {"pr": pr.model_dump()},
            id=pr.workflow_id,
            task_queue=queue,
            start_signal="event",
            start_signal_args=[make_event(pr, EventType.CHECKS_PASSED)],
        )
        result = await client.get_workflow_handle(handle.id, result_type=PRStatus).result()
    assert result.state is None
    assert [e.transition.outcome for e in result.recent_events] == [TransitionOutcome.IGNORED]
    assert "unknown PR" in result.recent_events[0].transition.reason
    record, events = repository.get_pr(engine_for(settings.database_url), pr)
    assert record is None and events == []


async def test_late_events_after_merge_are_absorbed_then_the_workflow_completes(
    client: Client, settings: Settings
) -> None:
    pr = PRRef(repo="acme/web", number=104)
    async with running_worker(client) as queue:
        dispatch = _dispatcher(client, queue)
        await dispatch.deliver(make_event(pr, EventType.OPENED))
        await dispatch.deliver(make_event(pr, EventType.MERGED))
        await eventually(lambda: _status(client, pr), lambda s: s.state is PRState.MERGED)
        await dispatch.deliver(make_event(pr, EventType.CHECK_RUN_COMPLETED))
        result = await _handle(client, pr).result()
    assert result.state is PRState.MERGED
    assert result.recent_events[-1].transition.outcome is TransitionOutcome.LATE
    description = await client.get_workflow_handle(pr.workflow_id).describe()
    assert description.status is WorkflowExecutionStatus.COMPLETED


async def test_search_attributes_track_state(client: Client, settings: Settings) -> None:
    pr = PRRef(repo="acme/search", number=105)
    async with running_worker(client) as queue:
        dispatch = _dispatcher(client, queue)
        for type in (EventType.OPENED, EventType.CHECKS_STARTED, EventType.CHECKS_FAILED):
            await dispatch.deliver(make_event(pr, type))
        query = "MenderRepo='acme/search' AND MenderState='CHECKS_FAILED' AND MenderNeedsHuman=false"

        async def matching() -> list[str]:
            return [w.id async for w in client.list_workflows(query)]

        assert await eventually(matching, lambda ids: ids == [pr.workflow_id])
        described = await client.get_workflow_handle(pr.workflow_id).describe()
        assert described.typed_search_attributes is not None
        await client.get_workflow_handle(pr.workflow_id).terminate("test over")


async def test_continue_as_new_bounds_history_and_keeps_state(client: Client, tmp_path) -> None:
    from tests.support.stack import make_settings

    make_settings(tmp_path, lifecycle={"history_events_before_continue": 50, "terminal_grace_seconds": 1.0})
    pr = PRRef(repo="acme/api", number=106)
    async with running_worker(client) as queue:
        dispatch = _dispatcher(client, queue)
        await dispatch.deliver(make_event(pr, EventType.OPENED))
        first_run = (await client.get_workflow_handle(pr.workflow_id).describe()).run_id
        await dispatch.deliver(make_event(pr, EventType.CHECKS_STARTED))
        for i in range(200):  # until the history budget (50 events) makes the run continue as new
            await dispatch.deliver(make_event(pr, EventType.CHECK_RUN_COMPLETED))
            expected = min(i + 3, 50)  # the journal keeps the last 50 lines
            await eventually(lambda: _status(client, pr), lambda s, n=expected: len(s.recent_events) == n)
            latest = await client.get_workflow_handle(pr.workflow_id).describe()
            if latest.run_id != first_run:
                break
        status = await _status(client, pr)
        assert latest.run_id != first_run and i < 45
        assert status.state is PRState.CHECKS_RUNNING
        await dispatch.deliver(make_event(pr, EventType.OPENED, key=status.recent_events[0].event.key))
        await dispatch.deliver(make_event(pr, EventType.CLOSED))
        result = await _handle(client, pr).result()
    assert result.state is PRState.CLOSED
    # the duplicate opening was recognised across continue-as-new: not in the log twice
    assert [e.event.type for e in result.recent_events].count(EventType.OPENED) == 1
