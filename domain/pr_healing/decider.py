"""The PR workflow's decider: (memory, input) -> (memory, effects), pure and table-tested.

Inputs are events (`on_events`), the staleness timer (`on_stale`), a refresh request (`on_refresh`)
and the result of an effect that feeds back (`resume`). Commands are decided in
`domain/pr_healing/command_steps.py` on the same memory. The workflow only carries effects out.

A stale PR is read from GitHub first (trust but verify); missed facts are folded in as events. Only a
PR still stale in the same state and head is classified; a remediation runs within its budget, behind
the circuit breaker, and counts as a success once its expected effect is seen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.pr_healing import audit_rows, command_steps, queue_steps, unchecked_steps
from domain.pr_healing.classifier import PRAction, classify
from domain.pr_healing.effects import (
    AskPermit,
    AskTurn,
    Audit,
    CheckPermission,
    Context,
    Effect,
    Failed,
    FetchSnapshot,
    Log,
    Notify,
    Plan,
    PRMemory,
    PRStep,
    Purpose,
    Record,
    ReportToBreaker,
    RunStrategy,
)
from domain.pr_healing.events import PREvent
from domain.pr_healing.merge_queue import Membership, Turn, nearness
from domain.pr_healing.remediation import RemedyOutcome, history_for_classifier
from domain.pr_healing.snapshot import PRSnapshot
from domain.pr_healing.steps import (
    act,
    fold,
    on_notified,
    on_permit,
    on_strategy_result,
    remember,
    verified,
)

UNPROJECTED_KEPT = 500


def on_events(m: PRMemory, ctx: Context, events: list[PREvent]) -> PRStep:
    """Facts about the PR from a webhook, the reconciler or Mender itself."""
    return fold(m, ctx, events)[0]


def on_stale(m: PRMemory, ctx: Context) -> PRStep:
    """The state's threshold passed (or an expected effect is overdue): verify first."""
    before = (m.lifecycle.state.value if m.lifecycle.state else None, m.lifecycle.head_sha)
    return PRStep(m, [FetchSnapshot(Purpose.STALE, before=before)])


def on_refresh(m: PRMemory, ctx: Context) -> PRStep:
    """Somebody asked for a trust-but-verify refresh."""
    return PRStep(m, [FetchSnapshot(Purpose.REFRESH)])


def resume(m: PRMemory, ctx: Context, effect: Effect, result: Any) -> PRStep:
    """The result of an effect that feeds back: the next step."""
    if isinstance(effect, FetchSnapshot):
        if effect.purpose is Purpose.COMMAND:
            return command_steps.on_snapshot(m, ctx, effect, result)
        return on_snapshot(m, ctx, effect, result)
    if isinstance(effect, AskTurn):
        return on_turn_answer(m, ctx, effect.plan, result)
    if isinstance(effect, AskPermit):
        return on_permit(m, ctx, effect.plan, result)
    if isinstance(effect, RunStrategy):
        if unchecked_steps.applies(ctx, result):
            return unchecked_steps.on_unchecked(m, ctx, effect.plan, result)
        return on_strategy_result(m, ctx, effect.plan, result)
    if isinstance(effect, Notify):
        return on_notified(m, ctx, effect, result)
    if isinstance(effect, Record):
        return on_recorded(m, ctx, effect, result)
    if isinstance(effect, CheckPermission):
        return command_steps.on_permission(m, ctx, effect, result)
    raise TypeError(f"{type(effect).__name__} has no result to resume with")


def on_snapshot(m: PRMemory, ctx: Context, effect: FetchSnapshot, result: PRSnapshot | Failed) -> PRStep:
    """After a stale or requested read: fold missed facts; a stale PR may then be acted on."""
    if effect.purpose is Purpose.STALE:  # the next check is a threshold after this one at the earliest
        m = m.model_copy(update={"checked_at": ctx.now})
    step = verified(m, ctx, result)
    if effect.purpose is not Purpose.STALE or isinstance(result, Failed):
        return step
    m = step.memory
    if m.expecting is not None:
        if ctx.now < m.expecting.deadline:
            return step
        missed = m.expecting
        step.memory = m.model_copy(update={"expecting": None})
        key = f"{missed.action}:{missed.attempt}:effect"
        step = step.then(lambda mem: remember(mem, ctx, missed.action, RemedyOutcome.NO_EFFECT, key))
        step.effects.append(ReportToBreaker(False, f"{missed.action} had no effect"))
        m = step.memory
    lc = m.lifecycle
    now_at = (lc.state.value if lc.state else None, lc.head_sha)
    if now_at != effect.before or lc.terminal or m.cancelled:
        return step
    policy = ctx.policy
    decision = classify(
        lc.state,
        history_for_classifier(m.recent),
        result,
        lc.retry_counts,
        policy.retry_budgets,
        queue_steps.remediation_of(ctx),
        policy.policy_context,
    )
    step.effects.append(
        Log("info", f"PR {m.pr.key} stale in {lc.state}: {decision.action} ({decision.reason})")
    )
    if decision.action is not PRAction.NO_ACTION:  # "wait" decisions are not audited (one per timeout)
        row = audit_rows.classified(m.pr, lc.state, result.head_sha, decision, lc.retry_counts, ctx.run_id)
        step.effects.append(Audit(row))
    plan = Plan(
        decision=decision,
        head_sha=result.head_sha,
        title=result.title,
        base_ref=result.base_ref,
        nearness=nearness(result, policy.policy_context),
    )
    step = step.then(lambda mem: queue_steps.after_classified(mem, decision))
    return step.then(lambda mem: act(mem, ctx, plan))


