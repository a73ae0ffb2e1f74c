"""The side effects of `CIFailureWorkflow`, one activity call each (deterministic workflow code only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.audit_calls import audit
from workflows.calls import call

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.activities import ActivityRef
    from contracts.ci import (
        BranchQuery,
        CIPolicy,
        CIRecordUpdate,
        CIStatus,
        FixArgs,
        FixResult,
        FixVerdict,
        IncidentArgs,
        IncidentResult,
        LLMRequest,
        RerunResult,
        RunAnalysis,
    )
    from domain.ci_healing.approval import ApprovalDecision, ApprovalRequest
    from domain.ci_healing.approval_messages import ApprovalResolution, PostedMessage, StageNotice
    from domain.ci_healing.config import Stage
    from domain.ci_healing.runs import CIRunEvent, CIRunRef
    from domain.diagnosis.verdict import Source
    from domain.shared.audit import AuditEntry


class CISteps:
    """Activity calls for one run; failures of best-effort steps (notices, audit) never stop healing."""

    def __init__(self, run: CIRunRef) -> None:
        self.run = run

    async def policy(self) -> CIPolicy:
        """The CI settings for this project as configured right now."""
        return await call(catalogue.CI_POLICY, self.run.project)

    async def analyse(self, policy: CIPolicy) -> RunAnalysis:
        """Fetch, redact, distill and diagnose the failed jobs' logs; ask the LLM when rules are unsure."""
        analysis = await call(catalogue.ANALYSE_RUN, self.run)
        rule = analysis.diagnosis
        unsure = rule.source is Source.FALLBACK or rule.confidence < policy.ci.risk.confidence_floor
        if not (policy.ci.llm.enabled and unsure):
            return analysis
        request = LLMRequest(
            distilled=analysis.distilled,
            project=self.run.project,
            provider=self.run.provider.value,
            rule=rule,
        )
        timeout = timedelta(seconds=policy.ci.llm.timeout_seconds * 2 + 10)  # the configured model timeout
        diagnosis = await call(catalogue.LLM_ANALYSE, request, start_to_close_timeout=timeout)
        return analysis.model_copy(update={"diagnosis": diagnosis})

    async def rerun(self) -> RerunResult:
        return await call(catalogue.RERUN, self.run)

    async def poll(self, fix_branch: str | None) -> CIRunEvent | None:
        """The latest state of the run (or of the fix branch's newest run), for when a webhook is lost."""
        try:
            if fix_branch:
                return await call(catalogue.BRANCH_STATUS, BranchQuery(run=self.run, branch=fix_branch))
            return await call(catalogue.RUN_STATUS, self.run)
        except ActivityError as exc:
            workflow.logger.warning("poll of %s failed: %s", self.run.key, exc.cause or exc)
            return None

    async def open_fix(self, analysis: RunAnalysis, attempt: int) -> FixResult:
        args = FixArgs(
            run=self.run,
            diagnosis=analysis.diagnosis,
            attempt=attempt,
            head_branch=analysis.head_branch,
            run_url=analysis.run_url,
        )
        return await call(catalogue.OPEN_FIX, args)

    async def report_fix(self, fix: FixResult, passed: bool, detail: str) -> None:
        await self._best_effort(
            catalogue.REPORT_FIX, FixVerdict(run=self.run, fix=fix, passed=passed, detail=detail)
        )

    async def rollback(self, fix: FixResult) -> None:
        """Compensation of a failed fix: close its PR and delete its branch."""
        await call(catalogue.ROLLBACK, FixVerdict(run=self.run, fix=fix, passed=False, detail=""))

    async def incident(self, analysis: RunAnalysis, attempts: list[str]) -> IncidentResult:
        args = IncidentArgs(
            run=self.run,
            run_url=analysis.run_url,
            diagnosis=analysis.diagnosis,
            distilled=analysis.distilled,
            attempts=attempts,
        )
        return await call(catalogue.OPEN_INCIDENT, args)

    async def request_approval(self, request: ApprovalRequest) -> PostedMessage | None:
        """Post the approval message; None when Slack refused it (the timeout still escalates)."""
        try:
            return await call(catalogue.REQUEST_APPROVAL, request)
        except ActivityError as exc:
            workflow.logger.warning("approval request for %s not posted: %s", self.run.key, exc.cause or exc)
            return None

    async def resolve_approval(
        self,
        request: ApprovalRequest,
        posted: PostedMessage | None,
        outcome: str,
        answer: ApprovalDecision | None,
    ) -> None:
        """Update the approval message with the outcome (and escalate to the critical channel on timeout)."""
        resolution = ApprovalResolution(
            request=request,
            channel=posted.channel if posted else None,
            ts=posted.ts if posted else None,
            outcome=outcome,
            by=answer.approver if answer else None,
            at=answer.decided_at if answer else workflow.now(),
        )
        await self._best_effort(catalogue.RESOLVE_APPROVAL, resolution)

    async def notify(
        self, stage: Stage, policy: CIPolicy, summary: str, run_url: str, analysis: RunAnalysis | None = None
    ) -> None:
        details: list[str] = []
        if analysis is not None:
            d = analysis.diagnosis
            details = [
                f"category: {d.category.value}, action: {d.action.value}",
                f"risk {d.risk_score} ({d.tier.value}), confidence {d.confidence}",
                f"key line: {d.key_line}",
            ]
        notice = StageNotice(
            stage=stage,
            project=self.run.project,
            run_id=str(self.run.run_id),
            run_url=run_url,
            summary=summary,
            details=details,
        )
        await self._best_effort(catalogue.NOTIFY_STAGE, notice)

    async def audit(self, action: str, outcome: str, details: dict[str, Any], actor: str = "mender") -> None:
        """One audit row about this run (never fails the workflow)."""
        await audit(
            AuditEntry(
                action=action,
                actor=actor,
                outcome=outcome,
                target=self.run.workflow_id,
                repository=self.run.project,
                details=details,
            )
        )

    async def record(self, state: CIStatus, analysis: RunAnalysis) -> None:
        """Write the run's outcome to the store (the queryable projection)."""
        await self._best_effort(
            catalogue.RECORD_CI, CIRecordUpdate(status=state, distilled=analysis.distilled)
        )

    async def record_status(self, state: CIStatus) -> None:
        """Write the run's status alone (no analysis: the run was handed over before one existed)."""
        await self._best_effort(catalogue.RECORD_CI, CIRecordUpdate(status=state))

    async def _best_effort(self, ref: ActivityRef[Any, Any], arg: Any) -> None:
        try:
            await call(ref, arg)
        except ActivityError as exc:
            workflow.logger.warning("%s for %s failed: %s", ref.name, self.run.key, exc.cause or exc)
