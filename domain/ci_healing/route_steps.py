"""The CI decider's step once a verified fix PR's own workflow took its route (or none came in time)."""

from __future__ import annotations

from domain.ci_healing.effects import CIMemory, CIStep
from domain.ci_healing.fixpr import Route
from domain.ci_healing.steps import attempt_done


def route_known(m: CIMemory) -> CIStep:
    """Proposed (merged after one approval) is not healed yet: the run awaits the review, as the store
    holds it (`review.hold_run`) until the fix PR ends (`review.settle_run`). Any other route, none, or
    none in time: healed, as the verification says."""
    assert m.fix is not None
    m = m.model_copy(update={"waiting": None})
    detail = f"fix PR {m.fix.pr_url} verified"
    if m.fix_route is not None and m.fix_route.route is Route.AUTO_MERGE:
        proposed = f"{detail}; proposed: it is merged once a reviewer approves it"
        return attempt_done(m, True, proposed, proposed=True)
    return attempt_done(m, True, detail)
