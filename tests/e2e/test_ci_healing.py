"""CI failure healing end to end: simulator run fails with a real-shaped log → webhook → starter →
`ci/...` workflow → diagnosis → gate → (approval in Slack) → re-run or fix PR → verification.

Real parts only: Temporal dev server, worker, starter, GitHub/GitLab/Slack simulators on real ports,
PyGithub, python-gitlab and slack-sdk. Each test uses its own repository, so workflow ids never clash.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts.ci import STATUS_QUERY, CIStatus
from domain.ci_healing.outcomes import CIOutcome
from runtime.settings import Settings
from simulators.github.scenario import Timing
from store.ci_failures import list_ci_failures
from store.db import engine_for
from tests.support.events import eventually
from tests.support.stack import make_settings
from tests.support.world import World, mender_world

INFRA_LOG = """2026-07-29T17:45:20.0000000Z ##[group]Run npm ci
2026-07-29T17:45:21.0000000Z npm ERR! code ECONNRESET
2026-07-29T17:45:21.0000000Z npm ERR! network read ECONNRESET
2026-07-29T17:45:21.0000000Z npm ERR! network This is a problem related to network connectivity.
2026-07-29T17:45:22.0000000Z ##[error]Process completed with exit code 1.
"""
CODE_LOG = """##[group]Run pytest
tests/test_app.py::test_total FAILED
E       AssertionError: assert 3 == 4
FAILED tests/test_app.py::test_total - AssertionError: assert 3 == 4
##[error]Process completed with exit code 1.
"""
MODULE_LOG = """##[group]Run python -m app
Traceback (most recent call last):
  File "app/main.py", line 3, in <module>
    import yaml
