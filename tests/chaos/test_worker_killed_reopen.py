"""The worker killed -9 in each later write of the close-and-reopen saga: the replacement PR opened, the
note on the old PR, the old PR closed (its first write, the branch, is in `test_worker_killed.py`).
GitHub answers each of these writes 3 s late, after applying it, so the kill always lands before the
worker learned the result (a bare kill after the write races the next one): each retry must find on
GitHub what its killed attempt did, and the saga must neither open a second replacement nor post its
note twice."""

from __future__ import annotations

from typing import Any

from tests.chaos.conftest import REPOS
from tests.chaos.fleet import Killer, settle, start_fleet
from tests.support.processes import ProcessStack, wait_until

# the conflicting PR is the fleet's first (#1): its replacement opened, its note, its close
STEPS = [("POST", "pulls"), ("POST", "issues/1/comments"), ("PATCH", "pulls/1")]
LATE_SECONDS = 3.0


def test_worker_killed_in_each_step_of_close_and_reopen(
    stack: ProcessStack, fault_table: list[dict[str, Any]]
) -> None:
    repo = REPOS["reopen"]
    writes = [f"^{method} /repos/{repo}/{path}$" for method, path in STEPS]  # answered late, then a kill
    for pattern in writes:
        stack.sim("slow", {"pattern": pattern, "seconds": LATE_SECONDS})
    try:
        since = start_fleet(stack, repo, [["merge_conflict"]])
        with Killer(stack, repo, writes, since) as killer:
            wait_until("a kill in each step", lambda: not killer.pending, timeout=300)
    finally:
        for pattern in writes:
            stack.sim("slow", {"pattern": pattern, "seconds": 0})
    verdict = settle(stack, repo, since)
    fault_table.append(
        verdict.row("worker kill -9 in each step of close-and-reopen", "; ".join(killer.kills))
    )
    assert len(killer.kills) == len(STEPS)
    assert verdict.lost == [] and verdict.doubled == {} and verdict.task_failures == [], verdict
    assert verdict.ended == verdict.total == 1
    assert verdict.replacements == {1: 1}  # one conflict, one replacement PR
    states = {pr["number"]: pr["state"] for pr in stack.prs(repo)}
    assert states[1] == "closed" and set(states.values()) == {"closed", "merged"}, states
