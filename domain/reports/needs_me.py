"""What a human must do for a stuck PR or a CI failure handed over, and why it is stuck (pure)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

HUMAN_ACTION = {
    "CREATED": "Check that CI is configured for the branch; push or re-run to start the checks.",
    "CHECKS_RUNNING": "Look at the pending checks: a runner may be stuck. Cancel and re-run them.",
    "CHECKS_PASSED": "The policy bot has not answered: re-trigger it, or review the policy by hand.",
    "CHECKS_FAILED": "Read the failing check: fix the code or the dependency bump, or close the PR.",
    "POLICY_EVALUATING": "The policy bot is still evaluating: re-trigger it or check its service.",
    "POLICY_PASSED": "Approve the PR (or re-trigger the approver bot).",
    "POLICY_FAILED": "Read the policy verdict: the change may need an exception or a manual review.",
    "APPROVED": "Merge the PR (automerge did not), or resolve the merge conflict.",
    "MERGING": "The merge did not finish: check branch protection and merge queue, then merge by hand.",
    "NEEDS_INTERVENTION": "Mender gave up: read what it tried below, then fix, merge or close the PR.",
}
CI_ACTION = {
    "awaiting approval": "Approve or reject the proposed fix in Slack (or let it time out).",
    "escalated": "Mender will not fix this run: read the diagnosis and fix the pipeline or the code.",
    "incident": "Every attempt failed: follow the incident issue.",
    "review": "Review and merge the verified fix PR.",
}


class Attempt(BaseModel):
    at: datetime
    action: str
    outcome: str
    detail: str = ""


class StuckPR(BaseModel):
    pr: str
    repo: str
    number: int
    state: str
    since: datetime
    stuck_seconds: float
    why: str
    tried: list[Attempt]
    human_action: str
    pr_url: str
    workflow_url: str


class WaitingCI(BaseModel):
    workflow_id: str
    project: str
    run_id: int
    waiting_for: str  # awaiting approval, escalated, incident, review
    category: str | None
    action: str | None
    key_line: str | None
    since: datetime
    human_action: str
    run_url: str
    fix_pr_url: str | None = None
    workflow_url: str


class NeedsMe(BaseModel):
    prs: list[StuckPR]
    ci: list[WaitingCI]
    review: list[WaitingCI]


def duration(seconds: float) -> str:
    """A short human duration: 45s, 12m, 3h 5m, 2d 4h."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def why_stuck(state: str, stuck_seconds: float, threshold: float, escalation_reason: str | None) -> str:
    if escalation_reason:
        return f"escalated: {escalation_reason}"
    return f"in {state} for {duration(stuck_seconds)}, over its {duration(threshold)} threshold"


def human_action(state: str) -> str:
    return HUMAN_ACTION.get(state, "Look at the PR and its checks.")
