"""The fix PR steps of the review queue: queue the PR, wait for the answer, merge or close, resolve the item.

A queued PR that is merged or closed outside Mender leaves the queue; approved merges unless the route
was blocked (the approver merges); rejected closes.
"""

from __future__ import annotations

from datetime import timedelta

from domain.ci_healing.fixpr import FixPRDecision, Route, approval_route
from domain.ci_healing.fixpr_common_steps import audit, begin, end, merge, settings_of, status
from domain.ci_healing.fixpr_effects import (
    AnnounceReview,
    CheckBacklog,
    CloseFix,
    EnqueueReview,
    FixPRContext,
    FixPRMemory,
    FixPRPhase,
    FixPRStep,
    PublishEvidence,
    ResolveReview,
)
from domain.ci_healing.review_queue import ReviewDecision, ReviewItem, ReviewStatus


def queue(m: FixPRMemory, ctx: FixPRContext, decision: FixPRDecision) -> FixPRStep:
    """The review queue: stored, announced, waited on; approve merges (unless blocked), reject closes."""
    score = m.status.confidence
    i = m.input
    item = ReviewItem(
        workflow_id=i.pr.workflow_id,
        repo=i.pr.project,
        pr_number=i.pr.number,
        pr_url=i.pr.url,
        title=i.title,
        score=score.score if score else 0.0,
        route=decision.route.value,
        reasons=decision.reasons,
        created_at=ctx.now,
    )
    m = status(m, outcome="blocked" if decision.route is Route.BLOCKED else "queued")
    m = m.model_copy(update={"awaiting_review": True, "queued": decision, "waiting": None})
    return FixPRStep(m, [EnqueueReview(item)])


def enqueued(m: FixPRMemory, ctx: FixPRContext, item: ReviewItem) -> FixPRStep:
    m = begin(m, ctx, FixPRPhase.REVIEW, settings_of(m).policy.review_timeout_seconds)
    return FixPRStep(m, [AnnounceReview(item)]).then(lambda mem: await_review(mem, ctx))


def await_review(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """Answered or out of time: conclude; else the backlog check and a wait until the next re-check."""
    wait = m.waiting
    assert wait is not None
    if m.review is not None or ctx.now >= wait.deadline:
        return reviewed(m, ctx)
    wake = ctx.now + timedelta(seconds=settings_of(m).policy.review.recheck_seconds)
    m = m.model_copy(update={"waiting": wait.model_copy(update={"wake_at": wake})})
    return FixPRStep(m, [CheckBacklog()])


def review_checked(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """A queued PR merged or closed outside Mender leaves the queue; an open one waits on."""
    snap = m.snapshot
    assert snap is not None
    if snap.state != "open":
        gone = f"{snap.state} outside Mender"
        return FixPRStep(m, [ResolveReview(ReviewStatus.CLOSED, None, gone, ctx.now)])
    return await_review(m, ctx)


def reviewed(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """The queued PR's answer: none in time, rejected (close), or approved (merge unless blocked)."""
    m = m.model_copy(update={"awaiting_review": False, "waiting": None})
    answer = m.review
    if answer is None:
        return end(m, f"{m.status.outcome}: no review in time, left open for humans")
    m = status(m, review=answer)
    if not answer.approved:
        return close(m, answer)
    assert m.queued is not None
    why = approval_route(m.queued)[1]
    return FixPRStep(m, [ResolveReview(ReviewStatus.APPROVED, answer.by, answer.reason or why, ctx.now)])


def approved(m: FixPRMemory) -> FixPRStep:
    """The approval is written: merge, or (blocked) leave the merge to the approver, saying why."""
    answer = m.review
    assert answer is not None and m.queued is not None
    may_merge, why = approval_route(m.queued)
    step = audit(m, "approved", {"by": answer.by, "merge": may_merge}, actor=answer.by)
    if not may_merge:
        return FixPRStep(step.memory, [*step.effects, PublishEvidence("", comment=why)])
    return step.then(lambda mem: merge(mem, "merged after review", requeue=False))


def close(m: FixPRMemory, answer: ReviewDecision) -> FixPRStep:
    reason = f"rejected by {answer.by}" + (f": {answer.reason}" if answer.reason else "")
    return FixPRStep(m.model_copy(update={"waiting": None}), [CloseFix(reason)])


def closed(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    answer = m.review
    assert answer is not None
    resolve = ResolveReview(ReviewStatus.REJECTED, answer.by, answer.reason or "rejected", ctx.now)
    return FixPRStep(m, [resolve])


def resolved(m: FixPRMemory, effect: ResolveReview) -> FixPRStep:
    """The queue item is written: end (closed outside Mender, rejected) or go on (approved)."""
    if effect.status is ReviewStatus.CLOSED:
        return end(m, effect.reason)
    if effect.status is ReviewStatus.APPROVED:
        return approved(m)
    answer = m.review
    assert answer is not None
    step = audit(m, "rejected", {"by": answer.by, "reason": answer.reason}, actor=answer.by)
    return step.then(lambda mem: end(mem, "rejected"))
