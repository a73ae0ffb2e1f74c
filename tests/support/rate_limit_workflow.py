"""A workflow making one GitHub call through `workflows.calls.call` (the rate-limit waits test)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from domain.pr_healing.events import PRRef
    from workflows.calls import call


@workflow.defn(name="RateLimitTest")
class RateLimitWorkflow:
    @workflow.run
    async def run(self, pr: PRRef) -> str:
        try:
            snapshot = await call(catalogue.FETCH_SNAPSHOT, pr)
        except ActivityError as exc:
            return f"failed: {exc.cause}"
        return f"read head {snapshot.head_sha[:7]}"
