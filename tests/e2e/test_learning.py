"""Learning from a human fix end to end, on real parts: a failure Mender cannot fix is fixed by hand, the
commits are read through the compare API (PyGithub against the simulator), the learned fix is replayed in
other repositories (its fix PRs in the review queue first, approved with Slack's buttons; then, merged
successfully three times, like a built-in playbook: by its score) and the playbook history counts it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.ci_learning import learn_from_human_fixes
from activities.ci_poll import CIPollActivities
from contracts.fixpr import FIXPR_STATUS_QUERY, FixPRStatus, fixpr_workflow_id
from domain.ci_healing.config import LearningConfig
from domain.ci_healing.outcomes import CIOutcome
from domain.diagnosis.playbooks import parse_playbook
from domain.shared.audit import AuditFilter
from store import audit, ci_failures, learned_fixes, playbook_history
from store.db import engine_for
from tests.e2e.test_ci_healing import ci_config, fail_pipeline, finished, pipeline_row, world_for
from tests.e2e.test_cli_api import mender
from tests.support.admin_api import ADMIN_KEY, KEYS, READ_KEY
from tests.support.events import eventually
from tests.support.stack import make_settings
from tests.support.world import World

MISSING_SDK_LOG = """##[group]Run python -m app
Traceback (most recent call last):
  File "/home/runner/work/{repo}/app/main.py", line 3, in <module>
    import acme_sdk
