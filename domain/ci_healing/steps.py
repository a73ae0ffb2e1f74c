"""The CI decider's steps after analysis: gate each attempt, run it, verify it, end the run.

Each function takes the memory (and the time) and returns a `CIStep`; `decider.py` routes inputs here.
"""

from __future__ import annotations

from datetime import timedelta

from domain.ci_healing.approval import ApprovalRequest
from domain.ci_healing.config import Stage
from domain.ci_healing.effects import (
    Announce,
    AskApproval,
    AskModel,
    AuditRun,
    CIContext,
    CIEffect,
    CIMemory,
    CIStep,
    FixPROpened,
    LoadPolicy,
    OpenFixPR,
    OpenIncident,
    Pause,
    PolicyFor,
    RecordRun,
    ReportFix,
    RequestRerun,
    RollBackFix,
    WaitFor,
    Waiting,
)
from domain.ci_healing.fixpr import has_own_workflow
from domain.ci_healing.healing import (
    AttemptStep,
    decide_attempt,
    final_stage,
    healed_outcome,
    is_rerun,
    max_attempts,
    rerun_backoff_seconds,
)
from domain.ci_healing.outcomes import CIOutcome, plan_summary
from domain.ci_healing.results import CIPolicy, FixResult, IncidentResult, RerunResult, RunAnalysis
from domain.ci_healing.risk import gate
from domain.ci_healing.runs import CIRunEvent, Conclusion
from domain.config import Mode
from domain.diagnosis.verdict import Source

MAX_POLL_SECONDS = 60.0
MAX_RECHECK_SECONDS = 300.0
ROUTE_MARGIN_SECONDS = 300.0  # beyond the fix PR's checks and scan, for its workflow to route it


def status(m: CIMemory, **changes: object) -> CIMemory:
    """The memory with its status changed."""
    return m.model_copy(update={"status": m.status.model_copy(update=changes)})


def consider(m: CIMemory, ctx: CIContext, analysis: RunAnalysis) -> CIStep:
    """The rules' diagnosis; the LLM is asked when they are unsure (fallback or low confidence)."""
    assert m.policy is not None
    ci, rule = m.policy.ci, analysis.diagnosis
    unsure = rule.source is Source.FALLBACK or rule.confidence < ci.risk.confidence_floor
    if not (ci.llm.enabled and unsure):
        return analysed(m, ctx, analysis)
    ask = AskModel(
        analysis.distilled,
        rule,
        ci.llm.timeout_seconds * 2 + 10,  # the configured model timeout
        failed_step=analysis.failed_step,
        passing_diff=tuple(analysis.passing_diff),
    )
    return CIStep(m.model_copy(update={"analysis": analysis}), [ask])


def analysed(m: CIMemory, ctx: CIContext, analysis: RunAnalysis) -> CIStep:
    """The diagnosis is known: audit and announce it; observe mode ends here, else attempt 1."""
    assert m.policy is not None
    diagnosis = analysis.diagnosis
    m = status(m, run_url=analysis.run_url, diagnosis=diagnosis, stage="analysed")
    m = m.model_copy(update={"analysis": analysis})
    details = diagnosis.contract() | {"source": diagnosis.source.value, "notes": diagnosis.notes}
    effects: list[CIEffect] = [
        AuditRun("ci.diagnosed", diagnosis.category.value, details),
        Announce(Stage.ANALYSED, diagnosis.explanation, analysis.run_url, analysis),
    ]
    if m.policy.mode is Mode.OBSERVE:
        return CIStep(m, effects).then(
            lambda mem: finish(mem, CIOutcome.OBSERVED, "observe mode: nothing was changed")
        )
    m = m.model_copy(update={"max_attempts": max_attempts(m.policy.ci, diagnosis.action)})
    return CIStep(m, effects).then(next_attempt)


def next_attempt(m: CIMemory) -> CIStep:
    """Gate the next attempt with the configuration current then; an incident after the last one."""
    if m.attempt >= m.max_attempts:
        return incident(m)
    return CIStep(m.model_copy(update={"attempt": m.attempt + 1}), [LoadPolicy(PolicyFor.ATTEMPT)])


