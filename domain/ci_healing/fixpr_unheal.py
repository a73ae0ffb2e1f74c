"""A merged fix that was reverted (or whose revert is open) did not heal its run: the failure is back.

A run held for its fix PR's review (`holds_run`, or queued and settled) is settled by `end` already
(`settled_outcome`: reverted is a human's); a run healed at once by a confirmed merge goes back to
`awaiting_review` (`HoldRun`) and is settled `escalated` (`SettleRun`), so reports stop counting it fixed.
"""

from __future__ import annotations

from domain.ci_healing.fixpr_effects import FixPRContext, FixPRStep, HoldRun, SettleRun
from domain.ci_healing.outcomes import CIOutcome


def unheal_reverted(step: FixPRStep, ctx: FixPRContext) -> FixPRStep:
    """The revert's step, and when it ended the fix PR, its healed run taken back (runs from before
    `fixpr-revert-unheals`: kept healed)."""
    m = step.memory
    settled_by_end = m.holds_run or (m.settles_run and m.queued is not None)
    if not ctx.unheal_reverted or not m.done or settled_by_end or m.input.follow_up:
        return step
    held = m.model_copy(update={"holds_run": True})
    return FixPRStep(held, [*step.effects, HoldRun(), SettleRun(CIOutcome.ESCALATED)])