ModuleNotFoundError: No module named 'acme_sdk'
##[error]Process completed with exit code 1.
"""


async def test_a_human_fix_is_learned_and_replayed_elsewhere(client: Client, tmp_path: Path) -> None:
    repos = [f"acme/learn-{uuid.uuid4().hex[:6]}-{n}" for n in range(4)]
    watch = [{"provider": "github", "project": repo} for repo in repos]
    fix_prs = {"poll_seconds": 1, "watch_after_merge_seconds": 30, "review": {"recheck_seconds": 2}}
    ci = ci_config(risk={"threshold": 5}, watch=watch, fix_prs=fix_prs)
    repositories = [{"name": repo, "fix_prs": {"absent": ["coverage"]}} for repo in repos]
    settings = make_settings(tmp_path, ci=ci, repositories=repositories, api={"keys": KEYS})
    engine = engine_for(settings.database_url)
    config = LearningConfig(promote_after=3)
    async with world_for(client, settings) as world:
        world.slack.approver = lambda message: ("mender_approve", "U1", "alice")
        # 1. Mender cannot fix it: no distribution is known for `acme_sdk` (never guessed).
        first = await fail_pipeline(world, repos[0], MISSING_SDK_LOG.format(repo=repos[0]), "never")
        handed = await finished(world, f"ci/github/{repos[0]}/{first}")
        assert handed.outcome is CIOutcome.INCIDENT, handed
        assert learn_from_human_fixes(engine, repos[0], config) == []  # no green run yet

        # 2. A human adds the dependency by hand; the same workflow runs green on the branch.
        gh = world.github().get_repo(repos[0])
        requirements = gh.get_contents("requirements.txt").decoded_content.decode()
        fixed = await world.http.post(
            f"{world.sim_url}/_sim/pipelines/{first}/human-fix",
            json={"files": {"requirements.txt": requirements + "acme-sdk==2.1\n"}, "author": "alice"},
        )
        assert fixed.status_code == 201, fixed.text

        async def poll() -> list[str]:  # the CI poller's activity learns after each poll
            return (await ActivityEnvironment().run(CIPollActivities(client, world.queue).poll)).learned

        assert await eventually(poll, bool, timeout=30) == [f"learned.1 from ci/github/{repos[0]}/{first}"]
        comparison = gh.compare(gh.get_workflow_run(first).head_sha, fixed.json()["sha"])
        assert [(f.filename, f.status, f.additions) for f in comparison.files] == [
            ("requirements.txt", "modified", 1)
        ]
        assert "+acme-sdk==2.1" in comparison.files[0].patch
        [fix] = learned_fixes.all_fixes(engine)
        assert fix.signature.template == "ModuleNotFoundError: No module named 'acme_sdk'"
        assert learn_from_human_fixes(engine, repos[0], config) == []  # examined once
        [audited] = audit.query(engine, AuditFilter(action="ci.learned"))
        assert (audited.outcome, audited.target, audited.details["learned_fix"]) == (
            "learned",
            f"ci/github/{repos[0]}/{first}",
            1,
        )

        # 3. The next two failures elsewhere get the learned fix as a fix PR in the review queue: opened
        #    without a Slack question, queued whatever its score, merged once alice approves it in Slack.
        runs = {repo: await fail_with_lint(world, repo) for repo in repos[1:3]}
        for repo, run_id in runs.items():
            status = await finished(world, f"ci/github/{repo}/{run_id}")
            # the fix branch passed, but its fix PR waits in the review queue: not healed yet
            assert status.outcome is CIOutcome.AWAITING_REVIEW, status
            assert status.diagnosis is not None and status.diagnosis.playbook == fix.playbook_id
            assert status.approval is None  # nobody was asked about the plan: the PR is reviewed
            number, queued = await fix_pr_done(world, repo, run_id, lambda s: s.decision is not None)
            assert queued.decision is not None and queued.decision.route.value == "review", queued
            assert any("learned fix still in review" in r for r in queued.decision.reasons)
            assert (
                queued.confidence is not None and queued.confidence.score >= 0.8
            )  # its score alone: proposed
            final = await world.client.get_workflow_handle(fixpr_workflow_id(repo, number)).result()
            assert final["outcome"] == "merged after review" and "alice" in final["review"]["by"]

            async def stored(workflow_id: str = f"ci/github/{repo}/{run_id}") -> str | None:
                row = ci_failures.get_ci_failure(engine, workflow_id)
                return row.outcome if row else None

            assert await eventually(stored, lambda o: o == "approved_fixed")  # healed once merged
            pull = world.github().get_repo(repo).get_pull(number)
            assert pull.merged and "+acme-sdk==2.1" in pull.get_files()[0].patch

        async def history():  # type: ignore[no-untyped-def]
            return playbook_history.stats_for(engine, fix.playbook_id)

        counted = await eventually(history, lambda s: s.merged == 2)
        assert (counted.attempts, counted.verified, counted.merged, counted.reverted) == (2, 2, 2, 0)

        # 4. Merged successfully three times (the human's fix and two replays): like a built-in playbook,
        #    its fix PR goes by its score (0.83: proposed, merged after one approval).
        repo = repos[3]
        run_id = await fail_with_lint(world, repo)
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        # proposed is not merged: the run is not healed yet, in its status as in the store
        assert status.outcome is CIOutcome.AWAITING_REVIEW, status
        assert status.approval is None and status.auto_actions == ["add_dependency"]
        number, proposed = await fix_pr_done(
            world, repo, run_id, lambda s: s.stage == "waiting for one approval"
        )
        assert proposed.decision is not None and proposed.decision.route.value == "auto_merge", proposed
        assert not world.github().get_repo(repo).get_pull(number).merged  # one approval first
        assert "proposed: it is merged once a reviewer approves it" in status.attempts[-1]
        held = f"ci/github/{repo}/{run_id}"
        assert await eventually(lambda: stored(held), lambda o: o == "awaiting_review")

        await eventually(history, lambda s: s.verified == 3)

        # 5. `mender playbooks` against the running stack: history, learned fixes, export, disable.
        async def cli(key: str, *args: str) -> tuple[int, str]:
            result = await asyncio.to_thread(mender, world.starter_url, key, "playbooks", *args)
            return result.exit_code, result.output

        code, table = await cli(READ_KEY)
        assert code == 0 and "learned.1" in table and "SUCCESS" in table and "MERGED" in table, table
        rows = json.loads((await cli(READ_KEY, "--json"))[1])
        mine = next(r for r in rows if r["playbook"] == fix.playbook_id)
        assert (mine["attempts"], mine["verified"], mine["merged"], mine["auto_fix"]) == (3, 3, 2, True)
        assert any(r["playbook"] == "dep.python-missing-module" and r["attempts"] == 1 for r in rows)
        code, stages = await cli(READ_KEY, "learned")
        assert code == 0 and "promoted" in stages and "3/3" in stages, stages  # merged 3 of 3 times
        [listed] = json.loads((await cli(READ_KEY, "learned", "--json"))[1])
        assert (listed["successes"], listed["promoted"], listed["version"]) == (3, True, 1)
        code, exported = await cli(READ_KEY, "export", "1")
        assert code == 0 and parse_playbook(exported, "learned.yaml")[0].id == "learned.1-v1"
        assert (await cli(READ_KEY, "disable", "1"))[0] == 4  # an admin key is needed
        code, said = await cli(ADMIN_KEY, "disable", "1")
        assert code == 0 and "disabled" in said
        assert learned_fixes.all_fixes(engine, include_disabled=False) == []


async def fail_with_lint(world: World, repo: str) -> int:
    """A failed run whose fix branches get a passing lint check too (and no type check)."""
    body = {
        "repo": repo,
        "log_text": MISSING_SDK_LOG.format(repo=repo),
        "heals_on": "fix",
        "fix_checks": {"lint": "success"},
    }
    response = await world.http.post(f"{world.sim_url}/_sim/pipelines", json=body)
    response.raise_for_status()
    return response.json()["run_id"]


async def fix_pr_done(
    world: World, repo: str, run_id: int, until: Callable[[FixPRStatus], bool]
) -> tuple[int, FixPRStatus]:
    """The run's fix PR number and its workflow's status once `until` holds for it."""
    row = await eventually(lambda: _row(world, run_id), lambda r: bool(r["fix_prs"]), 90)
    number = row["fix_prs"][0]["number"]
    return number, await eventually(lambda: fix_pr_status(world, repo, number), until, 90)


async def fix_pr_status(world: World, repo: str, number: int) -> FixPRStatus:
    handle = world.client.get_workflow_handle(fixpr_workflow_id(repo, number))
    return await handle.query(FIXPR_STATUS_QUERY, result_type=FixPRStatus)


async def _row(world: World, run_id: int) -> dict:
    return pipeline_row(world, run_id)
