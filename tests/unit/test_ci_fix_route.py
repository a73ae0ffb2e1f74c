"""A verified fix PR with its own workflow ends the CI run as that workflow's route says, as a table.

Proposed (merged after one approval) or queued for review (its checks failed, the gate, a finding) is
not healed yet: the run ends `awaiting_review` with the fix PR's link (and why it was queued), in its
status and its notice, as the store holds it (`review.hold_run`) until the fix PR ends
(`review.settle_run`). Merge: healed. No route, or none in time: test_ci_unrouted_fix.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.ci_healing import decider
from domain.ci_healing.config import Stage
from domain.ci_healing.effects import Announce, CIMemory, RecordRun, ReportFix, WaitFor
from domain.ci_healing.fixpr import FixPRRouted, Route
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.runs import Conclusion
from domain.diagnosis.verdict import FixAction
from tests.unit.test_ci_decider import FIX, carry, ctx, diagnosis, fix_event, gated, kinds, policy

PROPOSED = "fix PR https://pr/9 verified; proposed: it is merged once a reviewer approves it"
WHY = ("its checks failed: lint", "confidence 0.78 < 0.80")
QUEUED = (
    "fix PR https://pr/9 verified; queued for review: its checks failed: lint; confidence 0.78 < 0.80; "
    "not healed until a reviewer approves it and it merges"
)
BLOCKED = (
    "fix PR https://pr/9 verified; queued for review: security finding blocks merging; "
    "not healed until a reviewer approves it and it merges"
)


def verified(at: float = 20, **ci: object) -> CIMemory:
    """A fix PR opened and its branch's run passed."""
    m, _ = gated(diagnosis(action=FixAction.ADD_DEPENDENCY), policy(**ci), FIX)
    m, done = carry(decider.on_news(decider.record_event(m, fix_event(Conclusion.SUCCESS)), ctx(at)))
    assert done[0] == ReportFix(FIX, True, "verification run: success")
    return m


def routed(route: Route | None, number: int = 9, why: tuple[str, ...] = WHY) -> FixPRRouted:
    return FixPRRouted(number=number, url=f"https://pr/{number}", route=route, reasons=list(why))


def test_a_verified_fix_pr_waits_for_its_route_as_long_as_its_checks_and_scan_may_take() -> None:
    m = verified(fix_prs={"pipeline_timeout_seconds": 600, "scan": {"timeout_seconds": 60}})
    assert m.waiting is not None and m.waiting.kind is WaitFor.FIX_ROUTE and m.status.outcome is None
    assert m.status.stage == "verified: waiting for the fix PR's route"
    assert decider.seconds_to_wait(m, ctx(20)) == 600 + 60 + 300
    assert not decider.news(m)
    assert not decider.news(decider.record_route(m, routed(Route.AUTO_MERGE, number=8)))  # another PR


@pytest.mark.parametrize(
    ("route", "outcome", "stage", "attempt"),
    [
        pytest.param(Route.AUTO_MERGE, CIOutcome.AWAITING_REVIEW, Stage.ANALYSED, PROPOSED, id="proposed"),
        pytest.param(
            Route.MERGE, CIOutcome.AUTO_FIXED, Stage.FIXED, "fix PR https://pr/9 verified", id="merge"
        ),
        pytest.param(Route.REVIEW, CIOutcome.AWAITING_REVIEW, Stage.ANALYSED, QUEUED, id="queued"),
        pytest.param(Route.BLOCKED, CIOutcome.AWAITING_REVIEW, Stage.ANALYSED, BLOCKED, id="blocked"),
    ],
)
def test_the_route_ends_the_run_in_its_status_notice_and_record(
    route: Route | None, outcome: CIOutcome, stage: Stage, attempt: str
) -> None:
    why = ("security finding blocks merging",) if route is Route.BLOCKED else WHY
    m = decider.record_route(verified(), routed(route, why=why))
    assert decider.news(m)
    m, done = carry(decider.on_news(m, ctx(40)))
    assert m.done and m.status.outcome is outcome and m.status.stage == outcome.value
    assert m.status.attempts == [f"1: add_dependency: {attempt}"]
    assert kinds(done) == ["AuditRun", "Announce", "RecordRun"]
    notice, record = done[1], done[2]
    assert isinstance(notice, Announce) and notice.stage is stage
    assert notice.summary == f"{outcome.value}: {attempt}"  # the fix PR's link, in Slack
    assert isinstance(record, RecordRun) and record.status.outcome is outcome  # what the store keeps


