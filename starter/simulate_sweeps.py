"""What the reconciler's sweeps of a `mender simulate` run reported: how many ran, the repositories
GitHub refused (skipped and reported, never failing the sweep), the comment commands recovered, and the
PRs recorded although they closed or merged before Mender saw them open."""

from __future__ import annotations

from collections import Counter
from typing import Any

from temporalio.client import Client

from contracts.sweeps import RECONCILER_WORKFLOW, SweepReport


async def reconciler_report(client: Client) -> dict[str, Any]:
    sweeps = 0
    failed: Counter[str] = Counter()
    commands: set[str] = set()
    closed: set[str] = set()
    query = f"WorkflowType='{RECONCILER_WORKFLOW}' AND ExecutionStatus='Completed'"
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id, result_type=SweepReport)
        report = await handle.result()
        sweeps += 1
        failed.update(report.failed_repos)
        commands.update(report.commands)
        closed.update(report.recorded_closed)
    return {
        "sweeps": sweeps,
        "failed_repos": dict(sorted(failed.items())),
        "commands_recovered": len(commands),
        "closed_recorded": len(closed),  # ended before Mender saw them open (their webhooks lost)
    }
