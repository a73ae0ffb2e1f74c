"""The CI failure workflow's decider: (memory, input) -> (memory, effects), pure and table-tested.

Inputs: the start (`start`), a run event, an approver's answer or the fix PR's route recorded by a
signal (`record_event`, `record_answer`, `record_route`) and what a wait was waiting for (`on_news`), a wait's timer
(`on_timer`: poll the run, re-check the gate, or give up), and the result of an effect that feeds back
(`resume`: the configuration, the analysis, the model's answer, a re-run, a fix PR, a rollback, an
incident, an approval post, a poll). An activity that failed after its retries hands the run to a
human (`hand_over`). The workflow (`workflows/ci_failure.py`) only carries effects out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.ci_healing import flake_steps, route_steps, steps
from domain.ci_healing.approval import ApprovalDecision
from domain.ci_healing.config import Stage
from domain.ci_healing.effects import (
    ActivityFailed,
    AnalyseRun,
    Announce,
    AskApproval,
    AskModel,
    AuditRun,
    CIContext,
    CIEffect,
    CIMemory,
    CIStep,
    FlakeStage,
    LoadPolicy,
    LogLine,
    LookUpFlakes,
    OpenFixPR,
    OpenFlakeFix,
    OpenIncident,
    Pause,
    PolicyFor,
    PollRun,
    RecordRun,
    RequestRerun,
    ResolveApproval,
    RollBackFix,
    WaitFor,
    Waiting,
)
from domain.ci_healing.fixpr import FixPRRouted
from domain.ci_healing.healing import approval_outcome
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.results import CIPolicy, RunAnalysis
from domain.ci_healing.risk import Verdict, gate
from domain.ci_healing.runs import CIRunEvent

MAX_EVENTS_KEPT = 200
FIRST_EVENT_WAIT = timedelta(minutes=5)
GATE_APPROVER = "gate"  # a pending approval the gate no longer needs (the configuration changed)


def record_event(m: CIMemory, event: CIRunEvent) -> CIMemory:
    """A run (attempt) of this pipeline, or of a fix branch for it, changed; duplicates are dropped."""
    if event.key in m.seen or event.target != m.run:
        return m
    shown = [*m.status.events, f"{event.key} ({event.origin})"][-MAX_EVENTS_KEPT:]
    m = m.model_copy(update={"seen": m.seen | {event.key}, "events": [*m.events, event]})
    return steps.status(m, events=shown)


def record_route(m: CIMemory, routed: FixPRRouted) -> CIMemory:
    """The route the current fix PR's own workflow took; the first one for that PR counts."""
    if m.fix is None or m.fix.pr_number != routed.number or m.fix_route is not None:
        return m
    return m.model_copy(update={"fix_route": routed})


def record_answer(m: CIMemory, answer: ApprovalDecision) -> CIMemory:
    """An approver's answer; only the first answer to a pending request counts."""
    if m.awaiting_approval and m.answer is None:
        return m.model_copy(update={"answer": answer})
    return m


def start(m: CIMemory, ctx: CIContext) -> CIStep:
    """Wait (a few minutes at most) for the failure event that started the workflow."""
    deadline = ctx.now + FIRST_EVENT_WAIT
    return CIStep(
        m.model_copy(
            update={"waiting": Waiting(kind=WaitFor.FIRST_EVENT, deadline=deadline, wake_at=deadline)}
        )
    )


def news(m: CIMemory) -> bool:
    """Has what the current wait waits for arrived?"""
    wait = m.waiting
    if wait is None:
        return False
    if wait.kind is WaitFor.FIRST_EVENT:
        return bool(m.events)
    if wait.kind is WaitFor.APPROVAL:
        return m.answer is not None
    if wait.kind is WaitFor.FIX_ROUTE:
        return m.fix_route is not None
    return steps.matching_run(m) is not None


def seconds_to_wait(m: CIMemory, ctx: CIContext) -> float:
    assert m.waiting is not None
    return max((m.waiting.wake_at - ctx.now).total_seconds(), 0.001)


def on_news(m: CIMemory, ctx: CIContext) -> CIStep:
    """The first event, an approver's answer or the awaited run's conclusion arrived."""
    wait = m.waiting
    assert wait is not None
    if wait.kind is WaitFor.FIRST_EVENT:
        return _detected(m)
    if wait.kind is WaitFor.APPROVAL:
        return _answered(m)
    if wait.kind is WaitFor.FIX_ROUTE:
        return route_steps.route_known(m, ctx)
    return _keep_waiting(m, ctx)


