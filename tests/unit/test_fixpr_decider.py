"""The fix PR decider as tables: (memory, input) -> (memory, effects), without Temporal.

`carry` plays the workflow's part: it carries effects out in order and feeds the scripted result of
each effect that feeds back to `fixpr_decider.resume`, so a table row reads as the fix PR's story.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.ci_healing import fixpr_decider as decider
from domain.ci_healing.config import RiskConfig
from domain.ci_healing.effects import ActivityFailed
from domain.ci_healing.evidence import CheckResult, Finding, ScanReport
from domain.ci_healing.fixpr import AUTO_MERGE_LABEL, BLOCKED_LABEL, REVIEW_LABEL, Route, settled_outcome
from domain.ci_healing.fixpr_after_merge_steps import REVERT_REASON
from domain.ci_healing.fixpr_common_steps import MAX_EVENTS
from domain.ci_healing.fixpr_config import FixPRConfig, FixPRPolicy
from domain.ci_healing.fixpr_effects import (
    AnnounceReview,
    AuditFixPR,
    CheckBacklog,
    CloseFix,
    EnqueueReview,
    FixPRContext,
    FixPREffect,
    FixPRLog,
    FixPRMemory,
    FixPRPhase,
    FixPRStep,
    LoadFixSettings,
    LoadPrior,
    MergeFix,
    PublishEvidence,
    ReadChecks,
    ReadDefaultRun,
    ResolveReview,
    RevertFix,
    ScanFix,
    SettleRun,
    TellRun,
)
from domain.ci_healing.fixpr_results import (
    ChecksSnapshot,
    FixPRInput,
    FixPRRef,
    FixPRSettings,
    MergeResult,
    RevertResult,
)
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.review_queue import ReviewDecision, ReviewItem, ReviewStatus
from domain.ci_healing.runs import CIRunEvent, CIRunRef, Conclusion, Provider
from domain.config import Mode
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Tier
from domain.shared.audit import AuditAction

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RUN = CIRunRef(provider=Provider.GITHUB, project="acme/api", run_id=7)
PR = FixPRRef(run=RUN, number=9, branch="mender/ci-fix/7-1", url="https://pr/9")
SHA = "abc123"
NAMES = {
    "tests": "pytest",
    "lint": "lint",
    "types": "mypy",
    "security": "CodeQL",
    "coverage": "codecov/patch",
}
GREEN = {signal: "success" for signal in NAMES}
BOOM = ActivityFailed(activity="fixpr.checks", reason="boom")
POLL, PIPELINE, REVIEW_WAIT, RECHECK, WATCH = 10, 100, 1000, 50, 200


def ctx(seconds: float = 0) -> FixPRContext:
    return FixPRContext(now=NOW + timedelta(seconds=seconds))


def settings(scan: bool = False, risk: RiskConfig | None = None, **fix_prs: Any) -> FixPRSettings:
    raw = {
        "poll_seconds": POLL,
        "pipeline_timeout_seconds": PIPELINE,
        "review_timeout_seconds": REVIEW_WAIT,
        "watch_after_merge_seconds": WATCH,
        "review": {"recheck_seconds": RECHECK},
        "scan": {"enabled": scan, "timeout_seconds": 60},
        **fix_prs,
    }
    policy = FixPRPolicy.of("acme/api", FixPRConfig.model_validate(raw), None)
    return FixPRSettings(policy=policy, risk=risk or RiskConfig(), mode=Mode.ACT)


def diagnosis(**fields: Any) -> Diagnosis:
    base: dict[str, Any] = {
        "category": Category.DEPENDENCY,
        "action": FixAction.ADD_DEPENDENCY,
        "risk_score": 1.0,
        "tier": Tier.LOW,
        "confidence": 90,
        "key_line": "ModuleNotFoundError: No module named 'yaml'",
        "explanation": "a missing dependency",
        "auto_fix": True,
        "playbook": "python-missing-module",
    }
    return Diagnosis(**(base | fields))


def memory(plan_approved: bool = False, **d: Any) -> FixPRMemory:
    given = FixPRInput(
        pr=PR,
        diagnosis=diagnosis(**d),
        files=["requirements.txt"],
        failed_jobs=["pytest"],
        title="add PyYAML",
    )
    return FixPRMemory.new(given.model_copy(update={"plan_approved": plan_approved}))


def snap(state: str = "open", approvals: tuple[str, ...] = (), **conclusions: str | None) -> ChecksSnapshot:
    checks = [CheckResult(name=NAMES[s], conclusion=c) for s, c in (GREEN | conclusions).items()]
    return ChecksSnapshot(state=state, head_sha=SHA, base="main", checks=checks, approvals=list(approvals))


RUNNING = snap(tests=None)
ITEM = ReviewItem(
    workflow_id=PR.workflow_id, repo="acme/api", pr_number=9, score=0.5, route="review", created_at=NOW
)


def carry(
    step: FixPRStep, *results: Any, at: float = 0, old: FixPRContext | None = None
) -> tuple[FixPRMemory, list[FixPREffect]]:
    """Carry out `step` like the workflow: each effect that feeds back takes the next of `results`.

    Stops at an effect that feeds back when no result is left (it is the last one done: pending).
    """
    scripted, done = deque(results), []
    queue, m = deque(step.effects), step.memory
    while queue:
        effect = queue.popleft()
        done.append(effect)
        if effect.feeds_back:
            if not scripted:
                assert not queue, f"effects after the pending {effect}: {list(queue)}"
                break
            nxt = decider.resume(m, old or ctx(at), effect, scripted.popleft())
            m = nxt.memory
            queue.extendleft(reversed(nxt.effects))
    assert not scripted, f"results left over: {list(scripted)}"
    return m, done


def kinds(effects: list[FixPREffect]) -> list[str]:
    return [type(e).__name__ for e in effects]


def audited(effects: list[FixPREffect]) -> list[str]:
    return [e.outcome for e in effects if isinstance(e, AuditFixPR)]


def waiting_for_checks(s: FixPRSettings | None = None, **d: Any) -> FixPRMemory:
    """Settings read, the first look at the checks asked for (pending)."""
    m, done = carry(decider.start(memory(**d), ctx()), s or settings())
    assert kinds(done) == ["LoadFixSettings", "ReadChecks"]
    return m


def routed(checks: ChecksSnapshot | None = None, prior: float | None = None, **d: Any) -> FixPRMemory:
    """Checks done and scored: the evidence published and audited; the route's first effect pending."""
    m = waiting_for_checks(**d)
    m, _ = carry(decider.resume(m, ctx(), ReadChecks(), checks or snap()), prior, None)
    return m


