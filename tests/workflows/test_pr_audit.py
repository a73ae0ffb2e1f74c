"""The PR workflow's audit rows (`pr.*`) against a real dev server and the GitHub simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from domain.pr_healing.commands import CommandRequest, CommandSource
from domain.pr_healing.events import PRRef
from domain.pr_healing.lifecycle import PRState
from domain.shared.audit import AuditFilter, AuditRow
from runtime.dispatch import EventDispatcher
from runtime.settings import Settings, set_settings
from store import audit as audit_store
from store.db import engine_for
from tests.support.events import eventually
from tests.support.stack import make_settings, quick_lifecycle
from tests.support.world import World, mender_world

REPO = "acme/api"


@pytest.fixture
def quick_settings(tmp_path: Path) -> Iterator[Settings]:
    """Every open state goes stale after a second: Mender heals on its own within the test."""
    yield make_settings(tmp_path, lifecycle=quick_lifecycle(), remediation={"effect_deadline_seconds": 2.0})
    set_settings(None)


@pytest.fixture
def quiet_settings(tmp_path: Path) -> Iterator[Settings]:
    """Failed checks stay failed for 10 minutes: nothing but a command acts within a test."""
    yield make_settings(tmp_path)
    set_settings(None)


def rows(settings: Settings, action: str, pr: PRRef) -> list[AuditRow]:
    """The PR's audit rows of one action, oldest first."""
    where = AuditFilter(repository=pr.repo, action=action, target=pr.key)
    return list(reversed(audit_store.query(engine_for(settings.database_url), where)))


async def audited(settings: Settings, action: str, pr: PRRef, count: int = 1) -> list[AuditRow]:
    """Wait for at least `count` rows of `action` about `pr`."""
    return await eventually(
        lambda: asyncio.to_thread(rows, settings, action, pr), lambda r: len(r) >= count, timeout=30
    )


def command(world: World, pr: PRRef, name: str, key: str, requester: str, source: CommandSource):
    request = CommandRequest(command=name, requester=requester, source=source, idempotency_key=key)
    return EventDispatcher("unused", world.client.namespace, world.queue, client=world.client).command(
        pr, request
    )


async def test_healed_flaky_pr_is_detected_classified_and_remediated(
    client: Client, quick_settings: Settings
) -> None:
    async with mender_world(client, quick_settings) as world:
        pr = PRRef(repo=REPO, number=await world.open_pr(REPO, faults=["flaky_checks"]))
        await eventually(
            lambda: world.status(REPO, pr.number), lambda s: s.state is PRState.MERGED, timeout=60
        )

        [detected] = await audited(quick_settings, "pr.detected", pr)
        assert (detected.actor, detected.source, detected.outcome) == (
            "dependabot[bot]",
            "webhook",
            "accepted",
        )
        assert detected.details["event"] == "opened" and detected.details["head_sha"]

        classified = await audited(quick_settings, "pr.classified", pr)
        rebuild = next(r for r in classified if r.details["decision"] == "RETRY_CHECKS")
        assert (rebuild.actor, rebuild.source, rebuild.outcome) == ("mender", "workflow", "succeeded")
        assert rebuild.details["state"] == "CHECKS_FAILED" and rebuild.details["reason"]

        remediations = await audited(quick_settings, "pr.remediation", pr, count=2)
        runs = [(r.details["action"], r.details["outcome"], r.outcome) for r in remediations]
        assert runs[:2] == [
            ("RETRY_CHECKS", "acted", "succeeded"),
            ("RETRY_CHECKS", "effect seen", "succeeded"),
        ], runs
        assert all((r.actor, r.source, r.error) == ("mender", "workflow", None) for r in remediations[:2])
        assert detected.at <= rebuild.at <= remediations[0].at <= remediations[1].at


async def test_genuine_failure_is_classified_and_escalated(client: Client, quick_settings: Settings) -> None:
    async with mender_world(client, quick_settings) as world:
        pr = PRRef(repo=REPO, number=await world.open_pr(REPO, faults=["genuine_failure"]))
        [escalated] = await audited(quick_settings, "pr.escalated", pr)
        assert (escalated.actor, escalated.outcome, escalated.error) == ("mender", "succeeded", None)
        assert "non-transient" in escalated.details["reason"] and escalated.details["notice"]["channel"]
        [classified] = rows(quick_settings, "pr.classified", pr)
        assert classified.details["decision"] == "NEEDS_INTERVENTION"
        assert rows(quick_settings, "pr.remediation", pr) == []
        await world.client.get_workflow_handle(pr.workflow_id).terminate("test over")


async def test_command_answers_are_audited_with_requester_and_source(
    client: Client, quiet_settings: Settings
) -> None:
    async with mender_world(client, quiet_settings) as world:
        pr = PRRef(repo=REPO, number=await world.open_pr(REPO, faults=["flaky_checks"]))
        await eventually(
            lambda: world.status(REPO, pr.number), lambda s: s.state is PRState.CHECKS_FAILED, timeout=30
        )
        refused = await command(world, pr, "/rebuild", "c-1", "mallory", CommandSource.COMMENT)
        assert refused is not None and not refused.accepted
        accepted = await command(world, pr, "/rebuild", "api-1", "ops-key", CommandSource.API)
        assert accepted is not None and accepted.accepted, accepted
        again = await command(world, pr, "/rebuild", "api-1", "ops-key", CommandSource.API)
        assert again is not None and again.duplicate

        answers = await audited(quiet_settings, "pr.command", pr, count=3)
        assert [(r.actor, r.source, r.outcome) for r in answers] == [
            ("mallory", "comment", "refused"),
            ("ops-key", "api", "accepted"),
            ("ops-key", "api", "duplicate"),
        ]
        assert answers[0].details["reason"] == refused.reason
        assert answers[1].details | {"reason": None} == {
            "command": "/rebuild",
            "accepted": True,
            "reason": None,
            "idempotency_key": "api-1",
        }
        # the strategy run names its requester (its effect, seen later, is Mender's observation)
        [run] = [r for r in rows(quiet_settings, "pr.remediation", pr) if r.details["outcome"] == "acted"]
        assert (run.actor, run.source, run.outcome) == ("ops-key", "api", "succeeded")
        assert (run.details["action"], run.details["command"]) == ("RETRY_CHECKS", "/rebuild")
        assert rows(quiet_settings, "pr.classified", pr) == []  # a command is not a classifier decision
        await world.client.get_workflow_handle(pr.workflow_id).terminate("test over")
