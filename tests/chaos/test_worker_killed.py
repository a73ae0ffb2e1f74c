"""The worker killed -9 just after GitHub applied one of its writes in a PR remediation: the update of
the branch, the close-and-reopen saga's first write, the approver bot's label (the other steps:
`test_worker_killed_bots.py`; the saga's later writes: `test_worker_killed_reopen.py`; CI fixes:
`test_worker_killed_ci.py`)."""

from __future__ import annotations

from typing import Any

from tests.chaos.conftest import REPOS
from tests.chaos.fleet import Killer, settle, start_fleet
from tests.support.processes import ProcessStack, wait_until


def test_worker_killed_during_remediation_steps(
    stack: ProcessStack, fault_table: list[dict[str, Any]]
) -> None:
    repo = REPOS["worker"]
    faults = [["merge_conflict"], ["behind_base"], ["approver_bot_missed"], ["flaky_checks"]]
    since = start_fleet(stack, repo, faults)
    # the first write of the close-and-reopen saga (its branch), the branch update, the bot nudge (label)
    steps = [r"POST .*/git/refs$", r"PUT .*/update-branch$", r"POST .*/issues/\d+/labels$"]
    with Killer(stack, repo, steps, since) as killer:
        wait_until("a kill after each step", lambda: not killer.pending, timeout=300)
    verdict = settle(stack, repo, since)
    fault_table.append(verdict.row("worker kill -9 in a PR remediation", "; ".join(killer.kills)))
    assert len(killer.kills) == len(steps)
    assert verdict.lost == [] and verdict.doubled == {} and verdict.task_failures == [], verdict
    assert verdict.ended == verdict.total == len(faults)
    assert verdict.replacements == {min(verdict.replacements): 1}  # one conflict, one replacement PR
