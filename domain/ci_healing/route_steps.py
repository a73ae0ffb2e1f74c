"""The CI decider's step once a verified fix PR's own workflow took its route (or none came in time)."""

from __future__ import annotations

from domain.ci_healing.effects import CIContext, CIMemory, CIStep
from domain.ci_healing.fixpr import Route
from domain.ci_healing.steps import attempt_done

PROPOSED = "proposed: it is merged once a reviewer approves it"
QUEUED = "not healed until a reviewer approves it and it merges"


def route_known(m: CIMemory, ctx: CIContext) -> CIStep:
    """Proposed (merged after one approval) or queued for review (its own checks or the gate did not
    clear it) is not healed yet: the run awaits the review, as the store holds it (`review.hold_run`)
    until the fix PR ends (`review.settle_run`). Any other route, none, or none in time: healed, as the
    verification says. Runs from before `ci-queued-route` heal a queued fix PR's run at once."""
    assert m.fix is not None
    m = m.model_copy(update={"waiting": None})
    detail = f"fix PR {m.fix.pr_url} verified"
    route = m.fix_route
    if route is not None and route.route is Route.AUTO_MERGE:
        return attempt_done(m, True, f"{detail}; {PROPOSED}", awaits_review=True)
    if route is not None and route.queued and ctx.queued_route:
        why = "; ".join(route.reasons) or "no reason given"
        return attempt_done(m, True, f"{detail}; queued for review: {why}; {QUEUED}", awaits_review=True)
    return attempt_done(m, True, detail)
