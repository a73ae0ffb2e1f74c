"""CI ingest: the polling fallback finds runs whose webhook was lost, and nothing starts twice."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus

from contracts.ci import STATUS_QUERY, CIStatus
from contracts.sweeps import PollReport
from domain.ci_healing.outcomes import CIOutcome
from domain.shared.audit import AuditFilter
from simulators.github.scenario import Timing
from store import audit as audit_store
from store.db import engine_for
from tests.e2e.test_ci_healing import INFRA_LOG, ci_config, fail_pipeline
from tests.support.events import eventually
from tests.support.stack import make_settings
from tests.support.world import mender_world
from workflows.sweeps import CIPollerWorkflow


async def test_lost_webhook_is_found_by_the_poller_and_polls_start_nothing_new(
    client: Client, tmp_path: Path
) -> None:
    repo = f"acme/poll-{uuid.uuid4().hex[:8]}"
    gone = f"acme/gone-{uuid.uuid4().hex[:8]}"  # watched, but GitHub answers 404: never stops the others
    watch = [{"provider": "github", "project": gone}, {"provider": "github", "project": repo}]
    settings = make_settings(tmp_path, ci=ci_config(watch=watch, poll_lookback_seconds=600))
    async with mender_world(client, settings) as world:
        world.sim.timing = Timing(ci_start_seconds=0.2, ci_seconds=0.5, bot_delay_seconds=0.2)
        world.sim.faults.world.loss_rate = 1.0  # every webhook of the failure is lost
        run_id = await fail_pipeline(world, repo, INFRA_LOG, "retry")
        await eventually(
            lambda: _report_row(world, run_id), lambda row: row is not None and row["conclusion"] == "failure"
        )
        workflow_id = f"ci/github/{repo}/{run_id}"
        first = await _poll(client, world.queue)
        assert first.failures_seen == 1 and first.delivered == 1 and first.known == 0
        assert first.failed_projects == [f"github:{gone}"] and "404" in first.errors[0]
        assert len(first.errors) == 1  # nor is it asked again to learn from human fixes
        rows = audit_store.query(
            engine_for(settings.database_url), AuditFilter(action="ci.poll.source_failed")
        )
        assert [(r.target, r.outcome, r.details["failures_in_a_row"]) for r in rows] == [
            (f"github:{gone}", "failed", 1)
        ]
        world.sim.faults.world.loss_rate = 0.0
        handle = client.get_workflow_handle(workflow_id)
        status = await eventually(
            lambda: handle.query(STATUS_QUERY, result_type=CIStatus), lambda s: s.outcome is not None, 60
        )
        assert status.outcome is CIOutcome.AUTO_FIXED
        assert any("(poll)" in event for event in status.events)
        await eventually(handle.describe, lambda d: d.status is WorkflowExecutionStatus.COMPLETED)
        again = await _poll(
            client, world.queue
        )  # the run is healed; a failed run of the past is known, not restarted
        assert again.delivered == 0
        assert again.projects == 2  # the good project is read again; the bad one waits or fails again
        assert again.backing_off + again.failed_projects == [f"github:{gone}"]
        description = await handle.describe()
        assert description.run_id == (await client.get_workflow_handle(workflow_id).describe()).run_id


async def _poll(client: Client, queue: str) -> PollReport:
    """One run of the polling workflow the `mender-ci-poller` schedule starts."""
    return await client.execute_workflow(
        CIPollerWorkflow.run, id=f"ci-poller-test-{uuid.uuid4().hex[:8]}", task_queue=queue
    )


async def _report_row(world, run_id: int):
    return next((p for p in world.sim.report()["pipelines"] if p["run_id"] == run_id), None)


async def test_redelivered_failure_webhook_starts_nothing_new(client: Client, tmp_path: Path) -> None:
    repo = f"acme/dup-{uuid.uuid4().hex[:8]}"
    settings = make_settings(tmp_path, ci=ci_config())
    async with mender_world(client, settings) as world:
        world.sim.timing = Timing(ci_start_seconds=0.2, ci_seconds=0.5, bot_delay_seconds=0.2)
        run_id = await fail_pipeline(world, repo, INFRA_LOG, "retry")
        workflow_id = f"ci/github/{repo}/{run_id}"
        handle = client.get_workflow_handle(workflow_id)
        await eventually(handle.describe, lambda d: d.status is WorkflowExecutionStatus.COMPLETED, 60)
        first_run = (await handle.describe()).run_id
        deliveries = (await world.http.get(f"{world.sim_url}/_sim/deliveries")).json()
        failure = next(
            d for d in deliveries if d["event"] == "workflow_run" and d.get("action") == "completed"
        )
        response = await world.http.post(f"{world.sim_url}/_sim/deliveries/{failure['id']}/redeliver")
        assert response.is_success
        # A new delivery id for the same failure: Mender answers, and the workflow id is not reused.
        assert (await client.get_workflow_handle(workflow_id).describe()).run_id == first_run
