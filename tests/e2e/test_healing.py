"""The full healing loop against the simulator: event -> state -> stale -> refresh -> classify ->
remediate -> expected effect -> merge -> grace period -> completion."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities import reopen
from activities.definition import defn
from contracts.pr import BranchArgs, CloseArgs, PRStatus
from domain.pr_healing.events import EventType, PRRef
from domain.pr_healing.lifecycle import PRState
from runtime.settings import Settings, set_settings
from store import repository
from store.db import engine_for
from tests.support.events import eventually
from tests.support.stack import make_settings, quick_lifecycle
from tests.support.world import mender_world

QUICK = quick_lifecycle()
FAST_SIM = ("ci", "policy-bot", "approver-bot")  # no automerge bot: every PR stalls once approved


def quick_settings(tmp_path: Path, mode: str = "act", **remediation: object) -> Settings:
    remediation = {"effect_deadline_seconds": 2.0, **remediation}
    return make_settings(tmp_path, mode=mode, lifecycle=QUICK, remediation=remediation)


@pytest.fixture
def act_settings(tmp_path: Path):
    yield quick_settings(tmp_path)
    set_settings(None)


def remediations(status) -> list[tuple[str, str]]:
    return [
        (e.event.details["action"], e.event.details["outcome"])
        for e in status.recent_events
        if e.event.type is EventType.REMEDIATION
    ]


async def test_stalled_approved_pr_is_nudged_then_merged_exactly_once(
    client: Client, act_settings: Settings
) -> None:
    async with mender_world(client, act_settings, actors=FAST_SIM) as world:
        number = await world.open_pr("acme/api")
        await eventually(
            lambda: world.status("acme/api", number), lambda s: s.state is PRState.MERGED, timeout=60
        )
        handle = world.client.get_workflow_handle(f"pr/acme/api/{number}", result_type=PRStatus)
        status = await handle.result()  # the workflow completes after the grace period
        assert status.state is PRState.MERGED
        assert world.github().get_repo("acme/api").get_pull(number).merged
    log = "\n".join(e.summary() for e in status.recent_events)
    assert remediations(status) == [
        ("RETRIGGER_MERGE", "acted"),  # toggled the automerge label: nobody listens
        ("RETRIGGER_MERGE", "no effect"),
        ("RETRIGGER_MERGE", "acted"),  # Mender merges itself, green and with the expected head
        ("RETRIGGER_MERGE", "effect seen"),
    ], log
    assert status.retry_counts == {"merge": 2}
    record, _ = repository.get_pr(
        engine_for(act_settings.database_url), PRRef(repo="acme/api", number=number)
    )
    assert record is not None and record.retry_counts == {"merge": 2}  # counted in the store too
    assert [e.event.source for e in status.recent_events if e.event.type is EventType.MERGED] == ["webhook"]


async def test_observe_mode_records_what_it_would_do_and_touches_nothing(
    client: Client, tmp_path: Path
) -> None:
    settings = quick_settings(tmp_path, mode="observe")
    try:
        async with mender_world(client, settings, actors=FAST_SIM) as world:
            number = await world.open_pr("acme/api")

            def observed(s) -> bool:
                return ("RETRIGGER_MERGE", "observe only") in remediations(s)

            status = await eventually(lambda: world.status("acme/api", number), observed, timeout=60)
            pull = world.github().get_repo("acme/api").get_pull(number)
            assert not pull.merged and [label.name for label in pull.labels] == []
            assert status.retry_counts == {} and status.state is PRState.APPROVED
            await world.client.get_workflow_handle(f"pr/acme/api/{number}").terminate("test over")
    finally:
        set_settings(None)


@defn(name="reopen.open_pr")
def refuse_to_open(args: BranchArgs) -> None:
    """GitHub refuses the replacement PR (for example, a branch protection rule): the saga must unwind."""
    raise ApplicationError("GitHub answered 422 on create pull request", non_retryable=True)


async def test_close_and_reopen_compensates_when_the_new_pr_cannot_be_opened(
    client: Client, tmp_path: Path
) -> None:
    settings = quick_settings(tmp_path, close_and_reopen=True)
    try:
        async with mender_world(client, settings, replace=[refuse_to_open]) as world:
            number = await world.open_pr("acme/api", faults=["merge_conflict"])
            status = await eventually(
                lambda: world.status("acme/api", number),
                lambda s: s.state is PRState.NEEDS_INTERVENTION,
                timeout=60,
            )
            repo = world.github().get_repo("acme/api")
            assert repo.get_pull(number).state == "open"  # the old PR is untouched
            assert "mender/replace-" + str(number) not in [
                b.name for b in repo.get_branches()
            ]  # branch deleted
            assert [p.number for p in repo.get_pulls(state="all")] == [number]  # no new PR
            assert ("CLOSE_AND_REOPEN", "failed") in remediations(status)
            assert status.retry_counts == {"close_and_reopen": 1}
            await world.client.get_workflow_handle(f"pr/acme/api/{number}").terminate("test over")
    finally:
        set_settings(None)


@defn(name="reopen.close_pr")
def old_pr_will_not_close(args: CloseArgs) -> None:
    """GitHub refuses to close the conflicting PR (the saga's last step); closing the replacement, the
    compensation, goes through the real activity."""
    if args.comment.startswith("Superseded by"):
        raise ApplicationError("GitHub answered 422 on closing the PR", non_retryable=True)
    reopen.close_pr(args)


async def test_close_and_reopen_compensates_when_the_old_pr_cannot_be_closed(
    client: Client, tmp_path: Path
) -> None:
    settings = quick_settings(tmp_path, close_and_reopen=True)
    try:
        async with mender_world(client, settings, replace=[old_pr_will_not_close]) as world:
            number = await world.open_pr("acme/api", faults=["merge_conflict"])
            status = await eventually(
                lambda: world.status("acme/api", number),
                lambda s: s.state is PRState.NEEDS_INTERVENTION,
                timeout=60,
            )
            repo = world.github().get_repo("acme/api")
            assert repo.get_pull(number).state == "open"  # the old PR stays as it was
            [replacement] = [p for p in repo.get_pulls(state="all") if p.number != number]
            assert replacement.state == "closed" and not replacement.merged  # compensated: closed again
            assert any("replacing #" in c.body for c in replacement.get_issue_comments())
            assert f"mender/replace-{number}" not in [b.name for b in repo.get_branches()]
            assert ("CLOSE_AND_REOPEN", "failed") in remediations(status)
            for pr in (number, replacement.number):
                handle = world.client.get_workflow_handle(f"pr/acme/api/{pr}")
                with contextlib.suppress(RPCError):
                    await handle.terminate("test over")
    finally:
        set_settings(None)


async def test_genuine_failure_is_escalated_to_slack_and_never_merged(
    client: Client, act_settings: Settings
) -> None:
    async with mender_world(client, act_settings) as world:
        number = await world.open_pr("acme/api", faults=["genuine_failure"])
        status = await eventually(
            lambda: world.status("acme/api", number),
            lambda s: s.state is PRState.NEEDS_INTERVENTION,
            timeout=60,
        )
        assert remediations(status) == []  # an assertion failure is never retried
        escalation = next(e for e in status.recent_events if e.event.type is EventType.ESCALATED)
        assert "non-transient" in escalation.event.details["reason"]
        messages = await eventually(
            lambda: asyncio.to_thread(world.slack.messages, "mender-escalations"), lambda m: len(m) == 1
        )
        text = messages[0]["text"] + str(messages[0]["blocks"])
        assert f"acme/api#{number}" in text and "non-transient" in text
        assert f"/acme/api/pull/{number}" in text

        async def needing_humans() -> list[str]:
            return [w.id async for w in client.list_workflows("MenderNeedsHuman=true")]

        assert f"pr/acme/api/{number}" in await eventually(needing_humans, lambda ids: bool(ids))
        assert not world.github().get_repo("acme/api").get_pull(number).merged
        await world.client.get_workflow_handle(f"pr/acme/api/{number}").terminate("test over")
