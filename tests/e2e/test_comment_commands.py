"""PR comment commands end to end: simulator comment -> signed webhook -> starter -> update -> strategy
-> reply on the PR; redeliveries run nothing twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from runtime.settings import Settings, set_settings
from simulators.github.delivery import signature_256
from tests.support.events import eventually
from tests.support.stack import make_settings
from tests.support.world import World, mender_world

REPO = "acme/api"
SCENARIO: dict[str, Any] = {
    "repos": [REPO],
    "timing": {"ci_start_seconds": 0.5, "ci_seconds": 1.0, "bot_delay_seconds": 0.5},
    "prs": [
        {
            "count": 1,
            "faults": ["flaky_checks"],
            "author": "dependabot[bot]",
            "comments": [
                {"author": "mallory", "body": "/rebuild", "after_seconds": 4},
                {"author": "alice", "body": "CI flaked again.\n\n/rebuild please", "after_seconds": 6},
            ],
        }
    ],
}


@pytest.fixture
def quiet_settings(tmp_path: Path) -> Iterator[Settings]:
    """Failed checks stay failed for 10 minutes: only the comment can rebuild within the test."""
    yield make_settings(tmp_path)
    set_settings(None)


async def only_pr(world: World) -> dict[str, Any]:
    report = await eventually(world.report, lambda r: len(r["prs"]) == 1)
    return report["prs"][0]


def replies(world: World, number: int) -> list[str]:
    """Mender's comments on the PR."""
    issue = world.github().get_repo(REPO).get_issue(number)
    return [c.body for c in issue.get_comments() if c.user.login == world.sim.config.api_login]


def comment_delivery(world: World, login: str) -> tuple[str, bytes]:
    """(delivery id, body) of the `issue_comment.created` webhook for `login`'s comment."""
    for record in list(world.sim.deliverer.log):
        if record.event == "issue_comment" and json.loads(record.body)["comment"]["user"]["login"] == login:
            return record.id, record.body
    raise AssertionError(f"no comment webhook by {login}")


async def test_rebuild_comment_heals_the_pr_replies_once_and_refuses_strangers(
    client: Client, quiet_settings: Settings
) -> None:
    async with mender_world(client, quiet_settings) as world:
        started = await world.http.post(f"{world.sim_url}/_sim/scenario", json=SCENARIO)
        assert started.status_code == 202, started.text
        number = (await only_pr(world))["number"]

        # mallory has `read` permission: refused, and told so on the PR
        await eventually(lambda: asyncio.to_thread(replies, world, number), bool, timeout=30)
        assert (await only_pr(world))["ci_runs"] == 1

        # alice (admin in the simulator) rebuilds: CI re-runs, Mender confirms, the PR merges
        def confirmed(bodies: list[str]) -> bool:
            return any(body.startswith("Rebuild triggered by @alice") for body in bodies)

        bodies = await eventually(lambda: asyncio.to_thread(replies, world, number), confirmed, timeout=30)
        assert bodies[0].startswith("`/rebuild` refused: @mallory may not command Mender")
        assert (await only_pr(world))["ci_runs"] == 2
        status = await world.status(REPO, number)
        [refused, accepted] = status.commands
        assert (refused.request.requester, refused.answer.accepted) == ("mallory", False)
        assert accepted.request.requester == "alice" and accepted.request.source == "comment"
        assert accepted.answer.accepted and accepted.answer.reason.startswith("Rebuild triggered by @alice")
        comment_id = json.loads(comment_delivery(world, "alice")[1])["comment"]["id"]
        assert accepted.request.idempotency_key == f"comment:{comment_id}:/rebuild"
        assert status.retry_counts == {"rebuild": 1, "rebuild:command": 1}

        # GitHub redelivers the same webhook: the starter knows the delivery id
        delivery, body = comment_delivery(world, "alice")
        again = await world.http.post(f"{world.sim_url}/_sim/deliveries/{delivery}/redeliver")
        assert again.json()["status_code"] == 200
        # the same comment under a new delivery id reaches the workflow, which answers from memory
        webhook = world.sim.config.webhook_url
        assert webhook is not None
        fresh = await world.http.post(
            webhook,
            content=body,
            headers={
                "X-GitHub-Event": "issue_comment",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": signature_256(quiet_settings.webhook_secret, body),
                "Content-Type": "application/json",
            },
        )
        assert fresh.status_code == 202 and fresh.json()["events"] == [f"{REPO}#{number}:/rebuild:accepted"]
        status = await eventually(lambda: world.status(REPO, number), lambda s: len(s.commands) == 2)
        assert [c.request.requester for c in status.commands] == ["mallory", "alice"]
        assert status.retry_counts["rebuild:command"] == 1
        assert (await only_pr(world))["ci_runs"] == 2
        bodies = await eventually(lambda: asyncio.to_thread(replies, world, number), lambda b: len(b) >= 2)
        assert sum(body.startswith("Rebuild triggered") for body in bodies) == 1
        assert len(bodies) == 2

        await eventually(lambda: world.status(REPO, number), lambda s: s.state == "MERGED", timeout=30)
