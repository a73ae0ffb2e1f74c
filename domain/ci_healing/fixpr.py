"""What becomes of a fix PR once its pipeline has run: merge, merge on approval, review, or blocked.

Order of the rules (each fails closed):
1. a high or critical finding of Mender's scan                                      -> BLOCKED
   (queued for a human, never merged by Mender, not even on approval)
2. a protected repository                                                           -> REVIEW
3. a learned fix still in review (the gate's verdict is `review_only`)            -> REVIEW
   (until it has been merged successfully N times, even when a human approved its plan)
4. the risk gate did not let the plan run on its own and no human approved the plan -> REVIEW
5. score >= merge threshold and every required check passed                          -> MERGE
6. score >= auto-merge threshold                                                     -> AUTO_MERGE
   (merged by Mender after one approving review)
7. otherwise                                                                         -> REVIEW
After a merge the default branch is watched: red -> REVERT (saga compensation), green -> KEEP.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.ci_healing.confidence import Confidence
from domain.ci_healing.evidence import Evidence, SignalState
from domain.ci_healing.fixpr_config import FixPRPolicy
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.results import CIPolicy, FixResult
from domain.ci_healing.risk import GateDecision, Verdict
from domain.ci_healing.runs import CIRunRef, Conclusion, Provider

REVIEW_LABEL = "mender:needs-review"
AUTO_MERGE_LABEL = "mender:auto-merge-on-approval"
BLOCKED_LABEL = "mender:security-blocked"
REVERT_BRANCH_PREFIX = "mender/ci-fix/revert-"  # under the fix prefix: no PR workflow tracks it


class Route(StrEnum):
    MERGE = "merge"
    AUTO_MERGE = "auto_merge"  # merged after one approving review
    REVIEW = "review"  # the review queue: never merged by Mender without a human's approval
    BLOCKED = "blocked"  # a high-severity finding: never merged by Mender


class FixPRRouted(BaseModel):
    """A fix PR's workflow tells the CI failure workflow of the run it fixes which route it took (None:
    it ended without one), so the run ends as the store will show it (signal `fix_routed`)."""

    model_config = ConfigDict(frozen=True)

    number: int
    url: str = ""
    route: Route | None = None
    reasons: list[str] = Field(default_factory=list)  # why (`route_reasons`); empty from older fix PRs

    @property
    def queued(self) -> bool:
        """Routed to the review queue: not healed until a reviewer approves it and it merges."""
        return self.route in (Route.REVIEW, Route.BLOCKED)


def has_own_workflow(run: CIRunRef, fix: FixResult, policy: CIPolicy) -> bool:
    """A fix PR (GitHub) or fix MR (GitLab) gets its own `fixpr/...` workflow (`ci.fix_prs.enabled`)."""
    provider_ok = run.provider in (Provider.GITHUB, Provider.GITLAB)
    return policy.ci.fix_prs.enabled and provider_ok and fix.pr_number is not None and bool(fix.branch)


class FixPRDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    route: Route
    reasons: list[str] = Field(default_factory=list)

    @property
    def queued(self) -> bool:
        return self.route in (Route.REVIEW, Route.BLOCKED)

    @property
    def label(self) -> str | None:
        return {
            Route.REVIEW: REVIEW_LABEL,
            Route.AUTO_MERGE: AUTO_MERGE_LABEL,
            Route.BLOCKED: BLOCKED_LABEL,
        }.get(self.route)


def decide(
    confidence: Confidence,
    evidence: Evidence,
    gate: GateDecision,
    policy: FixPRPolicy,
    protected: bool = False,
    plan_approved: bool = False,
) -> FixPRDecision:
    """The route of a fix PR with this evidence, under the risk gate's verdict for its plan (and a human's
    approval of that plan, when the gate asked for one)."""
    if blocking := evidence.blocking_findings:
        reasons = [f"{f.severity} {f.id} in {f.target}" for f in blocking]
        return FixPRDecision(route=Route.BLOCKED, reasons=["security finding blocks merging", *reasons])
    if protected:
        return FixPRDecision(
            route=Route.REVIEW, reasons=[f"{policy.repo} is protected: a human merges its fixes"]
        )
    if (
        gate.verdict is Verdict.HUMAN
        or gate.review_only
        or (gate.verdict is Verdict.APPROVAL and not plan_approved)
    ):
        return FixPRDecision(route=Route.REVIEW, reasons=[f"risk gate: {r}" for r in gate.reasons])
    score = confidence.score
    if score >= policy.merge_threshold:
        if evidence.required_passed:
            return FixPRDecision(
                route=Route.MERGE, reasons=[f"confidence {score:.2f} >= {policy.merge_threshold:.2f}"]
            )
        reason = "a required check did not pass"
    else:
        reason = f"confidence {score:.2f} < {policy.merge_threshold:.2f}"
    if score >= policy.auto_merge_threshold:
        return FixPRDecision(
            route=Route.AUTO_MERGE,
            reasons=[
                reason,
                f"confidence {score:.2f} >= {policy.auto_merge_threshold:.2f}: merge on approval",
            ],
        )
    return FixPRDecision(
        route=Route.REVIEW, reasons=[f"confidence {score:.2f} < {policy.auto_merge_threshold:.2f}"]
    )


def route_reasons(decision: FixPRDecision, evidence: Evidence | None) -> list[str]:
    """Why a fix PR took its route, the signals that failed on it first (`its checks failed: lint`)."""
    signals = evidence.signals.items() if evidence is not None else ()
    failed = [signal.value for signal, state in signals if state is SignalState.FAILED]
    return ([f"its checks failed: {', '.join(failed)}"] if failed else []) + decision.reasons


class AfterMerge(StrEnum):
    KEEP = "keep"  # the default branch stayed green
    REVERT = "revert"  # red after the merge: revert the fix
    UNKNOWN = "unknown"  # no run finished while watched: kept, nothing learned


def after_merge(conclusion: Conclusion | None) -> AfterMerge:
    """What to do with a merged fix once the default branch's run on the merge commit ended."""
    if conclusion is Conclusion.FAILURE:
        return AfterMerge.REVERT
    if conclusion is Conclusion.SUCCESS:
        return AfterMerge.KEEP
    return AfterMerge.UNKNOWN


def approval_route(decision: FixPRDecision) -> tuple[bool, str]:
    """(may merge, why) when a human approves a queued fix: a blocked one stays theirs to merge."""
    if decision.route is Route.BLOCKED:
        return False, "a high-severity finding blocks merging by Mender: merge it yourself after review"
    return True, "approved"


def revert_branch(pr_number: int) -> str:
    return f"{REVERT_BRANCH_PREFIX}{pr_number}"


STILL_OPEN = ("blocked", "no approval in time", "no review in time")  # a human may still merge it


def settled_outcome(fix_outcome: str) -> CIOutcome | None:
    """How the run a queued fix PR fixes ends with the fix PR's own outcome: merged (by Mender after the
    review, or by a human) is healed with a human's approval; rejected, closed, refused, reverted or
    failed is a human's to handle; still open for humans (None) keeps the run `awaiting_review`."""
    if fix_outcome.startswith("merged") and "refused" not in fix_outcome:
        return CIOutcome.APPROVED_FIXED
    if any(marker in fix_outcome for marker in STILL_OPEN):
        return None
    return CIOutcome.ESCALATED
