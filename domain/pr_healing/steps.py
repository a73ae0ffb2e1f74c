"""The steps the PR deciders share: fold events, journal remediations, act within budget, escalate.

Pure functions over `PRMemory`; each returns a `PRStep` (new memory and effects). `decider.py` and
`command_steps.py` compose them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from domain.pr_healing import audit_rows, queue_steps
from domain.pr_healing import lifecycle as machine
from domain.pr_healing.classifier import PRAction
from domain.pr_healing.commands import HUMAN_MARK, CommandAnswer, CommandRecord, CommandRequest
from domain.pr_healing.effects import (
    Answer,
    AskPermit,
    AskTurn,
    Audit,
    Context,
    Effect,
    Failed,
    Log,
    Notify,
    Plan,
    PRMemory,
    PRStep,
    Publish,
    Record,
    Reply,
    ReportToBreaker,
    RunStrategy,
)
from domain.pr_healing.events import EventSource, EventType, PREvent
from domain.pr_healing.facts import missed_facts
from domain.pr_healing.lifecycle import PRState, TransitionOutcome
from domain.pr_healing.remediation import Expectation, RemedyOutcome, escalation_notice, remediation_event
from domain.pr_healing.remedies import EFFECT_OF, REMEDIES
from domain.pr_healing.snapshot import PRSnapshot
from domain.shared.breaker_isolation import repo_only

UNTRACKED = "UNTRACKED"
ESCALATED = "escalated"
ACCEPTED_OUTCOMES = (RemedyOutcome.ACTED, RemedyOutcome.NOOP)
COMMANDS_KEPT = 100


def fold(m: PRMemory, ctx: Context, events: list[PREvent]) -> tuple[PRStep, bool]:
    """Apply events to the lifecycle, journal them, project them; True when any was journaled."""
    lc, recent, html_url = m.lifecycle, list(m.recent), m.html_url
    was = (lc.terminal, lc.tracked)
    effects: list[Effect] = []
    entries = []
    for event in events:
        lc, transition = machine.apply(lc, event)
        if transition.outcome is TransitionOutcome.DUPLICATE:
            continue
        if transition.flagged or transition.outcome is TransitionOutcome.IGNORED:
            effects.append(Log("warning", f"PR {event.pr.key}: {transition.outcome}: {transition.reason}"))
        if html_url is None and event.details.get("html_url"):
            html_url = str(event.details["html_url"])
        entries.append(machine.JournalEntry(event=event, transition=transition))
    recent = [*recent, *entries][-ctx.policy.recent_events_kept :]
    settled_at = ctx.now if (lc.terminal, lc.tracked) != was else m.settled_at
    m = m.model_copy(
        update={"lifecycle": lc, "recent": recent, "html_url": html_url, "settled_at": settled_at}
    )
    if not entries:
        return queue_steps.leave_when_done(PRStep(m, effects)), False
    if lc.tracked:  # nothing to project for a PR Mender never saw opened
        effects.append(Record(lc, (*m.unprojected, *entries)))
        m = m.model_copy(update={"unprojected": []})
    effects.append(publish(m))
    for entry in entries:
        if entry.transition.outcome is TransitionOutcome.APPLIED and entry.transition.from_state is None:
            effects.append(Audit(audit_rows.detected(entry.event)))  # tracked from now on
    step = PRStep(m, effects)
    expecting = m.expecting
    if expecting is not None and any(
        e.event.source is not EventSource.MENDER and expecting.met_by(e.event) for e in entries
    ):
        step.memory = queue_steps.effective_update(
            step.memory.model_copy(update={"expecting": None}), ctx, expecting.action
        )
        key = f"{expecting.action}:{expecting.attempt}:effect"
        step = step.then(lambda mem: remember(mem, ctx, expecting.action, RemedyOutcome.EFFECT, key))
        step.effects.append(ReportToBreaker(True, f"{expecting.action} took effect"))
    return queue_steps.leave_when_done(step), True


def publish(m: PRMemory) -> Publish:
    lc = m.lifecycle
    return Publish(
        state=lc.state.value if lc.state else UNTRACKED,
        needs_human=lc.state is PRState.NEEDS_INTERVENTION,
        last_event_at=lc.last_event_at,
    )


def published_at_start(opening: PREvent) -> Publish:
    """What a new PR workflow publishes after `opening` alone: the starter sets it with the start, and
    the workflow upserts only what its first decision publishes differently (nothing, usually)."""
    lifecycle, _ = machine.apply(machine.PRLifecycle(pr=opening.pr), opening)
    return publish(PRMemory(lifecycle=lifecycle))


def remember(m: PRMemory, ctx: Context, action: PRAction, outcome: str, key: str, **details: Any) -> PRStep:
    """Journal a remediation record and audit it; a repeated key is neither journaled nor audited."""
    event = remediation_event(
        m.pr, action, outcome, f"remediation:{key}", ctx.now, m.lifecycle.head_sha, **details
    )
    step, journaled = fold(m, ctx, [event])
    if journaled:
        step.effects.append(Audit(audit_rows.remediation(event)))
    return step


def verified(m: PRMemory, ctx: Context, result: PRSnapshot | Failed) -> PRStep:
    """Fold what the snapshot shows that the lifecycle missed (or report the failed read)."""
    if isinstance(result, Failed):
        return PRStep(
            m,
            [
                Log("warning", f"PR {m.pr.key}: refresh failed: {result.reason}"),
                ReportToBreaker(False, f"refresh failed: {result.reason}", repo_only(result.kind)),
            ],
        )
    m = m.model_copy(
        update={
            "html_url": m.html_url or result.html_url,
            "verified_at": ctx.now,
            "verifications": m.verifications + 1,
        }
    )
    missed = missed_facts(m.lifecycle, result, ctx.policy.policy_context, ctx.now)
    return fold(m, ctx, missed)[0] if missed else PRStep(m)


def act(m: PRMemory, ctx: Context, plan: Plan) -> PRStep:
    """Carry out one decision: escalate, record it (observe mode), or ask the breaker to run it."""
    decision = plan.decision
    if decision.action is PRAction.NO_ACTION:
        return finish(m, ctx, plan, RemedyOutcome.NOOP, decision.reason)
    if decision.action is PRAction.NEEDS_INTERVENTION:
        return escalate(m, ctx, decision.reason).then(
            lambda mem: finish(mem, ctx, plan, ESCALATED, decision.reason)
        )
    budget = REMEDIES[decision.action].budget
    plan = replace(plan, attempt=m.lifecycle.retry_counts.get(budget, 0) + 1, started_at=None)
    if ctx.policy.mode == "observe":
        key = f"observe:{decision.action}:{plan.head_sha}"
        step = remember(m, ctx, decision.action, RemedyOutcome.OBSERVED, key, **details_of(plan))
        return step.then(
            lambda mem: finish(mem, ctx, plan, RemedyOutcome.OBSERVED, "Mender only observes this repository")
        )
    if queue_steps.needs_turn(ctx, plan):
        return PRStep(m, [AskTurn(plan)])
    return PRStep(m, [AskPermit(plan)])


def details_of(plan: Plan) -> dict[str, Any]:
    extra: dict[str, Any] = {"reason": plan.decision.reason}
    if plan.command is not None:
        request = plan.command
        extra |= {"command": request.command, "requester": request.requester, "via": request.source.value}
    return extra


def on_permit(m: PRMemory, ctx: Context, plan: Plan, result: Any) -> PRStep:
    """The breaker's answer: paused, or count the attempt and run the strategy."""
    action = plan.decision.action
    if isinstance(result, Failed) or not result.granted:
        step = PRStep(m)
        if isinstance(result, Failed):
            step.effects.append(
                Log("warning", f"PR {m.pr.key}: breaker unreachable, not acting: {result.reason}")
            )
        key = f"paused:{action}:{plan.attempt}"
        step = step.then(
            lambda mem: remember(mem, ctx, action, RemedyOutcome.PAUSED, key, **details_of(plan))
        )
        return step.then(
            lambda mem: finish(mem, ctx, plan, RemedyOutcome.PAUSED, "the GitHub circuit breaker is open")
        )
    remedy = REMEDIES[action]
    counts = {**m.lifecycle.retry_counts, remedy.budget: plan.attempt}
    if plan.command is not None:
        mark = remedy.budget + HUMAN_MARK
        counts[mark] = counts.get(mark, 0) + 1
    m = m.model_copy(update={"lifecycle": m.lifecycle.model_copy(update={"retry_counts": counts})})
    strategy, bot = remedy.strategy_for(plan.attempt, direct=plan.command is not None)
    return PRStep(m, [RunStrategy(replace(plan, started_at=ctx.now), strategy, bot)])


