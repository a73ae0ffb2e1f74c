"""The merge queues as operators see them: `GET /api/merge-queues` and `mender queue`, against a real
merge queue workflow on the dev server (two PRs asked for the turn of one base)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client
from typer.testing import CliRunner

from activities.merge_queue import MergeQueueActivities
from contracts.merge_queue import TurnArgs, queue_workflow_id
from domain.pr_healing.merge_queue import TurnRequest
from runtime.settings import set_settings
from starter.cli import app
from tests.support.admin_api import READ_KEY, admin_settings, bearer, served_starter
from tests.support.stack import running_worker


async def two_prs_in_a_queue(client: Client, queue: str) -> str:
    """PR 1 asks first and holds the turn; PR 2 (nearer to merge) waits first in line. Returns the repo."""
    repo = f"acme/q-{uuid.uuid4().hex[:8]}"
    acts = MergeQueueActivities(client, queue)
    for number, nearness in ((1, 2), (2, 4)):
        request = TurnRequest(pr_number=number, requester=f"pr/{repo}/{number}", nearness=nearness)
        turn = await acts.request_turn(TurnArgs(repo=repo, base_ref="main", request=request))
        assert turn.granted is (number == 1), turn
    return repo


async def test_the_queue_is_shown_by_the_api_and_the_cli(client: Client, tmp_path: Path) -> None:
    settings = admin_settings(tmp_path)
    try:
        async with running_worker(client) as queue:
            repo = await two_prs_in_a_queue(client, queue)
            with served_starter(settings, client, queue) as url:
                async with httpx.AsyncClient(timeout=30) as http:
                    answer = await http.get(
                        f"{url}/api/merge-queues", params={"repo": repo}, headers=bearer(READ_KEY)
                    )
                    assert answer.status_code == 200, answer.text
                    refused = await http.get(
                        f"{url}/api/merge-queues", params={"repo": "no slash"}, headers=bearer(READ_KEY)
                    )
                [shown] = answer.json()["queues"]
                assert (shown["repo"], shown["base_ref"], shown["granted"]) == (repo, "main", 1)
                assert shown["workflow_id"] == queue_workflow_id(repo, "main")
                assert (shown["holder"]["pr"], shown["holder"]["position"]) == (f"{repo}#1", 0)
                assert shown["holder"]["lease_until"] is not None
                assert [(s["pr_number"], s["position"], s["nearness"]) for s in shown["waiting"]] == [
                    (2, 1, 4)
                ]
                assert refused.status_code == 422

                env = {"MENDER_API_URL": url, "MENDER_API_KEY": READ_KEY}
                runner = CliRunner()
                as_json = await asyncio.to_thread(
                    runner.invoke, app, ["queue", "--repo", repo, "--json"], env=env
                )
                assert as_json.exit_code == 0 and json.loads(as_json.output) == answer.json()
                text = await asyncio.to_thread(runner.invoke, app, ["queue", "--repo", repo], env=env)
                assert text.exit_code == 0, text.output
                lines = text.output.splitlines()
                assert lines[0] == f"{repo} <- main: 1 turns given, 0 expired"
                assert lines[1].startswith("  updating  #1 (nearness 2/4, lease until ")
                assert lines[2].startswith("        1.  #2 (nearness 4/4, waiting since ")
                empty = await asyncio.to_thread(runner.invoke, app, ["queue", "--repo", "acme/none"], env=env)
                assert "no merge queue is running" in empty.output
            await client.get_workflow_handle(queue_workflow_id(repo, "main")).terminate("test over")
    finally:
        set_settings(None)
