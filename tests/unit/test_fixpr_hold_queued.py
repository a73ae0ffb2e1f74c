"""A fix PR routed to the review queue (its checks failed, the gate, a security finding) holds the run it
fixes `awaiting_review` (`HoldRun`), as a proposed one does, until it ends (`SettleRun`: healed once
merged after the review, a human's when rejected or closed). A fix PR workflow begun before
`fixpr-hold-queued` never holds (`workflow.patched`). The CI side: `tests/unit/test_ci_fix_route.py`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.ci_healing import fixpr_decider as decider
from domain.ci_healing.evidence import Finding, ScanReport
from domain.ci_healing.fixpr import Route
from domain.ci_healing.fixpr_effects import (
    FixPRContext,
    FixPRMemory,
    LoadPrior,
    ReadChecks,
    ReadDefaultRun,
    ScanFix,
    SettleRun,
)
from domain.ci_healing.fixpr_results import MergeResult
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.review_queue import ReviewDecision
from domain.ci_healing.runs import Conclusion
from tests.unit.test_fixpr_decider import (
    NOW,
    SHA,
    carry,
    ctx,
    default_run,
    kinds,
    settings,
    snap,
    waiting_for_checks,
)

HIGH = Finding(tool="osv", id="GHSA-x", target="PyYAML==5.3", severity="high")


def queued_now(route: Route, context: FixPRContext | None = None) -> tuple[FixPRMemory, list[str]]:
    """Checks done (and, for `blocked`, a high finding): scored, routed, queued and announced."""
    old = context or ctx()
    s = settings(scan=route is Route.BLOCKED)
    checks = snap() if route is Route.BLOCKED else snap(tests="failure")
    m = decider.resume(waiting_for_checks(s), old, ReadChecks(), checks).memory
    if route is Route.BLOCKED:
        scan = ScanFix(SHA, "main", s.policy.scan, 90)
        m = decider.resume(m, old, scan, ScanReport(ran=True, findings=[HIGH])).memory
    m, done = carry(decider.resume(m, old, LoadPrior("p"), None), None, 1, old=context)
    assert m.status.decision is not None and m.status.decision.route is route
    return m, kinds(done)


@pytest.mark.parametrize("route", [Route.REVIEW, Route.BLOCKED])
def test_a_queued_pr_holds_its_run_once_told_before_it_is_queued(route: Route) -> None:
    m, done = queued_now(route)
    assert done[done.index("TellRun") :] == [
        "TellRun",
        "AuditFixPR",
        "HoldRun",
        "EnqueueReview",
        "AnnounceReview",
        "CheckBacklog",
    ]
    assert m.holds_run and m.awaiting_review


@pytest.mark.parametrize(
    ("approved", "results", "settled"),
    [
        pytest.param(
            True,
            (True, MergeResult(merged=True, sha="m2")),
            CIOutcome.APPROVED_FIXED,
            id="approved-and-merged",
        ),
        pytest.param(False, (None, True), CIOutcome.ESCALATED, id="rejected"),
    ],
)
def test_the_held_run_is_settled_with_the_review(
    approved: bool, results: tuple[object, ...], settled: CIOutcome
) -> None:
    m, _ = queued_now(Route.REVIEW)
    m = decider.record_review(m, ReviewDecision(approved=approved, by="alice", at=NOW))
    m, done = carry(decider.on_news(m, ctx()), *results)
    if approved:  # healed only once merged and the default branch stayed green
        assert done[-1] == ReadDefaultRun("m2") and "SettleRun" not in kinds(done)
        m, done = carry(decider.resume(m, ctx(), ReadDefaultRun("m2"), default_run(Conclusion.SUCCESS)))
    assert m.done and done[-1] == SettleRun(settled)


def test_a_history_from_before_never_holds_a_queued_pr_run() -> None:
    old = replace(ctx(), hold_queued=False)
    m, done = queued_now(Route.REVIEW, old)
    assert "HoldRun" not in done and not m.holds_run
