"""The full healing loop against the simulator: event -> state -> stale -> refresh -> classify ->
remediate -> expected effect -> merge -> grace period -> completion."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from domain.events import EventType
from domain.lifecycle import PRState
from runtime.settings import Settings, set_settings
from tests.support.events import eventually
from tests.support.stack import make_settings
from tests.support.world import mender_world
from workflows.pr_lifecycle import PRStatus

QUICK = {
    "staleness_seconds": dict.fromkeys(
        [
            "CREATED",
            "CHECKS_RUNNING",
            "CHECKS_PASSED",
            "CHECKS_FAILED",
            "POLICY_EVALUATING",
            "POLICY_PASSED",
            "POLICY_FAILED",
            "APPROVED",
            "MERGING",
        ],
        1.0,
    ),
    "terminal_grace_seconds": 1.0,
    "unknown_pr_linger_seconds": 1.0,
}
FAST_SIM = ("ci", "policy-bot", "approver-bot")  # no automerge bot: every PR stalls once approved


def quick_settings(tmp_path: Path, mode: str = "act", **config: object) -> Settings:
    return make_settings(
        tmp_path, mode=mode, lifecycle=QUICK, remediation={"effect_deadline_seconds": 2.0}, **config
    )


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
