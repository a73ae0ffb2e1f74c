"""A PR command is refused, with the reason on the PR, when the commenter's permission cannot be read.

The whole path is real (simulator comment → signed webhook → starter → workflow → reply on the PR);
only the permission activity is pointed at a repository the GitHub simulator does not know, so the real
activity code meets a real GitHub error (404) instead of an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from activities.commands import Permission, PermissionArgs
from activities.commands import permission as real_permission
from activities.definition import defn
from domain.pr_healing.events import PRRef
from runtime.settings import Settings, set_settings
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
            "comments": [{"author": "alice", "body": "/rebuild", "after_seconds": 4}],
        }
    ],
}


@defn(name="commands.permission")
def unreadable_permission(args: PermissionArgs) -> Permission:
    """The real activity, asking GitHub about a repository it does not have: the lookup fails."""
    return real_permission(args.model_copy(update={"pr": PRRef(repo="acme/vanished", number=args.pr.number)}))


@pytest.fixture
def quiet_settings(tmp_path: Path) -> Iterator[Settings]:
    yield make_settings(tmp_path)
    set_settings(None)


def replies(world: World, number: int) -> list[str]:
    issue = world.github().get_repo(REPO).get_issue(number)
    return [c.body for c in issue.get_comments() if c.user.login == world.sim.config.api_login]


async def test_a_failed_permission_lookup_refuses_the_command_and_says_why(
    client: Client, quiet_settings: Settings
) -> None:
    async with mender_world(client, quiet_settings, replace=[unreadable_permission]) as world:
        started = await world.http.post(f"{world.sim_url}/_sim/scenario", json=SCENARIO)
        assert started.status_code == 202, started.text
        report = await eventually(world.report, lambda r: len(r["prs"]) == 1)
        number = report["prs"][0]["number"]

        bodies = await eventually(lambda: asyncio.to_thread(replies, world, number), bool, timeout=45)
        assert bodies[0].startswith("`/rebuild` refused: could not check @alice's permission"), bodies[0]
        status = await world.status(REPO, number)
        [command] = status.commands
        assert (command.request.requester, command.answer.accepted) == ("alice", False)
        assert "could not check @alice's permission" in command.answer.reason
        assert (await eventually(world.report, lambda r: len(r["prs"]) == 1))["prs"][0]["ci_runs"] == 1
