"""Fix PRs that earn their merge (issue 17), end to end: a failed run → CI workflow → fix PR → `fixpr/...`
workflow → the fix branch's check runs (Actions jobs and another app's quality checks) and Mender's OSV
scan → confidence → merged, queued, blocked or reverted.

Real parts only: Temporal dev server, worker, starter, GitHub and Slack simulators, PyGithub.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from typer.testing import CliRunner

from contracts.fixpr import FIXPR_STATUS_QUERY, FixPRStatus, fixpr_workflow_id
from domain.ci_healing.review_queue import ReviewStatus
from simulators.github.osv import osv_entry
from simulators.github.scenario import Timing
from starter.auth import generate_key, hash_key
from starter.cli import app
from store import review_queue
from store.db import engine_for
from tests.e2e.test_ci_healing import MODULE_LOG, ci_config, pipeline_row, world_for
from tests.support.events import eventually
from tests.support.stack import make_settings
from tests.support.world import World

QUALITY = {"lint": "success", "typecheck": "success"}
OPERATE_KEY = generate_key()


@pytest.fixture
def repo() -> str:
    return f"acme/fixpr-{uuid.uuid4().hex[:8]}"


def settings_for(tmp_path: Path, repo: str, **fix_prs: Any) -> Any:
    fix_prs = {
        "poll_seconds": 1,
        "watch_after_merge_seconds": 60,
        "review": {"recheck_seconds": 2},
        **fix_prs,
    }
    return make_settings(
        tmp_path,
        ci=ci_config(fix_prs=fix_prs),
        repositories=[{"name": repo, "fix_prs": {"absent": ["coverage"]}}],
        api={"keys": [{"name": "ops", "role": "operate", "hash": hash_key(OPERATE_KEY)}]},
    )


async def fail(world: World, repo: str, **pipeline: Any) -> int:
    body = {"repo": repo, "log_text": MODULE_LOG, "heals_on": "fix", **pipeline}
    response = await world.http.post(f"{world.sim_url}/_sim/pipelines", json=body)
    response.raise_for_status()
    return response.json()["run_id"]


async def fix_pr_done(world: World, repo: str, run_id: int, timeout: float = 90) -> tuple[int, FixPRStatus]:
    row = await eventually(lambda: _row(world, run_id), lambda r: bool(r["fix_prs"]), timeout)
    number = row["fix_prs"][0]["number"]
    handle = world.client.get_workflow_handle(fixpr_workflow_id(repo, number))

    async def status() -> FixPRStatus:
        return await handle.query(FIXPR_STATUS_QUERY, result_type=FixPRStatus)

    done = await eventually(status, lambda s: s.outcome is not None, timeout)
    return number, done


async def _row(world: World, run_id: int) -> dict[str, Any]:
    return pipeline_row(world, run_id)


def approve_plans(world: World, reviews: bool = False) -> None:
    """alice approves every plan in Slack (and, with `reviews`, every queued fix PR too)."""

    def answer(message: dict[str, Any]) -> tuple[str, str, str] | None:
        text = str(message.get("blocks"))
        wanted = "Approval needed" in text or (reviews and "waits for review" in text)
        return ("mender_approve", "U1", "alice") if wanted else None

    world.slack.approver = answer


async def cli(world: World, *args: str) -> str:
    env = {"MENDER_API_URL": world.starter_url, "MENDER_API_KEY": OPERATE_KEY}
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_fix_passing_every_check_is_merged_with_its_evidence(
    client: Client, tmp_path: Path, repo: str
) -> None:
    async with world_for(client, settings_for(tmp_path, repo)) as world:
        approve_plans(world)
        run_id = await fail(world, repo, fix_checks=QUALITY)
        number, status = await fix_pr_done(world, repo, run_id)
        assert status.decision is not None and status.decision.route.value == "merge", status
        assert status.confidence is not None and status.confidence.score == 1.0
        final = await world.client.get_workflow_handle(fixpr_workflow_id(repo, number)).result()
        assert final["outcome"] == "merged"
        pull = world.github().get_repo(repo).get_pull(number)
        assert pull.merged
        assert "| lint | passed | 0.20 |" in pull.body and "| coverage | absent |" in pull.body
        assert "**Commits:** verified" in pull.body and "**Decision:** merge" in pull.body
        assert all(c.raw_data["commit"]["verification"]["verified"] for c in pull.get_commits())
        assert pipeline_row(world, run_id)["after_merge_runs"] == ["success"]


async def test_lint_failure_is_queued_then_approved_in_slack_and_merged(
    client: Client, tmp_path: Path, repo: str
) -> None:
    settings = settings_for(tmp_path, repo)
    async with world_for(client, settings) as world:
        approve_plans(world, reviews=True)
        run_id = await fail(world, repo, fix_checks={**QUALITY, "lint": "failure"})
        number, status = await fix_pr_done(world, repo, run_id)
        assert status.decision is not None and status.decision.route.value == "review", status.decision
        assert status.confidence is not None and status.confidence.score == pytest.approx(0.7 / 0.9, abs=1e-3)
        handle = world.client.get_workflow_handle(fixpr_workflow_id(repo, number))
        final = await handle.result()  # alice clicked "Approve and merge" on the queued PR's message
        assert final["outcome"] == "merged after review" and "alice" in final["review"]["by"]
        engine = engine_for(settings.database_url)
        [item] = [i for i in review_queue.items(engine, status=None) if i.repo == repo]
        assert item.pr_number == number and item.status is ReviewStatus.APPROVED
        pull = world.github().get_repo(repo).get_pull(number)
        assert "mender:needs-review" in [label.name for label in pull.labels] and pull.merged
        assert "| lint | failed | 0.20 | 0.22 | 0.00 | lint |" in pull.body


async def test_a_vulnerable_dependency_is_blocked(client: Client, tmp_path: Path, repo: str) -> None:
    async with world_for(client, settings_for(tmp_path, repo)) as world:
        world.sim.world.vulnerabilities = [
            osv_entry({"id": "GHSA-sim-yaml", "package": "PyYAML", "severity": "high", "summary": "RCE"})
        ]
        approve_plans(world)
        run_id = await fail(world, repo, fix_checks=QUALITY)
        number, status = await fix_pr_done(world, repo, run_id)
        assert status.outcome == "blocked" and status.evidence is not None
        assert [f.id for f in status.evidence.blocking_findings] == ["GHSA-sim-yaml"]
        pull = world.github().get_repo(repo).get_pull(number)
        assert not pull.merged and "mender:security-blocked" in [label.name for label in pull.labels]
        assert "GHSA-sim-yaml" in pull.body
        listed = await cli(world, "review", "list")
        assert f"{repo}#{number}" in listed and "blocked" in listed
        item_id = listed.splitlines()[1].split()[0]
        said = await cli(world, "review", "reject", item_id, "--reason", "pin a safe version")
        assert "rejected" in said
        final = await world.client.get_workflow_handle(fixpr_workflow_id(repo, number)).result()
        assert final["outcome"] == "rejected"
        pull = world.github().get_repo(repo).get_pull(number)
        assert pull.state == "closed" and not pull.merged
        assert "pin a safe version" in pull.get_issue_comments().reversed[0].body
        assert "review queue is empty" in await cli(world, "review", "list")


async def test_a_fix_that_breaks_the_default_branch_is_reverted(
    client: Client, tmp_path: Path, repo: str
) -> None:
    async with world_for(client, settings_for(tmp_path, repo)) as world:
        approve_plans(world)
        run_id = await fail(world, repo, fix_checks=QUALITY, breaks_after_merge=True)
        number = (await fix_pr_done(world, repo, run_id))[0]
        final = await world.client.get_workflow_handle(fixpr_workflow_id(repo, number)).result()
        assert final["outcome"] == "reverted", final
        row = pipeline_row(world, run_id)
        assert row["after_merge_runs"][0] == "failure" and row["reverted_at"]
        assert await eventually(
            lambda: _row(world, run_id), lambda r: r["after_merge_runs"][-1:] == ["success"], 30
        )  # the revert restores green


async def test_webhooks_nudge_the_fix_pr_long_before_its_next_poll(
    client: Client, tmp_path: Path, repo: str
) -> None:
    """The fix branch's checks finish after the fix PR's first look; with a 10-minute poll, only the
    webhooks (check run, check suite, workflow run: the intake's `nudge`) can make it look again."""
    settings = settings_for(tmp_path, repo, poll_seconds=600, watch_after_merge_seconds=2)
    async with world_for(client, settings) as world:
        world.sim.timing = Timing(ci_start_seconds=0.5, ci_seconds=4, bot_delay_seconds=0.2)
        approve_plans(world)
        run_id = await fail(world, repo, fix_checks=QUALITY)
        number, status = await fix_pr_done(world, repo, run_id, timeout=120)
        assert status.decision is not None and status.decision.route.value == "merge", status
        history = await world.client.get_workflow_handle(fixpr_workflow_id(repo, number)).fetch_history()
    events = list(history.events)
    reads = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "fixpr.checks"
    ]
    nudges = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == "nudge"
    ]
    assert len(reads) >= 2 and nudges, (len(reads), len(nudges))  # looked, waited, was nudged, looked again
    assert nudges[0].event_id < reads[-1].event_id
    waited = reads[-1].event_time.ToDatetime() - reads[0].event_time.ToDatetime()
    assert waited.total_seconds() < 60  # not the 600-second poll
