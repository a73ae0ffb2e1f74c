"""One workflow per failed pipeline run: diagnose, gate by risk, ask a human when needed, fix, verify.

Id `ci/<provider>/<project>/<run_id>`; started by signal-with-start of the first failure event (from a
webhook or the polling fallback), so a duplicate delivery or a poll of a known run starts nothing new.
Every side effect is an activity (`workflows/ci_steps.py` names them); the rules are pure `domain/` code.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.ci import (
        APPROVAL_SIGNAL,
        RUN_EVENT_SIGNAL,
        STATUS_QUERY,
        CIPolicy,
        CIStatus,
        CIWorkflowInput,
        RunAnalysis,
    )
    from domain.ci_healing.approval import ApprovalDecision, ApprovalRequest
    from domain.ci_healing.config import Stage
    from domain.ci_healing.healing import (
        Step,
        approval_outcome,
        decide_attempt,
        final_stage,
        healed_outcome,
        is_rerun,
        max_attempts,
        rerun_backoff_seconds,
    )
    from domain.ci_healing.outcomes import CIOutcome, plan_summary
    from domain.ci_healing.risk import GateDecision, Verdict, gate
    from domain.ci_healing.runs import CIRunEvent, Conclusion
    from domain.config import Mode
    from workflows.ci_steps import CISteps

MAX_EVENTS_KEPT = 200
GATE_APPROVER = "gate"  # a pending approval the gate no longer needs (the configuration changed)


@workflow.defn(name="CIFailure")
class CIFailureWorkflow:
    """Heal one failed pipeline run, or hand it to the right human with everything needed to decide."""

    @workflow.init
    def __init__(self, input: CIWorkflowInput) -> None:
        self.run_ref = input.run
        self.events: list[CIRunEvent] = []
        self.seen: set[str] = set()
        self.awaiting_approval = False
        self.decision: ApprovalDecision | None = None
        self.state = CIStatus(run=input.run, stage="detected")
        self.steps = CISteps(input.run)

    @workflow.signal(name=RUN_EVENT_SIGNAL)
    def run_event(self, event: CIRunEvent) -> None:
        """A run (attempt) of this pipeline, or of a fix branch for it, changed; duplicates are dropped."""
        if event.key in self.seen or event.target != self.run_ref:
            return
        self.seen.add(event.key)
        self.events.append(event)
        self.state.events = [*self.state.events, f"{event.key} ({event.origin})"][-MAX_EVENTS_KEPT:]

    @workflow.signal(name=APPROVAL_SIGNAL)
    def approval(self, decision: ApprovalDecision) -> None:
        """An approver's answer from Slack; only the first answer to a pending request counts."""
        if self.awaiting_approval and self.decision is None:
            self.decision = decision

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> CIStatus:
        """Stage, diagnosis, gate verdict, approval, attempts and the events seen."""
        return self.state

    @workflow.run
    async def run(self, input: CIWorkflowInput) -> CIStatus:
        """Detect → analyse (playbooks, then the LLM when unsure) → gate → approve → remediate → verify.

        Fails safe: an activity that fails after its retries hands the run to a human with the reason
        (outcome `escalated`, audited, announced, recorded) instead of failing the workflow.
        """
        try:
            return await self._run()
        except ActivityError as exc:
            return await self._hand_over(exc)

    async def _hand_over(self, exc: ActivityError) -> CIStatus:
        name = getattr(exc, "activity_type", None) or "an activity"
        reason = f"{name} failed after its retries: {exc.cause or exc}"[:500]
        workflow.logger.error("CI run %s handed to a human: %s", self.run_ref.key, reason)
        self.state.outcome = CIOutcome.ESCALATED
        self.state.stage = CIOutcome.ESCALATED.value
        self.state.events = [*self.state.events, f"handed over: {reason}"][-MAX_EVENTS_KEPT:]
        await self.steps.audit("ci.remediation", "failed", {"detail": reason})
        try:
            policy = await self.steps.policy()
            await self.steps.notify(Stage.FAILED, policy, f"escalated: {reason}", self.state.run_url)
        except ActivityError as again:
            workflow.logger.error("CI run %s: hand-over notice not sent: %s", self.run_ref.key, again.cause)
        await self.steps.record_status(self.state)
        return self.state

    async def _run(self) -> CIStatus:
        await workflow.wait_condition(lambda: bool(self.events), timeout=timedelta(minutes=5))
        policy = await self.steps.policy()
        await self.steps.notify(Stage.DETECTED, policy, "Pipeline failed", self._first_url())
        await self.steps.audit("ci.detected", "recorded", {"url": self._first_url()})
        analysis = await self.steps.analyse(policy)
        diagnosis = analysis.diagnosis
        self.state.run_url = analysis.run_url
        self.state.diagnosis = diagnosis
        self.state.stage = "analysed"
        await self.steps.audit(
            "ci.diagnosed",
            diagnosis.category.value,
            diagnosis.contract() | {"source": diagnosis.source.value, "notes": diagnosis.notes},
        )
        await self.steps.notify(Stage.ANALYSED, policy, diagnosis.explanation, analysis.run_url, analysis)
        if policy.mode is Mode.OBSERVE:
            return await self._finish(
                CIOutcome.OBSERVED, policy, analysis, "observe mode: nothing was changed"
            )
        return await self._heal(policy, analysis)

    async def _heal(self, policy: CIPolicy, analysis: RunAnalysis) -> CIStatus:
        """Gate each attempt with the current configuration; incident after the last failed one."""
        diagnosis = analysis.diagnosis
        approved = False
        for attempt in range(1, max_attempts(policy.ci, diagnosis.action) + 1):
            policy = await self.steps.policy()  # the configuration current at this decision
            decision = gate(diagnosis, self.run_ref.project, policy.ci.risk, analysis.playbook_success_rate)
            self.state.gate = decision
            step = decide_attempt(decision, diagnosis.action, self.run_ref.provider, approved)
            if step.step is Step.ESCALATE:
                return await self._finish(CIOutcome.ESCALATED, policy, analysis, step.reason)
            if step.step is Step.ASK_APPROVAL:
                answer = await self._ask_approval(policy, analysis, decision)
                if answer is None or not answer.approved:
                    why = "rejected" if answer else "no approval in time"
                    return await self._finish(CIOutcome.ESCALATED, policy, analysis, why)
                approved = answer.approver != GATE_APPROVER
            if step.step is Step.RUN_AND_NOTIFY:
                await self.steps.notify(
                    Stage.ANALYSED,
                    policy,
                    f"Medium risk, running: {plan_summary(diagnosis)}",
                    analysis.run_url,
                )
            if not approved:
                self.state.auto_actions = [*self.state.auto_actions, diagnosis.action.value]
            healed, detail = await self._attempt(attempt, policy, analysis)
            self.state.attempts = [*self.state.attempts, f"{attempt}: {diagnosis.action.value}: {detail}"]
            await self.steps.audit("ci.remediation", "succeeded" if healed else "failed", {"detail": detail})
            if healed:
                return await self._finish(healed_outcome(approved), policy, analysis, detail)
            if detail.startswith("no further fix"):
                break
        incident = await self.steps.incident(analysis, self.state.attempts)
        await self.steps.audit(
            "ci.incident", "opened" if incident.opened else "failed", {"url": incident.url}
        )
        return await self._finish(CIOutcome.INCIDENT, policy, analysis, incident.url or incident.detail)

    async def _attempt(self, attempt: int, policy: CIPolicy, analysis: RunAnalysis) -> tuple[bool, str]:
        """Run the plan once and verify it: a re-run (after backoff) or a fix PR (rolled back on failure)."""
        self.state.stage = f"remediating ({attempt})"
        if is_rerun(analysis.diagnosis.action):
            if backoff := rerun_backoff_seconds(policy.ci, attempt):
                await workflow.sleep(timedelta(seconds=backoff))
            rerun = await self.steps.rerun()
            if not rerun.requested:
                return False, f"re-run refused: {rerun.detail}"
            verdict = await self._await_run(
                lambda e: e.fix_for is None and self._after(e, rerun.attempt), policy
            )
            return verdict is Conclusion.SUCCESS, f"re-run {verdict or 'did not finish in time'}"
        fix = await self.steps.open_fix(analysis, attempt)
        if not fix.opened:
            return False, f"no further fix: {fix.detail}"
        branch = fix.branch or ""
        verdict = await self._await_run(
            lambda e: e.fix_for is not None and e.head_branch == branch, policy, fix_branch=branch
        )
        passed = verdict is Conclusion.SUCCESS
        await self.steps.report_fix(fix, passed, f"verification run: {verdict or 'did not finish in time'}")
        if passed:
            return True, f"fix PR {fix.pr_url} verified"
        await self.steps.rollback(fix)
        return False, f"fix PR {fix.pr_url} failed verification and was rolled back"

    def _after(self, event: CIRunEvent, attempt_before: int) -> bool:
        """True for a conclusion of the re-run (GitHub numbers attempts; GitLab retries keep the id)."""
        return event.attempt > attempt_before or event.run.provider.value == "gitlab"

    async def _await_run(self, match, policy: CIPolicy, fix_branch: str | None = None) -> Conclusion | None:
        """The conclusion of the first matching finished run: from a webhook, else from polling."""
        consumed = len(self.events)
        deadline = workflow.now() + timedelta(seconds=policy.ci.verify_timeout_seconds)
        poll = timedelta(seconds=min(policy.ci.poll_interval_seconds, 60.0))

        def found() -> CIRunEvent | None:
            for event in self.events[consumed:]:
                if event.conclusion is not None and match(event):
                    return event
            return None

        while (event := found()) is None and workflow.now() < deadline:
            remaining = (deadline - workflow.now()).total_seconds()
            try:
                await workflow.wait_condition(
                    lambda: found() is not None, timeout=min(poll, timedelta(seconds=remaining))
                )
            except TimeoutError:
                polled = await self.steps.poll(fix_branch)
                if polled is not None:
                    self.run_event(polled)
        return event.conclusion if event else None

    async def _ask_approval(
        self, policy: CIPolicy, analysis: RunAnalysis, decision: GateDecision
    ) -> ApprovalDecision | None:
        """Ask in Slack and wait; re-gate as the configuration changes; None after the timeout."""
        request = ApprovalRequest(
            workflow_id=self.run_ref.workflow_id,
            provider=self.run_ref.provider.value,
            project=self.run_ref.project,
            run_id=str(self.run_ref.run_id),
            run_url=analysis.run_url,
            diagnosis=analysis.diagnosis,
            plan=plan_summary(analysis.diagnosis),
            gate_reasons=decision.reasons,
            timeout_seconds=policy.ci.approval.timeout_seconds,
        )
        self.state.stage = "awaiting approval"
        self.awaiting_approval = True
        posted = await self.steps.request_approval(request)
        deadline = workflow.now() + timedelta(seconds=policy.ci.approval.timeout_seconds)
        recheck = timedelta(seconds=min(policy.ci.poll_interval_seconds, 300.0))
        while self.decision is None and workflow.now() < deadline:
            remaining = timedelta(seconds=(deadline - workflow.now()).total_seconds())
            try:
                await workflow.wait_condition(
                    lambda: self.decision is not None, timeout=min(recheck, remaining)
                )
            except TimeoutError:
                current = await self.steps.policy()
                regated = gate(
                    analysis.diagnosis, self.run_ref.project, current.ci.risk, analysis.playbook_success_rate
                )
                if regated.verdict in (Verdict.AUTO, Verdict.AUTO_NOTIFY):
                    self.awaiting_approval = False
                    await self.steps.resolve_approval(
                        request, posted, "no longer needed: the gate now passes", None
                    )
                    return ApprovalDecision(approved=True, approver=GATE_APPROVER, decided_at=workflow.now())
        self.awaiting_approval = False
        answer = self.decision
        self.state.approval = answer
        if answer is None:
            await self.steps.resolve_approval(request, posted, "timeout", None)
            await self.steps.audit(
                "ci.approval", approval_outcome(None), {"timeout_seconds": request.timeout_seconds}
            )
            return None
        outcome = approval_outcome(answer.approved)
        await self.steps.resolve_approval(request, posted, outcome, answer)
        await self.steps.audit(
            "ci.approval",
            outcome,
            {"approver": answer.approver, "at": answer.decided_at.isoformat()},
            answer.approver,
        )
        return answer

    async def _finish(
        self, outcome: CIOutcome, policy: CIPolicy, analysis: RunAnalysis, detail: str
    ) -> CIStatus:
        self.state.outcome = outcome
        self.state.stage = outcome.value
        if (stage := final_stage(outcome)) is not None:
            await self.steps.notify(stage, policy, f"{outcome.value}: {detail}", analysis.run_url, analysis)
        await self.steps.record(self.state, analysis)
        return self.state

    def _first_url(self) -> str:
        return self.events[0].html_url if self.events else ""
