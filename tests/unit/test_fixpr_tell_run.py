"""The fix PR decider tells the CI failure workflow of the fixed run which route the PR took (`TellRun`),
once: at the route (a merge: once GitHub merged it, `test_fixpr_merge_confirmed.py`), or with none and
the PR's outcome when the PR ends first. A fix PR workflow begun before never tells
(`workflow.patched`). The CI side: `tests/unit/test_ci_fix_route.py`."""

from __future__ import annotations

import pytest

from domain.ci_healing import fixpr_decider as decider
from domain.ci_healing.fixpr import Route
from domain.ci_healing.fixpr_effects import FixPRContext, ReadChecks, TellRun
from domain.ci_healing.fixpr_results import ChecksSnapshot
from tests.unit.test_fixpr_decider import NOW, carry, ctx, kinds, memory, settings, snap, waiting_for_checks


@pytest.mark.parametrize(
    ("checks", "route", "first_reason"),
    [
        pytest.param(snap(lint="failure"), Route.AUTO_MERGE, "its checks failed: lint", id="proposed"),
        pytest.param(snap(tests="failure"), Route.REVIEW, "its checks failed: tests", id="queued"),
    ],
)
def test_the_route_is_told_first_and_once(checks: ChecksSnapshot, route: Route, first_reason: str) -> None:
    """With why: the signals that failed on the PR first, then the decision's reasons."""
    m, done = carry(decider.resume(waiting_for_checks(), ctx(), ReadChecks(), checks), None, None)
    told = [e for e in done if isinstance(e, TellRun)]
    assert m.status.decision is not None and m.told_run
    reasons = tuple(m.status.decision.reasons)
    assert told == [TellRun(route, reasons if route is Route.MERGE else (first_reason, *reasons))]
    assert told[0].reasons[0] == first_reason
    assert kinds(done).index("TellRun") < kinds(done).index("AuditFixPR")  # before HoldRun, too
    if route is Route.AUTO_MERGE:  # the PR ends later (closed by a human): nothing more to tell
        m, done = carry(decider.resume(m, ctx(), ReadChecks(), snap(state="closed")))
        assert m.done and "TellRun" not in kinds(done)


def test_a_pr_that_ends_before_its_route_tells_none() -> None:
    m, done = carry(decider.resume(waiting_for_checks(), ctx(), ReadChecks(), snap(state="closed")))
    assert m.done and done == [TellRun(None, ("closed outside Mender",))]


def test_a_history_from_before_never_tells() -> None:
    old = FixPRContext(now=NOW, tell_run=False)
    m, _ = carry(decider.start(memory(), old), settings(), old=old)
    assert not m.tells_run
    step = decider.resume(m, old, ReadChecks(), snap(lint="failure"))
    m, done = carry(step, None, None, old=old)
    assert "TellRun" not in kinds(done)
    m, done = carry(decider.resume(m, old, ReadChecks(), snap(state="closed")), old=old)
    assert m.done and "TellRun" not in kinds(done)
