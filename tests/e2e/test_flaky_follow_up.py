"""A flaky test's quarantine PR is a follow-up: the run its confirming re-run healed stays healed in the
store (the reports count it fixed) whatever route the quarantine PR takes (here: queued, its checks
did not pass in time), and is never held `awaiting_review` for it.

Real parts: Temporal dev server, worker, starter, GitHub and Slack simulators over HTTP (PyGithub).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.client import Client

from contracts.fixpr import FIXPR_STATUS_QUERY, FixPRStatus, fixpr_workflow_id
from domain.ci_healing.outcomes import CIOutcome
from store import ci_failures
from store.db import engine_for
from tests.e2e.test_ci_flaky import FLAKY_LOG, TEST, seed_flips
from tests.e2e.test_ci_healing import ci_config, fail_pipeline, finished, world_for
from tests.support.admin_api import admin_settings
from tests.support.events import eventually


async def test_a_quarantine_pr_leaves_the_run_its_rerun_healed_alone(client: Client, tmp_path: Path) -> None:
    repo = f"acme/flaky-{uuid.uuid4().hex[:8]}"
    flaky = {"owners": ["@team-cart"], "quarantine_file": ".github/quarantined-tests.txt"}
    fix_prs = {"poll_seconds": 1, "pipeline_timeout_seconds": 3, "review": {"recheck_seconds": 2}}
    settings = admin_settings(tmp_path, ci=ci_config(flaky=flaky, fix_prs=fix_prs))
    seed_flips(settings.database_url, repo)
    engine = engine_for(settings.database_url)
    async with world_for(client, settings) as world:
        run_id = await fail_pipeline(world, repo, FLAKY_LOG, "retry")
        workflow_id = f"ci/github/{repo}/{run_id}"
        status = await finished(world, workflow_id)
        assert status.outcome is CIOutcome.AUTO_FIXED, status
        title = f"[mender] Quarantine flaky test {TEST}"
        [pull] = [p for p in world.github().get_repo(repo).get_pulls(state="all") if p.title == title]
        fix = world.client.get_workflow_handle(fixpr_workflow_id(repo, pull.number))

        async def routed() -> FixPRStatus:
            return await fix.query(FIXPR_STATUS_QUERY, result_type=FixPRStatus)

        done = await eventually(routed, lambda s: s.outcome is not None, 60)
        assert done.decision is not None and done.decision.route.value != "merge", done  # held before
        row = ci_failures.get_ci_failure(engine, workflow_id)
        assert row is not None and row.outcome == "auto_fixed", row
