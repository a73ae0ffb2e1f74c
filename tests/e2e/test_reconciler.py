"""Missed webhooks are found, not waited for: the reconciler discovers PRs and staleness refresh
folds in what GitHub shows. `mender scan` audits the same PRs without acting."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

from temporalio.client import Client
from typer.testing import CliRunner

from activities.reconcile import ReconcileActivities
from activities.reconcile_scan import scan
from contracts.pr import PRStatus
from domain.pr_healing.events import EventSource, EventType, PRRef
from domain.pr_healing.lifecycle import PRState
from runtime.settings import set_settings
from starter.cli import app
from store import repository
from store.db import engine_for
from tests.support.events import eventually
from tests.support.stack import make_settings, quick_lifecycle
from tests.support.world import mender_world

QUICK = quick_lifecycle()


async def test_reconciler_discovers_prs_whose_webhooks_were_all_lost(client: Client, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lifecycle=QUICK, repositories=[{"name": "acme/api"}])
    try:
        async with mender_world(client, settings) as world:
            world.sim.set_webhook_url(None)  # GitHub never reaches Mender
            number = await world.open_pr("acme/api")
            await eventually(world.report, lambda r: r["prs"][0]["state"] == "merged", timeout=30)
            dropped = await world.open_pr("acme/api", faults=["approver_bot_missed"])
            await asyncio.to_thread(
                lambda: world.github().get_repo("acme/api").get_pull(dropped).edit(state="closed")
            )
            report = await ReconcileActivities(client, world.queue).sweep()
            assert report.discovered == [] and report.scanned == 0  # nothing open to find
            # ... but they ended unseen: their workflows record the end GitHub shows, and do nothing else
            assert report.recorded_closed == [f"acme/api#{dropped}", f"acme/api#{number}"]  # newest first
            engine = engine_for(settings.database_url)
            for pr, end in ((number, PRState.MERGED), (dropped, PRState.CLOSED)):
                handle = client.get_workflow_handle(f"pr/acme/api/{pr}", result_type=PRStatus)
                ended = await asyncio.wait_for(handle.result(), timeout=30)
                assert ended.state is end
                assert [e.event.type for e in ended.recent_events] == [
                    EventType.OPENED,
                    EventType(end.lower()),
                ]
                record, events = repository.get_pr(engine, PRRef.parse(f"acme/api#{pr}"))
                assert record is not None and record.state == end
                assert "remediation" not in {e.type for e in events}
            again = await ReconcileActivities(client, world.queue).sweep()
            assert again.recorded_closed == [] and not again.errors  # recorded once

            # Tracked, but its workflow is gone before the PR's end: a new one records the end.
            lost = await world.open_pr("acme/api", faults=["approver_bot_missed"])
            assert (await ReconcileActivities(client, world.queue).sweep()).discovered == [f"acme/api#{lost}"]
            ref = PRRef.parse(f"acme/api#{lost}")
            await eventually(lambda: asyncio.to_thread(lambda: repository.get_pr(engine, ref)[0]), bool)
            await client.get_workflow_handle(ref.workflow_id).terminate("lost")
            await asyncio.to_thread(
                lambda: world.github().get_repo("acme/api").get_pull(lost).edit(state="closed")
            )
            assert (await ReconcileActivities(client, world.queue).sweep()).recorded_closed == [ref.key]
            handle = client.get_workflow_handle(ref.workflow_id, result_type=PRStatus)
            assert (await asyncio.wait_for(handle.result(), timeout=30)).state is PRState.CLOSED

            second = await world.open_pr("acme/api", faults=["approver_bot_missed"])
            report = await ReconcileActivities(client, world.queue).sweep()
            assert report.discovered == [f"acme/api#{second}"]
            status = await eventually(
                lambda: world.status("acme/api", second), lambda s: s.state is PRState.MERGED, timeout=60
            )
            opened = status.recent_events[0].event
            assert (opened.type, opened.source) == (EventType.OPENED, EventSource.RECONCILER)
            sources = {
                e.event.source for e in status.recent_events if e.event.type is not EventType.REMEDIATION
            }
            assert sources == {EventSource.RECONCILER}  # every fact came from refreshes, none from webhooks
            assert number != second
    finally:
        set_settings(None)


async def test_scan_reports_every_open_bot_pr_with_a_recommended_action(
    client: Client, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, repositories=[{"name": "acme/api"}])
    try:
        async with mender_world(client, settings, actors=("ci", "policy-bot")) as world:
            world.sim.set_webhook_url(None)
            number = await world.open_pr("acme/api")
            rows = await eventually(
                lambda: _scan(settings),
                lambda rows: rows and rows[0].action == "RETRIGGER_APPROVER_BOT",
                timeout=30,
            )
            assert rows[0].pr == f"acme/api#{number}" and not rows[0].tracked
            runner = CliRunner()
            as_json = json.loads(runner.invoke(app, ["scan", "--format", "json"]).output)
            assert as_json[0]["action"] == "RETRIGGER_APPROVER_BOT" and as_json[0]["state"] == "POLICY_PASSED"
            as_csv = list(csv.DictReader(io.StringIO(runner.invoke(app, ["scan", "--format", "csv"]).output)))
            assert as_csv[0]["pr"] == f"acme/api#{number}"
            assert (
                not world.github().get_repo("acme/api").get_pull(number).get_labels().totalCount
            )  # nothing done
    finally:
        set_settings(None)


async def _scan(settings):
    import asyncio

    return await asyncio.to_thread(scan, settings)


async def test_a_comment_command_whose_webhook_was_lost_runs_once(client: Client, tmp_path: Path) -> None:
    """Failed checks stay failed for 30 s here: only the recovered `/rebuild` can re-run them in time."""
    settings = make_settings(tmp_path, repositories=[{"name": "acme/api"}])
    scenario = {
        "repos": ["acme/api"],
        "timing": {"ci_start_seconds": 0.2, "ci_seconds": 0.5, "bot_delay_seconds": 0.2},
        "prs": [
            {
                "count": 1,
                "faults": ["flaky_checks"],
                "comments": [{"author": "alice", "body": "CI flaked.\n/rebuild", "after_seconds": 2}],
            }
        ],
    }
    try:
        async with mender_world(client, settings) as world:
            world.sim.set_webhook_url(None)  # the PR's webhooks, the comment's too, never arrive
            started = await world.http.post(f"{world.sim_url}/_sim/scenario", json=scenario)
            assert started.status_code == 202, started.text
            report = await eventually(world.report, lambda r: len(r["prs"]) == 1)
            number = report["prs"][0]["number"]
            issue = world.github().get_repo("acme/api").get_issue(number)
            [comment] = await eventually(lambda: asyncio.to_thread(lambda: list(issue.get_comments())), bool)
            sweep = await ReconcileActivities(client, world.queue).sweep()
            assert sweep.discovered == [f"acme/api#{number}"]
            assert sweep.commands == [f"acme/api#{number}:comment:{comment.id}:/rebuild"]

            def replies() -> list[str]:
                return [c.body for c in issue.get_comments() if c.user.login == world.sim.config.api_login]

            [reply] = await eventually(lambda: asyncio.to_thread(replies), bool, timeout=30)
            assert reply.startswith("Rebuild triggered by @alice")
            again = await ReconcileActivities(client, world.queue).sweep()
            assert again.commands == [] and not again.errors  # answered on the PR: not sent again
            status = await world.status("acme/api", number)
            assert [r.request.idempotency_key for r in status.commands] == [f"comment:{comment.id}:/rebuild"]
            assert status.retry_counts.get("rebuild:command") == 1
            assert (await world.report())["prs"][0]["ci_runs"] == 2  # one run, one re-run: nothing twice
            await world.client.get_workflow_handle(f"pr/acme/api/{number}").terminate("test over")
    finally:
        set_settings(None)
