"""The worker killed -9 just after GitHub applied one of its writes: in a PR remediation (update of the
branch, the close-and-reopen saga) and in a CI fix (fix PR opened, verification under way)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chaos.conftest import REPOS
from tests.chaos.fleet import Killer, settle, start_fleet
from tests.support.processes import ProcessStack, wait_until

# A JS heap OOM: the NODE_OPTIONS fix runs without an approver (an unmeasured rule keeps its auto-fix;
# measured ones below the auto floor go to Slack, which no one answers here).
OOM_LOG = """##[group]Run npm run build
> app@1.0.0 build
> webpack --mode production

FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
##[error]Process completed with exit code 134.
"""


@pytest.mark.known_open  # a PR whose label nudge the kill interrupted once stayed at POLICY_PASSED after it merged
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
    assert verdict.lost == [] and verdict.doubled == {}, verdict
    assert verdict.ended == verdict.total == len(faults)
    assert verdict.replacements == {min(verdict.replacements): 1}  # one conflict, one replacement PR


def test_worker_killed_during_ci_fix_and_rollback(
    stack: ProcessStack, fault_table: list[dict[str, Any]]
) -> None:
    repo = REPOS["ci"]
    since = stack.requests()[-1]["at"] if stack.requests() else 0.0
    fixed = stack.sim("pipelines", {"repo": repo, "log_text": OOM_LOG, "heals_on": "fix"})["run_id"]
    # the fix PR opened (verification starts), then the failed fix's PR closed (rollback under way)
    with Killer(stack, repo, [r"POST .*/pulls$", r"PATCH .*/pulls/\d+$"], since) as killer:
        wait_until("the fix PR", lambda: killer.kills, timeout=300)
        failing = stack.sim("pipelines", {"repo": repo, "log_text": OOM_LOG, "heals_on": "never"})["run_id"]
        wait_until("both kills", lambda: not killer.pending, timeout=300)
    ended = {"auto_fixed", "approved_fixed", "incident", "escalated"}
    outcomes = wait_until(
        "both CI failures ended",
        lambda: (o := stack.ci_outcomes(repo)).get(fixed) in ended and o.get(failing) in ended and o,
        timeout=300,
    )
    pipelines = {p["run_id"]: p for p in stack.pipelines(repo)}
    # one PR per fix attempt: two PRs on one attempt's branch would be a write done twice
    branches = {run: [pr["branch"] for pr in p["fix_prs"]] for run, p in pipelines.items()}
    doubled = {run: len(b) - len(set(b)) for run, b in branches.items() if len(b) > len(set(b))}
    incidents = {run: len(p["incidents"]) for run, p in pipelines.items()}
    doubled.update({f"incidents of {run}": n for run, n in incidents.items() if n > 1})
    fault_table.append(
        {
            "fault": "worker kill -9 in a CI fix and its rollback",
            "injected": "; ".join(killer.kills),
            "ended": f"{sum(o in ended for o in outcomes.values())}/2",
            "doubled": len(doubled),
            "lost": 2 - len(outcomes),
        }
    )
    assert pipelines[fixed]["healed"] and outcomes[fixed] == "auto_fixed", (outcomes, pipelines[fixed])
    # every attempt on the failing run was rolled back (its PR closed), then an incident opened once
    failed_fixes = pipelines[failing]["fix_prs"]
    assert (
        outcomes[failing] == "incident"
        and failed_fixes
        and {pr["state"] for pr in failed_fixes} == {"closed"}
    )
    assert len(branches[fixed]) == 1 and not doubled, (branches, incidents)
