"""A fix PR routed to `merge` heals its run only with an effect GitHub confirmed, as the reports count it
(`CIFact.fixed`: `success`, `roi`, POC):

- its merge refused: the run waits for a review (`awaiting_review`, with GitHub's reason) and, refused
  again after the review, is a human's (`escalated`). The refusal: branch protection requires a check
  (`release-gate`) that never runs on the fix branch, so GitHub answers the merge 405.
- merged, then reverted (the default branch went red): the failure is back, the run is a human's
  (`escalated`), no longer fixed.
- closed by a human before it took a route: the run is a human's (`escalated`, with how it ended).

Real parts: Temporal dev server, worker, starter, GitHub and Slack simulators, PyGithub.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from contracts.fixpr import fixpr_workflow_id
from domain.ci_healing.outcomes import CIOutcome
from domain.reports.history import CIFact
from simulators.github.scenario import Timing
from store import ci_failures
from store.db import engine_for
from store.report_data import ci_facts
from tests.e2e.test_ci_healing import finished, pipeline_row, world_for
from tests.e2e.test_fix_prs import (  # noqa: F401 (fixture)
    QUALITY,
    _row,
    approve_plans,
    cli,
    fail,
    repo,
    settings_for,
)
from tests.support.events import eventually

REFUSED = "GitHub refused the merge: Repository rule violations found"


async def test_a_refused_merge_leaves_its_run_not_healed(
    client: Client,
    tmp_path: Path,
    repo: str,  # noqa: F811
) -> None:
    settings = settings_for(tmp_path, repo)
    engine = engine_for(settings.database_url)
    async with world_for(client, settings) as world:
        world.sim.world.ensure_repo(repo).required_contexts = ("release-gate",)  # never runs on the fix
        approve_plans(world)  # plans only: the refused fix PR waits for a reviewer
        run_id = await fail(world, repo, fix_checks=QUALITY)
        workflow_id = f"ci/github/{repo}/{run_id}"
        status = await finished(world, workflow_id)
        [fix_pr] = pipeline_row(world, run_id)["fix_prs"]
        pull = world.github().get_repo(repo).get_pull(fix_pr["number"])
        assert not pull.merged and pull.state == "open"
        assert status.outcome is CIOutcome.AWAITING_REVIEW, status
        assert REFUSED in status.attempts[-1] and pull.html_url in status.attempts[-1], status.attempts

        async def fact() -> CIFact | None:  # as the reports read it (`success`, `roi`: `CIFact.fixed`)
            return next((f for f in ci_facts(engine, datetime.now(UTC)) if f.project == repo), None)

        held = await eventually(fact, lambda f: f is not None and f.outcome is not None)
        assert held is not None and held.outcome == "awaiting_review" and not held.fixed

        async def listed() -> list[str]:
            return [line for line in (await cli(world, "review", "list")).splitlines() if repo in line]

        [item] = await eventually(listed, bool)  # the refused PR waits in the review queue
        assert "approved" in await cli(world, "review", "approve", item.split()[0])
        fix = world.client.get_workflow_handle(fixpr_workflow_id(repo, pull.number))
        final = await fix.result()  # approved, merged again: refused again, so a human's to merge
        assert final["outcome"].startswith(f"merge refused: {REFUSED}"), final["outcome"]
        settled = await eventually(fact, lambda f: f is not None and f.outcome != "awaiting_review")
        assert settled is not None and settled.outcome == "escalated" and not settled.fixed
        assert not world.github().get_repo(repo).get_pull(pull.number).merged


async def test_a_reverted_fix_leaves_its_run_not_healed(
    client: Client,
    tmp_path: Path,
    repo: str,  # noqa: F811
) -> None:
    settings = settings_for(tmp_path, repo)
    engine = engine_for(settings.database_url)
    async with world_for(client, settings) as world:
        approve_plans(world)
        run_id = await fail(world, repo, fix_checks=QUALITY, breaks_after_merge=True)
        workflow_id = f"ci/github/{repo}/{run_id}"
        status = await finished(world, workflow_id)
        assert status.outcome is CIOutcome.APPROVED_FIXED, status  # GitHub confirmed the merge
        [fix_pr] = pipeline_row(world, run_id)["fix_prs"]
        fix = world.client.get_workflow_handle(fixpr_workflow_id(repo, fix_pr["number"]))
        assert (await fix.result())["outcome"] == "reverted"
        row = ci_failures.get_ci_failure(engine, workflow_id)  # (the red default branch is a run of its own)
        assert row is not None and row.outcome == "escalated"  # settled before the fix PR's workflow ended


async def test_a_fix_pr_closed_before_its_route_leaves_its_run_not_healed(
    client: Client,
    tmp_path: Path,
    repo: str,  # noqa: F811
) -> None:
    settings = settings_for(tmp_path, repo)
    engine = engine_for(settings.database_url)
    async with world_for(client, settings) as world:
        world.sim.timing = Timing(ci_start_seconds=0.2, ci_seconds=3, bot_delay_seconds=0.2)
        approve_plans(world)
        run_id = await fail(world, repo, fix_checks=QUALITY)
        row = await eventually(lambda: _row(world, run_id), lambda r: bool(r["fix_prs"]), 60)
        pull = world.github().get_repo(repo).get_pull(row["fix_prs"][0]["number"])
        pull.edit(state="closed")  # a human closes it while its checks still run
        fix = world.client.get_workflow_handle(fixpr_workflow_id(repo, pull.number))
        await eventually(fix.describe, lambda d: d is not None)  # started by the CI workflow
        assert (await fix.result())["outcome"] == "closed outside Mender"
        workflow_id = f"ci/github/{repo}/{run_id}"
        status = await finished(world, workflow_id)
        assert status.outcome is CIOutcome.ESCALATED, status
        assert status.attempts[-1].endswith("its fix PR ended unmerged: closed outside Mender")
        stored = ci_failures.get_ci_failure(engine, workflow_id)
        assert stored is not None and stored.outcome == "escalated"
