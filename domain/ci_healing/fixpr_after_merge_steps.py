"""The fix PR steps after the merge: watch the default branch's run; red: revert the fix (saga compensation)."""

from __future__ import annotations

from domain.ci_healing.fixpr import AfterMerge, after_merge
from domain.ci_healing.fixpr_common_steps import audit, begin, end, pause, settings_of, status
from domain.ci_healing.fixpr_effects import (
    FixPRContext,
    FixPRMemory,
    FixPRPhase,
    FixPRStep,
    ReadDefaultRun,
    RevertFix,
)
from domain.ci_healing.fixpr_results import RevertResult
from domain.ci_healing.runs import Conclusion

REVERT_REASON = "the default branch failed after the merge"


def watch(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """Watch the default branch's run on the merge commit; red: revert the fix (saga compensation)."""
    m = status(m, stage="watching the default branch")
    m = begin(m, ctx, FixPRPhase.WATCH, settings_of(m).policy.watch_after_merge_seconds)
    return look_at_default_branch(m, ctx)


def look_at_default_branch(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    assert m.waiting is not None and m.status.merge_sha is not None
    if ctx.now >= m.waiting.deadline:
        return watched(m, ctx, None)
    return FixPRStep(m.model_copy(update={"nudged": False}), [ReadDefaultRun(m.status.merge_sha)])


def watched(m: FixPRMemory, ctx: FixPRContext, conclusion: Conclusion | None) -> FixPRStep:
    """Green or unknown: the fix stays; red: the revert PR, merged once its checks passed."""
    if after_merge(conclusion) is not AfterMerge.REVERT:
        return end(m, m.merge_outcome)
    assert m.status.merge_sha is not None
    m = status(m, stage="reverting")
    m = begin(m, ctx, FixPRPhase.REVERT, settings_of(m).policy.pipeline_timeout_seconds)
    return revert(m)


def revert(m: FixPRMemory) -> FixPRStep:
    assert m.status.merge_sha is not None
    return FixPRStep(m.model_copy(update={"nudged": False}), [RevertFix(m.status.merge_sha, REVERT_REASON)])


def reverted(m: FixPRMemory, ctx: FixPRContext, result: RevertResult) -> FixPRStep:
    """Merged, refused, or out of time: audited and done; else try again at the next poll."""
    assert m.waiting is not None
    if not (result.merged or not result.opened or ctx.now >= m.waiting.deadline):
        return pause(m, ctx)
    m = status(m, revert_url=result.url)
    details = {"revert": result.url, "merged": result.merged, "sha": m.status.merge_sha}
    outcome = "reverted" if result.merged else "revert opened"
    return audit(m, "reverted", details).then(lambda mem: end(mem, outcome))
