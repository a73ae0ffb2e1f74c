"""The fix PR side of `mender simulate`: wait for each fix PR's workflow to settle, then report it.

Report contract (`ci.fix_prs`): total, by_route {merge, auto_merge, review, blocked}, by_outcome,
merged, proposed (merge on approval, waiting), queued, blocked, reverted, high_severity_merged (must be
0), reverts_restored_green (reverted fixes whose default branch passed again), and per PR `prs` rows
(workflow_id, number, repo, playbook, route, outcome, score, merged, high_severity, after_merge_runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.fixpr import FIXPR_STATUS_QUERY, FixPRStatus, fixpr_workflow_id
from simulators.github import Simulator
from store.ci_failures import list_ci_failures

ReviewAnswer = Callable[[dict[str, Any]], bool | None]  # a pipeline row -> its scripted review answer

WAITING_STAGES = ("waiting for one approval",)  # settled for a report: only a human moves it on


def fix_prs(github: Simulator) -> list[dict[str, Any]]:
    """Every Mender fix PR of the simulator's pipelines, with its pipeline row."""
    return [
        {
            **pr,
            "repo": row["repo"],
            "pipeline": row,
            "workflow_id": fixpr_workflow_id(row["repo"], pr["number"]),
        }
        for row in github.report().get("pipelines", [])
        for pr in row.get("fix_prs", [])
    ]


async def _status(client: Client, workflow_id: str) -> FixPRStatus | None:
    try:
        return await client.get_workflow_handle(workflow_id).query(
            FIXPR_STATUS_QUERY, result_type=FixPRStatus
        )
    except RPCError:
        return None  # not started (yet), or no fix PR workflow for it


def settled(status: FixPRStatus | None, pr: dict[str, Any], answered: bool = False) -> bool:
    """Done, or waiting for a human who will not come (`answered`: a scripted review answer will)."""
    if status is None:
        return pr["state"] != "open"  # rolled back by its CI workflow before a fix PR workflow ran
    if status.stage == "done":  # a merged revert: settled once the default branch ran after it
        return not (
            status.outcome == "reverted" and pr["pipeline"].get("after_merge_runs", [])[-1:] == [None]
        )
    if status.stage in WAITING_STAGES:
        return True
    return status.outcome == "blocked" or (status.outcome == "queued" and not answered)


async def unsettled(client: Client, github: Simulator, review: ReviewAnswer | None = None) -> list[str]:
    """Fix PR workflows still working (waiting for checks, merging, watching, reverting)."""
    waiting = []
    for pr in fix_prs(github):
        answered = review is not None and review(pr["pipeline"]) is not None
        if not settled(await _status(client, pr["workflow_id"]), pr, answered):
            waiting.append(pr["workflow_id"])
    return waiting


async def report(client: Client, github: Simulator, engine: Engine | None = None) -> dict[str, Any]:
    playbooks = {r.workflow_id: r.playbook for r in list_ci_failures(engine, limit=100_000)} if engine else {}
    rows = []
    for pr in fix_prs(github):
        status = await _status(client, pr["workflow_id"])
        route = status.decision.route.value if status and status.decision else None
        findings = status.evidence.blocking_findings if status and status.evidence else []
        rows.append(
            {
                "workflow_id": pr["workflow_id"],
                "number": pr["number"],
                "repo": pr["repo"],
                "playbook": playbooks.get(f"ci/github/{pr['repo']}/{pr['pipeline'].get('run_id')}"),
                "route": route,
                "outcome": (status.outcome if status else None) or (status.stage if status else pr["state"]),
                "score": status.confidence.score if status and status.confidence else None,
                "merged": pr["merged"],
                "high_severity": bool(findings),
                "after_merge_runs": pr["pipeline"].get("after_merge_runs", []),
            }
        )
    by_route: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    for row in rows:
        by_route[row["route"] or "none"] = by_route.get(row["route"] or "none", 0) + 1
        by_outcome[row["outcome"] or "none"] = by_outcome.get(row["outcome"] or "none", 0) + 1
    reverted = [r for r in rows if r["outcome"] == "reverted"]
    return {
        "total": len(rows),
        "by_route": dict(sorted(by_route.items())),
        "by_outcome": dict(sorted(by_outcome.items())),
        "merged": sum(1 for r in rows if r["merged"] and r["outcome"] != "reverted"),
        "proposed": sum(1 for r in rows if r["route"] == "auto_merge" and not r["merged"]),
        "queued": sum(1 for r in rows if r["route"] == "review" and not r["merged"]),
        "blocked": sum(1 for r in rows if r["route"] == "blocked"),
        "reverted": len(reverted),
        "high_severity_merged": sum(1 for r in rows if r["high_severity"] and r["merged"]),
        "reverts_restored_green": sum(1 for r in reverted if r["after_merge_runs"][-1:] == ["success"]),
        "prs": rows,
    }