def on_strategy_result(m: PRMemory, ctx: Context, plan: Plan, result: Any) -> PRStep:
    """Journal what the strategy did (and when it was scheduled); an action that acted now waits for its
    effect."""
    action, key, extra = plan.decision.action, f"{plan.decision.action}:{plan.attempt}", details_of(plan)
    if plan.started_at is not None:  # stall -> decision, apart from stall -> the write GitHub took
        extra["scheduled_at"] = plan.started_at.isoformat()
    if isinstance(result, Failed):
        step = remember(m, ctx, action, RemedyOutcome.FAILED, key, detail=result.reason, **extra)
        step.effects.append(
            ReportToBreaker(False, f"{action} failed: {result.reason}", repo_only(result.kind))
        )
        return step.then(lambda mem: finish(mem, ctx, plan, RemedyOutcome.FAILED, result.reason))
    replaced = result.replaced
    step = PRStep(m)
    if replaced is not None:  # close-and-reopen: the lineage goes into this PR's journal
        step = fold(m, ctx, [replaced])[0]
    if not result.ok:
        step = step.then(
            lambda mem: remember(mem, ctx, action, RemedyOutcome.REFUSED, key, detail=result.detail, **extra)
        )
        return step.then(lambda mem: finish(mem, ctx, plan, RemedyOutcome.REFUSED, result.detail))
    if result.noop:
        step = step.then(
            lambda mem: remember(mem, ctx, action, RemedyOutcome.NOOP, key, detail=result.detail, **extra)
        )
        return step.then(lambda mem: finish(mem, ctx, plan, RemedyOutcome.NOOP, result.detail))
    if action in EFFECT_OF:
        deadline = ctx.now + timedelta(seconds=ctx.policy.remediation.effect_deadline_seconds)
        expecting = Expectation(
            action=action,
            attempt=plan.attempt,
            deadline=deadline,
            head_sha=plan.head_sha,
            since=plan.started_at,
        )
        step.memory = step.memory.model_copy(update={"expecting": expecting})
    step = step.then(
        lambda mem: remember(mem, ctx, action, RemedyOutcome.ACTED, key, detail=result.detail, **extra)
    )
    return step.then(lambda mem: finish(mem, ctx, plan, RemedyOutcome.ACTED, result.detail))


