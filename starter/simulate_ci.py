"""The CI side of `mender simulate`: GitLab pipelines, the scripted Slack approver, and the `ci` report.

Report contract (`"ci"`): total, auto_fixed, approved_fixed, escalated (a human must act, incidents
included), wrong_auto_actions, mttr_seconds {median, p95}; plus pipelines_by_outcome for detail, and `learning` (learned fixes, their
replays, playbook history: `simulate_learning`).
A *wrong automatic action* is one Mender took without approval that cannot heal the pipeline as the
scenario defines it: any automatic action on a `heals_on: never` pipeline, a fix PR on a `retry`
pipeline, or a re-run on a `fix` pipeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contracts.fixpr import fixpr_workflow_id
from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID
from domain.ci_healing.outcomes import FIX_PR_ACTIONS, RERUN_ACTIONS, CIOutcome
from simulators.github import Scenario, Simulator
from simulators.gitlab import GitLabSimulator
from starter.simulate_learning import learning_report
from store.ci_failures import list_ci_failures

SCENARIO_APPROVER = ("U0SCENARIO", "alice")


def pipelines(github: Simulator, gitlab: GitLabSimulator | None) -> list[dict[str, Any]]:
    """Every simulated pipeline with its provider and Mender workflow id."""
    return pipeline_rows(github.report(), gitlab.report() if gitlab is not None else None)


def pipeline_rows(github: dict[str, Any], gitlab: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The pipelines of the simulators' reports, with their provider and Mender workflow id."""
    rows = [
        {**p, "provider": "github", "workflow_id": f"ci/github/{p['repo']}/{p['run_id']}"}
        for p in github.get("pipelines", [])
        if p.get("run_id")
    ]
    if gitlab is not None:
        rows += [
            {
                **p,
                "provider": "gitlab",
                "repo": p["project"],
                "run_id": p["pipeline_id"],
                "workflow_id": f"ci/gitlab/{p['project']}/{p['pipeline_id']}",
            }
            for p in gitlab.get("pipelines", [])
        ]
    return rows


def scenario_approver(
    github: Simulator, gitlab: GitLabSimulator | None, scenario: Scenario | None = None
) -> Callable[[dict[str, Any]], tuple[str, str, str] | None]:
    """Answers approval messages as each pipeline's `approve` says, and review-queue messages of its fix
    PRs as its `review` says (None: nobody answers)."""
    return approver_for(lambda: pipelines(github, gitlab), review_answer(scenario))


def review_answer(scenario: Scenario | None) -> Callable[[dict[str, Any]], bool | None]:
    """A pipeline row's scripted answer to its queued fix PR (its scenario group's `review`)."""

    def answer(row: dict[str, Any]) -> bool | None:
        group = row.get("group")
        if scenario is None or group is None or not 0 <= group < len(scenario.pipelines):
            return None
        return scenario.pipelines[group].review

    return answer


def approver_for(
    rows: Callable[[], list[dict[str, Any]]],
    review: Callable[[dict[str, Any]], bool | None] = lambda row: None,
) -> Callable[[dict[str, Any]], tuple[str, str, str] | None]:
    """(action id, user id, user name) for an approval message, from the pipelines `rows()` lists; a
    review-queue message (button value `fixpr/<repo>/<number>`) as `review(row)` says."""

    def decide(message: dict[str, Any]) -> tuple[str, str, str] | None:
        values = {
            element.get("value")
            for block in message.get("blocks") or []
            if block.get("type") == "actions"
            for element in block.get("elements", [])
        }
        for row in rows():
            if row["workflow_id"] in values and row.get("approve") is not None:
                action = APPROVE_ACTION_ID if row["approve"] else REJECT_ACTION_ID
                return action, *SCENARIO_APPROVER
            reviewed = {fixpr_workflow_id(row["repo"], pr["number"]) for pr in row.get("fix_prs", [])}
            if reviewed & values and (answer := review(row)) is not None:
                return (APPROVE_ACTION_ID if answer else REJECT_ACTION_ID), *SCENARIO_APPROVER
        return None

    return decide


async def start_gitlab_pipelines(scenario: Scenario, gitlab: GitLabSimulator) -> None:
    """Create the scenario's GitLab pipelines on schedule (the GitHub simulator runs its own)."""
    started = asyncio.get_running_loop().time()
    groups = sorted((g for g in scenario.pipelines if g.provider == "gitlab"), key=lambda g: g.after_seconds)
    for group in groups:
        delay = group.after_seconds - (asyncio.get_running_loop().time() - started)
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(group.count):
            gitlab.add_pipeline(
                group.repo,
                group.log_text or "",
                heals_on=group.heals_on,
                job=group.job,
                approve=group.approve,
            )
            await asyncio.sleep(scenario.timing.open_interval_seconds)


def expected_pipelines(scenario: Scenario) -> int:
    return sum(group.count for group in scenario.pipelines)


def unsettled(github: Simulator, gitlab: GitLabSimulator | None, engine: Any, expected: int) -> list[str]:
    """Pipelines whose CI workflow has not reached an outcome yet."""
    rows = pipelines(github, gitlab)
    if len(rows) < expected:
        return [f"{expected - len(rows)} pipelines not started yet"]
    outcomes = {r.workflow_id: r.outcome for r in list_ci_failures(engine, limit=100_000)}
    return [row["workflow_id"] for row in rows if not outcomes.get(row["workflow_id"])]


def ci_report(github: Simulator, gitlab: GitLabSimulator | None, engine: Any) -> dict[str, Any]:
    """The `ci` section of the simulate report."""
    records = {r.workflow_id: r for r in list_ci_failures(engine, limit=100_000)}
    counts = dict.fromkeys(("auto_fixed", "approved_fixed", "escalated"), 0)
    by_outcome: dict[str, int] = {}
    wrong = 0
    repair: list[float] = []
    rows = pipelines(github, gitlab)
    for row in rows:
        record = records.get(row["workflow_id"])
        outcome = record.outcome if record else None
        by_outcome[outcome or "none"] = by_outcome.get(outcome or "none", 0) + 1
        if outcome == CIOutcome.AUTO_FIXED:
            counts["auto_fixed"] += 1
        elif outcome == CIOutcome.APPROVED_FIXED:
            counts["approved_fixed"] += 1
        elif outcome in (CIOutcome.ESCALATED, CIOutcome.INCIDENT):
            counts["escalated"] += 1
        wrong += sum(_wrong(action, row["heals_on"]) for action in (record.auto_actions if record else []))
        if row.get("healed") and row.get("failed_at") and row.get("healed_at"):
            repair.append((_time(row["healed_at"]) - _time(row["failed_at"])).total_seconds())
    return {
        "total": len(rows),
        **counts,
        "wrong_auto_actions": wrong,
        "mttr_seconds": {"median": _percentile(repair, 0.5), "p95": _percentile(repair, 0.95)},
        "pipelines_by_outcome": dict(sorted(by_outcome.items())),
        "learning": learning_report(engine),
    }


def _wrong(action: str, heals_on: str) -> bool:
    if heals_on == "never":
        return True
    if heals_on == "retry":
        return action in {a.value for a in FIX_PR_ACTIONS}
    return action in {a.value for a in RERUN_ACTIONS}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def _time(value: str | float | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        from datetime import UTC

        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
