"""Close-and-reopen as a saga: every step that succeeded is compensated if a later one fails."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.pr import BranchArgs, CloseArgs, OpenedPR, ReopenArgs, StrategyResult
    from domain.pr_healing.events import EventSource, EventType, PREvent, PRRef
    from domain.pr_healing.facts import opened_key

if TYPE_CHECKING:
    from workflows.pr_lifecycle import PRLifecycleWorkflow


async def close_and_reopen(wf: PRLifecycleWorkflow, title: str) -> StrategyResult:
    """Replace a conflicting PR with a fresh one from the latest base; raises after compensating."""
    pr = wf.lifecycle.pr

    async def step(name: str, arg: Any, result_type: type | None = None) -> Any:
        return await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
        )

    duplicate = await step("reopen.find_duplicate", ReopenArgs(pr=pr), int)
    if duplicate is not None:
        return StrategyResult(ok=False, detail=f"refused: #{duplicate} already carries this change")
    compensations: list[tuple[str, Any]] = []
    try:
        branch = await step("reopen.create_branch", ReopenArgs(pr=pr), str)
        compensations.append(("reopen.delete_branch", BranchArgs(pr=pr, branch=branch)))
        await step("reopen.copy_change", BranchArgs(pr=pr, branch=branch), int)
        opened: OpenedPR = await step("reopen.open_pr", BranchArgs(pr=pr, branch=branch), OpenedPR)
        new = PRRef(repo=pr.repo, number=opened.number)
        compensations.append(
            (
                "reopen.close_pr",
                CloseArgs(pr=new, comment=f"Closed by Mender: replacing #{pr.number} failed."),
            )
        )
        lineage = {"replaces": pr.number, "title": title, "html_url": opened.html_url}
        start = PREvent(
            key=opened_key(opened.head_sha),
            pr=new,
            type=EventType.OPENED,
            source=EventSource.MENDER,
            occurred_at=workflow.now(),
            head_sha=opened.head_sha,
            details=lineage,
        )
        await step("lifecycle.deliver", start, str)
        replaced = PREvent(
            key=f"replaced:{opened.number}",
            pr=pr,
            type=EventType.REPLACED,
            source=EventSource.MENDER,
            occurred_at=workflow.now(),
            details={"replaced_by": opened.number},
        )
        await wf.fold([replaced])
        comment = f"Superseded by #{opened.number}: this PR conflicts with `{pr.repo}`'s base; Mender reopened the same change from the latest base."
        await step("reopen.close_pr", CloseArgs(pr=pr, comment=comment))
    except ActivityError:
        for name, arg in reversed(compensations):
            try:
                await step(name, arg)
            except ActivityError as exc:
                workflow.logger.error("PR %s: compensation %s failed: %s", pr.key, name, exc.cause)
        raise
    return StrategyResult(ok=True, detail=f"replaced by #{opened.number}")
