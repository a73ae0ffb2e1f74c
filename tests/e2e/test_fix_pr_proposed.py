"""A proposed fix PR (merged by Mender after one approving review) or a queued one (the review queue: its
checks failed) leaves the run it fixes awaiting that review (issue 17): the CI failure workflow's
status, its Slack notice and the stored row all say `awaiting_review` with the fix PR's link (and why it
was queued); when the fix PR ends, the stored row follows it (the reports count it fixed once merged).

Real parts: Temporal dev server, worker, starter, GitHub and Slack simulators, PyGithub.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from contracts.fixpr import fixpr_workflow_id
from domain.ci_healing.outcomes import CIOutcome
from domain.reports.history import CIFact
from store import ci_failures
from store.db import engine_for
from store.report_data import ci_facts
from tests.e2e.test_ci_healing import finished, pipeline_row, world_for
from tests.e2e.test_fix_prs import (  # noqa: F401 (fixture)
    QUALITY,
    approve_plans,
    cli,
    fail,
    repo,
    settings_for,
)
from tests.support.events import eventually

PROPOSED = "proposed: it is merged once a reviewer approves it"


async def test_a_proposed_fix_pr_leaves_its_run_awaiting_review_everywhere(
    client: Client,
    tmp_path: Path,
    repo: str,  # noqa: F811
) -> None:
    settings = settings_for(tmp_path, repo, scan={"enabled": False})  # no security signal: 0.83, proposed
    engine = engine_for(settings.database_url)
    async with world_for(client, settings) as world:
        approve_plans(world)
        run_id = await fail(world, repo, fix_checks=QUALITY)
        workflow_id = f"ci/github/{repo}/{run_id}"
        status = await finished(world, workflow_id)
        [fix_pr] = pipeline_row(world, run_id)["fix_prs"]
        pull = world.github().get_repo(repo).get_pull(fix_pr["number"])
        said = f"fix PR {pull.html_url} verified; {PROPOSED}"
        assert status.outcome is CIOutcome.AWAITING_REVIEW and status.attempts[-1].endswith(said), status
        notices = [m["text"] for m in world.slack.messages() if "awaiting_review" in (m["text"] or "")]
        assert any(said in text for text in notices), world.slack.messages()

        async def stored() -> str | None:
            row = ci_failures.get_ci_failure(engine, workflow_id)
            return row.outcome if row else None

        assert await eventually(stored, lambda o: o is not None) == "awaiting_review"
        assert not pull.merged and pull.state == "open"  # waiting for one approval

        pull.edit(state="closed")  # a human closes it instead: the run is a human's again
        fix = world.client.get_workflow_handle(fixpr_workflow_id(repo, pull.number))
        assert (await fix.result())["outcome"] == "closed outside Mender"
        assert await eventually(stored, lambda o: o != "awaiting_review") == "escalated"


QUEUED = (
    "queued for review: its checks failed: lint; confidence 0.78 < 0.80; "
    "not healed until a reviewer approves it and it merges"
)


async def test_a_queued_fix_pr_leaves_its_run_awaiting_review_until_approved_and_merged(
    client: Client,
    tmp_path: Path,
    repo: str,  # noqa: F811
) -> None:
    """Its lint check failed: the review queue. The run says so (with the link and why) in its status,
    its notice and its row, is not counted as fixed, and is healed once approved and merged."""
    settings = settings_for(tmp_path, repo)
    engine = engine_for(settings.database_url)
    async with world_for(client, settings) as world:
        approve_plans(world)  # plans only: the queued fix PR waits for a reviewer
        run_id = await fail(world, repo, fix_checks={**QUALITY, "lint": "failure"})
        workflow_id = f"ci/github/{repo}/{run_id}"
        status = await finished(world, workflow_id)
        [fix_pr] = pipeline_row(world, run_id)["fix_prs"]
        pull = world.github().get_repo(repo).get_pull(fix_pr["number"])
        said = f"fix PR {pull.html_url} verified; {QUEUED}"
        assert status.outcome is CIOutcome.AWAITING_REVIEW and status.attempts[-1].endswith(said), status
        notices = [m["text"] for m in world.slack.messages() if "awaiting_review" in (m["text"] or "")]
        assert any(said in html.unescape(text) for text in notices), notices  # Slack escapes the `<`

        async def fact() -> CIFact | None:  # as the reports read it (`success`, `roi`: `CIFact.fixed`)
            return next((f for f in ci_facts(engine, datetime.now(UTC)) if f.project == repo), None)

        held = await eventually(fact, lambda f: f is not None and f.outcome is not None)
        assert held is not None and held.outcome == "awaiting_review" and not held.fixed
        assert not pull.merged and pull.state == "open"

        async def listed() -> list[str]:
            return [line for line in (await cli(world, "review", "list")).splitlines() if repo in line]

        [item] = await eventually(listed, bool)  # queued once its run is held
        item_id = item.split()[0]
        assert "approved" in await cli(world, "review", "approve", item_id)
        fix = world.client.get_workflow_handle(fixpr_workflow_id(repo, pull.number))
        assert (await fix.result())["outcome"] == "merged after review"
        settled = await eventually(fact, lambda f: f is not None and f.outcome != "awaiting_review")
        assert settled is not None and settled.outcome == "approved_fixed" and settled.fixed  # once merged