# --- waiting for the pipeline -------------------------------------------------------------------------


def test_the_start_reads_the_settings_then_looks_at_the_checks() -> None:
    m = memory()
    assert decider.start(m, ctx()).effects == [LoadFixSettings()]
    m = waiting_for_checks()
    assert m.waiting is not None and m.waiting.phase is FixPRPhase.CHECKS
    assert m.waiting.deadline == NOW + timedelta(seconds=PIPELINE)
    assert m.status.stage == "waiting for checks" and not m.done


@pytest.mark.parametrize(
    ("at", "wake"),
    [
        pytest.param(0, POLL, id="next-poll"),
        pytest.param(95, 100, id="clamped-to-the-deadline"),
        pytest.param(99.5, 100.5, id="at-least-a-second"),
    ],
)
def test_running_checks_wait_until_the_next_poll(at: float, wake: float) -> None:
    step = decider.resume(waiting_for_checks(), ctx(at), ReadChecks(), RUNNING)
    assert step.effects == [] and step.memory.waiting is not None
    assert step.memory.waiting.wake_at == NOW + timedelta(seconds=wake)
    assert decider.seconds_to_wait(step.memory, ctx(at)) == pytest.approx(wake - at)


def test_a_pr_without_checks_yet_waits() -> None:
    empty = ChecksSnapshot(state="open", head_sha=SHA, base="main")
    assert decider.resume(waiting_for_checks(), ctx(), ReadChecks(), empty).effects == []


@pytest.mark.parametrize("state", ["closed", "merged"])
def test_a_pr_closed_or_merged_outside_mender_ends_it(state: str) -> None:
    step = decider.resume(waiting_for_checks(), ctx(), ReadChecks(), snap(state))
    assert step.memory.done and step.memory.status.outcome == f"{state} outside Mender"
    told = TellRun(None, (f"{state} outside Mender",))  # no route: the run hears how it ended
    assert step.effects == [told] and step.memory.status.stage == "done"


@pytest.mark.parametrize(
    ("checks", "at"),
    [pytest.param(snap(), 0, id="all-finished"), pytest.param(RUNNING, PIPELINE, id="pipeline-timeout")],
)
def test_finished_checks_or_the_timeout_go_to_scoring(checks: ChecksSnapshot, at: float) -> None:
    step = decider.resume(waiting_for_checks(), ctx(at), ReadChecks(), checks)
    assert step.effects == [LoadPrior("python-missing-module")] and step.memory.waiting is None


