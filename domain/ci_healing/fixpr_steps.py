"""The fix PR decider's steps up to the merge: score the PR, route it, merge it or wait for one approval.

Each function takes the memory (and the time) and returns a `FixPRStep`; `fixpr_decider.py` routes
inputs here. The review queue's steps are in `fixpr_review_steps`, the watch and revert after the merge
in `fixpr_after_merge_steps`, the moves they share in `fixpr_common_steps`. The rules themselves live in
`evidence`, `confidence`, `fixpr` and `risk`.
"""

from __future__ import annotations

from domain.ci_healing.confidence import confidence
from domain.ci_healing.evidence import collect
from domain.ci_healing.fixpr import FixPRDecision, Route, decide, route_reasons
from domain.ci_healing.fixpr_after_merge_steps import watch
from domain.ci_healing.fixpr_body import evidence_section
from domain.ci_healing.fixpr_common_steps import (
    audit,
    begin,
    end,
    hold_run,
    merge,
    pause,
    read_checks,
    settings_of,
    status,
    tell_run,
)
from domain.ci_healing.fixpr_effects import (
    EnableAutoMerge,
    FixPRContext,
    FixPRMemory,
    FixPRPhase,
    FixPRStep,
    LoadPrior,
    PublishEvidence,
    ScanFix,
)
from domain.ci_healing.fixpr_results import MergeResult
from domain.ci_healing.fixpr_review_steps import close, queue
from domain.ci_healing.risk import gate
from domain.ci_healing.runs import Provider


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
