"""A follow-up fix PR (a flaky test's quarantine, opened after the confirming re-run healed the run) never
touches that run's outcome: the run was healed by its passing re-run, whatever becomes of the follow-up
(proposed, queued, refused, rejected, reverted): no `TellRun`, `HoldRun` or `SettleRun`. The CI side
marks it (`FixPROpened.follow_up`, flake_steps)."""

from __future__ import annotations

import pytest

from domain.ci_healing import fixpr_decider as decider
from domain.ci_healing.effects import FixPROpened
from domain.ci_healing.fixpr_effects import (
    EnqueueReview,
    FixPREffect,
    FixPRMemory,
    LoadPrior,
    MergeFix,
    ReadChecks,
    RevertFix,
)
from domain.ci_healing.fixpr_results import ChecksSnapshot, MergeResult, RevertResult
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.review_queue import ReviewDecision
from domain.ci_healing.runs import Conclusion
from domain.diagnosis.verdict import FixAction
from tests.unit import test_ci_decider as ci
from tests.unit.test_fixpr_decider import (
    NOW,
    REVERT_REASON,
    carry,
    ctx,
    default_run,
    kinds,
    memory,
    settings,
    snap,
)

RUN_EFFECTS = {"TellRun", "HoldRun", "SettleRun"}


def follow_up() -> FixPRMemory:
    m = memory()
    return m.model_copy(update={"input": m.input.model_copy(update={"follow_up": True})})


def routed(checks: ChecksSnapshot) -> tuple[FixPRMemory, list[FixPREffect]]:
    """Settings read, the checks scored and routed: the route's first effect that feeds back pending."""
    m, done = carry(decider.start(follow_up(), ctx()), settings())
    m = decider.resume(m, ctx(), ReadChecks(), checks).memory
    m, more = carry(decider.resume(m, ctx(), LoadPrior("p"), None), None)
    return m, done + more


@pytest.mark.parametrize("checks", [snap(lint="failure"), snap(tests="failure")], ids=["proposed", "queued"])
def test_a_proposed_or_queued_follow_up_leaves_the_run_alone(checks: ChecksSnapshot) -> None:
    m, done = routed(checks)
    if isinstance(done[-1], EnqueueReview):  # queued: stored, announced, waiting for a review
        m, more = carry(decider.resume(m, ctx(), done[-1], 1))
        done += more
    assert not RUN_EFFECTS & set(kinds(done)) and not m.holds_run and m.awaiting_review
    m = decider.record_review(m, ReviewDecision(approved=False, by="alice", at=NOW))
    looks = [] if m.queued else [checks]  # proposed: it looks at the PR again first
    m, more = carry(decider.on_news(m, ctx(1)), *looks, None, None)
    assert m.done and m.status.outcome == "rejected" and not RUN_EFFECTS & set(kinds(more))


def test_a_refused_or_reverted_follow_up_leaves_the_run_alone() -> None:
    m, done = routed(snap())
    assert done[-1] == MergeFix() and not RUN_EFFECTS & set(kinds(done))
    refused = MergeResult(merged=False, detail="GitHub refused the merge: conflict")
    _, more = carry(decider.resume(m, ctx(), MergeFix(), refused))
    assert not RUN_EFFECTS & set(kinds(more))
    m, more = carry(decider.resume(m, ctx(), MergeFix(), MergeResult(merged=True, sha="m1")))
    m = decider.resume(m, ctx(), decider.ReadDefaultRun("m1"), default_run(Conclusion.FAILURE)).memory
    m, last = carry(
        decider.resume(m, ctx(), RevertFix("m1", REVERT_REASON), RevertResult(opened=True, merged=True))
    )
    assert m.done and m.status.outcome == "reverted" and not RUN_EFFECTS & set(kinds(more + last))


def test_the_flaky_tests_fix_pr_is_opened_as_a_follow_up() -> None:
    m = ci.decider.record_event(ci.confirming(), ci.event(Conclusion.SUCCESS, attempt=2))
    m, done = ci.carry(ci.decider.on_news(m, ci.ctx(5)), ci.flake(0.6))
    m, done = ci.carry(ci.decider.resume(m, ci.ctx(6), done[-1], ci.FIX))
    [opened] = [e for e in done if isinstance(e, FixPROpened)]
    assert opened.follow_up and m.status.outcome is CIOutcome.AUTO_FIXED  # healed by the re-run


def test_a_fix_pr_for_the_failure_itself_is_no_follow_up() -> None:
    _, done = ci.gated(ci.diagnosis(action=FixAction.ADD_DEPENDENCY), ci.policy(), ci.FIX)
    [opened] = [e for e in done if isinstance(e, FixPROpened)]
    assert not opened.follow_up
