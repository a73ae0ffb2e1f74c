"""GitLab fix merge requests end to end (issue 17): a failed pipeline → CI workflow → fix MR with its commit
(python-gitlab) → `fixpr/...` workflow → the MR pipeline's jobs as evidence → merged when the pipeline
succeeded, or merged by GitLab after one approval.

Real parts only: Temporal dev server, worker, starter, GitLab and Slack simulators, python-gitlab.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import gitlab
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from contracts.fixpr import FIXPR_STATUS_QUERY, FixPRStatus, fixpr_workflow_id
from domain.ci_healing.evidence import SignalState
from domain.ci_healing.fixpr import Route
from domain.ci_healing.fixpr_config import Signal
from domain.ci_healing.outcomes import CIOutcome
from store import ci_failures
from store.db import engine_for
from tests.e2e.test_ci_healing import ci_status, world_for
from tests.e2e.test_fix_prs import OPERATE_KEY, approve_plans, cli, settings_for
from tests.support.events import eventually

LOG = """$ python -m app
Traceback (most recent call last):
  File "app/main.py", line 3, in <module>
    import yaml
ModuleNotFoundError: No module named 'yaml'
ERROR: Job failed: exit code 1
"""


@pytest.fixture
def repo() -> str:
    return f"acme/fixmr-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("scan", "route"),
    [
        (True, Route.MERGE),  # Mender's scan of the MR's change gives the security signal: 1.0
        (False, Route.AUTO_MERGE),  # no security signal at all: 0.83
    ],
)
async def test_gitlab_fix_mr_is_merged_by_its_evidence(
    client: Client, tmp_path: Path, repo: str, scan: bool, route: Route
) -> None:
    settings = settings_for(tmp_path, repo, scan={"enabled": scan})
    async with world_for(client, settings) as world:
        sim = world.gitlab
        assert sim is not None
        approve_plans(world)
        sim.add_files(repo, {"requirements.txt": "flask\n"})
        sim.set_fix_jobs(repo, {"lint": "success", "mypy": "success"})
        failed = sim.add_pipeline(repo, LOG, heals_on="fix", job="unit")
        handle = client.get_workflow_handle(fixpr_workflow_id(repo, 1))

        async def status() -> FixPRStatus:
            return await handle.query(FIXPR_STATUS_QUERY, result_type=FixPRStatus)

        routed = await eventually(status, lambda s: s.decision is not None, 90)
        assert routed.decision is not None and routed.decision.route is route
        mr = sim.repo.merge_request(repo, 1)
        assert mr.source_branch == f"mender/ci-fix/{failed.id}-1"
        if route is Route.AUTO_MERGE:

            async def approvals_required() -> int:
                return sim.repo.merge_request(repo, 1).approvals_required

            await eventually(approvals_required, lambda n: n == 1, 30)
            assert mr.merge_when_pipeline_succeeds and mr.state == "opened"
            gl = gitlab.Gitlab(sim.base_url, private_token="t")
            gl.projects.get(repo).mergerequests.get(1).approve(sudo="reviewer")
        done = await eventually(status, lambda s: s.outcome is not None, 90)
        expected = "merged" if route is Route.MERGE else "merged on approval"
        assert done.outcome == expected and done.merge_sha == mr.merge_commit_sha
        assert mr.state == "merged" and "| tests |" in mr.description
        assert "**Commits:** NOT verified: GitLab did not sign" in mr.description  # unsigned API commits
        assert "PyYAML" in sim.project(repo).branches["main"].files["requirements.txt"]
        assert sim.pipeline(repo, failed.id).healed_by == "fix"
        assert done.evidence is not None and not done.evidence.notes  # the scan, when on, ran
        security = SignalState.PASSED if scan else SignalState.MISSING
        assert done.evidence.signals[Signal.SECURITY] is security
        # the run's workflow ended as its fix MR's route says; the stored row followed the MR to its end
        run = await ci_status(world, f"ci/gitlab/{repo}/{failed.id}")
        engine = engine_for(settings.database_url)

        async def stored() -> str | None:
            row = ci_failures.get_ci_failure(engine, f"ci/gitlab/{repo}/{failed.id}")
            return row.outcome if row else None

        if route is Route.AUTO_MERGE:  # proposed: awaiting the approval, with the MR's link
            assert run.outcome is CIOutcome.AWAITING_REVIEW, run
            assert f"fix PR {done.pr.url} verified; proposed" in run.attempts[-1], run.attempts
            assert await eventually(stored, lambda o: o != "awaiting_review") == "approved_fixed"
        else:
            assert run.outcome is not None and await stored() == run.outcome.value


async def test_a_fix_mr_that_breaks_the_default_branch_is_reverted_on_hooks_alone(
    client: Client, tmp_path: Path, repo: str
) -> None:
    """Merged on its evidence, the default branch's pipeline on the merge commit fails: Mender reverts the
    merge commit (GitLab's revert API) in a revert MR merged when its pipeline succeeds, and the default
    branch is green again. With a 300-second poll, only GitLab's hooks (the MR pipelines' Pipeline Hooks,
    the intake's `nudge`) can make the fix MR's workflow look again within the minute."""
    settings = settings_for(tmp_path, repo, scan={"enabled": True}, poll_seconds=300)
    async with world_for(client, settings) as world:
        sim = world.gitlab
        assert sim is not None
        approve_plans(world)
        sim.add_files(repo, {"requirements.txt": "flask\n"})
        sim.set_fix_jobs(repo, {"lint": "success", "mypy": "success"})
        sim.break_after_merge(repo)
        sim.add_pipeline(repo, LOG, heals_on="fix", job="unit")
        handle = client.get_workflow_handle(fixpr_workflow_id(repo, 1))

        async def status() -> FixPRStatus:
            return await handle.query(FIXPR_STATUS_QUERY, result_type=FixPRStatus)

        done = await eventually(status, lambda s: s.outcome is not None, 60)
        assert done.outcome == "reverted", done
        assert done.revert_url and "/-/merge_requests/2" in done.revert_url
        project = sim.project(repo)
        assert (
            project.merge_requests[2].title == "[mender] Revert !1"
            and project.merge_requests[2].state == "merged"
        )
        assert project.branches["main"].files["requirements.txt"] == "flask\n"
        head = project.branches["main"].commit.id
        assert [p.status for p in sim.pipelines.values() if p.sha == head] == ["success"]
        history = await handle.fetch_history()
    nudges = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == "nudge"
    ]
    assert nudges  # the 300-second poll never came: hooks moved it


@pytest.mark.parametrize("approve", [True, False])
async def test_a_queued_fix_mr_is_approved_in_the_api_or_rejected_in_the_cli(
    client: Client, tmp_path: Path, repo: str, approve: bool
) -> None:
    """No type check and no scan: 0.67, the review queue. `mender review list` shows the MR (`!iid`);
    approving through the Admin API merges it, rejecting through the CLI closes it with the reason."""
    async with world_for(client, settings_for(tmp_path, repo, scan={"enabled": False})) as world:
        sim = world.gitlab
        assert sim is not None
        approve_plans(world)
        sim.add_files(repo, {"requirements.txt": "flask\n"})
        sim.set_fix_jobs(repo, {"lint": "success"})
        sim.add_pipeline(repo, LOG, heals_on="fix", job="unit")
        handle = client.get_workflow_handle(fixpr_workflow_id(repo, 1))

        async def status() -> FixPRStatus:
            return await handle.query(FIXPR_STATUS_QUERY, result_type=FixPRStatus)

        queued = await eventually(status, lambda s: s.outcome == "queued", 90)
        assert queued.decision is not None and queued.decision.route is Route.REVIEW
        listed = await cli(world, "review", "list")
        assert f"{repo}!1" in listed, listed
        item_id = listed.splitlines()[1].split()[0]
        if approve:
            response = await world.http.post(
                f"{world.starter_url}/api/review/{item_id}/approve",
                headers={"Authorization": f"Bearer {OPERATE_KEY}"},
            )
            assert response.status_code == 200, response.text
        else:
            said = await cli(world, "review", "reject", item_id, "--reason", "pin the version instead")
            assert "rejected" in said
        done = await eventually(status, lambda s: s.stage == "done", 60)
        mr = sim.repo.merge_request(repo, 1)
        if approve:
            assert done.outcome == "merged after review" and mr.state == "merged", done
            assert "mender:needs-review" in mr.labels
        else:
            assert done.outcome == "rejected" and mr.state == "closed"
            assert "pin the version instead" in mr.notes[-1]
        assert "review queue is empty" in await cli(world, "review", "list")
