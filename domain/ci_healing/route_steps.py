"""The CI decider's step once a verified fix PR's own workflow took its route (or none came in time)."""

from __future__ import annotations

from domain.ci_healing.effects import AuditRun, CIContext, CIMemory, CIStep
from domain.ci_healing.fixpr import FixPRRouted, Route
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.steps import attempt_done, finish, status

PROPOSED = "proposed: it is merged once a reviewer approves it"
QUEUED = "not healed until a reviewer approves it and it merges"
NO_ROUTE = "its fix PR took no route in time: not healed until it merges"


def route_known(m: CIMemory, ctx: CIContext) -> CIStep:
    """Proposed (merged after one approval) or queued for review (its own checks or the gate did not
    clear it) is not healed yet: the run awaits the review, as the store holds it (`review.hold_run`)
    until the fix PR ends (`review.settle_run`). Merge (told once GitHub merged it): healed. No route
    (`unrouted`): healed only when the fix PR was merged. Runs from before `ci-queued-route` heal a queued
    fix PR's run at once; runs from before `ci-unrouted-fix` heal without a route too."""
    assert m.fix is not None
    m = m.model_copy(update={"waiting": None})
    detail = f"fix PR {m.fix.pr_url} verified"
    route = m.fix_route
    if route is not None and route.route is Route.AUTO_MERGE:
        return attempt_done(m, True, f"{detail}; {PROPOSED}", awaits_review=True)
    if route is not None and route.queued and ctx.queued_route:
        why = "; ".join(route.reasons) or "no reason given"
        return attempt_done(m, True, f"{detail}; queued for review: {why}; {QUEUED}", awaits_review=True)
    if ctx.unrouted_fix and (route is None or route.route is None):
        return unrouted(m, route, detail)
    return attempt_done(m, True, detail)


def unrouted(m: CIMemory, route: FixPRRouted | None, detail: str) -> CIStep:
    """No route in time: the run awaits its fix PR. Ended before a route (its outcome the first reason):
    merged outside Mender is healed with a human's approval; closed or handed to humans is a human's."""
    if route is None:
        return attempt_done(m, True, f"{detail}; {NO_ROUTE}", awaits_review=True)
    ended = route.reasons[0] if route.reasons else "no outcome given"
    if ended.startswith("merged"):
        return _ended(m, CIOutcome.APPROVED_FIXED, f"{detail}; {ended}")
    return _ended(m, CIOutcome.ESCALATED, f"{detail}; its fix PR ended unmerged: {ended}")


def _ended(m: CIMemory, outcome: CIOutcome, line: str) -> CIStep:
    """The attempt journaled and audited, the run ended as its fix PR did (no further attempt)."""
    assert m.analysis is not None
    m = status(m, attempts=[*m.status.attempts, f"{m.attempt}: {m.analysis.diagnosis.action.value}: {line}"])
    healed = outcome is not CIOutcome.ESCALATED
    audit = AuditRun("ci.remediation", "succeeded" if healed else "failed", {"detail": line})
    return CIStep(m, [audit]).then(lambda mem: finish(mem, outcome, line))
