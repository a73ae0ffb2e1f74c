"""The PR decider's side of merge-queue-lite (`merge_queue.py`): when to ask for a turn, when to leave.

Only automatic branch updates wait for a turn (a human's command goes straight through). A PR leaves
its queue when it is over or needs a human, and when its turn came but it needs no update. A branch
update whose effect was seen made the PR current: it is not charged to the budget (up to
`merge_queue.effective_updates_max`), however soon the base moves again.
"""

from __future__ import annotations

from domain.pr_healing.classifier import Decision, PRAction
from domain.pr_healing.effects import (
    Context,
    Effect,
    FetchSnapshot,
    Plan,
    PRMemory,
    PRStep,
    Purpose,
    ReleaseTurn,
)
from domain.pr_healing.lifecycle import PRState
from domain.pr_healing.merge_queue import Membership
from domain.pr_healing.remediation_config import RemediationConfig
from domain.pr_healing.remedies import REMEDIES

QUEUED_ACTIONS = frozenset({PRAction.UPDATE_BRANCH})


def needs_turn(ctx: Context, plan: Plan) -> bool:
    """An automatic branch update waits for its turn in the queue of its base (when the queue is on)."""
    return (
        plan.decision.action in QUEUED_ACTIONS
        and plan.command is None
        and plan.base_ref is not None
        and ctx.policy.remediation.merge_queue.enabled
        and ctx.merge_queue_known
    )


def remediation_of(ctx: Context) -> RemediationConfig:
    """The remediation settings the classifier decides with (no queue rules in a run from before it)."""
    cfg = ctx.policy.remediation
    if ctx.merge_queue_known or not cfg.merge_queue.enabled:
        return cfg
    return cfg.model_copy(update={"merge_queue": cfg.merge_queue.model_copy(update={"enabled": False})})


def on_turn(m: PRMemory, ctx: Context) -> PRStep:
    """The queue says it is this PR's turn: look again now, as if the threshold had passed."""
    if m.queue.base_ref is None or m.lifecycle.terminal:
        return PRStep(m)
    before = (m.lifecycle.state.value if m.lifecycle.state else None, m.lifecycle.head_sha)
    return PRStep(m, [FetchSnapshot(Purpose.STALE, before=before)])


def leave(m: PRMemory) -> PRStep:
    """Leave the queue (holding the turn or waiting), keeping the count of effective updates."""
    if m.queue.base_ref is None:
        return PRStep(m)
    effects: list[Effect] = [ReleaseTurn(m.queue.base_ref)]
    kept = Membership(effective_updates=m.queue.effective_updates)
    return PRStep(m.model_copy(update={"queue": kept}), effects)


def leave_when_done(step: PRStep) -> PRStep:
    """A PR that is over, needs a human or was cancelled makes way for the next one."""
    m = step.memory
    done = m.lifecycle.terminal or m.lifecycle.state is PRState.NEEDS_INTERVENTION or m.cancelled
    if m.queue.base_ref is None or not done:
        return step
    left = leave(m)
    return PRStep(left.memory, [*step.effects, *left.effects])


def after_classified(m: PRMemory, decision: Decision) -> PRStep:
    """Its turn came (or it waits) but it needs no update: make way. A PR brought up to date during
    its turn keeps it until it merges (another update now would be made stale by its merge)."""
    if m.queue.base_ref is None or decision.action in QUEUED_ACTIONS:
        return PRStep(m)
    if m.queue.holds and m.queue.updated:
        return PRStep(m)
    return leave(m)


def effective_update(m: PRMemory, ctx: Context, action: PRAction) -> PRMemory:
    """A branch update was seen to take effect: the PR was current. Refund its attempt (bounded)."""
    if action not in QUEUED_ACTIONS:
        return m
    seat = m.queue.model_copy(
        update={"updated": m.queue.holds, "effective_updates": m.queue.effective_updates + 1}
    )
    m = m.model_copy(update={"queue": seat})
    if seat.effective_updates > ctx.policy.remediation.merge_queue.effective_updates_max:
        return m
    budget = REMEDIES[action].budget
    counts = dict(m.lifecycle.retry_counts)
    counts[budget] = max(0, counts.get(budget, 0) - 1)
    return m.model_copy(update={"lifecycle": m.lifecycle.model_copy(update={"retry_counts": counts})})
