"""A verified fix PR whose own workflow took no route heals its run only when GitHub shows it merged:
ended before a route (closed outside Mender, handed to humans) the run is a human's (`escalated`, with
the fix PR's outcome); merged outside Mender it is healed with a human's approval; no route in time it
awaits the fix PR (`awaiting_review`). Runs from before `ci-unrouted-fix` heal as the verification says.
The fix PR side: its workflow tells its outcome when it ends without a route."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.ci_healing import decider
from domain.ci_healing import fixpr_decider as fixpr
from domain.ci_healing.config import Stage
from domain.ci_healing.effects import Announce, AuditRun, RecordRun
from domain.ci_healing.fixpr_effects import ReadChecks, TellRun
from domain.ci_healing.outcomes import CIOutcome
from tests.unit import test_fixpr_decider as fixpr_table
from tests.unit.test_ci_decider import carry, ctx, kinds
from tests.unit.test_ci_fix_route import routed, verified

VERIFIED = "fix PR https://pr/9 verified"


@pytest.mark.parametrize(
    ("ended", "outcome", "stage", "line", "audit"),
    [
        pytest.param(
            "closed outside Mender",
            CIOutcome.ESCALATED,
            Stage.FAILED,
            f"{VERIFIED}; its fix PR ended unmerged: closed outside Mender",
            "failed",
            id="closed",
        ),
        pytest.param(
            "failed: fixpr.publish failed: boom",
            CIOutcome.ESCALATED,
            Stage.FAILED,
            f"{VERIFIED}; its fix PR ended unmerged: failed: fixpr.publish failed: boom",
            "failed",
            id="handed-over",
        ),
        pytest.param(
            "merged outside Mender",
            CIOutcome.APPROVED_FIXED,
            Stage.FIXED,
            f"{VERIFIED}; merged outside Mender",
            "succeeded",
            id="merged-by-a-human",
        ),
    ],
)
def test_a_fix_pr_ended_without_a_route_heals_its_run_only_when_merged(
    ended: str, outcome: CIOutcome, stage: Stage, line: str, audit: str
) -> None:
    m = decider.record_route(verified(), routed(None, why=(ended,)))
    m, done = carry(decider.on_news(m, ctx(40)))
    assert m.done and m.status.outcome is outcome and m.status.attempts == [f"1: add_dependency: {line}"]
    assert kinds(done) == ["AuditRun", "Announce", "RecordRun"]
    assert isinstance(done[0], AuditRun) and done[0].outcome == audit
    assert isinstance(done[1], Announce) and done[1].stage is stage and line in done[1].summary
    assert isinstance(done[2], RecordRun) and done[2].status.outcome is outcome


def test_an_older_fix_pr_that_ended_without_a_route_or_outcome_is_a_humans() -> None:
    m = decider.record_route(verified(), routed(None, why=()))
    m, _ = carry(decider.on_news(m, ctx(40)))
    assert m.status.outcome is CIOutcome.ESCALATED
    assert m.status.attempts == [
        f"1: add_dependency: {VERIFIED}; its fix PR ended unmerged: no outcome given"
    ]


def test_no_route_in_time_awaits_the_fix_pr() -> None:
    m = verified()
    assert m.waiting is not None
    late = (m.waiting.deadline - ctx().now).total_seconds()
    m, done = carry(decider.on_timer(m, ctx(late)))
    assert m.status.outcome is CIOutcome.AWAITING_REVIEW and kinds(done)[-1] == "RecordRun"
    assert m.status.attempts[-1].endswith("its fix PR took no route in time: not healed until it merges")


def test_a_run_from_before_heals_without_a_route_as_the_verification_says() -> None:
    m = decider.record_route(verified(), routed(None, why=("closed outside Mender",)))
    m, _ = carry(decider.on_news(m, replace(ctx(40), unrouted_fix=False)))
    assert m.status.outcome is CIOutcome.AUTO_FIXED


@pytest.mark.parametrize("state", ["closed", "merged"])
def test_the_fix_pr_tells_its_outcome_when_it_ends_without_a_route(state: str) -> None:
    m = fixpr_table.waiting_for_checks()
    step = fixpr.resume(m, fixpr_table.ctx(), ReadChecks(), fixpr_table.snap(state=state))
    assert step.memory.done and step.effects == [TellRun(None, (f"{state} outside Mender",))]