def on_timer(m: CIMemory, ctx: CIContext) -> CIStep:
    """A wait's timer: begin anyway, re-check the gate, or poll the run (webhooks can be lost)."""
    wait = m.waiting
    assert wait is not None
    if wait.kind is WaitFor.FIRST_EVENT:
        return _detected(m)
    if wait.kind is WaitFor.APPROVAL:
        return CIStep(m, [LoadPolicy(PolicyFor.RECHECK)])
    if wait.kind is WaitFor.FIX_ROUTE:  # no route in time: not healed until the fix PR merges
        return route_steps.route_known(m, ctx)
    return CIStep(m, [PollRun(wait.fix_branch if wait.for_fix else "")])


def resume(m: CIMemory, ctx: CIContext, effect: CIEffect, result: Any) -> CIStep:
    """The result of an effect that feeds back: the next step."""
    if isinstance(effect, PollRun):
        return _polled(m, ctx, result)
    if isinstance(effect, AskApproval):
        return _approval_posted(m, ctx, result)
    if isinstance(effect, LookUpFlakes):
        return flake_steps.looked_up(m, ctx, result)
    if isinstance(effect, OpenFlakeFix):
        return flake_steps.fix_opened(m, result)
    if isinstance(result, ActivityFailed):
        if isinstance(effect, LoadPolicy) and effect.purpose is PolicyFor.HAND_OVER:
            line = LogLine("error", f"CI run {m.run.key}: hand-over notice not sent: {result.reason}")
            return CIStep(m, [line, RecordRun(m.status)])
        return hand_over(m, result)
    if isinstance(effect, LoadPolicy):
        return _policy_loaded(m, ctx, effect.purpose, result)
    if isinstance(effect, AnalyseRun):
        return _logs_analysed(m, ctx, result)
    if isinstance(effect, AskModel):
        assert m.analysis is not None
        return steps.analysed(m, ctx, m.analysis.model_copy(update={"diagnosis": result}))
    if isinstance(effect, Pause):
        return CIStep(m, [RequestRerun()])
    if isinstance(effect, RequestRerun):
        if m.flake is not None and m.flake.stage is FlakeStage.CONFIRMING:
            return flake_steps.rerun_requested(m, ctx, result)
        return steps.rerun_requested(m, ctx, result)
    if isinstance(effect, OpenFixPR):
        return steps.fix_opened(m, ctx, result)
    if isinstance(effect, RollBackFix):
        return steps.rolled_back(m)
    if isinstance(effect, OpenIncident):
        return steps.incident_opened(m, result)
    raise TypeError(f"{type(effect).__name__} has no result to resume with")


def hand_over(m: CIMemory, failed: ActivityFailed) -> CIStep:
    """Fail safe: an activity failed after its retries, so a human gets the run with the reason."""
    reason = f"{failed.activity or 'an activity'} failed after its retries: {failed.reason}"[:500]
    shown = [*m.status.events, f"handed over: {reason}"][-MAX_EVENTS_KEPT:]
    m = steps.status(m, outcome=CIOutcome.ESCALATED, stage=CIOutcome.ESCALATED.value, events=shown)
    m = m.model_copy(
        update={"handed_over": reason, "waiting": None, "awaiting_approval": False, "done": True}
    )
    effects: list[CIEffect] = [
        LogLine("error", f"CI run {m.run.key} handed to a human: {reason}"),
        AuditRun("ci.remediation", "failed", {"detail": reason}),
        LoadPolicy(PolicyFor.HAND_OVER),
    ]
    return CIStep(m, effects)


def _detected(m: CIMemory) -> CIStep:
    return CIStep(m.model_copy(update={"waiting": None}), [LoadPolicy(PolicyFor.START)])


def _policy_loaded(m: CIMemory, ctx: CIContext, purpose: PolicyFor, policy: CIPolicy) -> CIStep:
    if purpose is PolicyFor.START:
        url = m.events[0].html_url if m.events else ""
        effects: list[CIEffect] = [
            Announce(Stage.DETECTED, "Pipeline failed", url),
            AuditRun("ci.detected", "recorded", {"url": url}),
            AnalyseRun(),
        ]
        return CIStep(m.model_copy(update={"policy": policy}), effects)
    if purpose is PolicyFor.ATTEMPT:
        return steps.gated(m, ctx, policy)
    if purpose is PolicyFor.RECHECK:
        return _rechecked(m, ctx, policy)
    notice = Announce(Stage.FAILED, f"escalated: {m.handed_over}", m.status.run_url)
    return CIStep(m, [notice, RecordRun(m.status)])


