"""The worker killed -9 just after GitHub applied the write of each remaining PR remediation step: the
re-run of failed checks, the policy-bot comment, and Mender's own merge of a green, approved PR whose
automerge bot does not answer its nudge. The retry after each kill finds what the killed attempt did."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.chaos.conftest import CONFIG, REPOS, running
from tests.chaos.fleet import Killer, settle, start_fleet
from tests.support.processes import ProcessStack, wait_until

# (the PR's fault, the write of the step healing it: the kill comes right after GitHub applied it)
STEPS = {
    "re-run of failed checks": (["flaky_checks"], r"POST .*/(rerun-failed-jobs|rerequest)$"),
    "policy-bot comment": (["policy_bot_missed"], r"POST .*/issues/\d+/comments$"),
    "merge": (["automerge_missed"], r"PUT .*/pulls/\d+/merge$"),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessStack]:
    """This module's stack: the automerge bot is nudged through an endpoint that does nothing (a bot
    that never answers), so the second attempt of the merge remedy is Mender's own `PUT .../merge`."""
    processes = ProcessStack(tmp_path_factory.mktemp("chaos-bots"), CONFIG)
    silent = {"automerge": {"kind": "api", "url": f"{processes.github_url}/_sim/health"}}
    processes.config = {**CONFIG, "remediation": {**CONFIG["remediation"], "bots": silent}}
    with running(processes):
        yield processes


def test_worker_killed_after_each_bot_step(stack: ProcessStack, fault_table: list[dict[str, Any]]) -> None:
    repo = REPOS["bots"]
    since = start_fleet(stack, repo, [faults for faults, _ in STEPS.values()])
    with Killer(stack, repo, [write for _, write in STEPS.values()], since) as killer:
        wait_until("a kill after each step", lambda: not killer.pending, timeout=300)
    verdict = settle(stack, repo, since)
    fault_table.append(
        verdict.row("worker kill -9 in a re-run, a bot comment, a merge", "; ".join(killer.kills))
    )
    assert len(killer.kills) == len(STEPS)
    assert verdict.lost == [] and verdict.doubled == {} and verdict.task_failures == [], verdict
    assert verdict.ended == verdict.total == len(STEPS)
    assert {pr["state"] for pr in stack.prs(repo)} == {"merged"}  # every one healed, none escalated
