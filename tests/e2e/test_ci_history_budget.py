"""Signal floods while the CI failure and fix PR workflows wait: duplicate deliveries of the failed
run while an approver is asked, repeated nudges while the fix PR sits in the review queue. None of them
is news, yet each grows the history: the workflow continues as new (carrying its state) whenever the
history reaches `ci.history_events_before_continue`, and the run then goes on to its end.

Real parts: Temporal dev server, worker, starter, GitHub and Slack simulators. The waits' own timers are
long (10 minutes), so only the signals can grow the history during the floods.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer

from activities.ci import run_status
from contracts.ci import RUN_EVENT_SIGNAL, STATUS_QUERY
from contracts.fixpr import FIXPR_STATUS_QUERY, NUDGE_SIGNAL, FixPRStatus, fixpr_workflow_id
from domain.ci_healing.runs import CIRunRef, Provider, RunEventOrigin
from runtime.settings import Settings
from starter.auth import hash_key
from tests.e2e.test_ci_healing import ci_config, ci_status, world_for
from tests.e2e.test_fix_prs import OPERATE_KEY, QUALITY, cli, fail, repo  # noqa: F401 (the fixture)
from tests.support.events import eventually
from tests.support.stack import make_settings
from workflows.ci_failure import CIFailureWorkflow
from workflows.fix_pr import FixPRWorkflow

BUDGET = 60  # events per run (the smallest budget the configuration allows is 20)
FLOOD = 3 * BUDGET // 2  # signals per flood: more history than one run may hold
SLACK = 25  # events a run may exceed its budget by: signals that arrive while it continues as new
CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


def budget_settings(tmp_path: Path, repo: str) -> Settings:  # noqa: F811
    fix_prs = {"poll_seconds": 1, "watch_after_merge_seconds": 60, "review": {"recheck_seconds": 600}}
    ci = ci_config(
        poll_interval_seconds=600,  # the approval wait re-checks the gate at its timeout only
        approval={"approvers": ["alice"], "timeout_seconds": 600},
        fix_prs=fix_prs,
        history_events_before_continue=BUDGET,
    )
    return make_settings(
        tmp_path,
        ci=ci,
        repositories=[{"name": repo, "fix_prs": {"absent": ["coverage"]}}],
        api={"keys": [{"name": "ops", "role": "operate", "hash": hash_key(OPERATE_KEY)}]},
    )


async def runs_since(handle: WorkflowHandle[Any, Any], first_run: str) -> list[list[Any]]:
    """The history of every run from `first_run` on, following continue-as-new to the current run."""
    runs, run_id = [], first_run
    while True:
        history = await handle._client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        events = list(history.events)
        runs.append(events)
        if events[-1].event_type != CONTINUED:
            return runs
        run_id = events[-1].workflow_execution_continued_as_new_event_attributes.new_execution_run_id


def signals(runs: list[list[Any]], name: str) -> int:
    return sum(
        1
        for events in runs
        for e in events
        if e.event_type == SIGNALED and e.workflow_execution_signaled_event_attributes.signal_name == name
    )


async def flood(handle: WorkflowHandle[Any, Any], query: str, name: str, *args: Any) -> str:
    """Send FLOOD signals; wait until the workflow continued as new at least once; the run it was in."""
    before = (await handle.describe()).run_id
    assert before is not None
    for _ in range(FLOOD):  # one after the other, as a sustained flood comes (a burst lands in one run)
        await handle.signal(name, *args)
        # a query is answered after the workflow task that took the signal: the flood goes at the
        # worker's pace, so a worker slowed by a loaded machine does not let signals pile up in one run
        await handle.query(query)
    await eventually(handle.describe, lambda d: d.run_id != before, 30)
    return before


async def bounded_and_replayable(client: Client, workflow_id: str, runs: list[list[Any]]) -> None:
    """Every run stayed near its budget, and each replays on today's code (the wake is deterministic)."""
    lengths = [len(events) for events in runs]
    assert len(runs) >= 2 and all(n <= BUDGET + SLACK for n in lengths), lengths
    replayer = Replayer(workflows=[CIFailureWorkflow, FixPRWorkflow], data_converter=client.data_converter)
    for events in runs:
        replayed = await replayer.replay_workflow(
            WorkflowHistory(workflow_id, events), raise_on_replay_failure=False
        )
        assert replayed.replay_failure is None, replayed.replay_failure


async def test_signal_floods_while_waiting_continue_as_new_and_the_run_goes_on(
    client: Client,
    tmp_path: Path,
    repo: str,  # noqa: F811
) -> None:
    settings = budget_settings(tmp_path, repo)
    async with world_for(client, settings) as world:
        run_id = await fail(world, repo, fix_checks={**QUALITY, "lint": "failure"})
        ci = client.get_workflow_handle(f"ci/github/{repo}/{run_id}")
        await eventually(lambda: ci_status(world, ci.id), lambda s: s.stage == "awaiting approval", 60)

        # The poller finds the failed run again and again: the same fact, not news.
        again = await asyncio.to_thread(
            run_status, CIRunRef(provider=Provider.GITHUB, project=repo, run_id=run_id)
        )
        assert again is not None and again.origin is RunEventOrigin.POLL
        first = await flood(ci, STATUS_QUERY, RUN_EVENT_SIGNAL, again)
        status = await ci_status(world, ci.id)
        assert status.stage == "awaiting approval" and status.outcome is None  # the state went along
        runs = await runs_since(ci, first)
        await bounded_and_replayable(client, ci.id, runs)
        assert signals(runs, RUN_EVENT_SIGNAL) == FLOOD  # none lost across the runs

        [asked] = [m for m in world.slack.messages() if "Approval needed" in str(m["blocks"])]
        click = await asyncio.to_thread(
            world.slack.click, asked["channel"], asked["ts"], "mender_approve", "U1", "alice"
        )
        assert click.status == 200, click

        # The fix PR fails lint: it waits in the review queue while webhooks keep nudging it.
        number = await eventually(lambda: _fix_pr_number(world, run_id), lambda n: n is not None, 60)
        fix = client.get_workflow_handle(fixpr_workflow_id(repo, number))

        async def fix_status() -> FixPRStatus:
            return await fix.query(FIXPR_STATUS_QUERY, result_type=FixPRStatus)

        await eventually(fix_status, lambda s: s.outcome == "queued" and s.stage == "review", 60)
        first = await flood(fix, FIXPR_STATUS_QUERY, NUDGE_SIGNAL)
        runs = await runs_since(fix, first)
        await bounded_and_replayable(client, fix.id, runs)
        assert signals(runs, NUDGE_SIGNAL) == FLOOD
        assert (await fix_status()).outcome == "queued"

        listed = await cli(world, "review", "list")
        item_id = next(line.split()[0] for line in listed.splitlines() if f"{repo}#{number}" in line)
        await cli(world, "review", "approve", item_id)
        final = await fix.result()
        assert final["outcome"] == "merged after review", final


async def _fix_pr_number(world: Any, run_id: int) -> int | None:
    row = next(p for p in world.sim.report()["pipelines"] if p["run_id"] == run_id)
    return row["fix_prs"][0]["number"] if row["fix_prs"] else None
