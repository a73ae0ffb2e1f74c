"""The simulator's report (`Simulator.report()`, `GET /_sim/report`): per-PR outcomes, pipelines, outages,
deliveries.

Lineage is best effort: a PR whose body or comments say `Replaces #N` replaces PR N of the same repo,
and a PR whose body or comments say `Superseded by #M` is replaced by PR M (full PR URLs work too).
A pipeline's incidents are the plain issues of its repo whose title or body mention its run id (or
one of its job ids).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from simulators.github.model import Pipeline, PullRequest, fix_origin
from simulators.github.render import ts
from simulators.github.state import SimState

_REF = r"(?:[\w.-]+/[\w.-]+)?#(\d+)|\S*?/pulls?/(\d+)"
REPLACES = re.compile(rf"\breplaces:?\s+(?:{_REF})", re.IGNORECASE)
SUPERSEDED = re.compile(rf"\bsuperseded\s+by:?\s+(?:{_REF})", re.IGNORECASE)
DELIVERY_STATES = ("queued", "delivered", "failed", "dropped")


def _refs(pattern: re.Pattern[str], pr: PullRequest) -> list[int]:
    texts = [pr.body or "", *(comment.body for comment in pr.comments)]
    return [int(a or b) for text in texts for a, b in pattern.findall(text)]


def lineage(prs: list[PullRequest]) -> dict[str, dict[str, int | None]]:
    """`{pr.key: {"replaces": n, "replaced_by": m}}` from the PRs' bodies and comments."""
    links: dict[str, dict[str, int | None]] = {pr.key: {"replaces": None, "replaced_by": None} for pr in prs}

    def link(repo: str, old: int, new: int) -> None:
        if old == new:
            return
        if f"{repo}#{new}" in links:
            links[f"{repo}#{new}"]["replaces"] = old
        if f"{repo}#{old}" in links:
            links[f"{repo}#{old}"]["replaced_by"] = new

    for pr in prs:
        for old in _refs(REPLACES, pr):
            link(pr.repo, old, pr.number)
        for new in _refs(SUPERSEDED, pr):
            link(pr.repo, pr.number, new)
    return links


def ci_runs(state: SimState, pr: PullRequest) -> int:
    """Check suites run on the PR's head shas, each re-run counted."""
    repo = state.world.repos[pr.repo]
    return sum(
        suite.run_attempt for sha in dict.fromkeys(pr.shas) for suite in state.world.suites_for(repo, sha)
    )


def pr_row(state: SimState, pr: PullRequest, links: dict[str, int | None]) -> dict[str, Any]:
    return {
        "repo": pr.repo,
        "number": pr.number,
        "title": pr.title,
        "author": pr.user.login,
        "head_ref": pr.head_ref,
        "state": pr.outcome,
        "head_sha": pr.head_sha,
        "mergeable_state": state.world.mergeable_state(pr),
        "faults": list(pr.faults),
        "ci_runs": ci_runs(state, pr),
        "opened_at": ts(pr.created_at),
        "merged_at": ts(pr.merged_at),
        "merged_by": pr.merged_by.login if pr.merged_by else None,
        "closed_at": ts(pr.closed_at),
        "closed_by_api": pr.closed_by is not None and pr.closed_by.login == state.config.api_login,
        "replaces": links["replaces"],
        "replaced_by": links["replaced_by"],
    }


def pipeline_row(state: SimState, pipeline: Pipeline) -> dict[str, Any]:
    repo = state.world.repos[pipeline.repo]
    suite = repo.workflow_runs.get(pipeline.run_id) if pipeline.run_id is not None else None
    fix_prs = [
        pr for pr in repo.pulls.values() if pipeline.run_id and fix_origin(pr.head_ref) == pipeline.run_id
    ]
    fix_runs = [
        s.run_id for s in repo.suites.values() if s.pipeline == pipeline.index and s.run_id != pipeline.run_id
    ]
    incidents: list[int] = []
    if suite is not None:
        ids = [suite.run_id, *(job.id for attempt in [*suite.history, suite.runs] for job in attempt)]
        mention = re.compile(rf"\b(?:{'|'.join(map(str, ids))})\b")
        incidents = [n for n, i in sorted(repo.issues.items()) if mention.search(f"{i.title}\n{i.body}")]
    return {
        "pipeline": pipeline.index,
        "group": pipeline.group,
        "repo": pipeline.repo,
        "run_id": pipeline.run_id,
        "workflow": pipeline.workflow,
        "job": pipeline.job,
        "heals_on": pipeline.heals_on,
        "approve": pipeline.approve,
        "status": suite.status if suite else None,
        "conclusion": suite.conclusion if suite else None,
        "failed_at": ts(pipeline.failed_at),
        "attempts": suite.run_attempt if suite else 0,
        "reruns_requested": pipeline.reruns_requested,
        "fix_prs": [
            {
                "number": pr.number,
                "branch": pr.head_ref,
                "state": pr.state,
                "merged": pr.merged,
                "labels": [label.name for label in pr.labels],
            }
            for pr in fix_prs
        ],
        "after_merge_runs": [
            s.conclusion
            for s in sorted(repo.suites.values(), key=lambda s: s.id)
            if s.pipeline == pipeline.index
            and s.head_branch == repo.default_branch
            and s.run_id != pipeline.run_id
        ],
        "fix_merged_at": ts(pipeline.fix_merged_at),
        "reverted_at": ts(pipeline.reverted_at),
        "fix_runs": fix_runs,
        "incidents": incidents,
        "healed": pipeline.healed_at is not None,
        "healed_by": pipeline.healed_by,
        "healed_at": ts(pipeline.healed_at),
    }


def build_report(state: SimState) -> dict[str, Any]:
    """Call on the simulator's loop (`Simulator.report` takes care of that)."""
    prs = sorted(state.world.all_prs(), key=lambda pr: pr.id)
    links = lineage(prs)
    rows = [pr_row(state, pr, links[pr.key]) for pr in prs]
    states = Counter(row["state"] for row in rows)
    deliveries = Counter(record.status for record in state.deliverer.log)
    return {
        "prs": rows,
        "pipelines": [pipeline_row(state, pipeline) for pipeline in state.world.pipelines],
        "totals": {"prs": len(rows), **{s: states.get(s, 0) for s in ("open", "merged", "closed")}},
        "deliveries": {
            "total": len(state.deliverer.log),
            **{s: deliveries.get(s, 0) for s in DELIVERY_STATES},
        },
        "outages": state.faults.world.report(),
        "webhook_loss_rate": state.faults.world.loss_rate,
        "fault_decisions": list(state.faults.decisions),
    }
