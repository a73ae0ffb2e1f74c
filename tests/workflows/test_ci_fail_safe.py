"""A CI failure workflow whose activity fails for good hands the run to a human; it never just fails."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from contracts.ci import CIStatus, RunAnalysis
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.runs import CIRunEvent, CIRunRef, Conclusion, Provider
from domain.shared.audit import AuditFilter
from runtime.ci_dispatch import deliver_ci
from runtime.dispatch import EventDispatcher
from runtime.settings import Settings
from store import audit
from store.db import engine_for
from tests.support.stack import running_worker


@activity.defn(name="ci.analyse")
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
