"""Carrying out the CI decider's effects: each effect is one activity call, a timer or a log line.

`perform` returns the result of an effect that feeds back (an `ActivityFailed` when its activity failed
after its retries); best-effort effects (notices, audit, fix reports, approval updates, the store
projection) never fail the workflow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.activities import ActivityRef
    from contracts.ci import (
        BranchQuery,
        CIRecordUpdate,
        FixArgs,
        FixVerdict,
        FlakeQuery,
        IncidentArgs,
        LLMRequest,
    )
    from domain.ci_healing.approval_messages import ApprovalResolution, StageNotice
    from domain.ci_healing.config import Stage
    from domain.ci_healing.effects import (
        ActivityFailed,
        AnalyseRun,
        Announce,
        AskApproval,
        AskModel,
        AuditRun,
        CIEffect,
        FixPROpened,
        LoadPolicy,
        LogLine,
        LookUpFlakes,
        NotifyOwners,
        OpenFixPR,
        OpenFlakeFix,
        OpenIncident,
        Pause,
        PollRun,
        RecordRun,
        RecordTests,
        ReportFix,
        RequestRerun,
        ResolveApproval,
        RollBackFix,
    )
    from domain.ci_healing.runs import CIRunRef
    from domain.shared.audit import AuditEntry
    from workflows.audit_calls import audit
    from workflows.calls import call
    from workflows.fix_pr import start_fix_pr


class CIEffectRunner:
    """Runs the effects of one CI failure workflow."""

    def __init__(self, run: CIRunRef) -> None:
        self.run = run
        self.local = True  # store, configuration and audit calls as local activities (older runs)

    async def perform(self, effect: CIEffect) -> Any:
        if isinstance(effect, LogLine):
            getattr(workflow.logger, effect.level)(effect.message)
            return None
        if isinstance(effect, Pause):
            await workflow.sleep(timedelta(seconds=effect.seconds))
            return None
        if isinstance(effect, AuditRun):
            entry = AuditEntry(
                action=effect.action,
                actor=effect.actor,
                outcome=effect.outcome,
                target=self.run.workflow_id,
                repository=self.run.project,
                details=effect.details,
            )
            await audit(entry, local=self.local)
            return None
        if isinstance(effect, FixPROpened):
            workflow.logger.info("CI run %s: fix PR %s opened", self.run.key, effect.fix.pr_url)
            if effect.analysis is not None and effect.policy is not None:
                await start_fix_pr(
                    self.run,
                    effect.analysis,
                    effect.fix,
                    effect.policy,
                    effect.plan_approved,
                    effect.follow_up,
                )
            return None
        if not effect.feeds_back:
            ref, arg = self._best_effort_call(effect)
            return await self._best_effort(ref, arg)
        ref, arg, options = self._call(effect)
        try:
            return await call(ref, arg, local=self.local, **options)
        except ActivityError as exc:
            return ActivityFailed(activity=exc.activity_type or "", reason=str(exc.cause or exc))

    def _call(self, effect: CIEffect) -> tuple[ActivityRef[Any, Any], Any, dict[str, Any]]:
        """The activity an effect that feeds back runs, its argument and any option of its own."""
        run = self.run
        if isinstance(effect, LoadPolicy):
            return catalogue.CI_POLICY, run.project, {}
        if isinstance(effect, AnalyseRun):
            return catalogue.ANALYSE_RUN, run, {}
        if isinstance(effect, AskModel):
            request = LLMRequest(
                distilled=effect.distilled,
                project=run.project,
                provider=run.provider.value,
                rule=effect.rule,
                failed_step=effect.failed_step,
                passing_diff=list(effect.passing_diff),
            )
            return (
                catalogue.LLM_ANALYSE,
                request,
                {"start_to_close_timeout": timedelta(seconds=effect.timeout_seconds)},
            )
        if isinstance(effect, RequestRerun):
            return catalogue.RERUN, run, {}
        if isinstance(effect, PollRun):
            if effect.fix_branch:
                return catalogue.BRANCH_STATUS, BranchQuery(run=run, branch=effect.fix_branch), {}
            return catalogue.RUN_STATUS, run, {}
        if isinstance(effect, OpenFixPR):
            args = FixArgs(
                run=run,
                diagnosis=effect.diagnosis,
                attempt=effect.attempt,
                head_branch=effect.head_branch,
                run_url=effect.run_url,
            )
            return catalogue.OPEN_FIX, args, {}
        if isinstance(effect, LookUpFlakes):
            return catalogue.FLAKE_HISTORY, FlakeQuery(project=run.project, tests=list(effect.tests)), {}
        if isinstance(effect, OpenFlakeFix):
            args = FixArgs(
                run=run,
                diagnosis=effect.diagnosis,
                attempt=1,
                head_branch=effect.head_branch,
                run_url=effect.run_url,
            )
            return catalogue.OPEN_FIX, args, {}
        if isinstance(effect, RollBackFix):
            return catalogue.ROLLBACK, FixVerdict(run=run, fix=effect.fix, passed=False, detail=""), {}
        if isinstance(effect, OpenIncident):
            args = IncidentArgs(
                run=run,
                run_url=effect.run_url,
                diagnosis=effect.diagnosis,
                distilled=effect.distilled,
                attempts=list(effect.attempts),
            )
            return catalogue.OPEN_INCIDENT, args, {}
        if isinstance(effect, AskApproval):
            return catalogue.REQUEST_APPROVAL, effect.request, {}
        raise TypeError(f"no way to perform {type(effect).__name__}")

    def _best_effort_call(self, effect: CIEffect) -> tuple[ActivityRef[Any, Any], Any]:
        run = self.run
        if isinstance(effect, Announce):
            return catalogue.NOTIFY_STAGE, self._notice(effect)
        if isinstance(effect, ReportFix):
            return catalogue.REPORT_FIX, FixVerdict(
                run=run, fix=effect.fix, passed=effect.passed, detail=effect.detail
            )
        if isinstance(effect, ResolveApproval):
            posted, answer = effect.posted, effect.answer
            resolution = ApprovalResolution(
                request=effect.request,
                channel=posted.channel if posted else None,
                ts=posted.ts if posted else None,
                outcome=effect.outcome,
                by=answer.approver if answer else None,
                at=effect.at,
            )
            return catalogue.RESOLVE_APPROVAL, resolution
        if isinstance(effect, RecordRun):
            return catalogue.RECORD_CI, CIRecordUpdate(status=effect.status, distilled=effect.distilled)
        if isinstance(effect, RecordTests):
            return catalogue.RECORD_TESTS, effect.report
        if isinstance(effect, NotifyOwners):
            return catalogue.NOTIFY_STAGE, self._owners_notice(effect)
        raise TypeError(f"no way to perform {type(effect).__name__}")

    def _owners_notice(self, effect: NotifyOwners) -> StageNotice:
        score = effect.score
        owners = " ".join(effect.owners) or "the repository's owners"
        return StageNotice(
            stage=Stage.ANALYSED,
            project=self.run.project,
            run_id=str(self.run.run_id),
            run_url=effect.run_url,
            summary=f"Flaky test {score.test} (score {score.score:g}), for {owners}",
            details=[*score.reasons, f"{score.failures} failures in {score.runs} runs"],
        )

    def _notice(self, effect: Announce) -> StageNotice:
        details: list[str] = []
        if effect.analysis is not None:
            d = effect.analysis.diagnosis
            details = [
                f"category: {d.category.value}, action: {d.action.value}",
                f"risk {d.risk_score} ({d.tier.value}), confidence {d.confidence}",
                f"key line: {d.key_line}",
            ]
        return StageNotice(
            stage=effect.stage,
            project=self.run.project,
            run_id=str(self.run.run_id),
            run_url=effect.run_url,
            summary=effect.summary,
            details=details,
        )

    async def _best_effort(self, ref: ActivityRef[Any, Any], arg: Any) -> None:
        try:
            await call(ref, arg, local=self.local)
        except ActivityError as exc:
            workflow.logger.warning("%s for %s failed: %s", ref.name, self.run.key, exc.cause or exc)
