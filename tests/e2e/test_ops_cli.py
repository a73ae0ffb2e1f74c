"""`mender needs-me`, the readable `mender pr` story and `mender prs` paging, over the Admin API."""

from __future__ import annotations

import json

import pytest
from temporalio.client import Client

from runtime.settings import set_settings
from store.db import engine_for
from tests.e2e.test_cli_api import run
from tests.support.admin_api import READ_KEY, admin_settings, served_starter
from tests.support.history import write_history


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory):
    settings = admin_settings(tmp_path_factory.mktemp("cli-fleet"), lifecycle={})
    write_history(engine_for(settings.database_url))
    yield settings
    set_settings(None)


async def test_needs_me_story_and_paging(client: Client, fleet) -> None:
    with served_starter(fleet, client, "no-worker") as url:
        view = json.loads(await run(url, READ_KEY, "needs-me", "--json"))
        text = await run(url, READ_KEY, "needs-me")
        assert text.startswith(f"{len(view['prs'])} stuck PRs, {len(view['ci'])} CI failures")
        stuck = next(p for p in view["prs"] if p["state"] == "NEEDS_INTERVENTION")
        block = text.split(stuck["pr"] + "  ", 1)[1].split("\n\n", 1)[0]
        assert "why: escalated: merge retry budget spent" in block
        assert block.index("RETRIGGER_MERGE: acted") < block.index("RETRIGGER_MERGE: no effect")
        assert f"workflow: {stuck['workflow_url']}" in block

        story = await run(url, READ_KEY, "pr", stuck["pr"])
        assert story.startswith(f"{stuck['pr']}  state NEEDS_INTERVENTION") and "(from the store)" in story
        lines = story.split("What happened (oldest first):\n", 1)[1].splitlines()
        assert "opened [webhook]: new -> CREATED" in lines[0]
        assert [line.split("  ", 2)[-1] for line in lines if "Mender " in line] == [
            "Mender RETRIGGER_MERGE: acted",
            "Mender RETRIGGER_MERGE: no effect",
        ]
        assert "escalated [webhook]: APPROVED -> NEEDS_INTERVENTION" in story
        record = json.loads(await run(url, READ_KEY, "pr", stuck["pr"], "--json"))
        assert [e["details"].get("outcome") for e in record["events"] if e["type"] == "remediation"] == [
            "acted",
            "no effect",
        ]

        everything = json.loads(await run(url, READ_KEY, "prs", "--json"))
        assert len(everything) == 60
        pages = [
            json.loads(await run(url, READ_KEY, "prs", "--json", "--limit", "25", "--offset", str(o)))
            for o in (0, 25, 50)
        ]
        assert [len(p) for p in pages] == [25, 25, 10]
        assert [r["pr"] for p in pages for r in p] == [r["pr"] for r in everything]
        first = await run(url, READ_KEY, "prs", "--limit", "25")
        assert first.rstrip().endswith("rows 1-25; next page: --offset 25")
        last = await run(url, READ_KEY, "prs", "--limit", "25", "--offset", "50")
        assert last.rstrip().endswith("rows 51-60")


async def test_the_saved_query_for_pr_and_ci_workflows_is_valid(client: Client) -> None:
    from temporalio.workflow import _Definition

    from starter.demo_messages import PRODUCT_WORKFLOWS, product_workflows_url
    from worker import WORKFLOWS

    names = {_Definition.must_from_class(w).name for w in WORKFLOWS}
    assert {"PRLifecycle", "CIFailure"} <= names and len(names) > 2  # the others are housekeeping
    await client.count_workflows(PRODUCT_WORKFLOWS)  # the dev server's visibility accepts the query
    assert "query=WorkflowType%20IN%20%28%27PRLifecycle%27" in product_workflows_url(8233)
