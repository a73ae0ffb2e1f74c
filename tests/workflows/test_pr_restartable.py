"""Issue 14 (3), no REJECT_DUPLICATE dead end for PR workflows either: a PR workflow that ended without
finishing (here: terminated, as a crashed run looks to Temporal) is started again by the next opening of
its PR, which the reconciler sends for every open bot PR whose workflow is not running
(`activities/reconcile.py`). The CI failure workflow's case: `tests/workflows/test_ci_fail_safe.py`."""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowExecutionStatus

from contracts.pr import STATUS_QUERY, PRStatus
from domain.pr_healing.events import EventSource, EventType, PRRef
from domain.pr_healing.lifecycle import PRState
from runtime.dispatch import Delivered, EventDispatcher
from runtime.settings import Settings
from tests.support.events import eventually, make_event
from tests.support.stack import running_worker


async def test_a_stopped_pr_workflow_is_started_again_by_the_next_opening(
    client: Client, settings: Settings
) -> None:
    pr = PRRef(repo=f"acme/restart-{uuid.uuid4().hex[:6]}", number=7)
    handle = client.get_workflow_handle(pr.workflow_id)

    async def state() -> PRState:
        return (await handle.query(STATUS_QUERY, result_type=PRStatus)).state

    async with running_worker(client) as queue:
        dispatch = EventDispatcher("unused", client.namespace, queue, client=client)
        assert await dispatch.deliver(make_event(pr, EventType.OPENED)) is Delivered.SIGNAL_WITH_START
        await eventually(state, lambda s: s is PRState.CREATED)
        first = (await handle.describe()).run_id
        await handle.terminate("a crashed run, as far as Temporal knows")
        # a later fact alone starts nothing (only an opening does) and says so
        assert await dispatch.deliver(make_event(pr, EventType.CHECKS_STARTED)) is Delivered.NO_WORKFLOW
        opening = make_event(pr, EventType.OPENED, source=EventSource.RECONCILER)  # the reconciler's
        assert await dispatch.deliver(opening) is Delivered.SIGNAL_WITH_START
        again = await handle.describe()
        assert again.run_id != first and again.status is WorkflowExecutionStatus.RUNNING
        assert await eventually(state, lambda s: s is PRState.CREATED) is PRState.CREATED
        await handle.terminate("test over")