on_turn = queue_steps.on_turn


def on_turn_answer(m: PRMemory, ctx: Context, plan: Plan, result: Turn | Failed) -> PRStep:
    """The merge queue's answer: the turn (ask the breaker, then update), or wait for it."""
    if isinstance(result, Failed):  # the queue only saves CI runs: without it, update anyway
        log = Log(
            "warning", f"PR {m.pr.key}: merge queue unreachable, updating without a turn: {result.reason}"
        )
        return PRStep(m, [log, AskPermit(plan)])
    assert plan.base_ref is not None
    same = m.queue.base_ref == plan.base_ref and m.queue.holds
    seat = Membership(
        base_ref=plan.base_ref,
        holds=result.granted,
        updated=same and result.granted and m.queue.updated,
        effective_updates=m.queue.effective_updates,
    )
    m = m.model_copy(update={"queue": seat})
    if result.granted:
        return PRStep(m, [AskPermit(plan)])
    action = plan.decision.action
    key = f"queued:{action}:{plan.head_sha}:{result.holder}"
    step = remember(m, ctx, action, RemedyOutcome.QUEUED, key, reason=result.reason, behind=result.holder)
    step.effects.append(Log("info", f"PR {m.pr.key}: waits for its turn: {result.reason}"))
    return step


def on_recorded(m: PRMemory, ctx: Context, effect: Record, result: Any) -> PRStep:
    """A store that did not take the projection: keep its journal lines for the next one (bounded)."""
    if not isinstance(result, Failed):
        return PRStep(m)
    pending = [*effect.entries, *m.unprojected]
    dropped = len(pending) - UNPROJECTED_KEPT
    effects: list[Effect] = [
        Log("error", f"PR {m.pr.key}: store did not take the projection: {result.reason}")
    ]
    if dropped > 0:  # the lines stay in the workflow's history; only the store's copy misses them
        effects.append(Log("error", f"PR {m.pr.key}: {dropped} journal lines not projected (dead letter)"))
    return PRStep(m.model_copy(update={"unprojected": pending[-UNPROJECTED_KEPT:]}), effects)


on_command = command_steps.on_command
arrives = command_steps.arrives
duplicate_of = command_steps.duplicate_of


def cut_short(m: PRMemory) -> bool:
    """A cancelled PR that is over (or never tracked) needs no grace period."""
    return m.cancelled and (m.lifecycle.terminal or not m.lifecycle.tracked)


def settled(m: PRMemory) -> bool:
    """Over (merged or closed) or never tracked: the workflow only lingers, then completes."""
    return m.lifecycle.terminal or not m.lifecycle.tracked


def seconds_to_wait(m: PRMemory, ctx: Context) -> float:
    """Until the state's threshold (or an expected effect's deadline, or the end of the grace period),
    counted from `stale_since` (runs before EVENT_TIME_REVISION: from now, each time they wake up)."""
    seconds = ctx.policy.stale_after(m.lifecycle.state)
    if settled(m):
        since = m.settled_at or ctx.now
        return max(seconds - (ctx.now - since).total_seconds(), 0.001)
    if ctx.stale_from_event_time:
        seconds -= (ctx.now - stale_since(m, ctx)).total_seconds()
    if m.expecting is not None:
        seconds = min(seconds, (m.expecting.deadline - ctx.now).total_seconds())
    return max(seconds, 0.001)


def stale_since(m: PRMemory, ctx: Context) -> datetime:
    """What staleness counts from: the PR's last event by its own time (a webhook the workflow applied
    late is as old as it is), or the last staleness check when that is later (a PR found waiting is
    looked at again a threshold later, not at once); never after now (a sender's clock ahead of the
    workflow's cannot postpone the check)."""
    known = [t for t in (m.lifecycle.last_event_at, m.checked_at) if t is not None]
    return min(ctx.now, max(known)) if known else ctx.now


def closing(m: PRMemory, ctx: Context) -> PRStep:
    """The workflow completes: a terminal PR's store record expires after the retention period."""
    if not m.lifecycle.terminal:
        return PRStep(m)
    expires = ctx.now + timedelta(days=ctx.policy.store_retention_days)
    return PRStep(m, [Record(m.lifecycle, tuple(m.unprojected), expires_at=expires)])