@pytest.mark.parametrize("wake", ["nudge", "timer"])
def test_a_nudge_or_the_poll_timer_looks_again(wake: str) -> None:
    m = decider.resume(waiting_for_checks(), ctx(), ReadChecks(), RUNNING).memory
    assert not decider.news(m)
    if wake == "nudge":
        m = decider.record_nudge(m)
        assert decider.news(m)
        step = decider.on_news(m, ctx(1))
    else:
        step = decider.on_timer(m, ctx(POLL))
    assert step.effects == [ReadChecks()] and not step.memory.nudged


def test_a_nudge_that_comes_while_looking_asks_for_another_look() -> None:
    m = decider.record_nudge(waiting_for_checks())  # the nudge arrived during the read
    m = decider.resume(m, ctx(), ReadChecks(), RUNNING).memory
    assert decider.news(m) and decider.on_news(m, ctx()).effects == [ReadChecks()]


def test_a_nudge_after_the_end_changes_nothing() -> None:
    m = decider.resume(waiting_for_checks(), ctx(), ReadChecks(), snap("closed")).memory
    assert decider.record_nudge(m) == m and not decider.news(m)


# --- scan and score -----------------------------------------------------------------------------------


def test_the_scan_runs_on_the_head_with_its_time_limit_then_the_prior() -> None:
    s = settings(scan=True)
    m, done = carry(decider.resume(waiting_for_checks(s), ctx(), ReadChecks(), snap()))
    assert done == [ScanFix(SHA, "main", s.policy.scan, 90)]
    report = ScanReport(ran=True, scanned=["requirements.txt"])
    m, done = carry(decider.resume(m, ctx(), done[0], report))
    assert done == [LoadPrior("python-missing-module")] and m.scan == report


def test_a_failed_scan_is_evidence_that_it_did_not_run() -> None:
    m = decider.resume(waiting_for_checks(settings(scan=True)), ctx(), ReadChecks(), snap()).memory
    step = decider.resume(m, ctx(), ScanFix(SHA, "main", settings().policy.scan, 90), BOOM)
    assert step.memory.scan == ScanReport(ran=False, detail="the scan failed: boom")
    assert not step.memory.done and kinds(step.effects) == ["LoadPrior"]


@pytest.mark.parametrize(
    ("checks", "findings", "prior", "fields", "route", "label", "score"),
    [
        pytest.param(snap(), [], None, {}, Route.MERGE, None, 1.0, id="all-green-merges"),
        pytest.param(snap(lint="failure"), [], None, {}, Route.AUTO_MERGE, AUTO_MERGE_LABEL, 0.8, id="lint"),
        pytest.param(
            snap(lint="failure", types="failure"), [], None, {}, Route.REVIEW, REVIEW_LABEL, 0.65, id="low"
        ),
        pytest.param(snap(), [], 0.5, {}, Route.REVIEW, REVIEW_LABEL, 0.5, id="prior-lowers"),
        pytest.param(snap(tests="failure"), [], None, {}, Route.REVIEW, REVIEW_LABEL, 0.6, id="tests-red"),
        pytest.param(snap(), ["high"], None, {}, Route.BLOCKED, BLOCKED_LABEL, 0.85, id="high-finding"),
        pytest.param(
            snap(),
            ["low"],
            None,
            {},
            Route.AUTO_MERGE,
            AUTO_MERGE_LABEL,
            0.85,
            id="low-finding-asks-one-approval",
        ),
        pytest.param(snap(), [], None, {"tier": Tier.HIGH}, Route.REVIEW, REVIEW_LABEL, 1.0, id="gate-asks"),
        pytest.param(
            snap(),
            [],
            None,
            {"tier": Tier.HIGH, "plan_approved": True},
            Route.MERGE,
            None,
            1.0,
            id="approved",
        ),
        pytest.param(
            snap(), [], None, {"action": FixAction.HUMAN}, Route.REVIEW, REVIEW_LABEL, 1.0, id="gate-human"
        ),
    ],
)
def test_the_evidence_decides_the_route(
    checks: ChecksSnapshot,
    findings: list[str],
    prior: float | None,
    fields: dict[str, Any],
    route: Route,
    label: str | None,
    score: float,
) -> None:
    found = [Finding(tool="osv", id=f"GHSA-{s}", target="PyYAML==5.3", severity=s) for s in findings]
    s = settings(scan=True)
    m = decider.resume(waiting_for_checks(s, **fields), ctx(), ReadChecks(), checks).memory
    m = decider.resume(
        m, ctx(), ScanFix(SHA, "main", s.policy.scan, 90), ScanReport(ran=True, findings=found)
    ).memory
    m, done = carry(decider.resume(m, ctx(), LoadPrior("p"), prior))
    publish = done[0]
    assert isinstance(publish, PublishEvidence) and publish.label == label
    assert "| tests | " in publish.section and "**Decision:**" in publish.section
    assert m.status.decision is not None and m.status.decision.route is route
    assert m.status.confidence is not None and m.status.confidence.score == pytest.approx(score)
    assert m.status.stage == route.value
    m, done = carry(decider.resume(m, ctx(), publish, None))
    assert audited(done) == [route.value]
    first = {Route.MERGE: "MergeFix", Route.AUTO_MERGE: "ReadChecks"}.get(route, "EnqueueReview")
    assert kinds(done)[-1] == first


