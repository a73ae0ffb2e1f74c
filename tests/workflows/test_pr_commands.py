"""The `command` update of the PR workflow against a real dev server and the GitHub simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts.pr import STATUS_QUERY, PRStatus
from domain.pr_healing.commands import CommandAnswer, CommandRequest, CommandSource
from domain.pr_healing.events import EventType, PRRef
from domain.pr_healing.lifecycle import PRState
from runtime.dispatch import EventDispatcher
from runtime.settings import Settings, set_settings
from simulators.github.rest_collaborators import collaborators_of
from tests.support.events import eventually, make_event
from tests.support.patience import patient
from tests.support.stack import make_settings, quick_lifecycle, running_worker
from tests.support.world import World, mender_world

REPO = "acme/api"


@pytest.fixture
def quiet_settings(tmp_path: Path) -> Iterator[Settings]:
    """Failed checks stay failed for 10 minutes: nothing but a command acts within a test."""
    yield make_settings(tmp_path)
    set_settings(None)


def dispatcher(world: World) -> EventDispatcher:
    return EventDispatcher("unused", world.client.namespace, world.queue, client=world.client)


def request(command: str, key: str, requester: str = "alice", source: CommandSource = CommandSource.COMMENT):
    return CommandRequest(command=command, requester=requester, source=source, idempotency_key=key)


async def failed_pr(world: World) -> PRRef:
    number = await world.open_pr(REPO, faults=["flaky_checks"])
    await eventually(
        lambda: world.status(REPO, number), lambda s: s.state is PRState.CHECKS_FAILED, timeout=30
    )
    return PRRef(repo=REPO, number=number)


async def ci_runs(world: World, pr: PRRef) -> int:
    rows = (await world.report())["prs"]
    return next(row["ci_runs"] for row in rows if row["number"] == pr.number)


def comments(world: World, pr: PRRef) -> list[str]:
    return [c.body for c in world.github().get_repo(pr.repo).get_issue(pr.number).get_comments()]


def command_records(status: PRStatus) -> list[dict[str, Any]]:
    return [
        e.event.details
        for e in status.recent_events
        if e.event.type is EventType.REMEDIATION and "requester" in e.event.details
    ]


async def test_accepted_rebuild_runs_the_strategy_counts_it_and_replies(
    client: Client, quiet_settings: Settings
) -> None:
    async with mender_world(client, quiet_settings) as world:
        pr = await failed_pr(world)
        answer = await dispatcher(world).command(pr, request("/rebuild", "k-rebuild"))
        assert answer is not None and answer.accepted and not answer.duplicate
        assert answer.reason.startswith("Rebuild triggered by @alice")
        assert await ci_runs(world, pr) == 2  # the simulator re-ran the failed jobs
        status = await world.status(REPO, pr.number)
        assert status.retry_counts == {"rebuild": 1, "rebuild:command": 1}
        [record] = command_records(status)
        assert (record["action"], record["outcome"], record["requester"], record["via"]) == (
            "RETRY_CHECKS",
            "acted",
            "alice",
            "comment",
        )
        assert [r.answer for r in status.commands] == [answer]
        [reply] = await eventually(lambda: asyncio.to_thread(comments, world, pr), bool)
        assert reply.startswith("Rebuild triggered by @alice")
        # the rebuild healed the flaky check: the PR goes on to merge on its own
        await eventually(
            lambda: world.status(REPO, pr.number), lambda s: s.state is PRState.MERGED, timeout=30
        )


async def test_command_invalid_in_the_state_is_refused_and_runs_nothing(
    client: Client, quiet_settings: Settings
) -> None:
    async with mender_world(client, quiet_settings) as world:
        pr = await failed_pr(world)
        answer = await dispatcher(world).command(pr, request("/merge", "api-1", "ops-key", CommandSource.API))
        assert answer == CommandAnswer(
            accepted=False, command="/merge", reason="checks and policy have not passed (state CHECKS_FAILED)"
        )
        status = await world.status(REPO, pr.number)
        assert status.retry_counts == {} and status.state is PRState.CHECKS_FAILED
        assert [(r["outcome"], r["requester"]) for r in command_records(status)] == [("refused", "ops-key")]
        assert not world.github().get_repo(REPO).get_pull(pr.number).merged
        assert await asyncio.to_thread(comments, world, pr) == []  # API commands get no PR reply
        await world.client.get_workflow_handle(pr.workflow_id).terminate("test over")


async def test_commenter_without_permission_is_refused_and_told_so(
    client: Client, quiet_settings: Settings
) -> None:
    async with mender_world(client, quiet_settings) as world:
        pr = await failed_pr(world)
        answer = await dispatcher(world).command(pr, request("/rebuild", "c-1", "mallory"))
        assert answer is not None and not answer.accepted
        assert answer.reason == "@mallory may not command Mender on this repository (permission: read)"
        assert await ci_runs(world, pr) == 1
        [reply] = await eventually(lambda: asyncio.to_thread(comments, world, pr), bool)
        assert reply.startswith("`/rebuild` refused: @mallory may not command Mender")
        # commands.allowed_users overrides GitHub's answer
        commands = quiet_settings.config.commands.model_copy(update={"allowed_users": ["mallory"]})
        quiet_settings.config = quiet_settings.config.model_copy(update={"commands": commands})
        answer = await dispatcher(world).command(pr, request("/rebuild", "c-2", "mallory"))
        assert answer is not None and answer.accepted, answer
        assert (await world.status(REPO, pr.number)).retry_counts["rebuild:command"] == 1
        await world.client.get_workflow_handle(pr.workflow_id).terminate("test over")


async def test_writer_permission_comes_from_github(client: Client, quiet_settings: Settings) -> None:
    async with mender_world(client, quiet_settings) as world:
        pr = await failed_pr(world)
        repo = world.github().get_repo(REPO)
        assert [repo.get_collaborator_permission(u) for u in ("alice", "octocat", "bob")] == [
            "admin",
            "admin",
            "read",
        ]
        collaborators_of(world.sim).set("bob", "maintain", repo=REPO)
        assert repo.get_collaborator_permission("bob") == "write"  # the legacy field folds maintain in
        answer = await dispatcher(world).command(pr, request("/update-branch", "c-3", "bob"))
        assert (
            answer is not None
            and answer.accepted
            and answer.reason == "`/update-branch` by @bob: nothing to do (already up to date)"
        ), answer
        await world.client.get_workflow_handle(pr.workflow_id).terminate("test over")


async def test_the_same_idempotency_key_runs_once_even_when_sent_concurrently(
    client: Client, quiet_settings: Settings
) -> None:
    async with mender_world(client, quiet_settings) as world:
        pr = await failed_pr(world)
        send = dispatcher(world).command
        first, second = await asyncio.gather(
            send(pr, request("/rebuild", "comment:1:/rebuild")),
            send(pr, request("/rebuild", "comment:1:/rebuild")),
        )
        third = await send(pr, request("/rebuild", "comment:1:/rebuild"))
        answers = [first, second, third]
        assert all(a is not None for a in answers)
        assert sorted(a.duplicate for a in answers if a) == [False, True, True]
        assert len({a.model_copy(update={"duplicate": False}) for a in answers if a}) == 1
        assert await ci_runs(world, pr) == 2
        status = await world.status(REPO, pr.number)
        assert status.retry_counts["rebuild:command"] == 1 and len(status.commands) == 1
        # the reply is posted before the first answer is given; duplicates never reply
        assert len(await asyncio.to_thread(comments, world, pr)) == 1
        await world.client.get_workflow_handle(pr.workflow_id).terminate("test over")


async def test_human_command_runs_beyond_a_spent_budget_and_is_counted(
    client: Client, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, lifecycle=quick_lifecycle(), retry_budgets={"rebuild": 0})
    try:
        async with mender_world(client, settings) as world:
            number = await world.open_pr(REPO, faults=["flaky_checks"])
            pr = PRRef(repo=REPO, number=number)
            status = await eventually(
                lambda: world.status(REPO, number),
                lambda s: s.state is PRState.NEEDS_INTERVENTION,
                timeout=30,
            )
            escalation = next(e for e in status.recent_events if e.event.type is EventType.ESCALATED)
            assert "budget is spent (0/0)" in escalation.event.details["reason"]
            answer = await dispatcher(world).command(pr, request("/rebuild", "k-beyond"))
            assert answer is not None and answer.accepted, answer
            assert await ci_runs(world, pr) == 2
            counts = (await world.status(REPO, number)).retry_counts
            assert (counts["rebuild"], counts["rebuild:command"]) == (1, 1)  # over the budget of 0
            await world.client.get_workflow_handle(pr.workflow_id).terminate("test over")
    finally:
        set_settings(None)


async def test_cancel_stops_automatic_remediation_but_tracking_goes_on(
    client: Client, tmp_path: Path
) -> None:
    lifecycle = {**quick_lifecycle(), "terminal_grace_seconds": 600.0}
    settings = make_settings(tmp_path, lifecycle=lifecycle)
    try:
        async with mender_world(client, settings) as world:
            number = await world.open_pr(REPO, faults=["flaky_checks"])
            pr = PRRef(repo=REPO, number=number)
            await eventually(lambda: world.status(REPO, number), lambda s: s.state is PRState.CREATED)
            answer = await dispatcher(world).command(pr, request("/cancel", "k-cancel"))
            assert answer is not None and answer.accepted
            assert answer.reason == "Automatic remediation cancelled by @alice"
            failed = await eventually(
                lambda: world.status(REPO, number), lambda s: s.state is PRState.CHECKS_FAILED
            )
            # three staleness periods in CHECKS_FAILED, each verified on GitHub: an uncancelled run would rebuild
            status = await eventually(
                lambda: world.status(REPO, number),
                lambda s: s.verifications >= failed.verifications + 3,
            )
            assert status.cancelled and status.state is PRState.CHECKS_FAILED
            assert status.retry_counts == {} and await ci_runs(world, pr) == 1
            assert [r["outcome"] for r in command_records(status)] == ["cancelled"]
            # once the PR is closed the cancelled workflow skips its 10 minute grace period
            world.github().get_repo(REPO).get_pull(number).edit(state="closed")
            handle = world.client.get_workflow_handle(pr.workflow_id, result_type=PRStatus)
            result = await asyncio.wait_for(handle.result(), timeout=patient(20))
            assert result.state is PRState.CLOSED and result.cancelled
    finally:
        set_settings(None)


async def test_validator_rejects_malformed_requests_and_missing_workflows_answer_none(
    client: Client, settings: Settings
) -> None:
    pr = PRRef(repo="acme/api", number=9101)
    async with running_worker(client) as queue:
        dispatch = EventDispatcher("unused", client.namespace, queue, client=client)
        assert await dispatch.command(pr, request("/cancel", "k", source=CommandSource.API)) is None
        await dispatch.deliver(make_event(pr, EventType.OPENED))
        for wait in ("accepted", "completed"):
            answer = await dispatch.command(
                pr, request("/deploy", f"k-{wait}", source=CommandSource.API), wait
            )
            assert answer is not None and not answer.accepted and "unknown command '/deploy'" in answer.reason
        answer = await dispatch.command(pr, request("/cancel", "k-ok", source=CommandSource.API), "accepted")
        # "queued" while the workflow works on it; its own answer when it finished within the acceptance
        assert answer is not None and answer.accepted and answer.command == "/cancel"
        assert answer.reason in ("queued", "Automatic remediation cancelled by @alice"), answer
        status = await eventually(
            lambda: client.get_workflow_handle(pr.workflow_id).query(STATUS_QUERY, result_type=PRStatus),
            lambda s: bool(s.commands),
        )
        assert status.cancelled and [r.request.idempotency_key for r in status.commands] == ["k-ok"]
        await client.get_workflow_handle(pr.workflow_id).terminate("test over")
        assert await dispatch.command(pr, request("/cancel", "k-late", source=CommandSource.API)) is None


async def test_idempotency_keys_and_cancel_survive_continue_as_new(client: Client, tmp_path: Path) -> None:
    make_settings(tmp_path, lifecycle={"history_events_before_continue": 50, "terminal_grace_seconds": 1.0})
    pr = PRRef(repo="acme/api", number=9102)
    try:
        async with running_worker(client) as queue:
            dispatch = EventDispatcher("unused", client.namespace, queue, client=client)
            await dispatch.deliver(make_event(pr, EventType.OPENED))
            first_run = (await client.get_workflow_handle(pr.workflow_id).describe()).run_id
            first = await dispatch.command(pr, request("/cancel", "api:cancel:1", "ops", CommandSource.API))
            assert first is not None and first.accepted
            for _ in range(25):
                await dispatch.deliver(make_event(pr, EventType.CHECK_RUN_COMPLETED))

            async def run_id() -> str | None:
                return (await client.get_workflow_handle(pr.workflow_id).describe()).run_id

            await eventually(run_id, lambda r: r != first_run)
            again = await dispatch.command(pr, request("/cancel", "api:cancel:1", "ops", CommandSource.API))
            assert again == first.model_copy(update={"duplicate": True})
            status = await client.get_workflow_handle(pr.workflow_id).query(
                STATUS_QUERY, result_type=PRStatus
            )
            assert status.cancelled and len(status.commands) == 1
            await client.get_workflow_handle(pr.workflow_id).terminate("test over")
    finally:
        set_settings(None)


async def test_commands_alone_make_the_run_continue_as_new(client: Client, tmp_path: Path) -> None:
    """No event, no threshold: the history the command handlers add is checked all the same."""
    make_settings(tmp_path, lifecycle={"history_events_before_continue": 60})
    pr = PRRef(repo="acme/api", number=9103)
    try:
        async with running_worker(client) as queue:
            dispatch = EventDispatcher("unused", client.namespace, queue, client=client)
            await dispatch.deliver(make_event(pr, EventType.OPENED))
            handle = client.get_workflow_handle(pr.workflow_id)
            first_run = (await handle.describe()).run_id
            answers = []
            for n in range(12):  # refused (no checks failed): a journal line, a projection, an audit row each
                answers.append(
                    await dispatch.command(pr, request("/rebuild", f"k{n}", source=CommandSource.API))
                )
            assert all(a is not None and not a.accepted for a in answers)

            async def run_id() -> str | None:
                return (await handle.describe()).run_id

            await eventually(run_id, lambda r: r != first_run, timeout=30)
            again = await dispatch.command(pr, request("/rebuild", "k0", source=CommandSource.API))
            assert again == answers[0].model_copy(update={"duplicate": True})  # carried across
            await handle.terminate("test over")
    finally:
        set_settings(None)
