"""The worker killed -9 just after GitHub applied one of the writes of a CI healing: the fix PR opened
(verification starts), the fix PR's verdict written (verification done), then on a run no fix heals the
rollback's note on its fix PR and the incident opened. Each retry finds what the killed attempt did."""

from __future__ import annotations

import time
from typing import Any

from tests.chaos.conftest import REPOS
from tests.chaos.fleet import Killer, doubled_writes, workflow_task_failures
from tests.support.processes import ProcessStack, wait_until

# A JS heap OOM: the NODE_OPTIONS fix runs without an approver (an unmeasured rule keeps its auto-fix;
# measured ones below the auto floor go to Slack, which no one answers here).
OOM_LOG = """##[group]Run npm run build
> app@1.0.0 build
> webpack --mode production

FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
##[error]Process completed with exit code 134.
"""
EVERY_CHECK = {"lint": "success", "typecheck": "success", "coverage": "success"}
ENDED = {"auto_fixed", "approved_fixed", "incident", "escalated"}
FIX = [r"POST .*/pulls$", r"PATCH .*/pulls/\d+$"]  # fix PR opened; its verdict written
ROLLBACK = [r"POST .*/issues/\d+/comments$", r"POST .*/issues$"]  # rollback note (or evidence); incident


def test_worker_killed_during_ci_fix_verify_and_rollback(
    stack: ProcessStack, fault_table: list[dict[str, Any]]
) -> None:
    repo = REPOS["ci"]
    since = stack.requests()[-1]["at"] if stack.requests() else 0.0
    started = time.time()
    # every check of the fix branch passes: the fix PR earns its merge (with only the tests job it would
    # wait for a reviewer, and its run with it: awaiting_review)
    body = {"repo": repo, "log_text": OOM_LOG, "heals_on": "fix", "fix_checks": EVERY_CHECK}
    fixed = stack.sim("pipelines", body)["run_id"]
    with Killer(stack, repo, FIX, since) as killer:
        wait_until("kills in the fix and its verification", lambda: not killer.pending, timeout=300)
    kills, later = list(killer.kills), stack.requests()[-1]["at"]  # the second Killer looks from here on
    failing = stack.sim("pipelines", {"repo": repo, "log_text": OOM_LOG, "heals_on": "never"})["run_id"]
    with Killer(stack, repo, ROLLBACK, later) as killer:
        wait_until("kills in the rollback and the incident", lambda: not killer.pending, timeout=300)
    kills += killer.kills
    outcomes = wait_until(
        "both CI failures ended",
        lambda: (o := stack.ci_outcomes(repo)).get(fixed) in ENDED and o.get(failing) in ENDED and o,
        timeout=300,
    )
    settled = time.time() - started  # from the first failure until both ended
    pipelines = {p["run_id"]: p for p in stack.pipelines(repo)}
    # one PR per fix attempt, one incident per run, no write GitHub applied twice
    branches = {run: [pr["branch"] for pr in p["fix_prs"]] for run, p in pipelines.items()}
    doubled = {run: len(b) - len(set(b)) for run, b in branches.items() if len(b) > len(set(b))}
    incidents = {run: len(p["incidents"]) for run, p in pipelines.items()}
    doubled.update({f"incidents of {run}": n for run, n in incidents.items() if n > 1})
    doubled.update(doubled_writes(stack.requests(since), repo))
    fault_table.append(
        {
            "fault": "worker kill -9 in a CI fix, its verification, rollback and incident",
            "injected": "; ".join(kills),
            "ended": f"{sum(o in ENDED for o in outcomes.values())}/2",
            "doubled": len(doubled),
            "lost": 2 - len(outcomes),
            "seconds": round(settled, 1),
        }
    )
    assert len(kills) == len(FIX) + len(ROLLBACK), kills
    assert pipelines[fixed]["healed"] and outcomes[fixed] == "auto_fixed", (outcomes, pipelines[fixed])
    # every attempt on the failing run was rolled back (its PR closed), then an incident opened once
    failed_fixes = pipelines[failing]["fix_prs"]
    assert (
        outcomes[failing] == "incident"
        and failed_fixes
        and {pr["state"] for pr in failed_fixes} == {"closed"}
    )
    assert len(branches[fixed]) == 1 and incidents[failing] == 1 and not doubled, (branches, doubled)
    assert workflow_task_failures(stack, repo) == []