def test_a_protected_repository_goes_to_review() -> None:
    s = settings(risk=RiskConfig(protected_repositories=["acme/api"]))
    m, _ = carry(decider.resume(waiting_for_checks(s), ctx(), ReadChecks(), snap()), None, None)
    assert m.status.decision is not None and m.status.decision.route is Route.REVIEW
    assert "protected" in m.status.decision.reasons[0]


# --- merge and watch ----------------------------------------------------------------------------------


def test_a_merge_is_audited_and_the_default_branch_watched() -> None:
    m, done = carry(decider.resume(routed(), ctx(), MergeFix(), MergeResult(merged=True, sha="m1")))
    assert audited(done) == ["merged"] and done[-1] == ReadDefaultRun("m1")
    assert m.status.merge_sha == "m1" and m.status.stage == "watching the default branch"
    assert m.waiting is not None and m.waiting.phase is FixPRPhase.WATCH
    assert m.waiting.deadline == NOW + timedelta(seconds=WATCH)


def test_a_refused_merge_goes_to_the_review_queue() -> None:
    m, done = carry(decider.resume(routed(), ctx(), MergeFix(), MergeResult(merged=False, detail="conflict")))
    assert audited(done) == ["merge_refused"] and kinds(done)[-1] == "EnqueueReview"
    item = done[-1].item  # type: ignore[attr-defined]
    assert item.route == "review" and item.reasons == ["conflict"] and item.score == 1.0
    assert m.status.outcome == "queued" and m.awaiting_review


def watching(outcome: str = "merged") -> FixPRMemory:
    m = routed().model_copy(update={"merge_outcome": outcome})
    m, _ = carry(decider.resume(m, ctx(), MergeFix(), MergeResult(merged=True, sha="m1")))
    return m


def default_run(conclusion: Conclusion | None) -> CIRunEvent:
    return CIRunEvent(run=RUN, conclusion=conclusion, occurred_at=NOW, head_branch="main")


@pytest.mark.parametrize("outcome", ["merged", "merged on approval", "merged after review"])
def test_a_green_default_branch_keeps_the_fix(outcome: str) -> None:
    step = decider.resume(watching(outcome), ctx(5), ReadDefaultRun("m1"), default_run(Conclusion.SUCCESS))
    assert step.memory.done and step.memory.status.outcome == outcome and step.effects == []


@pytest.mark.parametrize("seen", [None, default_run(None)], ids=["no-run-yet", "still-running"])
def test_no_finished_run_polls_then_keeps_the_fix_after_the_watch(seen: CIRunEvent | None) -> None:
    m = decider.resume(watching(), ctx(), ReadDefaultRun("m1"), seen).memory
    assert not m.done and m.waiting is not None and m.waiting.wake_at == NOW + timedelta(seconds=POLL)
    assert decider.on_timer(m, ctx(POLL)).effects == [ReadDefaultRun("m1")]
    assert decider.on_news(decider.record_nudge(m), ctx(1)).effects == [ReadDefaultRun("m1")]
    late = decider.on_timer(m, ctx(WATCH))
    assert late.memory.done and late.memory.status.outcome == "merged" and late.effects == []


def test_a_red_default_branch_reverts_the_fix() -> None:
    step = decider.resume(watching(), ctx(), ReadDefaultRun("m1"), default_run(Conclusion.FAILURE))
    assert step.effects == [RevertFix("m1", REVERT_REASON)] and step.memory.status.stage == "reverting"
    assert step.memory.waiting is not None and step.memory.waiting.phase is FixPRPhase.REVERT


