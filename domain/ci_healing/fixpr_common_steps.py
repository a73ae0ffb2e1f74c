"""The fix PR steps' common moves: change the status, audit, end, tell or hold the fixed run, wait, look.

The steps in `fixpr_steps`, `fixpr_review_steps` and `fixpr_after_merge_steps` build on these.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.ci_healing.fixpr import Route, settled_outcome
from domain.ci_healing.fixpr_effects import (
    AuditFixPR,
    FixPRContext,
    FixPRMemory,
    FixPRPhase,
    FixPRStep,
    FixPRWait,
    HoldRun,
    MergeFix,
    ReadChecks,
    SettleRun,
    TellRun,
)
from domain.ci_healing.fixpr_results import FixPRSettings
from domain.shared.audit import AuditAction

MAX_EVENTS = 100


def status(m: FixPRMemory, **changes: object) -> FixPRMemory:
    """The memory with its status changed."""
    return m.model_copy(update={"status": m.status.model_copy(update=changes)})


def settings_of(m: FixPRMemory) -> FixPRSettings:
    assert m.settings is not None
    return m.settings


def audit(m: FixPRMemory, outcome: str, details: dict[str, Any], actor: str = "mender") -> FixPRStep:
    """One `ci.fix_pr` row (`ci.review` for a human's act), also kept in the status's events."""
    m = status(m, events=[*m.status.events, outcome][-MAX_EVENTS:])
    d = m.input.diagnosis
    base = {"pr": m.input.pr.number, "playbook": d.playbook, "action": d.action.value}
    action = AuditAction.CI_REVIEW if actor != "mender" else AuditAction.CI_FIX_PR
    return FixPRStep(m, [AuditFixPR(action, actor, outcome, base | details)])


def end(m: FixPRMemory, outcome: str) -> FixPRStep:
    """Done; a fix PR that sat in the review queue or was proposed settles its run (awaiting review until
    now)."""
    m = status(m, outcome=outcome, stage="done")
    m = m.model_copy(update={"done": True, "waiting": None, "awaiting_review": False})
    held = m.holds_run or (m.settles_run and m.queued is not None)
    settled = settled_outcome(outcome) if held else None
    step = tell_run(m, None, (outcome,))  # ended without a route (handed over, closed outside): its outcome
    return FixPRStep(step.memory, [*step.effects, *([SettleRun(settled)] if settled is not None else [])])


def tell_run(m: FixPRMemory, route: Route | None, reasons: tuple[str, ...] = ()) -> FixPRStep:
    """The CI failure workflow of the fixed run hears the route, once (runs from before: never)."""
    if not m.tells_run or m.told_run:
        return FixPRStep(m)
    return FixPRStep(m.model_copy(update={"told_run": True}), [TellRun(route, reasons)])


def hold_run(step: FixPRStep) -> FixPRStep:
    """Proposed or queued, not merged: the run it fixes is not healed until the merge (`SettleRun`)."""
    held = step.memory.model_copy(update={"holds_run": True})
    return FixPRStep(held, [*step.effects, HoldRun()])


def pause(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """Until the next poll (or a nudge), at most until the phase's deadline (at least a second)."""
    wait = m.waiting
    assert wait is not None
    left = max(1.0, (wait.deadline - ctx.now).total_seconds())
    wake = ctx.now + timedelta(seconds=min(settings_of(m).policy.poll_seconds, left))
    return FixPRStep(m.model_copy(update={"waiting": wait.model_copy(update={"wake_at": wake})}))


def begin(m: FixPRMemory, ctx: FixPRContext, phase: FixPRPhase, seconds: float) -> FixPRMemory:
    """A phase that lasts `seconds` from now, its first look due at once."""
    deadline = ctx.now + timedelta(seconds=seconds)
    return m.model_copy(update={"waiting": FixPRWait(phase=phase, deadline=deadline, wake_at=ctx.now)})


def read_checks(m: FixPRMemory) -> FixPRStep:
    """Look at the PR now; a nudge that comes while looking asks for another look."""
    return FixPRStep(m.model_copy(update={"nudged": False}), [ReadChecks()])


def merge(m: FixPRMemory, outcome: str, requeue: bool = True) -> FixPRStep:
    return FixPRStep(m.model_copy(update={"merge_outcome": outcome, "requeue": requeue}), [MergeFix()])
