"""A remediation Mender could not check because it failed itself (pure; the PR decider's step).

The activity timed out (start-to-close, heartbeat or schedule-to-close: the worker died or hung, every
retry too), so whether GitHub applied the attempt is unknown. Budgets count only ineffective attempts:
this one is journaled, refunded and not reported to the breaker; the next threshold reads GitHub again
and every strategy finds what a killed attempt already did. Bounded by a cap of its own
(`remediation.unchecked_attempts_max` per PR), past which a human is asked, saying why.
"""

from __future__ import annotations

from domain.pr_healing.commands import HUMAN_MARK
from domain.pr_healing.effects import Context, Failed, Log, Plan, PRMemory, PRStep
from domain.pr_healing.remediation import MENDER_FAILURE_KINDS, RemedyOutcome
from domain.pr_healing.remedies import REMEDIES
from domain.pr_healing.steps import details_of, escalate, finish, remember


def applies(ctx: Context, result: object) -> bool:
    """True for a strategy that failed because Mender did (in runs that know about it)."""
    return ctx.unchecked_uncharged and isinstance(result, Failed) and result.kind in MENDER_FAILURE_KINDS


def on_unchecked(m: PRMemory, ctx: Context, plan: Plan, result: Failed) -> PRStep:
    """Journal it, refund its budget; past the cap, escalate."""
    action, extra = plan.decision.action, details_of(plan)
    count = m.unchecked + 1
    budget = REMEDIES[action].budget
    counts = {**m.lifecycle.retry_counts, budget: max(0, plan.attempt - 1)}
    mark = budget + HUMAN_MARK
    if plan.command is not None and counts.get(mark, 0) > 0:
        counts[mark] -= 1
    lc = m.lifecycle.model_copy(update={"retry_counts": counts})
    m = m.model_copy(update={"unchecked": count, "lifecycle": lc})
    key = f"{action}:{plan.attempt}:unchecked:{count}"
    step = remember(m, ctx, action, RemedyOutcome.UNCHECKED, key, detail=result.reason, **extra)
    cap = ctx.policy.remediation.unchecked_attempts_max
    step.effects.append(
        Log("warning", f"PR {m.pr.key}: {action} not checked ({count}/{cap} uncharged): {result.reason}")
    )
    if count > cap:
        reason = (
            f"{action} could not be checked {count} times because Mender itself failed "
            f"(its worker died or hung; last: {result.reason[:200]})"
        )
        step = step.then(lambda mem: escalate(mem, ctx, reason))
    return step.then(lambda mem: finish(mem, ctx, plan, RemedyOutcome.UNCHECKED, result.reason))