def reverting() -> FixPRMemory:
    return decider.resume(watching(), ctx(), ReadDefaultRun("m1"), default_run(Conclusion.FAILURE)).memory


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        pytest.param(RevertResult(opened=True, url="https://pr/10", merged=True), "reverted", id="merged"),
        pytest.param(RevertResult(opened=False, detail="conflict"), "revert opened", id="refused"),
    ],
)
def test_the_revert_ends_audited(result: RevertResult, outcome: str) -> None:
    m, done = carry(decider.resume(reverting(), ctx(), RevertFix("m1", REVERT_REASON), result))
    assert m.done and m.status.outcome == outcome and m.status.revert_url == result.url
    assert audited(done) == ["reverted"] and done[0].details["sha"] == "m1"  # type: ignore[attr-defined]


def test_an_open_revert_is_tried_again_until_it_merges_or_the_time_is_up() -> None:
    opened = RevertResult(opened=True, url="https://pr/10")
    m = decider.resume(reverting(), ctx(), RevertFix("m1", REVERT_REASON), opened).memory
    assert not m.done and decider.on_timer(m, ctx(POLL)).effects == [RevertFix("m1", REVERT_REASON)]
    m, done = carry(decider.resume(m, ctx(PIPELINE), RevertFix("m1", REVERT_REASON), opened))
    assert m.status.outcome == "revert opened" and audited(done) == ["reverted"]


# --- merge on one approval ----------------------------------------------------------------------------


def approval_wait() -> FixPRMemory:
    m = routed(snap(lint="failure"))
    assert m.waiting is not None and m.waiting.phase is FixPRPhase.APPROVAL
    assert m.status.stage == "waiting for one approval" and m.awaiting_review
    return decider.resume(m, ctx(), ReadChecks(), snap(lint="failure")).memory


def test_an_approval_on_github_merges_and_a_refusal_still_queues() -> None:
    step = decider.resume(routed(snap(lint="failure")), ctx(), ReadChecks(), snap(approvals=("carol",)))
    assert step.effects == [MergeFix()]
    assert step.memory.merge_outcome == "merged on approval" and step.memory.requeue
    assert not step.memory.awaiting_review


def test_an_approval_in_the_queue_merges_at_once() -> None:
    m = approval_wait()
    assert (
        not decider.news(m) and m.waiting is not None and m.waiting.wake_at == NOW + timedelta(seconds=POLL)
    )
    m = decider.record_review(m, ReviewDecision(approved=True, by="alice", at=NOW))
    assert decider.news(m)
    m, done = carry(decider.on_news(m, ctx(1)), snap(lint="failure"), at=1)
    assert kinds(done) == ["ReadChecks", "MergeFix"] and not m.requeue  # a refusal then ends it


def test_a_rejection_closes_the_pr_and_records_why() -> None:
    m = decider.record_review(approval_wait(), ReviewDecision(approved=False, by="bob", reason="no", at=NOW))
    m, done = carry(decider.on_news(m, ctx()), snap(lint="failure"), None, True)
    assert kinds(done) == ["ReadChecks", "CloseFix", "ResolveReview", "AuditFixPR", "SettleRun"]
    assert done[1] == CloseFix("rejected by bob: no") and done[4] == SettleRun(CIOutcome.ESCALATED)
    assert done[2] == ResolveReview(ReviewStatus.REJECTED, "bob", "no", NOW)
    assert done[3].actor == "bob" and done[3].action is AuditAction.CI_REVIEW  # type: ignore[attr-defined]
    assert m.done and m.status.outcome == "rejected"


def test_no_approval_in_time_leaves_the_pr_open() -> None:
    step = decider.on_timer(approval_wait(), ctx(REVIEW_WAIT))
    assert step.memory.done and step.memory.status.outcome == "no approval in time: left open for humans"


def test_a_pr_closed_while_waiting_for_approval_ends_it() -> None:
    step = decider.resume(approval_wait(), ctx(), ReadChecks(), snap("closed"))
    assert step.memory.status.outcome == "closed outside Mender"
    assert step.effects == [SettleRun(CIOutcome.ESCALATED)]  # its held run is a human's to handle


# --- the review queue ---------------------------------------------------------------------------------


