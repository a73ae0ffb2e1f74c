"""GitHub's webhooks duplicated, reordered and lost (a quarter of them), a comment command among them:
the reconciler finds what never came, keys fold what came twice, and nothing is done twice."""

from __future__ import annotations

from typing import Any

from tests.chaos.conftest import REPOS
from tests.chaos.fleet import settle, start_fleet
from tests.support.processes import ProcessStack

WORLD_FAULTS = [
    {"type": "webhook_loss", "rate": 0.25},
    {"type": "webhook_duplicate", "rate": 0.3},
    {"type": "webhook_reorder", "rate": 0.3, "max_delay_seconds": 1.0},
]


def test_duplicated_reordered_and_lost_webhooks(
    stack: ProcessStack, fault_table: list[dict[str, Any]]
) -> None:
    repo = REPOS["webhooks"]
    faults = [["flaky_checks"], ["behind_base"], ["policy_bot_missed"], ["automerge_missed"], []]
    command = {"author": "alice", "body": "/rebuild", "after_seconds": 2}  # a human's command, maybe lost
    asks = {"count": 1, "faults": ["genuine_failure"], "comments": [command]}
    since = start_fleet(stack, repo, faults, [asks], world_faults=WORLD_FAULTS)
    verdict = settle(stack, repo, since)
    statuses = [d["status"] for d in stack.sim("deliveries") if d["repo"] == repo]
    lost = statuses.count("dropped")
    injected = f"{lost} of {len(statuses)} webhooks lost; duplicates and reordering at 30 %"
    fault_table.append(verdict.row("webhooks duplicated, reordered, 25 % lost", injected))
    assert lost, "no webhook was lost"
    assert verdict.lost == [] and verdict.doubled == {} and verdict.task_failures == [], verdict
    assert verdict.ended == verdict.total == 6
    [asked] = [pr for pr in stack.prs(repo) if "genuine_failure" in pr["faults"]]
    comments = stack.http.get(
        f"{stack.github_url}/repos/{repo}/issues/{asked['number']}/comments",
        headers={"Authorization": "token simulator-token"},
    ).json()
    replies = [c for c in comments if "<!-- mender-command: comment:" in c["body"]]
    assert len(replies) == 1, comments  # alice's /rebuild answered once, its webhook lost or not
    assert asked["ci_runs"] <= 2  # and run at most once (refused if the PR was already escalated)