def escalate(m: PRMemory, ctx: Context, reason: str) -> PRStep:
    """NEEDS_INTERVENTION: journal it, set MenderNeedsHuman, and tell a human everything tried."""
    lc = m.lifecycle
    event = PREvent(
        key=f"escalated:{lc.head_sha}:{sum(lc.retry_counts.values())}",
        pr=lc.pr,
        type=EventType.ESCALATED,
        source=EventSource.MENDER,
        occurred_at=ctx.now,
        head_sha=lc.head_sha,
        details={"reason": reason},
    )
    step, journaled = fold(m, ctx, [event])
    if not journaled:
        return step
    m = step.memory
    notice = escalation_notice(m.pr, reason, "NEEDS_INTERVENTION", m.html_url, m.recent)
    step.effects.append(Notify(notice, reason))
    return step


def on_notified(m: PRMemory, ctx: Context, effect: Notify, result: Any) -> PRStep:
    if isinstance(result, Failed):
        error = f"escalation notice failed: {result.reason}"
        log = Log("error", f"PR {m.pr.key}: {error}")
        return PRStep(m, [log, Audit(audit_rows.escalated(m.pr, effect.reason, None, error))])
    return PRStep(m, [Audit(audit_rows.escalated(m.pr, effect.reason, result, None))])


def finish(m: PRMemory, ctx: Context, plan: Plan, outcome: str, detail: str) -> PRStep:
    """The end of a plan: nothing more for the classifier's; a command's is answered."""
    if plan.command is None or plan.spec is None:
        return PRStep(m)
    request, spec = plan.command, plan.spec
    if outcome == RemedyOutcome.ACTED:
        reason = f"{spec.done} triggered by @{request.requester}: {detail}"
    elif outcome == RemedyOutcome.NOOP:
        reason = f"`{spec.name}` by @{request.requester}: nothing to do ({detail})"
    elif outcome == RemedyOutcome.REFUSED:
        reason = detail.removeprefix("refused: ")
    else:
        reason = f"{outcome}: {detail}"
    answer = CommandAnswer(accepted=outcome in ACCEPTED_OUTCOMES, command=spec.name, reason=reason)
    return answered(m, ctx, plan, answer)


def answered(m: PRMemory, ctx: Context, plan: Plan, answer: CommandAnswer) -> PRStep:
    """Keep the answer (idempotency), audit it, reply to a comment, hand it to the update."""
    assert plan.command is not None
    request = plan.command
    m = keep_answer(m, ctx, request, answer)
    effects: list[Effect] = [Audit(audit_rows.command(m.pr, request, answer))]
    if request.source.value == "comment":
        body = answer.reason if answer.accepted else f"`{answer.command}` refused: {answer.reason}"
        effects.append(Reply(request.idempotency_key, body))
    effects.append(Answer(request.idempotency_key, answer))
    return PRStep(m, effects)


def keep_answer(m: PRMemory, ctx: Context, request: CommandRequest, answer: CommandAnswer) -> PRMemory:
    """Remember a command's answer under its idempotency key (the last `COMMANDS_KEPT` keys)."""
    key = request.idempotency_key
    kept = [r for r in m.commands if r.request.idempotency_key != key]
    kept.append(CommandRecord(request=request, answer=answer, at=ctx.now))
    return m.model_copy(update={"commands": kept[-COMMANDS_KEPT:]})