def queued(blocked: bool = False) -> FixPRMemory:
    """Queued, stored, announced: waiting for a human's answer."""
    checks = snap() if blocked else snap(lint="failure", types="failure")
    s = settings(scan=blocked)
    m = decider.resume(waiting_for_checks(s), ctx(), ReadChecks(), checks).memory
    if blocked:
        high = Finding(tool="osv", id="GHSA-x", target="PyYAML==5.3", severity="high")
        m = decider.resume(
            m, ctx(), ScanFix(SHA, "main", s.policy.scan, 90), ScanReport(ran=True, findings=[high])
        ).memory
    m, done = carry(decider.resume(m, ctx(), LoadPrior("p"), None), None, 1)
    assert kinds(done)[-3:] == ["EnqueueReview", "AnnounceReview", "CheckBacklog"]
    enqueue = done[-3]
    assert isinstance(enqueue, EnqueueReview) and enqueue.item.created_at == NOW
    assert done[-2] == AnnounceReview(enqueue.item) and done[-1] == CheckBacklog()
    return m


def test_a_queued_pr_waits_for_a_review_rechecking_now_and_then() -> None:
    m = queued()
    assert m.status.outcome == "queued" and m.awaiting_review
    assert m.waiting is not None and m.waiting.phase is FixPRPhase.REVIEW
    assert m.waiting.wake_at == NOW + timedelta(seconds=RECHECK)
    assert not decider.news(decider.record_nudge(m))  # only a review ends this wait
    m, done = carry(decider.on_timer(m, ctx(RECHECK)), snap(), at=RECHECK)
    assert kinds(done) == ["ReadChecks", "CheckBacklog"]
    assert m.waiting is not None and m.waiting.wake_at == NOW + timedelta(seconds=2 * RECHECK)


@pytest.mark.parametrize("state", ["closed", "merged"])
def test_a_queued_pr_closed_outside_mender_leaves_the_queue(state: str) -> None:
    m, done = carry(decider.on_timer(queued(), ctx(RECHECK)), snap(state), True, at=RECHECK)
    gone = f"{state} outside Mender"
    assert done[-2] == ResolveReview(ReviewStatus.CLOSED, None, gone, NOW + timedelta(seconds=RECHECK))
    assert m.done and m.status.outcome == gone
    healed = CIOutcome.APPROVED_FIXED if state == "merged" else CIOutcome.ESCALATED
    assert done[-1] == SettleRun(healed)  # the run awaiting this review is settled with it


def test_an_approved_queued_pr_is_merged_and_watched() -> None:
    m = decider.record_review(queued(), ReviewDecision(approved=True, by="alice", at=NOW))
    assert decider.news(m)
    m, done = carry(decider.on_news(m, ctx()), True, MergeResult(merged=True, sha="m2"))
    assert done[0] == ResolveReview(ReviewStatus.APPROVED, "alice", "approved", NOW)
    assert audited(done) == ["approved", "merged"] and done[-1] == ReadDefaultRun("m2")
    assert m.status.review is not None and m.merge_outcome == "merged after review" and not m.requeue


def test_an_approved_pr_whose_merge_is_refused_is_left_to_humans() -> None:
    m = decider.record_review(queued(), ReviewDecision(approved=True, by="alice", at=NOW))
    m, done = carry(decider.on_news(m, ctx()), True, MergeResult(merged=False, detail="stale"))
    assert m.done and m.status.outcome == "merge refused: stale" and audited(done)[-1] == "merge_refused"


def test_an_approved_blocked_pr_is_left_to_the_approver_to_merge() -> None:
    m = queued(blocked=True)
    assert m.status.outcome == "blocked"
    m = decider.record_review(m, ReviewDecision(approved=True, by="alice", at=NOW))
    m, done = carry(decider.on_news(m, ctx()), True, None)
    assert "MergeFix" not in kinds(done) and audited(done) == ["approved"]
    assert done[-1] == PublishEvidence("", comment=done[0].reason)  # type: ignore[attr-defined]
    assert "merge it yourself" in done[0].reason  # type: ignore[attr-defined]
    assert m.status.outcome == "blocked: approved, left to the approver to merge"


def test_a_rejected_queued_pr_is_closed() -> None:
    m = decider.record_review(queued(), ReviewDecision(approved=False, by="bob", at=NOW))
    m, done = carry(decider.on_news(m, ctx()), None, True)
    assert done[0] == CloseFix("rejected by bob") and done[1].reason == "rejected"  # type: ignore[attr-defined]
    assert m.status.outcome == "rejected" and m.status.review is not None


