"""A fix PR routed to `merge` tells the run it fixes its route only once the merge is settled: `merge`
when GitHub (GitLab) confirmed the merge, `review` with the refusal's reason when the merge was refused
(the run is held `awaiting_review`, then settled with the fix PR). Told before the merge, a refused merge
counted its run healed. Fix PR workflows begun before `fixpr-merge-confirmed` tell it before merging."""

from __future__ import annotations

from dataclasses import replace

from domain.ci_healing import fixpr_decider as decider
from domain.ci_healing.fixpr import Route
from domain.ci_healing.fixpr_effects import (
    FixPRMemory,
    HoldRun,
    LoadPrior,
    MergeFix,
    ReadChecks,
    ReadDefaultRun,
    SettleRun,
    TellRun,
)
from domain.ci_healing.fixpr_results import MergeResult
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.review_queue import ReviewDecision
from tests.unit.test_fixpr_decider import NOW, carry, ctx, kinds, snap, waiting_for_checks

REFUSED = "GitHub refused the merge: Pull Request is not mergeable"


def routed_to_merge(confirm: bool = True) -> tuple[FixPRMemory, list[str]]:
    """Every check passed: routed to merge; the merge pending."""
    old = replace(ctx(), confirm_merge=confirm)
    m = decider.resume(waiting_for_checks(), old, ReadChecks(), snap()).memory
    m, done = carry(decider.resume(m, old, LoadPrior("p"), None), None, old=old)
    assert m.status.decision is not None and m.status.decision.route is Route.MERGE
    assert kinds(done)[-1] == "MergeFix"
    return m, kinds(done)


def test_the_run_is_not_told_of_a_merge_before_it_merged() -> None:
    m, done = routed_to_merge()
    assert "TellRun" not in done and not m.told_run


def test_a_confirmed_merge_tells_the_run_then_watches_the_default_branch() -> None:
    m, _ = routed_to_merge()
    m, done = carry(decider.resume(m, ctx(), MergeFix(), MergeResult(merged=True, sha="m1")))
    [told] = [e for e in done if isinstance(e, TellRun)]
    assert told.route is Route.MERGE and m.told_run and m.status.decision is not None
    assert told.reasons == tuple(m.status.decision.reasons) == ("confidence 1.00 >= 0.95",)
    assert done[-1] == ReadDefaultRun("m1") and HoldRun() not in done


def test_a_refused_merge_tells_the_run_it_waits_for_review_and_holds_it() -> None:
    m, _ = routed_to_merge()
    m, done = carry(decider.resume(m, ctx(), MergeFix(), MergeResult(merged=False, detail=REFUSED)))
    assert kinds(done) == ["AuditFixPR", "TellRun", "HoldRun", "EnqueueReview"]
    assert done[1] == TellRun(Route.REVIEW, (REFUSED,))
    assert m.holds_run and m.awaiting_review and m.status.outcome == "queued"
    assert m.queued is not None and m.queued.reasons == [REFUSED]


def test_refused_again_after_the_review_the_run_is_a_humans() -> None:
    m, _ = routed_to_merge()
    m, _ = carry(decider.resume(m, ctx(), MergeFix(), MergeResult(merged=False, detail=REFUSED)), None)
    m = decider.record_review(m, ReviewDecision(approved=True, by="alice", at=NOW))
    m, done = carry(decider.on_news(m, ctx(1)), True)  # approved: the approval written, merge pending
    assert kinds(done)[-1] == "MergeFix"
    m, done = carry(decider.resume(m, ctx(2), MergeFix(), MergeResult(merged=False, detail=REFUSED)))
    assert m.done and m.status.outcome.startswith("merge refused: ")
    assert done[-1] == SettleRun(CIOutcome.ESCALATED) and "TellRun" not in kinds(done)


def test_merged_after_the_review_settles_the_run_healed() -> None:
    m, _ = routed_to_merge()
    m, _ = carry(decider.resume(m, ctx(), MergeFix(), MergeResult(merged=False, detail=REFUSED)), None)
    m = decider.record_review(m, ReviewDecision(approved=True, by="alice", at=NOW))
    m, _ = carry(decider.on_news(m, ctx(1)), True)
    m, done = carry(decider.resume(m, ctx(2), MergeFix(), MergeResult(merged=True, sha="m2")))
    assert "TellRun" not in kinds(done) and done[-1] == ReadDefaultRun("m2")  # told `review` already
    m, done = carry(decider.on_timer(m, ctx(10_000)))  # the watch is over: kept
    assert m.done and done[-1] == SettleRun(CIOutcome.APPROVED_FIXED)


def test_older_workflows_tell_the_run_before_merging() -> None:
    m, done = routed_to_merge(confirm=False)
    assert done[done.index("TellRun") :][-2:] == ["AuditFixPR", "MergeFix"] and m.told_run
    old = replace(ctx(), confirm_merge=False)
    m, done = carry(decider.resume(m, old, MergeFix(), MergeResult(merged=False, detail=REFUSED)), old=old)
    assert kinds(done) == ["AuditFixPR", "EnqueueReview"]


def test_a_pr_begun_before_it_told_runs_still_holds_its_run_when_refused() -> None:
    """Continued as new from a run before `fixpr-tell-run`: the run healed at its verification, so a
    refused merge takes it back (`HoldRun`) though there is nobody to tell."""
    m, _ = routed_to_merge()
    m = m.model_copy(update={"tells_run": False})
    m, done = carry(decider.resume(m, ctx(), MergeFix(), MergeResult(merged=False, detail=REFUSED)))
    assert kinds(done) == ["AuditFixPR", "HoldRun", "EnqueueReview"] and m.holds_run
