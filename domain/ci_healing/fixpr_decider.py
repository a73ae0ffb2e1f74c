"""The fix PR workflow's decider: (memory, input) -> (memory, effects), pure and table-tested.

Inputs: the start (`start`), a human's review or a webhook's nudge recorded by a signal
(`record_review`, `record_nudge`) and what a wait was waiting for (`on_news`), a wait's timer
(`on_timer`: poll again, re-check the queued PR, or give up), and the result of an effect that feeds
back (`resume`: the settings, the checks, the scan, the prior, the merge, the queue, the default
branch's run, the revert). An activity that failed after its retries hands the PR to humans
(`hand_over`). The workflow (`workflows/fix_pr.py`) only carries effects out.
"""

from __future__ import annotations

from typing import Any

from domain.ci_healing import fixpr_after_merge_steps as after_merge
from domain.ci_healing import fixpr_common_steps as common
from domain.ci_healing import fixpr_review_steps as review
from domain.ci_healing import fixpr_steps as steps
from domain.ci_healing.effects import ActivityFailed
from domain.ci_healing.evidence import ScanReport
from domain.ci_healing.fixpr_effects import (
    CloseFix,
    EnqueueReview,
    FixPRContext,
    FixPREffect,
    FixPRLog,
    FixPRMemory,
    FixPRPhase,
    FixPRStep,
    LoadFixSettings,
    LoadPrior,
    MergeFix,
    PublishEvidence,
    ReadChecks,
    ReadDefaultRun,
    ResolveReview,
    RevertFix,
    ScanFix,
)
from domain.ci_healing.fixpr_results import ChecksSnapshot, FixPRSettings
from domain.ci_healing.fixpr_unheal import unheal_reverted
from domain.ci_healing.review_queue import ReviewDecision
from domain.ci_healing.runs import CIRunEvent

POLLED = (FixPRPhase.CHECKS, FixPRPhase.APPROVAL, FixPRPhase.WATCH, FixPRPhase.REVERT)


def record_review(m: FixPRMemory, decision: ReviewDecision) -> FixPRMemory:
    """A human's approval or rejection; only the first one while the PR waits for a review counts."""
    if m.awaiting_review and m.review is None:
        return m.model_copy(update={"review": decision})
    return m


def record_nudge(m: FixPRMemory) -> FixPRMemory:
    """A webhook says the PR's checks, reviews or the default branch changed: look now."""
    return m if m.done else m.model_copy(update={"nudged": True})