@pytest.mark.parametrize("blocked", [False, True])
def test_no_review_in_time_leaves_the_pr_open(blocked: bool) -> None:
    step = decider.on_timer(queued(blocked), ctx(REVIEW_WAIT))
    m, _ = carry(step, snap(), at=REVIEW_WAIT)
    expected = "blocked" if blocked else "queued"
    assert m.done and m.status.outcome == f"{expected}: no review in time, left open for humans"


def test_only_the_first_review_while_waiting_counts() -> None:
    first = ReviewDecision(approved=True, by="alice", at=NOW)
    m = decider.record_review(queued(), first)
    assert decider.record_review(m, ReviewDecision(approved=False, by="bob", at=NOW)).review == first
    early = waiting_for_checks()
    assert decider.record_review(early, first) == early  # nobody asked yet


# --- failures and the long run ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "effect",
    [
        LoadFixSettings(),
        ReadChecks(),
        LoadPrior("p"),
        PublishEvidence("section"),
        MergeFix(),
        EnqueueReview(ITEM),
        CloseFix("r"),
        ResolveReview(ReviewStatus.APPROVED, "alice", "ok", NOW),
        ReadDefaultRun("m1"),
        RevertFix("m1", REVERT_REASON),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_activity_that_failed_after_its_retries_hands_the_pr_to_humans(effect: FixPREffect) -> None:
    step = decider.resume(waiting_for_checks(), ctx(), effect, BOOM)
    reason = "fixpr.checks failed: boom"
    assert step.memory.done and step.memory.status.outcome == f"failed: {reason}"
    assert isinstance(step.effects[0], FixPRLog) and step.effects[0].level == "error"
    assert audited(step.effects) == ["failed"] and step.effects[1].details["detail"] == reason  # type: ignore[attr-defined]


def test_audit_rows_name_the_pr_and_its_playbook_and_the_events_stay_bounded() -> None:
    m = waiting_for_checks()
    m = m.model_copy(update={"status": m.status.model_copy(update={"events": ["x"] * MAX_EVENTS})})
    m, done = carry(decider.resume(m, ctx(), ReadChecks(), snap()), None, None)
    row = next(e for e in done if isinstance(e, AuditFixPR))
    assert row.details["pr"] == 9 and row.details["playbook"] == "python-missing-module"
    assert row.details["action"] == "add_dependency" and row.action is AuditAction.CI_FIX_PR
    assert len(m.status.events) == MAX_EVENTS and m.status.events[-1] == "merge"


@pytest.mark.parametrize("stage", ["checks", "approval", "review", "watch", "revert"])
def test_the_memory_survives_continue_as_new(stage: str) -> None:
    m = {
        "checks": lambda: decider.resume(waiting_for_checks(), ctx(), ReadChecks(), RUNNING).memory,
        "approval": approval_wait,
        "review": queued,
        "watch": lambda: decider.resume(watching(), ctx(), ReadDefaultRun("m1"), None).memory,
        "revert": lambda: (
            decider.resume(
                reverting(), ctx(), RevertFix("m1", REVERT_REASON), RevertResult(opened=True)
            ).memory
        ),
    }[stage]()
    carried = FixPRMemory.model_validate_json(m.model_dump_json())
    assert carried == m
    assert decider.on_timer(carried, ctx(RECHECK)).effects == decider.on_timer(m, ctx(RECHECK)).effects


# --- the run a queued fix PR fixes is settled when the fix PR ends (issue 17: awaiting review) ----------


def test_a_rejected_queued_pr_settles_its_run_as_escalated() -> None:
    m = decider.record_review(queued(), ReviewDecision(approved=False, by="bob", at=NOW))
    m, done = carry(decider.on_news(m, ctx()), None, True)
    assert done[-1] == SettleRun(CIOutcome.ESCALATED) and m.done


def test_a_reviewed_and_merged_pr_settles_its_run_as_healed() -> None:
    m = decider.record_review(queued(), ReviewDecision(approved=True, by="alice", at=NOW))
    m, _ = carry(decider.on_news(m, ctx()), True, MergeResult(merged=True, sha="m2"))
    m, done = carry(decider.resume(m, ctx(), ReadDefaultRun("m2"), default_run(Conclusion.SUCCESS)))
    assert m.status.outcome == "merged after review" and done == [SettleRun(CIOutcome.APPROVED_FIXED)]


def test_a_pr_merged_without_waiting_for_anyone_settles_nothing() -> None:
    m, done = carry(decider.resume(routed(), ctx(), MergeFix(), MergeResult(merged=True, sha="m1")))
    m, done = carry(decider.resume(m, ctx(), ReadDefaultRun("m1"), default_run(Conclusion.SUCCESS)))
    assert m.status.outcome == "merged" and not m.holds_run and "SettleRun" not in kinds(done)


# --- a proposed fix PR (one approval, then merged) holds its run until it ends (awaiting review) -------


def test_a_proposed_pr_holds_its_run_until_it_ends() -> None:
    """Proposed is not merged: the run its fix healed waits (`HoldRun`) like a queued one."""
    m, done = carry(
        decider.resume(waiting_for_checks(), ctx(), ReadChecks(), snap(lint="failure")), None, None
    )
    assert kinds(done)[-3:] == ["AuditFixPR", "HoldRun", "ReadChecks"] and m.holds_run
    assert m.status.decision is not None and m.status.decision.route is Route.AUTO_MERGE


@pytest.mark.parametrize(
    ("answer", "results", "settled"),
    [
        pytest.param(
            snap(approvals=("carol",)),
            (MergeResult(merged=True, sha="m1"), default_run(Conclusion.SUCCESS)),
            CIOutcome.APPROVED_FIXED,
            id="approved-merged",
        ),
        pytest.param(
            snap(approvals=("carol",)),
            (
                MergeResult(merged=True, sha="m1"),
                default_run(Conclusion.FAILURE),
                RevertResult(opened=True, merged=True),
            ),
            CIOutcome.ESCALATED,
            id="merged-then-reverted",
        ),
        pytest.param(snap(state="closed"), (), CIOutcome.ESCALATED, id="closed-by-a-human"),
        pytest.param(snap(state="merged"), (), CIOutcome.APPROVED_FIXED, id="merged-by-a-human"),
    ],
)
def test_a_proposed_pr_settles_its_run_when_it_ends(
    answer: ChecksSnapshot, results: tuple[Any, ...], settled: CIOutcome
) -> None:
    m, done = carry(decider.resume(approval_wait(), ctx(), ReadChecks(), answer), *results)
    assert m.done and done[-1] == SettleRun(settled), kinds(done)


def test_a_proposed_pr_left_open_keeps_its_run_awaiting() -> None:
    m, done = carry(decider.on_timer(approval_wait(), ctx(REVIEW_WAIT)))
    assert m.done and m.status.outcome.startswith("no approval in time") and "SettleRun" not in kinds(done)


def test_a_history_from_before_holding_proposed_prs_replays_without_it() -> None:
    """`workflow.patched`: a fix PR workflow begun before `HoldRun` neither holds nor settles its run."""
    old = FixPRContext(now=NOW, hold_proposed=False)
    step = decider.resume(waiting_for_checks(), old, ReadChecks(), snap(lint="failure"))
    m, done = carry(step, None, None, old=old)
    assert "HoldRun" not in kinds(done) and not m.holds_run
    m = decider.record_review(
        decider.resume(m, old, ReadChecks(), snap(lint="failure")).memory,
        ReviewDecision(approved=False, by="bob", at=NOW),
    )
    _, done = carry(decider.on_news(m, old), snap(lint="failure"), None, True, old=old)
    assert "SettleRun" not in kinds(done)


def test_a_history_from_before_settling_replays_without_it() -> None:
    """`workflow.patched`: a fix PR workflow begun before `SettleRun` existed never asks for it."""
    step = decider.start(memory(), FixPRContext(now=NOW, settle_run=False))
    assert not step.memory.settles_run
    m = queued().model_copy(update={"settles_run": False, "holds_run": False})  # before hold-queued too
    m = decider.record_review(m, ReviewDecision(approved=False, by="bob", at=NOW))
    _, done = carry(decider.on_news(m, ctx()), None, True)
    assert "SettleRun" not in kinds(done)


@pytest.mark.parametrize(
    ("outcome", "settled"),
    [
        ("merged after review", CIOutcome.APPROVED_FIXED),
        ("merged outside Mender", CIOutcome.APPROVED_FIXED),
        ("rejected", CIOutcome.ESCALATED),
        ("closed outside Mender", CIOutcome.ESCALATED),
        ("merge refused: stale", CIOutcome.ESCALATED),
        ("reverted", CIOutcome.ESCALATED),
        ("failed: fixpr.merge failed: boom", CIOutcome.ESCALATED),
        ("queued: no review in time, left open for humans", None),
        ("blocked: approved, left to the approver to merge", None),
    ],
)
def test_settled_outcomes(outcome: str, settled: CIOutcome | None) -> None:
    assert settled_outcome(outcome) is settled