def gated(m: CIMemory, ctx: CIContext, policy: CIPolicy) -> CIStep:
    """The gate's verdict on this attempt: escalate, ask an approver, or run (and say so)."""
    assert m.analysis is not None
    diagnosis = m.analysis.diagnosis
    decision = gate(diagnosis, m.run.project, policy.ci.risk, m.analysis.playbook_success_rate)
    m = status(m.model_copy(update={"policy": policy}), gate=decision)
    review_queue = policy.ci.fix_prs.enabled  # GitHub fix PRs and GitLab fix MRs have their workflow
    step = decide_attempt(
        decision, diagnosis.action, m.run.provider, m.approved, review_queue, ctx.gitlab_ci_edits
    )
    if step.step is AttemptStep.ESCALATE:
        return finish(m, CIOutcome.ESCALATED, step.reason)
    if step.step is AttemptStep.ASK_APPROVAL:
        request = ApprovalRequest(
            workflow_id=m.run.workflow_id,
            provider=m.run.provider.value,
            project=m.run.project,
            run_id=str(m.run.run_id),
            run_url=m.analysis.run_url,
            diagnosis=diagnosis,
            plan=plan_summary(diagnosis),
            gate_reasons=decision.reasons,
            timeout_seconds=policy.ci.approval.timeout_seconds,
        )
        m = status(m, stage="awaiting approval")
        m = m.model_copy(update={"request": request, "awaiting_approval": True, "answer": None})
        return CIStep(m, [AskApproval(request)])
    if step.step is AttemptStep.RUN_FOR_REVIEW:
        m = m.model_copy(update={"for_review": ctx.review_outcome})
        notice = Announce(
            Stage.ANALYSED,
            f"Learned fix in review, opening its fix PR for the review queue: {plan_summary(diagnosis)}",
            m.analysis.run_url,
        )
        return CIStep(m, [notice]).then(run_attempt)
    if step.step is AttemptStep.RUN_AND_NOTIFY:
        notice = Announce(
            Stage.ANALYSED, f"Medium risk, running: {plan_summary(diagnosis)}", m.analysis.run_url
        )
        return CIStep(m, [notice]).then(run_attempt)
    return run_attempt(m)


def approval_wait(m: CIMemory, ctx: CIContext) -> Waiting:
    """The approval wait: until the configured timeout, re-checking the gate now and then."""
    assert m.policy is not None
    ci = m.policy.ci
    deadline = ctx.now + timedelta(seconds=ci.approval.timeout_seconds)
    every = min(ci.poll_interval_seconds, MAX_RECHECK_SECONDS)
    wake = min(ctx.now + timedelta(seconds=every), deadline)
    return Waiting(kind=WaitFor.APPROVAL, deadline=deadline, wake_at=wake, every_seconds=every)


def run_attempt(m: CIMemory) -> CIStep:
    """Carry out the plan once: a re-run (after its backoff) or a fix PR."""
    assert m.analysis is not None and m.policy is not None
    diagnosis = m.analysis.diagnosis
    if not m.approved:
        m = status(m, auto_actions=[*m.status.auto_actions, diagnosis.action.value])
    m = status(m, stage=f"remediating ({m.attempt})")
    if is_rerun(diagnosis.action):
        if backoff := rerun_backoff_seconds(m.policy.ci, m.attempt):
            return CIStep(m, [Pause(backoff)])
        return CIStep(m, [RequestRerun()])
    opening = OpenFixPR(diagnosis, m.attempt, m.analysis.head_branch, m.analysis.run_url)
    return CIStep(m, [opening])


def rerun_requested(m: CIMemory, ctx: CIContext, result: RerunResult) -> CIStep:
    if not result.requested:
        return attempt_done(m, False, f"re-run refused: {result.detail}")
    return await_run(m, ctx, attempt_before=result.attempt)


def fix_opened(m: CIMemory, ctx: CIContext, fix: FixResult) -> CIStep:
    """A fix PR is open: announce it at the seam, then wait for its branch's run."""
    if not fix.opened:
        return attempt_done(m, False, f"no further fix: {fix.detail}")
    m = m.model_copy(update={"fix": fix})
    step = await_run(m, ctx, fix_branch=fix.branch or "")
    opened = FixPROpened(fix, analysis=m.analysis, policy=m.policy, plan_approved=m.approved)
    return CIStep(step.memory, [opened, *step.effects])


def await_run(
    m: CIMemory, ctx: CIContext, *, attempt_before: int = 1, fix_branch: str | None = None
) -> CIStep:
    """Wait for the run's conclusion until the verification timeout, polling when no webhook comes."""
    assert m.policy is not None
    ci = m.policy.ci
    wait = Waiting(
        kind=WaitFor.RUN,
        deadline=ctx.now + timedelta(seconds=ci.verify_timeout_seconds),
        wake_at=ctx.now,
        every_seconds=min(ci.poll_interval_seconds, MAX_POLL_SECONDS),
        consumed=len(m.events),
        for_fix=fix_branch is not None,
        fix_branch=fix_branch or "",
        attempt_before=attempt_before,
    )
    return keep_waiting(m.model_copy(update={"waiting": wait}), ctx)


def keep_waiting(m: CIMemory, ctx: CIContext) -> CIStep:
    """After a poll (or as the wait begins): the conclusion found, the deadline passed, or wait on."""
    wait = m.waiting
    assert wait is not None and wait.kind is WaitFor.RUN
    if (event := matching_run(m)) is not None:
        return verified(m, ctx, event.conclusion)
    if ctx.now >= wait.deadline:
        return verified(m, ctx, None)
    wake = min(ctx.now + timedelta(seconds=wait.every_seconds), wait.deadline)
    return CIStep(m.model_copy(update={"waiting": wait.model_copy(update={"wake_at": wake})}))