ModuleNotFoundError: No module named 'yaml'
##[error]Process completed with exit code 1.
"""


def ci_config(**ci: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "poll_interval_seconds": 2,
        "rerun_backoff_seconds": 0.5,
        "verify_timeout_seconds": 60,
        "approval": {"approvers": ["alice"], "timeout_seconds": 60},
    }
    for key, value in ci.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and key in base else value
    return base


@pytest.fixture
def repo() -> str:
    return f"acme/ci-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def world_for(client: Client, settings: Settings) -> AsyncIterator[World]:
    async with mender_world(client, settings) as world:
        world.sim.timing = Timing(ci_start_seconds=0.2, ci_seconds=0.5, bot_delay_seconds=0.2)
        yield world


async def fail_pipeline(world: World, repo: str, log: str, heals_on: str, **pipeline: Any) -> int:
    body = {"repo": repo, "log_text": log, "heals_on": heals_on, **pipeline}
    response = await world.http.post(f"{world.sim_url}/_sim/pipelines", json=body)
    response.raise_for_status()
    return response.json()["run_id"]


async def ci_status(world: World, workflow_id: str) -> CIStatus:
    return await world.client.get_workflow_handle(workflow_id).query(STATUS_QUERY, result_type=CIStatus)


async def finished(world: World, workflow_id: str, timeout: float = 90) -> CIStatus:
    return await eventually(lambda: ci_status(world, workflow_id), lambda s: s.outcome is not None, timeout)


def pipeline_row(world: World, run_id: int) -> dict[str, Any]:
    return next(p for p in world.sim.report()["pipelines"] if p["run_id"] == run_id)


async def test_transient_failure_is_rerun_and_verified(client: Client, tmp_path: Path, repo: str) -> None:
    settings = make_settings(tmp_path, ci=ci_config())
    async with world_for(client, settings) as world:
        run_id = await fail_pipeline(world, repo, INFRA_LOG, "retry")
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        assert status.outcome is CIOutcome.AUTO_FIXED
        assert status.diagnosis is not None and status.diagnosis.category.value == "infrastructure"
        assert status.diagnosis.key_line == "2026-07-29T17:45:21.0000000Z npm ERR! network read ECONNRESET"
        row = pipeline_row(world, run_id)
        assert row["healed"] and row["healed_by"] == "retry" and row["reruns_requested"] == 1
        channels = {m["channel_name"] for m in world.slack.messages()}
        assert {"mender-ci"} <= channels

        async def stored_rows() -> list:
            return list_ci_failures(engine_for(settings.database_url), repo)

        stored = await eventually(stored_rows, lambda rows: bool(rows) and rows[0].outcome is not None)
        assert stored[0].outcome == "auto_fixed" and stored[0].category == "infrastructure"


async def test_code_failure_is_never_remediated(client: Client, tmp_path: Path, repo: str) -> None:
    settings = make_settings(tmp_path, ci=ci_config())
    async with world_for(client, settings) as world:
        run_id = await fail_pipeline(world, repo, CODE_LOG, "never")
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        assert status.outcome is CIOutcome.ESCALATED
        assert status.diagnosis is not None and status.diagnosis.category.value == "code"
        assert status.auto_actions == [] and status.attempts == []
        row = pipeline_row(world, run_id)
        assert row["reruns_requested"] == 0 and row["fix_prs"] == []
        critical = [m for m in world.slack.messages() if m["channel_name"] == "mender-critical"]
        assert critical, "the failed stage is announced in the critical channel"


SECRET = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
LEAKY_LOG = INFRA_LOG.replace(
    "npm ERR! code ECONNRESET",
    f"npm ERR! code ECONNRESET\nexport GITHUB_TOKEN={SECRET}\nNPM_TOKEN=npm_s3cr3tValue123",
)


async def test_retries_that_never_heal_open_an_incident(client: Client, tmp_path: Path, repo: str) -> None:
    settings = make_settings(tmp_path, ci=ci_config(rerun_attempts=3))
    async with world_for(client, settings) as world:
        run_id = await fail_pipeline(world, repo, LEAKY_LOG, "never")
        status = await finished(world, f"ci/github/{repo}/{run_id}", timeout=120)
        assert status.outcome is CIOutcome.INCIDENT
        assert len(status.attempts) == 3
        row = pipeline_row(world, run_id)
        assert row["reruns_requested"] == 3 and len(row["incidents"]) == 1
        issue = world.github().get_repo(repo).get_issue(row["incidents"][0])
        assert "npm ERR! network read ECONNRESET" in issue.body and "Remediation attempts" in issue.body
        # The log carried credentials: none reaches the incident, Slack, the status or the store.
        stored = list_ci_failures(engine_for(settings.database_url), repo)
        everywhere = [issue.body, str(world.slack.messages()), status.model_dump_json(), str(stored)]
        for text in everywhere:
            assert SECRET not in text and "npm_s3cr3tValue123" not in text


EVERY_CHECK = {"lint": "success", "typecheck": "success", "coverage": "success"}  # on the fix branch


async def test_approved_fix_pr_is_verified(client: Client, tmp_path: Path, repo: str) -> None:
    settings = make_settings(tmp_path, ci=ci_config())
    async with world_for(client, settings) as world:
        world.slack.approver = lambda message: ("mender_approve", "U1", "alice")
        run_id = await fail_pipeline(world, repo, MODULE_LOG, "fix", fix_checks=EVERY_CHECK)
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        assert status.outcome is CIOutcome.APPROVED_FIXED, status  # its fix PR earned its merge
        assert status.approval is not None and "alice" in status.approval.approver
        row = pipeline_row(world, run_id)
        assert row["healed_by"] == "fix" and len(row["fix_prs"]) == 1
        pull = world.github().get_repo(repo).get_pull(row["fix_prs"][0]["number"])
        assert "PyYAML" in pull.get_files()[0].patch or "PyYAML" in pull.body
        assert "**Verification:** passed" in pull.body and f"/actions/runs/{run_id}" in pull.body
        approvals = [m for m in world.slack.messages() if m["channel_name"] == "mender-approvals"]
        assert approvals and "Approved by" in str(approvals[0]["blocks"])


async def test_rejected_approval_escalates_without_changes(client: Client, tmp_path: Path, repo: str) -> None:
    settings = make_settings(tmp_path, ci=ci_config())
    async with world_for(client, settings) as world:
        world.slack.approver = lambda message: ("mender_reject", "U1", "alice")
        run_id = await fail_pipeline(world, repo, MODULE_LOG, "fix")
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        assert status.outcome is CIOutcome.ESCALATED
        assert status.approval is not None and not status.approval.approved
        assert pipeline_row(world, run_id)["fix_prs"] == []


async def test_unanswered_approval_times_out_to_the_critical_channel(
    client: Client, tmp_path: Path, repo: str
) -> None:
    settings = make_settings(tmp_path, ci=ci_config(approval={"timeout_seconds": 3}))
    async with world_for(client, settings) as world:
        run_id = await fail_pipeline(world, repo, MODULE_LOG, "fix")
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        assert status.outcome is CIOutcome.ESCALATED and status.approval is None
        critical = [m for m in world.slack.messages() if m["channel_name"] == "mender-critical"]
        assert any("No answer" in str(m.get("blocks")) or "timeout" in str(m).lower() for m in critical)
        assert pipeline_row(world, run_id)["fix_prs"] == []


async def test_failed_fix_is_rolled_back(client: Client, tmp_path: Path, repo: str) -> None:
    settings = make_settings(tmp_path, ci=ci_config())
    async with world_for(client, settings) as world:
        world.slack.approver = lambda message: ("mender_approve", "U1", "alice")
        run_id = await fail_pipeline(world, repo, MODULE_LOG, "never")
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        assert status.outcome is CIOutcome.INCIDENT
        assert any("rolled back" in attempt for attempt in status.attempts)
        row = pipeline_row(world, run_id)
        assert [pr["state"] for pr in row["fix_prs"]] == ["closed"]
        branch = row["fix_prs"][0]["branch"]
        assert branch not in [b.name for b in world.github().get_repo(repo).get_branches()]


async def test_threshold_change_applies_to_a_pending_approval(
    client: Client, tmp_path: Path, repo: str
) -> None:
    strict = ci_config(risk={"threshold": 0.5})
    settings = make_settings(tmp_path, ci=strict)
    async with world_for(client, settings) as world:
        run_id = await fail_pipeline(world, repo, INFRA_LOG, "retry")
        wid = f"ci/github/{repo}/{run_id}"
        await eventually(lambda: ci_status(world, wid), lambda s: s.stage == "awaiting approval", 60)
        settings.config = settings.config.model_copy(
            update={
                "ci": settings.config.ci.model_copy(
                    update={"risk": settings.config.ci.risk.model_copy(update={"threshold": 4.0})}
                )
            }
        )
        status = await finished(world, wid)
        assert status.outcome is CIOutcome.AUTO_FIXED  # nobody approved: the gate passed on its own
        assert status.approval is None
        approvals = [m for m in world.slack.messages() if m["channel_name"] == "mender-approvals"]
        assert approvals and "Approve" not in str(approvals[0]["blocks"])  # buttons removed


async def test_gitlab_pipeline_is_retried(client: Client, tmp_path: Path, repo: str) -> None:
    settings = make_settings(tmp_path, ci=ci_config())
    async with world_for(client, settings) as world:
        assert world.gitlab is not None
        pipeline = world.gitlab.add_pipeline(repo, INFRA_LOG, heals_on="retry")
        status = await finished(world, f"ci/gitlab/{repo}/{pipeline.id}")
        assert status.outcome is CIOutcome.AUTO_FIXED
        row = next(p for p in world.gitlab.report()["pipelines"] if p["pipeline_id"] == pipeline.id)
        assert row["healed"] and row["retries_requested"] >= 1
