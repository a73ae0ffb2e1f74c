"""A CI failure workflow whose activity fails for good hands the run to a human; it never just fails."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from activities.definition import defn
from contracts.ci import CIStatus, RunAnalysis
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.runs import CIRunEvent, CIRunRef, Conclusion, Provider
from domain.shared.audit import AuditFilter
from runtime.ci_dispatch import CIDelivered, deliver_ci
from runtime.dispatch import EventDispatcher
from runtime.settings import Settings
from store import audit
from store.db import engine_for
from tests.support.stack import running_worker


@defn(name="ci.analyse")
def broken_analyse(run: CIRunRef) -> RunAnalysis:
    raise ApplicationError("the provider answers 500 for every log", non_retryable=True)


async def test_a_failed_activity_escalates_with_the_reason_and_the_workflow_completes(
    client: Client, settings: Settings
) -> None:
    run = CIRunRef(provider=Provider.GITHUB, project="acme/api", run_id=424242)
    failed = CIRunEvent(run=run, conclusion=Conclusion.FAILURE, occurred_at=datetime.now(UTC))
    async with running_worker(client, replace=[broken_analyse]) as queue:
        dispatcher = EventDispatcher("unused", client.namespace, queue, client=client)
        await deliver_ci(dispatcher, failed)
        handle = client.get_workflow_handle(run.workflow_id, result_type=CIStatus)
        status = await handle.result()
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    assert status.outcome is CIOutcome.ESCALATED
    assert "ci.analyse failed after its retries" in status.events[-1]
    rows = audit.query(engine_for(settings.database_url), AuditFilter(target=run.workflow_id))
    assert any("the provider answers 500" in str(r.details.get("detail")) for r in rows)


async def test_a_run_whose_workflow_was_stopped_is_started_again_by_its_next_delivery(
    client: Client, settings: Settings
) -> None:
    """No REJECT_DUPLICATE dead end: a workflow that failed (here: terminated) is started again by the
    next delivery of its run (`ALLOW_DUPLICATE_FAILED_ONLY`; a completed one, escalated or healed, is
    `KNOWN`: `tests/e2e/test_ci_ingest.py`)."""
    run = CIRunRef(provider=Provider.GITHUB, project="acme/api", run_id=434343)
    failed = CIRunEvent(run=run, conclusion=Conclusion.FAILURE, occurred_at=datetime.now(UTC))
    async with running_worker(client, replace=[broken_analyse]) as queue:
        dispatcher = EventDispatcher("unused", client.namespace, queue, client=client)
        assert await deliver_ci(dispatcher, failed) is CIDelivered.STARTED_OR_SIGNALLED
        handle = client.get_workflow_handle(run.workflow_id, result_type=CIStatus)
        first = (await handle.describe()).run_id
        await handle.terminate("a crashed run, as far as Temporal knows")
        assert await deliver_ci(dispatcher, failed) is CIDelivered.STARTED_OR_SIGNALLED
        again = await client.get_workflow_handle(run.workflow_id).describe()
        assert again.run_id != first and again.status is WorkflowExecutionStatus.RUNNING
        await client.get_workflow_handle(run.workflow_id).terminate("test over")
