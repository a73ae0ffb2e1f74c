"""Carrying out the fix PR decider's effects: each effect is one activity call or a log line.

`perform` returns the result of an effect that feeds back (an `ActivityFailed` when its activity failed
after its retries); best-effort effects (the review notice, the backlog check, the audit) never fail the
workflow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.activities import ActivityRef
    from contracts.ci import FIX_ROUTED_SIGNAL, FixPRRouted
    from contracts.fixpr import (
        CloseFixArgs,
        DefaultRunQuery,
        FixPRInput,
        PublishArgs,
        RevertArgs,
        ReviewResolution,
        ScanArgs,
        SettleArgs,
    )
    from domain.ci_healing.effects import ActivityFailed
    from domain.ci_healing.fixpr_effects import (
        AnnounceReview,
        AuditFixPR,
        CheckBacklog,
        CloseFix,
        EnableAutoMerge,
        EnqueueReview,
        FixPREffect,
        FixPRLog,
        HoldRun,
        LoadFixSettings,
        LoadPrior,
        MergeFix,
        PublishEvidence,
        ReadChecks,
        ReadDefaultRun,
        ResolveReview,
        RevertFix,
        ScanFix,
        SettleRun,
        TellRun,
    )
    from domain.shared.audit import AuditEntry
    from workflows.audit_calls import audit
    from workflows.calls import call


class FixPREffectRunner:
    """Runs the effects of one fix PR's workflow."""

    def __init__(self, input: FixPRInput) -> None:
        self.input = input
        self.pr = input.pr
        self.local = True  # store, configuration and audit calls as local activities (older runs)

    async def perform(self, effect: FixPREffect) -> Any:
        if isinstance(effect, FixPRLog):
            getattr(workflow.logger, effect.level)(effect.message)
            return None
        if isinstance(effect, AuditFixPR):
            entry = AuditEntry(
                action=effect.action,
                actor=effect.actor,
                outcome=effect.outcome,
                target=self.pr.workflow_id,
                repository=self.pr.project,
                details=effect.details,
            )
            await audit(entry, local=self.local)
            return None
        if isinstance(effect, AnnounceReview):
            return await self._best_effort(catalogue.REVIEW_ANNOUNCE, effect.item)
        if isinstance(effect, CheckBacklog):
            return await self._best_effort(catalogue.REVIEW_BACKLOG)
        if isinstance(effect, HoldRun):
            return await self._best_effort(catalogue.REVIEW_HOLD_RUN, self.pr.run.workflow_id)
        if isinstance(effect, SettleRun):
            args = SettleArgs(workflow_id=self.pr.run.workflow_id, outcome=effect.outcome.value)
            return await self._best_effort(catalogue.REVIEW_SETTLE_RUN, args)
        if isinstance(effect, TellRun):
            return await self._tell_run(effect)
        if isinstance(effect, EnableAutoMerge):
            return await self._best_effort(catalogue.FIX_PR_MERGE_AFTER_APPROVAL, self.pr)
        ref, arg, options = self._call(effect)
        try:
            return await call(ref, arg, local=self.local, **options)
        except ActivityError as exc:
            return ActivityFailed(activity=exc.activity_type or "", reason=str(exc.cause or exc))

    def _call(self, effect: FixPREffect) -> tuple[ActivityRef[Any, Any], Any, dict[str, Any]]:
        """The activity an effect that feeds back runs, its argument and any option of its own."""
        pr = self.pr
        if isinstance(effect, LoadFixSettings):
            return catalogue.FIX_PR_SETTINGS, pr.project, {}
        if isinstance(effect, ReadChecks):
            return catalogue.FIX_PR_CHECKS, pr, {}
        if isinstance(effect, ScanFix):
            args = ScanArgs(
                pr=pr,
                head_sha=effect.head_sha,
                base=effect.base,
                files=self.input.files,
                config=effect.config,
            )
            return (
                catalogue.FIX_PR_SCAN,
                args,
                {"start_to_close_timeout": timedelta(seconds=effect.timeout_seconds)},
            )
        if isinstance(effect, LoadPrior):
            return catalogue.PLAYBOOK_PRIOR, effect.playbook, {}
        if isinstance(effect, PublishEvidence):
            args = PublishArgs(pr=pr, section=effect.section, label=effect.label, comment=effect.comment)
            return catalogue.FIX_PR_PUBLISH, args, {}
        if isinstance(effect, MergeFix):
            return catalogue.FIX_PR_MERGE, pr, {}
        if isinstance(effect, CloseFix):
            return catalogue.FIX_PR_CLOSE, CloseFixArgs(pr=pr, reason=effect.reason), {}
        if isinstance(effect, EnqueueReview):
            return catalogue.REVIEW_ENQUEUE, effect.item, {}
        if isinstance(effect, ResolveReview):
            resolution = ReviewResolution(
                workflow_id=pr.workflow_id,
                status=effect.status.value,
                by=effect.by,
                reason=effect.reason,
                at=effect.at,
            )
            return catalogue.REVIEW_RESOLVE, resolution, {}
        if isinstance(effect, ReadDefaultRun):
            return catalogue.FIX_PR_DEFAULT_RUN, DefaultRunQuery(pr=pr, merge_sha=effect.merge_sha), {}
        if isinstance(effect, RevertFix):
            args = RevertArgs(
                pr=pr,
                merge_sha=effect.merge_sha,
                reason=effect.reason,
                files=self.input.files,
                playbook=self.input.diagnosis.playbook,
            )
            return catalogue.FIX_PR_REVERT, args, {}
        raise TypeError(f"no way to perform {type(effect).__name__}")

    async def _tell_run(self, effect: TellRun) -> None:
        """Signal the fixed run's CI failure workflow (it may have ended already: nothing to tell then)."""
        routed = FixPRRouted(
            number=self.pr.number, url=self.pr.url, route=effect.route, reasons=list(effect.reasons)
        )
        run = workflow.get_external_workflow_handle(self.pr.run.workflow_id)
        try:
            await run.signal(FIX_ROUTED_SIGNAL, routed)
        except FailureError as exc:
            workflow.logger.info("route of %s not told to %s: %s", self.pr.workflow_id, run.id, exc)

    async def _best_effort(self, ref: ActivityRef[Any, Any], *arg: Any) -> None:
        """A notice or check that must not stop the fix PR's workflow when it fails."""
        try:
            await call(ref, *arg, local=self.local)
        except ActivityError as exc:
            workflow.logger.warning("%s for %s failed: %s", ref.name, self.pr.workflow_id, exc.cause or exc)