def start(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    mine = not m.input.follow_up  # a follow-up leaves the run it was opened for alone
    m = m.model_copy(update={"settles_run": ctx.settle_run and mine, "tells_run": ctx.tell_run and mine})
    return FixPRStep(m, [LoadFixSettings()])


def news(m: FixPRMemory) -> bool:
    """Has what the current wait waits for arrived? (A nudge for a polled phase, a review for the queue.)"""
    wait = m.waiting
    if wait is None:
        return False
    if wait.phase is FixPRPhase.REVIEW:
        return m.review is not None
    if wait.phase is FixPRPhase.APPROVAL and m.review is not None:
        return True
    return m.nudged


def seconds_to_wait(m: FixPRMemory, ctx: FixPRContext) -> float:
    assert m.waiting is not None
    return max((m.waiting.wake_at - ctx.now).total_seconds(), 0.001)


def on_news(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """A nudge or a review arrived: look again now (or conclude the review)."""
    assert m.waiting is not None
    if m.waiting.phase is FixPRPhase.REVIEW:
        return review.reviewed(m, ctx)
    return _look(m, ctx)


def on_timer(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """A wait's timer: poll again, or re-check whether the queued PR is still open."""
    assert m.waiting is not None
    if m.waiting.phase is FixPRPhase.REVIEW:
        return common.read_checks(m)
    return _look(m, ctx)


def resume(m: FixPRMemory, ctx: FixPRContext, effect: FixPREffect, result: Any) -> FixPRStep:
    """The result of an effect that feeds back: the next step."""
    if isinstance(effect, ScanFix):
        if isinstance(result, ActivityFailed):
            result = ScanReport(ran=False, detail=f"the scan failed: {result.reason}"[:300])
        return FixPRStep(m.model_copy(update={"scan": result}), [LoadPrior(m.input.diagnosis.playbook or "")])
    if isinstance(result, ActivityFailed):
        return hand_over(m, result)
    if isinstance(effect, LoadFixSettings):
        return _settings_loaded(m, ctx, result)
    if isinstance(effect, ReadChecks):
        return _checks_read(m, ctx, result)
    if isinstance(effect, LoadPrior):
        return steps.scored(m, result)
    if isinstance(effect, PublishEvidence):
        if effect.comment:
            return common.end(m, "blocked: approved, left to the approver to merge")
        return steps.routed(m, ctx)
    if isinstance(effect, MergeFix):
        return steps.merged(m, ctx, result)
    if isinstance(effect, EnqueueReview):
        return review.enqueued(m, ctx, effect.item)
    if isinstance(effect, CloseFix):
        return review.closed(m, ctx)
    if isinstance(effect, ResolveReview):
        return review.resolved(m, effect)
    if isinstance(effect, ReadDefaultRun):
        return _default_run_read(m, ctx, result)
    if isinstance(effect, RevertFix):
        return unheal_reverted(after_merge.reverted(m, ctx, result), ctx)
    raise TypeError(f"{type(effect).__name__} has no result to resume with")


def hand_over(m: FixPRMemory, failed: ActivityFailed) -> FixPRStep:
    """Fail safe: an activity failed after its retries, so the PR is left to humans with the reason."""
    reason = f"{failed.activity or 'an activity'} failed: {failed.reason}"[:500]
    line = FixPRLog("error", f"fix PR {m.input.pr.workflow_id} handed to humans: {reason}")
    step = common.audit(m, "failed", {"detail": reason})
    return FixPRStep(step.memory, [line, *step.effects]).then(
        lambda mem: common.end(mem, f"failed: {reason}")
    )


def _settings_loaded(m: FixPRMemory, ctx: FixPRContext, settings: FixPRSettings) -> FixPRStep:
    """Wait for every check of the PR's head, at most the pipeline timeout."""
    m = m.model_copy(update={"settings": settings})
    m = common.begin(m, ctx, FixPRPhase.CHECKS, settings.policy.pipeline_timeout_seconds)
    return common.read_checks(m)


def _look(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """The next look of a polled phase."""
    assert m.waiting is not None
    phase = m.waiting.phase
    if phase is FixPRPhase.CHECKS:
        return common.read_checks(m)
    if phase is FixPRPhase.APPROVAL:
        return steps.look_for_approval(m, ctx)
    if phase is FixPRPhase.WATCH:
        return after_merge.look_at_default_branch(m, ctx)
    return after_merge.revert(m)


def _checks_read(m: FixPRMemory, ctx: FixPRContext, snap: ChecksSnapshot) -> FixPRStep:
    """The PR as it is now, read for the phase that asked."""
    assert m.waiting is not None
    phase = m.waiting.phase
    if phase is FixPRPhase.APPROVAL:
        return steps.approval_checked(m.model_copy(update={"snapshot": snap}), ctx)
    if phase is FixPRPhase.REVIEW:
        return review.review_checked(m.model_copy(update={"snapshot": snap}), ctx)
    m = m.model_copy(update={"snapshot": snap})
    if snap.state != "open":
        return common.end(m, f"{snap.state} outside Mender")
    if snap.done or ctx.now >= m.waiting.deadline:
        return steps.checks_finished(m)
    return common.pause(m, ctx)


def _default_run_read(m: FixPRMemory, ctx: FixPRContext, event: CIRunEvent | None) -> FixPRStep:
    if event is not None and event.conclusion is not None:
        return after_merge.watched(m.model_copy(update={"waiting": None}), ctx, event.conclusion)
    return common.pause(m, ctx)
