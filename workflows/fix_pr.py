"""One long-lived workflow per fix PR: wait for its checks, score the evidence, route it, watch the merge.

Id `fixpr/<project>/<number>`; started by the CI failure workflow when its fix PR is open
(`start_fix_pr`). Rules are pure (`domain/ci_healing/evidence`, `confidence`, `fixpr`); every side
effect is a catalogued activity. The checks are polled (`ci.fix_prs.poll_seconds`) or looked at at once
on the `nudge` signal; a human's review arrives as the `review` signal (CLI, Admin API, Slack).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.audit_calls import audit
from workflows.calls import call

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.ci import CIPolicy, FixResult, RunAnalysis
    from contracts.fixpr import (
        FIXPR_STATUS_QUERY,
        FIXPR_WORKFLOW,
        NUDGE_SIGNAL,
        REVIEW_SIGNAL,
        ChecksSnapshot,
        CloseFixArgs,
        DefaultRunQuery,
        FixPRInput,
        FixPRRef,
        FixPRSettings,
        FixPRStatus,
        PublishArgs,
        RevertArgs,
        ReviewResolution,
        ScanArgs,
    )
    from domain.ci_healing.confidence import confidence
    from domain.ci_healing.evidence import ScanReport, collect
    from domain.ci_healing.fixpr import AfterMerge, FixPRDecision, Route, after_merge, approval_route, decide
    from domain.ci_healing.fixpr_body import evidence_section
    from domain.ci_healing.review_queue import ReviewDecision, ReviewItem, ReviewStatus
    from domain.ci_healing.risk import gate
    from domain.ci_healing.runs import CIRunRef, Conclusion, Provider
    from domain.shared.audit import AuditAction, AuditEntry

MAX_EVENTS = 100


@workflow.defn(name=FIXPR_WORKFLOW)
class FixPRWorkflow:
    """Earn the fix PR its merge, or hand it to a human with the evidence."""

    @workflow.init
    def __init__(self, input: FixPRInput) -> None:
        self.input = input
        self.pr = input.pr
        self.state = FixPRStatus(pr=input.pr)
        self.awaiting_review = False
        self.review: ReviewDecision | None = None
        self.nudged = False

    @workflow.signal(name=REVIEW_SIGNAL)
    def on_review(self, decision: ReviewDecision) -> None:
        """A human's approval or rejection; only the first one while the PR is queued counts."""
        if self.awaiting_review and self.review is None:
            self.review = decision

    @workflow.signal(name=NUDGE_SIGNAL)
    def nudge(self) -> None:
        self.nudged = True

    @workflow.query(name=FIXPR_STATUS_QUERY)
    def status(self) -> FixPRStatus:
        return self.state

    @workflow.run
    async def run(self, input: FixPRInput) -> FixPRStatus:
        try:
            return await self._run()
        except ActivityError as exc:
            reason = f"{getattr(exc, 'activity_type', None) or 'an activity'} failed: {exc.cause or exc}"[
                :500
            ]
            workflow.logger.error("fix PR %s handed to humans: %s", self.pr.workflow_id, reason)
            await self._audit("failed", {"detail": reason})
            return self._end(f"failed: {reason}")

    async def _run(self) -> FixPRStatus:
        settings: FixPRSettings = await call(catalogue.FIX_PR_SETTINGS, self.pr.project)
        policy = settings.policy
        snap = await self._await_checks(settings)
        if snap.state != "open":
            return self._end(f"{snap.state} outside Mender")
        scan = await self._scan(settings, snap)
        prior = await call(catalogue.PLAYBOOK_PRIOR, self.input.diagnosis.playbook or "")
        required = set(self.input.failed_jobs)
        checks = [c.model_copy(update={"required": c.name in required}) for c in snap.checks]
        evidence = collect(checks, policy.checks, policy.absent, scan, self.input.failed_jobs)
        scored = confidence(evidence, policy.weights, prior)
        verdict = gate(self.input.diagnosis, self.pr.project, settings.risk)
        protected = self.pr.project in settings.risk.protected_repositories
        decision = decide(scored, evidence, verdict, policy, protected, self.input.plan_approved)
        self.state.evidence, self.state.confidence, self.state.decision = evidence, scored, decision
        self.state.stage = decision.route.value
        section = evidence_section(scored, evidence, decision, snap.verified)
        await call(catalogue.FIX_PR_PUBLISH, PublishArgs(pr=self.pr, section=section, label=decision.label))
        await self._audit(decision.route.value, {"score": scored.score, "reasons": decision.reasons})
        if decision.route is Route.MERGE:
            return await self._merge(settings, "merged")
        if decision.route is Route.AUTO_MERGE:
            return await self._merge_on_approval(settings)
        return await self._queue(settings, decision)

    async def _await_checks(self, settings: FixPRSettings) -> ChecksSnapshot:
        """The PR once every check of its head finished (or closed, or as it is at the timeout)."""
        deadline = workflow.now() + timedelta(seconds=settings.policy.pipeline_timeout_seconds)
        while True:
            snap: ChecksSnapshot = await call(catalogue.FIX_PR_CHECKS, self.pr)
            if snap.state != "open" or snap.done or workflow.now() >= deadline:
                return snap
            await self._pause(settings, deadline)

    async def _pause(self, settings: FixPRSettings, deadline: Any, review: bool = False) -> None:
        """Until the next poll, a nudge, or (with `review`) a human's review."""
        self.nudged = False
        left = max(1.0, (deadline - workflow.now()).total_seconds())
        wait = timedelta(seconds=min(settings.policy.poll_seconds, left))
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self.nudged or (review and self.review is not None), timeout=wait
            )

    async def _scan(self, settings: FixPRSettings, snap: ChecksSnapshot) -> ScanReport | None:
        config = settings.policy.scan
        if not config.enabled:
            return None
        args = ScanArgs(
            pr=self.pr, head_sha=snap.head_sha, base=snap.base, files=self.input.files, config=config
        )
        try:
            return await call(
                catalogue.FIX_PR_SCAN,
                args,
                start_to_close_timeout=timedelta(seconds=config.timeout_seconds + 30),
            )
        except ActivityError as exc:
            return ScanReport(ran=False, detail=f"the scan failed: {exc.cause or exc}"[:300])

    async def _merge(self, settings: FixPRSettings, outcome: str, requeue: bool = True) -> FixPRStatus:
        """Merge and watch; a refused merge goes to the review queue (or, after a review, to humans)."""
        result = await call(catalogue.FIX_PR_MERGE, self.pr)
        if not result.merged or not result.sha:
            await self._audit("merge_refused", {"detail": result.detail})
            if not requeue:
                return self._end(f"merge refused: {result.detail}"[:300])
            return await self._queue(settings, FixPRDecision(route=Route.REVIEW, reasons=[result.detail]))
        self.state.merge_sha = result.sha
        await self._audit("merged", {"sha": result.sha})
        return await self._watch(settings, result.sha, outcome)

    async def _merge_on_approval(self, settings: FixPRSettings) -> FixPRStatus:
        """Merge after one approving review on GitHub (or an approval through Mender's review queue)."""
        self.state.stage = "waiting for one approval"
        self.awaiting_review = True
        deadline = workflow.now() + timedelta(seconds=settings.policy.review_timeout_seconds)
        while workflow.now() < deadline:
            snap: ChecksSnapshot = await call(catalogue.FIX_PR_CHECKS, self.pr)
            if snap.state != "open":
                return self._end(f"{snap.state} outside Mender")
            if snap.approvals or (self.review is not None and self.review.approved):
                self.awaiting_review = False
                return await self._merge(settings, "merged on approval", requeue=self.review is None)
            if self.review is not None:  # rejected
                return await self._close(self.review)
            await self._pause(settings, deadline, review=True)
        return self._end("no approval in time: left open for humans")

    async def _queue(self, settings: FixPRSettings, decision: FixPRDecision) -> FixPRStatus:
        """The review queue: stored, announced, waited on; approve merges (unless blocked), reject closes."""
        scored = self.state.confidence
        item = ReviewItem(
            workflow_id=self.pr.workflow_id,
            repo=self.pr.project,
            pr_number=self.pr.number,
            pr_url=self.pr.url,
            title=self.input.title,
            score=scored.score if scored else 0.0,
            route=decision.route.value,
            reasons=decision.reasons,
            created_at=workflow.now(),
        )
        self.state.outcome = "blocked" if decision.route is Route.BLOCKED else "queued"
        self.awaiting_review = True
        await call(catalogue.REVIEW_ENQUEUE, item)
        await self._best_effort(catalogue.REVIEW_ANNOUNCE, item)
        deadline = workflow.now() + timedelta(seconds=settings.policy.review_timeout_seconds)
        recheck = timedelta(seconds=settings.policy.review.recheck_seconds)
        while self.review is None and workflow.now() < deadline:
            await self._best_effort(catalogue.REVIEW_BACKLOG)
            try:
                await workflow.wait_condition(lambda: self.review is not None, timeout=recheck)
            except TimeoutError:
                snap: ChecksSnapshot = await call(catalogue.FIX_PR_CHECKS, self.pr)
                if snap.state != "open":
                    await self._resolve(ReviewStatus.CLOSED, None, f"{snap.state} outside Mender")
                    return self._end(f"{snap.state} outside Mender")
        self.awaiting_review = False
        answer = self.review
        if answer is None:
            return self._end(f"{self.state.outcome}: no review in time, left open for humans")
        self.state.review = answer
        if not answer.approved:
            return await self._close(answer)
        may_merge, why = approval_route(decision)
        await self._resolve(ReviewStatus.APPROVED, answer.by, answer.reason or why)
        await self._audit("approved", {"by": answer.by, "merge": may_merge}, actor=answer.by)
        if not may_merge:
            await call(catalogue.FIX_PR_PUBLISH, PublishArgs(pr=self.pr, section="", comment=why))
            return self._end("blocked: approved, left to the approver to merge")
        return await self._merge(settings, "merged after review", requeue=False)

    async def _close(self, answer: ReviewDecision) -> FixPRStatus:
        reason = f"rejected by {answer.by}" + (f": {answer.reason}" if answer.reason else "")
        await call(catalogue.FIX_PR_CLOSE, CloseFixArgs(pr=self.pr, reason=reason))
        await self._resolve(ReviewStatus.REJECTED, answer.by, answer.reason or "rejected")
        await self._audit("rejected", {"by": answer.by, "reason": answer.reason}, actor=answer.by)
        return self._end("rejected")

    async def _watch(self, settings: FixPRSettings, sha: str, outcome: str) -> FixPRStatus:
        """Watch the default branch's run on the merge commit; red: revert the fix (saga compensation)."""
        self.state.stage = "watching the default branch"
        deadline = workflow.now() + timedelta(seconds=settings.policy.watch_after_merge_seconds)
        conclusion: Conclusion | None = None
        while workflow.now() < deadline:
            event = await call(catalogue.FIX_PR_DEFAULT_RUN, DefaultRunQuery(pr=self.pr, merge_sha=sha))
            if event is not None and event.conclusion is not None:
                conclusion = event.conclusion
                break
            await self._pause(settings, deadline)
        if after_merge(conclusion) is not AfterMerge.REVERT:
            return self._end(outcome)
        reason = "the default branch failed after the merge"
        args = RevertArgs(
            pr=self.pr,
            merge_sha=sha,
            reason=reason,
            files=self.input.files,
            playbook=self.input.diagnosis.playbook,
        )
        self.state.stage = "reverting"
        until = workflow.now() + timedelta(seconds=settings.policy.pipeline_timeout_seconds)
        while True:  # the revert PR merges once its required checks passed (idempotent: one PR)
            reverted = await call(catalogue.FIX_PR_REVERT, args)
            if reverted.merged or not reverted.opened or workflow.now() >= until:
                break
            await self._pause(settings, until)
        self.state.revert_url = reverted.url
        await self._audit("reverted", {"revert": reverted.url, "merged": reverted.merged, "sha": sha})
        return self._end("reverted" if reverted.merged else "revert opened")

    async def _resolve(self, status: ReviewStatus, by: str | None, reason: str) -> None:
        resolution = ReviewResolution(
            workflow_id=self.pr.workflow_id, status=status.value, by=by, reason=reason, at=workflow.now()
        )
        await call(catalogue.REVIEW_RESOLVE, resolution)

    async def _audit(self, outcome: str, details: dict[str, Any], actor: str = "mender") -> None:
        """One `ci.fix_pr` row: the playbook history reads merges, reverts and rejections from here."""
        self.state.events = [*self.state.events, outcome][-MAX_EVENTS:]
        diagnosis = self.input.diagnosis
        base = {"pr": self.pr.number, "playbook": diagnosis.playbook, "action": diagnosis.action.value}
        await audit(
            AuditEntry(
                action=AuditAction.CI_REVIEW if actor != "mender" else AuditAction.CI_FIX_PR,
                actor=actor,
                outcome=outcome,
                target=self.pr.workflow_id,
                repository=self.pr.project,
                details=base | details,
            )
        )

    async def _best_effort(self, ref: Any, *arg: Any) -> None:
        """A notice or check that must not stop the fix PR's workflow when it fails."""
        try:
            await call(ref, *arg)
        except ActivityError as exc:
            workflow.logger.warning("%s for %s failed: %s", ref.name, self.pr.workflow_id, exc.cause or exc)

    def _end(self, outcome: str) -> FixPRStatus:
        self.state.outcome = outcome
        self.state.stage = "done"
        return self.state


async def start_fix_pr(
    run: CIRunRef, analysis: RunAnalysis, fix: FixResult, policy: CIPolicy, plan_approved: bool
) -> None:
    """Start the fix PR's own workflow (GitHub fix PRs, `ci.fix_prs.enabled`); it outlives the caller."""
    if not (workflow.patched("fix-pr-workflow") and policy.ci.fix_prs.enabled):
        return
    if run.provider is not Provider.GITHUB or fix.pr_number is None or not fix.branch:
        return
    pr = FixPRRef(run=run, number=fix.pr_number, branch=fix.branch, url=fix.pr_url or "")
    input = FixPRInput(
        pr=pr,
        diagnosis=analysis.diagnosis,
        files=fix.files,
        failed_jobs=analysis.failed_jobs,
        title=fix.detail[:300],
        plan_approved=plan_approved,
    )
    try:
        await workflow.start_child_workflow(
            FIXPR_WORKFLOW, input, id=pr.workflow_id, parent_close_policy=ParentClosePolicy.ABANDON
        )
    except WorkflowAlreadyStartedError:  # the same fix PR's workflow runs already: it goes on alone
        workflow.logger.info("fix PR workflow %s already running", pr.workflow_id)