def matching_run(m: CIMemory) -> CIRunEvent | None:
    """The first finished run the RUN wait is waiting for (GitLab retries keep the run's id)."""
    wait = m.waiting
    if wait is None or wait.kind not in (WaitFor.RUN, WaitFor.CONFIRM):
        return None
    for event in m.events[wait.consumed :]:
        if event.conclusion is None:
            continue
        if wait.for_fix and event.fix_for is not None and event.head_branch == wait.fix_branch:
            return event
        rerun = event.attempt > wait.attempt_before or event.run.provider.value == "gitlab"
        if not wait.for_fix and event.fix_for is None and rerun:
            return event
    return None


def verified(m: CIMemory, ctx: CIContext, conclusion: Conclusion | None) -> CIStep:
    """The verification's verdict: a re-run ends the attempt; a failed fix PR is rolled back first; a
    passing fix PR with its own workflow ends the run as its route says (`route_known`)."""
    wait = m.waiting
    assert wait is not None
    m = m.model_copy(update={"waiting": None})
    if not wait.for_fix:
        return attempt_done(
            m, conclusion is Conclusion.SUCCESS, f"re-run {conclusion or 'did not finish in time'}"
        )
    assert m.fix is not None
    passed = conclusion is Conclusion.SUCCESS
    report = ReportFix(m.fix, passed, f"verification run: {conclusion or 'did not finish in time'}")
    routed = not m.for_review and m.policy is not None and has_own_workflow(m.run, m.fix, m.policy)
    if passed and ctx.fix_route and routed:
        return CIStep(m, [report]).then(lambda mem: await_route(mem, ctx))
    if passed:
        return CIStep(m, [report]).then(
            lambda mem: attempt_done(mem, True, f"fix PR {m.fix.pr_url} verified")
        )
    return CIStep(m, [report, RollBackFix(m.fix)])


def await_route(m: CIMemory, ctx: CIContext) -> CIStep:
    """The fix PR's own workflow scores it and takes a route once its checks (and the scan) are done:
    wait for it (`route_steps.route_known`), at most as long as those may take; a route that came
    already is news at once."""
    assert m.policy is not None
    fix_prs = m.policy.ci.fix_prs
    seconds = fix_prs.pipeline_timeout_seconds + fix_prs.scan.timeout_seconds + ROUTE_MARGIN_SECONDS
    deadline = ctx.now + timedelta(seconds=seconds)
    m = status(m, stage="verified: waiting for the fix PR's route")
    wait = Waiting(kind=WaitFor.FIX_ROUTE, deadline=deadline, wake_at=deadline)
    return CIStep(m.model_copy(update={"waiting": wait}))


def rolled_back(m: CIMemory) -> CIStep:
    assert m.fix is not None
    return attempt_done(m, False, f"fix PR {m.fix.pr_url} failed verification and was rolled back")


def attempt_done(m: CIMemory, healed: bool, detail: str, awaits_review: bool = False) -> CIStep:
    """Journal and audit the attempt; healed ends the run (`awaits_review`: its fix PR is proposed or
    queued, not merged yet), else the next attempt or an incident."""
    assert m.analysis is not None
    line = f"{m.attempt}: {m.analysis.diagnosis.action.value}: {detail}"
    m = status(m, attempts=[*m.status.attempts, line])
    audit = AuditRun("ci.remediation", "succeeded" if healed else "failed", {"detail": detail})
    if healed and awaits_review:  # not healed until a reviewer approves the fix PR and it merges
        return CIStep(m, [audit]).then(lambda mem: finish(mem, CIOutcome.AWAITING_REVIEW, detail))
    if healed and m.for_review and m.fix is not None:  # not healed until a reviewer merges the fix PR
        waits = f"{detail}; it waits in the review queue"
        return CIStep(m, [audit]).then(lambda mem: finish(mem, CIOutcome.AWAITING_REVIEW, waits))
    if healed:
        return CIStep(m, [audit]).then(lambda mem: finish(mem, healed_outcome(mem.approved), detail))
    if detail.startswith("no further fix"):
        return CIStep(m, [audit]).then(incident)
    return CIStep(m, [audit]).then(next_attempt)


def incident(m: CIMemory) -> CIStep:
    assert m.analysis is not None
    a = m.analysis
    return CIStep(m, [OpenIncident(a.run_url, a.diagnosis, a.distilled, tuple(m.status.attempts))])


def incident_opened(m: CIMemory, result: IncidentResult) -> CIStep:
    audit = AuditRun("ci.incident", "opened" if result.opened else "failed", {"url": result.url})
    return CIStep(m, [audit]).then(lambda mem: finish(mem, CIOutcome.INCIDENT, result.url or result.detail))


def finish(m: CIMemory, outcome: CIOutcome, detail: str) -> CIStep:
    """The run's end: announced (except in observe mode) and recorded with its distilled log."""
    assert m.analysis is not None
    m = status(m, outcome=outcome, stage=outcome.value).model_copy(update={"done": True, "waiting": None})
    effects: list[CIEffect] = []
    if (stage := final_stage(outcome)) is not None:
        effects.append(Announce(stage, f"{outcome.value}: {detail}", m.analysis.run_url, m.analysis))
    effects.append(RecordRun(m.status, m.analysis.distilled))
    return CIStep(m, effects)
