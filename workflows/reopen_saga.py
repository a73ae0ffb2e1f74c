"""Close-and-reopen as a saga: every step that succeeded is compensated if a later one fails.

It sees only the PR and its title (never the PR workflow): the lineage event it returns is journaled
by the decider; the replacement PR's own workflow is started by `lifecycle.deliver`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.activities import ActivityRef
    from contracts.pr import BranchArgs, CloseArgs, ReopenArgs
    from domain.pr_healing.effects import StrategyOutcome
    from domain.pr_healing.events import EventSource, EventType, PREvent, PRRef
    from domain.pr_healing.facts import opened_key
    from workflows.calls import call


async def close_and_reopen(pr: PRRef, title: str) -> StrategyOutcome:
    """Replace a conflicting PR with a fresh one from the latest base; raises after compensating."""
    duplicate = await call(catalogue.FIND_DUPLICATE, ReopenArgs(pr=pr))
    if duplicate is not None:
        return StrategyOutcome(ok=False, detail=f"refused: #{duplicate} already carries this change")
    compensations: list[tuple[ActivityRef[Any, Any], Any]] = []
    try:
        branch = await call(catalogue.CREATE_BRANCH, ReopenArgs(pr=pr))
        compensations.append((catalogue.DELETE_BRANCH, BranchArgs(pr=pr, branch=branch)))
        await call(catalogue.COPY_CHANGE, BranchArgs(pr=pr, branch=branch))
        opened = await call(catalogue.OPEN_PR, BranchArgs(pr=pr, branch=branch))
        new = PRRef(repo=pr.repo, number=opened.number)
        comment = f"Closed by Mender: replacing #{pr.number} failed."
        compensations.append((catalogue.CLOSE_PR, CloseArgs(pr=new, comment=comment)))
        start = PREvent(
            key=opened_key(opened.head_sha),
            pr=new,
            type=EventType.OPENED,
            source=EventSource.MENDER,
            occurred_at=workflow.now(),
            head_sha=opened.head_sha,
            details={"replaces": pr.number, "title": title, "html_url": opened.html_url},
        )
        await call(catalogue.DELIVER_EVENT, start)
        note = (
            f"Superseded by #{opened.number}: this PR conflicts with `{pr.repo}`'s base; "
            "Mender reopened the same change from the latest base."
        )
        await call(catalogue.CLOSE_PR, CloseArgs(pr=pr, comment=note))
    except ActivityError:
        for ref, arg in reversed(compensations):
            try:
                await call(ref, arg)
            except ActivityError as exc:
                workflow.logger.error("PR %s: compensation %s failed: %s", pr.key, ref.name, exc.cause)
        raise
    replaced = PREvent(
        key=f"replaced:{opened.number}",
        pr=pr,
        type=EventType.REPLACED,
        source=EventSource.MENDER,
        occurred_at=workflow.now(),
        details={"replaced_by": opened.number},
    )
    return StrategyOutcome(ok=True, detail=f"replaced by #{opened.number}", replaced=replaced)