def _logs_analysed(m: CIMemory, ctx: CIContext, analysis: RunAnalysis) -> CIStep:
    """A suspected flaky test is checked first (history, then one confirming re-run); else the rules'
    diagnosis, with the LLM's second opinion when they are unsure."""
    if m.flake is not None and m.flake.stage is FlakeStage.REANALYSING:
        return flake_steps.reanalysed(m, ctx, analysis)
    if m.flake is None and flake_steps.worth_checking(m, analysis):
        return flake_steps.look_up(m, ctx, analysis)
    return steps.consider(m, ctx, analysis)


def _approval_posted(m: CIMemory, ctx: CIContext, posted: Any) -> CIStep:
    """Wait for the answer (the timeout still escalates when Slack refused the post)."""
    effects: list[CIEffect] = []
    if isinstance(posted, ActivityFailed):
        effects.append(LogLine("warning", f"approval request for {m.run.key} not posted: {posted.reason}"))
        posted = None
    m = m.model_copy(update={"posted": posted, "waiting": steps.approval_wait(m, ctx)})
    return CIStep(m, effects)


def _rechecked(m: CIMemory, ctx: CIContext, policy: CIPolicy) -> CIStep:
    """The gate asked again during an approval wait: no longer needed, answered, timed out, or wait on."""
    assert m.analysis is not None and m.request is not None and m.waiting is not None
    regated = gate(m.analysis.diagnosis, m.run.project, policy.ci.risk, m.analysis.playbook_success_rate)
    if regated.verdict in (Verdict.AUTO, Verdict.AUTO_NOTIFY):
        m = m.model_copy(update={"awaiting_approval": False, "waiting": None, "approved": False})
        why = "no longer needed: the gate now passes"
        return CIStep(m, [ResolveApproval(m.request, m.posted, why, None, ctx.now)]).then(steps.run_attempt)
    if m.answer is not None:
        return _answered(m)
    if ctx.now >= m.waiting.deadline:
        return _timed_out(m, ctx)
    wake = min(ctx.now + timedelta(seconds=m.waiting.every_seconds), m.waiting.deadline)
    return CIStep(m.model_copy(update={"waiting": m.waiting.model_copy(update={"wake_at": wake})}))


def _answered(m: CIMemory) -> CIStep:
    answer, request = m.answer, m.request
    assert answer is not None and request is not None
    m = steps.status(m, approval=answer).model_copy(update={"awaiting_approval": False, "waiting": None})
    outcome = approval_outcome(answer.approved)
    details = {"approver": answer.approver, "at": answer.decided_at.isoformat()}
    effects: list[CIEffect] = [
        ResolveApproval(request, m.posted, outcome, answer, answer.decided_at),
        AuditRun("ci.approval", outcome, details, answer.approver),
    ]
    if not answer.approved:
        return CIStep(m, effects).then(lambda mem: steps.finish(mem, CIOutcome.ESCALATED, "rejected"))
    m = m.model_copy(update={"approved": answer.approver != GATE_APPROVER})
    return CIStep(m, effects).then(steps.run_attempt)


def _timed_out(m: CIMemory, ctx: CIContext) -> CIStep:
    request = m.request
    assert request is not None
    m = m.model_copy(update={"awaiting_approval": False, "waiting": None})
    effects: list[CIEffect] = [
        ResolveApproval(request, m.posted, "timeout", None, ctx.now),
        AuditRun("ci.approval", approval_outcome(None), {"timeout_seconds": request.timeout_seconds}),
    ]
    return CIStep(m, effects).then(lambda mem: steps.finish(mem, CIOutcome.ESCALATED, "no approval in time"))


def _polled(m: CIMemory, ctx: CIContext, result: CIRunEvent | ActivityFailed | None) -> CIStep:
    """A poll's answer counts like a webhook; a failed poll is logged and the wait goes on."""
    effects: list[CIEffect] = []
    if isinstance(result, ActivityFailed):
        effects.append(LogLine("warning", f"poll of {m.run.key} failed: {result.reason}"))
    elif result is not None:
        m = record_event(m, result)
    step = _keep_waiting(m, ctx)
    return CIStep(step.memory, [*effects, *step.effects])


def _keep_waiting(m: CIMemory, ctx: CIContext) -> CIStep:
    """A run wait goes on or ends: a confirming re-run's end goes to the flake check."""
    assert m.waiting is not None
    if m.waiting.kind is WaitFor.CONFIRM:
        return flake_steps.keep_waiting(m, ctx)
    return steps.keep_waiting(m, ctx)