def test_a_route_that_came_before_the_verification_is_news_at_once() -> None:
    """The fix PR's workflow can route before the CI workflow hears of the branch's run (a lost webhook
    is polled for): the route is kept and counts once the run passed."""
    m, _ = gated(diagnosis(action=FixAction.ADD_DEPENDENCY), policy(), FIX)
    m = decider.record_route(m, routed(Route.AUTO_MERGE))
    m, _ = carry(decider.on_news(decider.record_event(m, fix_event(Conclusion.SUCCESS)), ctx(20)))
    assert m.waiting is not None and m.waiting.kind is WaitFor.FIX_ROUTE and decider.news(m)
    m, _ = carry(decider.on_news(m, ctx(20)))
    assert m.status.outcome is CIOutcome.AWAITING_REVIEW


def test_the_first_route_counts() -> None:
    m = decider.record_route(verified(), routed(Route.AUTO_MERGE))
    assert decider.record_route(m, routed(Route.MERGE)).fix_route == routed(Route.AUTO_MERGE)


def test_no_route_in_time_heals_a_run_from_before_as_the_verification_says() -> None:
    m = verified()  # (now: `awaiting_review`, test_ci_unrouted_fix.py)
    assert m.waiting is not None
    late = (m.waiting.deadline - ctx().now).total_seconds()
    m, done = carry(decider.on_timer(m, replace(ctx(late), unrouted_fix=False)))
    assert m.status.outcome is CIOutcome.AUTO_FIXED and kinds(done)[-1] == "RecordRun"


@pytest.mark.parametrize(
    ("context", "ci"),
    [
        pytest.param(replace(ctx(20), fix_route=False), {}, id="history-from-before"),
        pytest.param(ctx(20), {"fix_prs": {"enabled": False}}, id="no-fix-pr-workflow"),
    ],
)
def test_without_a_fix_pr_workflow_to_hear_from_the_run_heals_at_once(context, ci) -> None:  # type: ignore[no-untyped-def]
    m, _ = gated(diagnosis(action=FixAction.ADD_DEPENDENCY), policy(**ci), FIX)
    m = decider.record_route(m, routed(Route.AUTO_MERGE))  # ignored by a run from before
    m, done = carry(decider.on_news(decider.record_event(m, fix_event(Conclusion.SUCCESS)), context))
    assert m.status.outcome is CIOutcome.AUTO_FIXED and kinds(done)[-1] == "RecordRun"


def test_a_queued_route_heard_by_a_run_from_before_heals_it_as_before() -> None:
    """A run that began before `ci-queued-route` ends as it did then: healed (its fix PR's workflow
    holds the stored row `awaiting_review` itself)."""
    m = decider.record_route(verified(), routed(Route.REVIEW))
    m, _ = carry(decider.on_news(m, replace(ctx(40), queued_route=False)))
    assert m.status.outcome is CIOutcome.AUTO_FIXED
    assert m.status.attempts == ["1: add_dependency: fix PR https://pr/9 verified"]


def test_a_queued_route_from_an_older_fix_pr_workflow_still_says_it_waits() -> None:
    m = decider.record_route(verified(), routed(Route.REVIEW, why=()))  # no reasons in its signal
    m, _ = carry(decider.on_news(m, ctx(40)))
    assert m.status.outcome is CIOutcome.AWAITING_REVIEW
    assert "queued for review: no reason given; not healed until" in m.status.attempts[-1]
