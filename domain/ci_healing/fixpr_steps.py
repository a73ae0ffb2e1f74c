"""The fix PR decider's steps: score and route the PR, merge it, queue it, close it, watch it, revert it.

Each function takes the memory (and the time) and returns a `FixPRStep`; `fixpr_decider.py` routes
inputs here. The rules themselves live in `evidence`, `confidence`, `fixpr` and `risk`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.ci_healing.confidence import confidence
from domain.ci_healing.evidence import collect
from domain.ci_healing.fixpr import (
    AfterMerge,
    FixPRDecision,
    Route,
    after_merge,
    approval_route,
    decide,
    route_reasons,
    settled_outcome,
)
from domain.ci_healing.fixpr_body import evidence_section
from domain.ci_healing.fixpr_effects import (
    AnnounceReview,
    AuditFixPR,
    CheckBacklog,
    CloseFix,
    EnableAutoMerge,
    EnqueueReview,
    FixPRContext,
    FixPRMemory,
    FixPRPhase,
    FixPRStep,
    FixPRWait,
    HoldRun,
    LoadPrior,
    MergeFix,
    PublishEvidence,
    ReadChecks,
    ReadDefaultRun,
    ResolveReview,
    RevertFix,
    ScanFix,
    SettleRun,
    TellRun,
)
from domain.ci_healing.fixpr_results import FixPRSettings, MergeResult, RevertResult
from domain.ci_healing.review_queue import ReviewDecision, ReviewItem, ReviewStatus
from domain.ci_healing.risk import gate
from domain.ci_healing.runs import Conclusion, Provider
from domain.shared.audit import AuditAction

MAX_EVENTS = 100
REVERT_REASON = "the default branch failed after the merge"


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


def checks_finished(m: FixPRMemory) -> FixPRStep:
    """The pipeline ran (or ran out of time): Mender's scan when configured, then the playbook's prior."""
    assert m.snapshot is not None
    m = m.model_copy(update={"waiting": None})
    scan = settings_of(m).policy.scan
    if not scan.enabled:
        return FixPRStep(m, [LoadPrior(m.input.diagnosis.playbook or "")])
    snap = m.snapshot
    return FixPRStep(m, [ScanFix(snap.head_sha, snap.base, scan, scan.timeout_seconds + 30)])


def scored(m: FixPRMemory, prior: float | None) -> FixPRStep:
    """Evidence, confidence and the route, published on the PR."""
    assert m.snapshot is not None
    s, i = settings_of(m), m.input
    required = set(i.failed_jobs)
    checks = [c.model_copy(update={"required": c.name in required}) for c in m.snapshot.checks]
    evidence = collect(checks, s.policy.checks, s.policy.absent, m.scan, i.failed_jobs)
    score = confidence(evidence, s.policy.weights, prior)
    verdict = gate(i.diagnosis, i.pr.project, s.risk)
    protected = i.pr.project in s.risk.protected_repositories
    decision = decide(score, evidence, verdict, s.policy, protected, i.plan_approved)
    m = status(m, evidence=evidence, confidence=score, decision=decision, stage=decision.route.value)
    provider = i.pr.run.provider.value
    section = evidence_section(score, evidence, decision, m.snapshot.verified, provider)
    return FixPRStep(m, [PublishEvidence(section, decision.label)])


def routed(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """The evidence is on the PR: merge, wait for one approval, or queue for review."""
    decision = m.status.decision
    assert decision is not None and m.status.confidence is not None
    score = m.status.confidence.score
    why = tuple(route_reasons(decision, m.status.evidence))
    confirm = decision.route is Route.MERGE and ctx.confirm_merge  # told once merged or refused (`merged`)
    step = (FixPRStep(m) if confirm else tell_run(m, decision.route, why)).then(
        lambda mem: audit(mem, decision.route.value, {"score": score, "reasons": decision.reasons})
    )
    if decision.route is Route.MERGE:
        return step.then(lambda mem: merge(mem, "merged"))
    if decision.route is Route.AUTO_MERGE:
        if m.input.pr.run.provider is Provider.GITLAB:  # GitLab merges on the approval itself
            step = FixPRStep(step.memory, [*step.effects, EnableAutoMerge()])
        if ctx.hold_proposed and not m.input.follow_up:  # proposed, not merged: not healed until the merge
            step = hold_run(step)
        return step.then(lambda mem: await_approval(mem, ctx))
    if ctx.hold_queued and not m.input.follow_up:  # queued, not merged: likewise
        step = hold_run(step)
    return step.then(lambda mem: queue(mem, ctx, decision))


def merge(m: FixPRMemory, outcome: str, requeue: bool = True) -> FixPRStep:
    return FixPRStep(m.model_copy(update={"merge_outcome": outcome, "requeue": requeue}), [MergeFix()])


def merged(m: FixPRMemory, ctx: FixPRContext, result: MergeResult) -> FixPRStep:
    """Merged: watch the default branch; refused: the review queue (or, after a review, humans)."""
    if not result.merged or not result.sha:
        step = audit(m, "merge_refused", {"detail": result.detail})
        if not m.requeue:
            return step.then(lambda mem: end(mem, f"merge refused: {result.detail}"[:300]))
        refused = FixPRDecision(route=Route.REVIEW, reasons=[result.detail])
        if ctx.confirm_merge and not (m.holds_run or m.input.follow_up):  # routed to merge: awaits review
            step = hold_run(step.then(lambda mem: tell_run(mem, Route.REVIEW, (result.detail,))))
        return step.then(lambda mem: queue(mem, ctx, refused))
    sha = result.sha
    step = audit(status(m, merge_sha=sha), "merged", {"sha": sha})
    if ctx.confirm_merge:  # GitHub (GitLab) confirmed the merge: now the run hears its route
        step = step.then(lambda mem: tell_run(mem, Route.MERGE, merge_reasons(mem)))
    return step.then(lambda mem: watch(mem, ctx))


def merge_reasons(m: FixPRMemory) -> tuple[str, ...]:
    """Why the PR was routed to merge, as the fixed run hears it once merged."""
    decision = m.status.decision
    return tuple(route_reasons(decision, m.status.evidence)) if decision is not None else ()


def await_approval(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """Merge after one approving review on GitHub (or an approval through Mender's review queue)."""
    m = status(m, stage="waiting for one approval").model_copy(update={"awaiting_review": True})
    m = begin(m, ctx, FixPRPhase.APPROVAL, settings_of(m).policy.review_timeout_seconds)
    return look_for_approval(m, ctx)


def look_for_approval(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    assert m.waiting is not None
    if ctx.now >= m.waiting.deadline:
        return end(m, "no approval in time: left open for humans")
    return read_checks(m)


def approval_checked(m: FixPRMemory, ctx: FixPRContext) -> FixPRStep:
    """Approved on GitHub or in the queue: merge; rejected in the queue: close; else wait on."""
    snap = m.snapshot
    assert snap is not None
    if snap.state == "merged" and snap.merge_sha and m.input.pr.run.provider is Provider.GITLAB:
        m = m.model_copy(
            update={"awaiting_review": False, "waiting": None, "merge_outcome": "merged on approval"}
        )
        return merged(
            m, ctx, MergeResult(merged=True, sha=snap.merge_sha, detail="GitLab merged on approval")
        )
    if snap.state != "open":
        return end(m, f"{snap.state} outside Mender")
    if snap.approvals or (m.review is not None and m.review.approved):
        m = m.model_copy(update={"awaiting_review": False, "waiting": None})
        return merge(m, "merged on approval", requeue=m.review is None)
    if m.review is not None:
        return close(m, m.review)
    return pause(m, ctx)


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
