"""The CI failure decider as tables: (memory, input) -> (memory, effects), without Temporal.

`carry` plays the workflow's part: it carries effects out in order and feeds the scripted result of
each effect that feeds back to `decider.resume`, so a table row reads as the run's story.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.ci import CIWorkflowInput
from domain.ci_healing import decider
from domain.ci_healing.approval import ApprovalDecision
from domain.ci_healing.approval_messages import PostedMessage
from domain.ci_healing.config import CIConfig, Stage
from domain.ci_healing.effects import (
    ActivityFailed,
    AnalyseRun,
    Announce,
    AskApproval,
    AskModel,
    AuditRun,
    CIContext,
    CIEffect,
    CIMemory,
    CIStep,
    FixPROpened,
    LoadPolicy,
    LogLine,
    NotifyOwners,
    OpenFixPR,
    OpenIncident,
    Pause,
    PolicyFor,
    PollRun,
    RecordRun,
    RecordTests,
    ReportFix,
    RequestRerun,
    ResolveApproval,
    RollBackFix,
    WaitFor,
)
from domain.ci_healing.failed_tests import FailedTest
from domain.ci_healing.fixpr import FixPRRouted, Route
from domain.ci_healing.flakiness import FlakeHistory, FlakeScore
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.results import CIPolicy, FixResult, IncidentResult, RerunResult, RunAnalysis
from domain.ci_healing.runs import CIRunEvent, CIRunRef, Conclusion, Provider
from domain.config import Mode
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Source, Tier

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RUN = CIRunRef(provider=Provider.GITHUB, project="acme/api", run_id=7)
LAB = CIRunRef(provider=Provider.GITLAB, project="acme/api", run_id=7)
URL = "https://ci.example/acme/api/runs/7"
FIX = FixResult(opened=True, detail="opened", branch="mender/fix-7", pr_number=9, pr_url="https://pr/9")


def ctx(seconds: float = 0) -> CIContext:
    return CIContext(now=NOW + timedelta(seconds=seconds))


def policy(mode: Mode = Mode.ACT, **ci: Any) -> CIPolicy:
    raw = {"poll_interval_seconds": 10, "rerun_backoff_seconds": 5, "verify_timeout_seconds": 100, **ci}
    raw.setdefault("approval", {"timeout_seconds": 600})
    return CIPolicy(ci=CIConfig.model_validate(raw), mode=mode)


def diagnosis(action: FixAction = FixAction.RETRY, **fields: Any) -> Diagnosis:
    base: dict[str, Any] = {
        "category": Category.INFRASTRUCTURE,
        "action": action,
        "risk_score": 1.0,
        "tier": Tier.LOW,
        "confidence": 90,
        "key_line": "npm ERR! network read ECONNRESET",
        "explanation": "a transient network failure",
        "auto_fix": True,
    }
    return Diagnosis(**(base | fields))


RISKY = {"risk_score": 6.0, "tier": Tier.HIGH, "category": Category.DEPENDENCY}


def analysis(d: Diagnosis | None = None) -> RunAnalysis:
    return RunAnalysis(
        diagnosis=d or diagnosis(), distilled="npm ERR! ECONNRESET", run_url=URL, head_branch="main"
    )


def event(conclusion: Conclusion | None = Conclusion.FAILURE, attempt: int = 1, **fields: Any) -> CIRunEvent:
    return CIRunEvent(
        run=fields.pop("run", RUN),
        attempt=attempt,
        conclusion=conclusion,
        occurred_at=NOW,
        html_url=URL,
        **fields,
    )


def fix_event(conclusion: Conclusion, branch: str = "mender/fix-7") -> CIRunEvent:
    run = CIRunRef(provider=Provider.GITHUB, project="acme/api", run_id=70)
    return event(conclusion, run=run, head_branch=branch, fix_for=RUN)


def carry(step: CIStep, *results: Any, at: float = 0) -> tuple[CIMemory, list[CIEffect]]:
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
            nxt = decider.resume(m, ctx(at), effect, scripted.popleft())
            m = nxt.memory
            queue.extendleft(reversed(nxt.effects))
    assert not scripted, f"results left over: {list(scripted)}"
    return m, done


def kinds(effects: list[CIEffect]) -> list[str]:
    return [type(e).__name__ for e in effects]


def analysed(d: Diagnosis | None = None, start: CIPolicy | None = None) -> CIMemory:
    """A run detected and analysed (rules sure), before its first attempt is gated."""
    m = decider.record_event(decider.start(CIMemory.new(RUN), ctx()).memory, event())
    step = decider.on_news(m, ctx())
    m, _ = carry(step, start or policy(), analysis(d))
    return m


def gated(
    d: Diagnosis | None = None, at: CIPolicy | None = None, *more: Any
) -> tuple[CIMemory, list[CIEffect]]:
    """Analysed, then the first attempt gated with `at` (and any further scripted results)."""
    m = analysed(d)
    assert m.waiting is None
    return carry(decider.resume(m, ctx(), LoadPolicy(PolicyFor.ATTEMPT), at or policy()), *more)


# --- start and events --------------------------------------------------------------------------


def test_start_waits_five_minutes_at_most_for_the_first_event() -> None:
    step = decider.start(CIMemory.new(RUN), ctx())
    assert step.effects == []
    assert step.memory.waiting is not None and step.memory.waiting.kind is WaitFor.FIRST_EVENT
    assert decider.seconds_to_wait(step.memory, ctx()) == 300
    assert not decider.news(step.memory)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        pytest.param([event(), event()], 1, id="duplicate-dropped"),
        pytest.param([event(), event(Conclusion.SUCCESS, attempt=2)], 2, id="distinct-attempts-kept"),
        pytest.param(
            [event(run=CIRunRef(provider=Provider.GITHUB, project="x/y", run_id=1))], 0, id="other-run"
        ),
        pytest.param([fix_event(Conclusion.SUCCESS)], 1, id="fix-branch-run-for-this-one"),
    ],
)
def test_run_events_are_recorded_once_and_only_for_this_run(incoming: list[CIRunEvent], kept: int) -> None:
    m = CIMemory.new(RUN)
    for e in incoming:
        m = decider.record_event(m, e)
    assert len(m.events) == kept == len(m.status.events)


def test_the_shown_events_are_bounded() -> None:
    m = CIMemory.new(RUN)
    for attempt in range(1, decider.MAX_EVENTS_KEPT + 20):
        m = decider.record_event(m, event(attempt=attempt))
    assert len(m.status.events) == decider.MAX_EVENTS_KEPT
    assert m.status.events[-1].startswith(f"{RUN.key}:{decider.MAX_EVENTS_KEPT + 19}:")


@pytest.mark.parametrize("via", ["news", "timer"], ids=["first-event", "no-event-in-time"])
def test_detection_reads_the_policy_announces_audits_and_analyses(via: str) -> None:
    m = decider.start(CIMemory.new(RUN), ctx()).memory
    if via == "news":
        m = decider.record_event(m, event())
        assert decider.news(m)
        step = decider.on_news(m, ctx())
    else:
        step = decider.on_timer(m, ctx(300))
    assert step.effects == [LoadPolicy(PolicyFor.START)] and step.memory.waiting is None
    after = decider.resume(step.memory, ctx(), step.effects[0], policy())
    url = URL if via == "news" else ""
    assert after.effects == [
        Announce(Stage.DETECTED, "Pipeline failed", url),
        AuditRun("ci.detected", "recorded", {"url": url}),
        AnalyseRun(),
    ]


# --- logs analysed -----------------------------------------------------------------------------


def test_a_sure_diagnosis_is_audited_announced_and_the_first_attempt_gated() -> None:
    m = decider.record_event(decider.start(CIMemory.new(RUN), ctx()).memory, event())
    m, done = carry(decider.on_news(m, ctx()), policy(), analysis())
    assert kinds(done)[-3:] == ["AuditRun", "Announce", "LoadPolicy"]
    assert done[-1] == LoadPolicy(PolicyFor.ATTEMPT)
    assert m.status.stage == "analysed" and m.status.diagnosis == diagnosis() and m.status.run_url == URL
    assert m.attempt == 1 and m.max_attempts == 3  # re-runs: ci.rerun_attempts


def test_observe_mode_diagnoses_and_records_but_changes_nothing() -> None:
    m = decider.record_event(decider.start(CIMemory.new(RUN), ctx()).memory, event())
    m, done = carry(decider.on_news(m, ctx()), policy(Mode.OBSERVE), analysis())
    assert kinds(done) == [
        "LoadPolicy",
        "Announce",
        "AuditRun",
        "AnalyseRun",
        "AuditRun",
        "Announce",
        "RecordRun",
    ]
    assert m.done and m.status.outcome is CIOutcome.OBSERVED and m.status.auto_actions == []


@pytest.mark.parametrize(
    ("rule", "llm", "asks"),
    [
        pytest.param(diagnosis(source=Source.FALLBACK), True, True, id="fallback-asks-the-model"),
        pytest.param(diagnosis(confidence=40), True, True, id="low-confidence-asks-the-model"),
        pytest.param(diagnosis(confidence=40), False, False, id="model-disabled"),
        pytest.param(diagnosis(), True, False, id="sure-rules-need-no-model"),
    ],
)
def test_the_model_is_asked_only_when_enabled_and_the_rules_are_unsure(
    rule: Diagnosis, llm: bool, asks: bool
) -> None:
    m = decider.record_event(decider.start(CIMemory.new(RUN), ctx()).memory, event())
    m, _ = carry(decider.on_news(m, ctx()), policy(llm={"enabled": llm, "timeout_seconds": 20}))
    step = decider.resume(m, ctx(), AnalyseRun(), analysis(rule))
    if not asks:
        assert not any(isinstance(e, AskModel) for e in step.effects)
        return
    assert step.effects == [AskModel("npm ERR! ECONNRESET", rule, 50)]
    answer = diagnosis(source=Source.LLM, explanation="the model says: network")
    after = decider.resume(step.memory, ctx(), step.effects[0], answer)
    assert after.memory.status.diagnosis == answer and after.effects[-1] == LoadPolicy(PolicyFor.ATTEMPT)


# --- gate result -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "provider_run", "first", "outcome"),
    [
        pytest.param(diagnosis(), RUN, ["RequestRerun"], None, id="low-risk-reruns-at-once"),
        pytest.param(
            diagnosis(tier=Tier.MEDIUM), RUN, ["Announce", "RequestRerun"], None, id="medium-notifies"
        ),
        pytest.param(diagnosis(action=FixAction.ADD_DEPENDENCY), RUN, ["OpenFixPR"], None, id="fix-pr"),
        pytest.param(
            diagnosis(**RISKY, action=FixAction.ADD_DEPENDENCY), RUN, ["AskApproval"], None, id="asks"
        ),
        pytest.param(
            diagnosis(category=Category.CODE, action=FixAction.HUMAN),
            RUN,
            ["Announce", "RecordRun"],
            CIOutcome.ESCALATED,
            id="code-goes-to-a-human",
        ),
        pytest.param(
            diagnosis(action=FixAction.ADD_DEPENDENCY), LAB, ["OpenFixPR"], None, id="gitlab-fix-mr"
        ),
        pytest.param(
            diagnosis(action=FixAction.INCREASE_TIMEOUT),
            LAB,
            ["OpenFixPR"],
            None,
            id="gitlab-ci-file-edit",
        ),
    ],
)
def test_the_gate_decides_each_attempt(
    d: Diagnosis, provider_run: CIRunRef, first: list[str], outcome: CIOutcome | None
) -> None:
    m = analysed(d).model_copy(update={"run": provider_run})
    step = decider.resume(m, ctx(), LoadPolicy(PolicyFor.ATTEMPT), policy())
    assert kinds(step.effects) == first
    assert step.memory.status.outcome is outcome and step.memory.status.gate is not None
    if outcome is None and first[-1] != "AskApproval":
        assert step.memory.status.auto_actions == [d.action.value]
        assert step.memory.status.stage == "remediating (1)"


def test_a_history_from_before_gitlab_ci_file_edits_still_escalates_them() -> None:
    """`workflow.patched`: a CI failure workflow begun before `.gitlab-ci.yml` edits replays as it ran."""
    m = analysed(diagnosis(action=FixAction.INCREASE_TIMEOUT)).model_copy(update={"run": LAB})
    old = CIContext(now=NOW, gitlab_ci_edits=False)
    step = decider.resume(m, old, LoadPolicy(PolicyFor.ATTEMPT), policy())
    assert kinds(step.effects) == ["Announce", "RecordRun"]
    assert step.memory.status.outcome is CIOutcome.ESCALATED


def test_a_configuration_change_between_attempts_is_obeyed() -> None:
    """Attempt 2 is gated with the configuration current then: now a protected repository."""
    m, _ = gated(diagnosis(), policy(), RerunResult(requested=True, attempt=1))
    m, done = carry(decider.on_timer(m, ctx(200)), None, at=200)  # attempt 1 never finished
    assert done[-1] == LoadPolicy(PolicyFor.ATTEMPT) and m.attempt == 2
    protected = policy(risk={"protected_repositories": ["acme/api"]})
    step = decider.resume(m, ctx(200), done[-1], protected)
    assert kinds(step.effects) == ["AskApproval"] and "protected" in " ".join(step.memory.status.gate.reasons)


# --- approval ----------------------------------------------------------------------------------


def awaiting() -> CIMemory:
    m, done = gated(
        diagnosis(**RISKY, action=FixAction.ADD_DEPENDENCY), policy(), PostedMessage(channel="C1", ts="1.0")
    )
    assert isinstance(done[-1], AskApproval) and m.waiting is not None
    return m


def test_asking_posts_the_request_and_waits_for_the_configured_time() -> None:
    m = awaiting()
    assert m.status.stage == "awaiting approval" and m.awaiting_approval
    assert (
        m.request is not None
        and m.request.timeout_seconds == 600
        and m.request.workflow_id == RUN.workflow_id
    )
    assert m.waiting.kind is WaitFor.APPROVAL and m.waiting.deadline == NOW + timedelta(seconds=600)
    assert decider.seconds_to_wait(m, ctx()) == 10  # re-check the gate at the poll interval


def test_a_request_slack_refused_still_waits_and_times_out() -> None:
    m, done = gated(
        diagnosis(**RISKY, action=FixAction.ADD_DEPENDENCY),
        policy(),
        ActivityFailed("approval.request", "500"),
    )
    assert isinstance(done[-1], LogLine) and m.posted is None and m.waiting.kind is WaitFor.APPROVAL


def answer(approved: bool, who: str = "U1 (alice)") -> ApprovalDecision:
    return ApprovalDecision(approved=approved, approver=who, decided_at=NOW + timedelta(seconds=30))


@pytest.mark.parametrize(
    ("approved", "outcome", "next_kind"),
    [
        pytest.param(True, "approved", "OpenFixPR", id="approved-runs"),
        pytest.param(False, "rejected", "RecordRun", id="rejected"),
    ],
)
def test_an_approvers_answer_resolves_the_request_and_audits_who(
    approved: bool, outcome: str, next_kind: str
) -> None:
    m = decider.record_answer(awaiting(), answer(approved))
    assert decider.news(m)
    step = decider.on_news(m, ctx(30))
    resolve, audit = step.effects[0], step.effects[1]
    assert isinstance(resolve, ResolveApproval) and resolve.outcome == outcome and resolve.posted is not None
    assert audit == AuditRun(
        "ci.approval",
        outcome,
        {"approver": "U1 (alice)", "at": answer(approved).decided_at.isoformat()},
        "U1 (alice)",
    )
    assert kinds(step.effects)[-1] == next_kind
    assert step.memory.status.approval == answer(approved) and not step.memory.awaiting_approval
    if approved:
        assert step.memory.approved and step.memory.status.auto_actions == []
    else:
        assert step.memory.status.outcome is CIOutcome.ESCALATED


def test_only_the_first_answer_to_a_pending_request_counts() -> None:
    assert decider.record_answer(analysed(), answer(True)).answer is None  # nothing pending
    m = decider.record_answer(decider.record_answer(awaiting(), answer(False)), answer(True))
    assert m.answer == answer(False)


def recheck(m: CIMemory, at: float, current: CIPolicy) -> CIStep:
    step = decider.on_timer(m, ctx(at))
    assert step.effects == [LoadPolicy(PolicyFor.RECHECK)]
    return decider.resume(step.memory, ctx(at), step.effects[0], current)


def test_a_recheck_that_still_needs_approval_waits_on() -> None:
    step = recheck(awaiting(), 10, policy())
    assert step.effects == [] and step.memory.waiting.wake_at == NOW + timedelta(seconds=20)


def test_a_recheck_the_gate_now_passes_runs_without_approval() -> None:
    lenient = policy(risk={"threshold": 9.0, "confidence_floor": 10})
    m = awaiting()
    d = m.analysis.diagnosis.model_copy(update={"tier": Tier.LOW})
    m = m.model_copy(update={"analysis": m.analysis.model_copy(update={"diagnosis": d})})
    step = recheck(m, 10, lenient)
    assert isinstance(step.effects[0], ResolveApproval) and "no longer needed" in step.effects[0].outcome
    assert kinds(step.effects)[1:] == ["OpenFixPR"] and not step.memory.approved
    assert step.memory.status.auto_actions == ["add_dependency"]


def test_no_answer_in_time_escalates() -> None:
    step = recheck(awaiting(), 600, policy())
    assert kinds(step.effects) == ["ResolveApproval", "AuditRun", "Announce", "RecordRun"]
    assert step.effects[0].outcome == "timeout" and step.effects[1].outcome == "timed_out"
    assert step.memory.status.outcome is CIOutcome.ESCALATED and step.memory.done
    assert "no approval in time" in step.effects[2].summary


# --- re-run and verification -------------------------------------------------------------------


def rerunning(provider_run: CIRunRef = RUN) -> CIMemory:
    m = analysed().model_copy(update={"run": provider_run})
    m, _ = carry(
        decider.resume(m, ctx(), LoadPolicy(PolicyFor.ATTEMPT), policy()),
        RerunResult(requested=True, attempt=1),
    )
    assert m.waiting.kind is WaitFor.RUN and not m.waiting.for_fix
    return m


@pytest.mark.parametrize(
    ("incoming", "healed"),
    [
        pytest.param(event(Conclusion.SUCCESS, attempt=2), True, id="rerun-passed"),
        pytest.param(event(Conclusion.FAILURE, attempt=2), False, id="rerun-failed"),
    ],
)
def test_the_reruns_conclusion_ends_the_attempt(incoming: CIRunEvent, healed: bool) -> None:
    m = decider.record_event(rerunning(), incoming)
    assert decider.news(m)
    m, done = carry(decider.on_news(m, ctx(5)))
    audit = next(e for e in done if isinstance(e, AuditRun))
    assert audit.outcome == ("succeeded" if healed else "failed")
    if healed:
        assert m.status.outcome is CIOutcome.AUTO_FIXED and kinds(done)[-2:] == ["Announce", "RecordRun"]
        assert m.status.attempts == ["1: retry: re-run success"]
    else:
        assert done[-1] == LoadPolicy(PolicyFor.ATTEMPT) and m.attempt == 2


def test_an_earlier_attempts_conclusion_is_not_the_reruns_on_github_but_is_on_gitlab() -> None:
    assert not decider.news(
        decider.record_event(rerunning(), event(Conclusion.SUCCESS, attempt=1, stamp="a"))
    )
    lab = rerunning(LAB)
    assert decider.news(decider.record_event(lab, event(Conclusion.SUCCESS, run=LAB, stamp="later")))


def test_no_webhook_polls_and_a_polled_conclusion_counts() -> None:
    m = rerunning()
    step = decider.on_timer(m, ctx(10))
    assert step.effects == [PollRun("")]
    after = decider.resume(step.memory, ctx(10), step.effects[0], event(Conclusion.SUCCESS, attempt=2))
    assert after.memory.status.outcome is CIOutcome.AUTO_FIXED


def test_a_failed_poll_is_logged_and_the_wait_goes_on() -> None:
    m = rerunning()
    after = decider.resume(m, ctx(10), PollRun(""), ActivityFailed("ci.run_status", "timeout"))
    assert kinds(after.effects) == ["LogLine"] and after.memory.waiting.wake_at == NOW + timedelta(seconds=20)


def test_a_rerun_that_never_finishes_fails_the_attempt_at_the_verify_timeout() -> None:
    after = decider.resume(rerunning(), ctx(100), PollRun(""), None)
    assert after.memory.status.attempts == ["1: retry: re-run did not finish in time"]
    assert after.effects[-1] == LoadPolicy(PolicyFor.ATTEMPT)


def test_later_reruns_wait_their_backoff_first() -> None:
    m, _ = carry(decider.resume(rerunning(), ctx(100), PollRun(""), None))  # attempt 1 timed out
    step = decider.resume(m, ctx(100), LoadPolicy(PolicyFor.ATTEMPT), policy())
    assert step.effects == [Pause(5.0)] and m.attempt == 2
    assert decider.resume(step.memory, ctx(105), step.effects[0], None).effects == [RequestRerun()]


def test_a_refused_rerun_fails_the_attempt() -> None:
    m, _ = gated(diagnosis(), policy(), RerunResult(requested=False, detail="run is still in progress"))
    assert m.status.attempts == ["1: retry: re-run refused: run is still in progress"]


# --- fix PR opened, verification, rollback -----------------------------------------------------


def fixing() -> tuple[CIMemory, list[CIEffect]]:
    return gated(diagnosis(action=FixAction.ADD_DEPENDENCY), policy(), FIX)


def test_a_fix_pr_opened_passes_the_seam_then_waits_for_its_branch() -> None:
    m, done = fixing()
    assert done[0] == OpenFixPR(diagnosis(action=FixAction.ADD_DEPENDENCY), 1, "main", URL)
    assert isinstance(done[1], FixPROpened) and done[1].fix == FIX and done[1].policy == m.policy
    assert m.waiting.for_fix and m.waiting.fix_branch == "mender/fix-7"
    assert decider.on_timer(m, ctx(10)).effects == [PollRun("mender/fix-7")]
    assert not decider.news(decider.record_event(m, fix_event(Conclusion.SUCCESS, branch="other")))


def test_a_verified_fix_is_reported_and_heals_the_run() -> None:
    """(Its fix PR's workflow takes the merge route: `tests/unit/test_ci_fix_route.py` has the others.)"""
    m, _ = fixing()
    m, done = carry(decider.on_news(decider.record_event(m, fix_event(Conclusion.SUCCESS)), ctx(20)))
    assert done == [ReportFix(FIX, True, "verification run: success")]
    m = decider.record_route(m, FixPRRouted(number=9, url="https://pr/9", route=Route.MERGE))
    m, done = carry(decider.on_news(m, ctx(30)))
    assert m.status.outcome is CIOutcome.AUTO_FIXED and m.status.attempts == [
        "1: add_dependency: fix PR https://pr/9 verified"
    ]


def test_a_fix_that_fails_verification_is_rolled_back_then_retried() -> None:
    m, _ = fixing()
    m, done = carry(decider.on_news(decider.record_event(m, fix_event(Conclusion.FAILURE)), ctx(20)), None)
    assert kinds(done)[:3] == ["ReportFix", "RollBackFix", "AuditRun"] and done[1] == RollBackFix(FIX)
    assert m.status.attempts == [
        "1: add_dependency: fix PR https://pr/9 failed verification and was rolled back"
    ]
    assert done[-1] == LoadPolicy(PolicyFor.ATTEMPT)


def test_no_further_fix_opens_an_incident_at_once() -> None:
    m, done = gated(
        diagnosis(action=FixAction.ADD_DEPENDENCY),
        policy(),
        FixResult(opened=False, detail="already declared"),
        IncidentResult(opened=True, url="https://issues/1"),
    )
    assert kinds(done)[-5:] == ["AuditRun", "OpenIncident", "AuditRun", "Announce", "RecordRun"]
    assert done[-4].attempts == ("1: add_dependency: no further fix: already declared",)
    assert m.status.outcome is CIOutcome.INCIDENT and "https://issues/1" in done[-2].summary


# --- incident ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "audited", "detail"),
    [
        pytest.param(
            IncidentResult(opened=True, url="https://issues/2"), "opened", "https://issues/2", id="opened"
        ),
        pytest.param(
            IncidentResult(opened=False, detail="issues disabled"),
            "failed",
            "issues disabled",
            id="not-opened",
        ),
    ],
)
def test_after_the_last_failed_attempt_an_incident_is_opened(
    result: IncidentResult, audited: str, detail: str
) -> None:
    last = rerunning().model_copy(update={"max_attempts": 1})
    m, done = carry(decider.resume(last, ctx(100), PollRun(""), None), result, at=100)
    assert done[-4] == OpenIncident(
        URL, diagnosis(), "npm ERR! ECONNRESET", ("1: retry: re-run did not finish in time",)
    )
    assert done[-3] == AuditRun("ci.incident", audited, {"url": result.url})
    assert m.status.outcome is CIOutcome.INCIDENT and done[-2].summary == f"incident: {detail}"
    assert done[-2].stage is Stage.FAILED and isinstance(done[-1], RecordRun)


# --- an activity that fails after its retries --------------------------------------------------


FAILING = [
    pytest.param(
        lambda: (decider.start(CIMemory.new(RUN), ctx()).memory, LoadPolicy(PolicyFor.START)), id="policy"
    ),
    pytest.param(lambda: (analysed().model_copy(update={"analysis": None}), AnalyseRun()), id="analyse"),
    pytest.param(lambda: (analysed(), AskModel("x", diagnosis(), 50)), id="model"),
    pytest.param(lambda: (analysed(), LoadPolicy(PolicyFor.ATTEMPT)), id="attempt-policy"),
    pytest.param(lambda: (awaiting(), LoadPolicy(PolicyFor.RECHECK)), id="recheck-policy"),
    pytest.param(lambda: (analysed(), RequestRerun()), id="rerun"),
    pytest.param(lambda: (analysed(), OpenFixPR(diagnosis(), 1, None, URL)), id="open-fix"),
    pytest.param(lambda: (fixing()[0], RollBackFix(FIX)), id="rollback"),
    pytest.param(lambda: (analysed(), OpenIncident(URL, diagnosis(), "", ())), id="incident"),
]


@pytest.mark.parametrize("before", FAILING)
def test_an_activity_failed_for_good_hands_the_run_to_a_human(before: Any) -> None:
    m, effect = before()
    step = decider.resume(m, ctx(), effect, ActivityFailed("ci.analyse", "the provider answers 500"))
    reason = "ci.analyse failed after its retries: the provider answers 500"
    assert step.effects == [
        LogLine("error", f"CI run {RUN.key} handed to a human: {reason}"),
        AuditRun("ci.remediation", "failed", {"detail": reason}),
        LoadPolicy(PolicyFor.HAND_OVER),
    ]
    m = step.memory
    assert m.done and m.waiting is None and m.status.outcome is CIOutcome.ESCALATED
    assert m.status.events[-1] == f"handed over: {reason}"
    told = decider.resume(m, ctx(), step.effects[-1], policy())
    assert told.effects == [
        Announce(Stage.FAILED, f"escalated: {reason}", m.status.run_url),
        RecordRun(m.status),
    ]


def test_a_hand_over_whose_notice_cannot_be_sent_is_still_recorded() -> None:
    m = decider.hand_over(analysed(), ActivityFailed("", "boom")).memory
    assert m.handed_over == "an activity failed after its retries: boom"
    step = decider.resume(m, ctx(), LoadPolicy(PolicyFor.HAND_OVER), ActivityFailed("ci.policy", "down"))
    assert kinds(step.effects) == ["LogLine", "RecordRun"] and step.memory.done


def test_an_effect_without_a_result_cannot_be_resumed() -> None:
    with pytest.raises(TypeError):
        decider.resume(analysed(), ctx(), Announce(Stage.FIXED, "x", URL), None)


# --- the whole story ---------------------------------------------------------------------------


def test_approved_fix_verified_end_to_end_through_the_decider() -> None:
    m = awaiting()
    m = decider.record_answer(m, answer(True))
    m, done = carry(decider.on_news(m, ctx(30)), FIX, at=30)
    assert isinstance(done[-1], FixPROpened)
    m, _ = carry(decider.on_news(decider.record_event(m, fix_event(Conclusion.SUCCESS)), ctx(60)), at=60)
    m = decider.record_route(m, FixPRRouted(number=9, route=Route.MERGE))  # its fix PR's workflow merges it
    m, done = carry(decider.on_news(m, ctx(70)), at=70)
    assert m.status.outcome is CIOutcome.APPROVED_FIXED and m.status.auto_actions == []
    assert [e.stage for e in done if isinstance(e, Announce)] == [Stage.FIXED]


# --- continue-as-new ---------------------------------------------------------------------------


def test_the_memory_is_carried_whole_through_the_workflow_input() -> None:
    """Mid-wait memory (events, approval request, posted message, wait) survives the JSON round trip."""
    m = decider.record_event(awaiting(), event(Conclusion.SUCCESS, attempt=2))
    carried = CIWorkflowInput.model_validate_json(CIWorkflowInput(run=RUN, carried=m).model_dump_json())
    assert carried.carried == m
    assert decider.news(decider.record_answer(carried.carried, answer(True)))


LEARNED = {
    "action": FixAction.ADD_DEPENDENCY,
    "category": Category.DEPENDENCY,
    "risk_score": 5.0,
    "tier": Tier.MEDIUM,
    "playbook": "learned.1",
    "auto_fix": False,  # not merged successfully N times yet
    "source": Source.PLAYBOOK,
}


@pytest.mark.parametrize(
    ("run", "fix_prs", "first"),
    [
        pytest.param(RUN, True, ["Announce", "OpenFixPR"], id="github-opens-it-for-the-review-queue"),
        pytest.param(RUN, False, ["AskApproval"], id="no-fix-pr-workflows-slack-asks"),
        pytest.param(LAB, True, ["Announce", "OpenFixPR"], id="gitlab-opens-its-fix-mr-for-the-review-queue"),
    ],
)
def test_a_learned_fix_in_review_opens_its_fix_pr_for_the_review_queue(
    run: CIRunRef, fix_prs: bool, first: list[str]
) -> None:
    m = analysed(diagnosis(**LEARNED)).model_copy(update={"run": run})
    step = decider.resume(m, ctx(), LoadPolicy(PolicyFor.ATTEMPT), policy(fix_prs={"enabled": fix_prs}))
    assert kinds(step.effects) == first
    assert step.memory.status.gate is not None and step.memory.status.gate.review_only
    if fix_prs and run is RUN:
        assert "review queue" in step.effects[0].summary
        m, done = carry(step, FIX)
        opened = next(e for e in done if isinstance(e, FixPROpened))
        assert not opened.plan_approved  # the fix PR workflow queues it: no human approved it yet


# --- suspected flaky tests: history, one confirming re-run -----------------------------------------

FLAKY = diagnosis(FixAction.RETRY, category=Category.FLAKY_TEST, key_line="FAILED t.py::test_a - boom")
CODE_LIKE = diagnosis(FixAction.HUMAN, category=Category.CODE, key_line="FAILED t.py::test_a - boom")
BOOM = [FailedTest(test="t.py::test_a", signature="AssertionError: boom")]


def analysed_with_tests(d: Diagnosis, failed: list[FailedTest] | None = None) -> RunAnalysis:
    """An analysis whose logs name failed tests (on a branch, default branch main)."""
    return analysis(d).model_copy(
        update={
            "failed_tests": BOOM if failed is None else failed,
            "head_branch": "feature",
            "head_sha": "abc",
        }
    )


def flake(score: float, flaky: bool = True) -> FlakeHistory:
    reasons = ["failed then passed on the same commit (1x)"] if flaky else []
    return FlakeHistory(
        scores=[
            FlakeScore(project="acme/api", test="t.py::test_a", score=score, flaky=flaky, reasons=reasons)
        ]
    )


def detected() -> CIStep:
    return decider.on_news(
        decider.record_event(decider.start(CIMemory.new(RUN), ctx()).memory, event()), ctx()
    )


def confirming(d: Diagnosis = CODE_LIKE, history: Any = None, at: CIPolicy | None = None) -> CIMemory:
    """Analysed with failed tests whose history is flaky: the confirming re-run is requested, awaited."""
    m, done = carry(
        detected(), at or policy(), analysed_with_tests(d), history or flake(0.6), RerunResult(requested=True)
    )
    assert kinds(done)[-4:] == ["RecordTests", "LookUpFlakes", "AuditRun", "RequestRerun"]
    record = next(e for e in done if isinstance(e, RecordTests))
    assert [(o.test, o.passed, o.attempt, o.sha) for o in record.report.outcomes()] == [
        ("t.py::test_a", False, 1, "abc")
    ]
    assert m.waiting is not None and m.waiting.kind is WaitFor.CONFIRM
    assert m.status.auto_actions == ["retry"] and m.status.stage == "confirming a flaky test"
    return m


def test_failed_tests_without_flaky_history_are_recorded_then_diagnosed_as_usual() -> None:
    m, done = carry(detected(), policy(), analysed_with_tests(CODE_LIKE), flake(0.1, flaky=False), policy())
    assert "RequestRerun" not in kinds(done) and kinds(done)[4:6] == ["RecordTests", "LookUpFlakes"]
    assert m.done and m.status.outcome is CIOutcome.ESCALATED  # code: a human, no re-run


def test_a_test_that_never_failed_before_is_not_a_flake_by_history() -> None:
    m, done = carry(detected(), policy(), analysed_with_tests(CODE_LIKE), FlakeHistory(), policy())
    assert "RequestRerun" not in kinds(done) and m.status.outcome is CIOutcome.ESCALATED


@pytest.mark.parametrize(
    ("score", "effects"),
    [
        pytest.param(0.6, ["AuditRun", "NotifyOwners", "OpenFlakeFix"], id="above-notify-and-fix"),
        pytest.param(0.4, ["AuditRun", "OpenFlakeFix"], id="above-fix-only"),
        pytest.param(0.2, ["AuditRun", "Announce", "RecordRun"], id="below-both"),
    ],
)
def test_a_confirming_rerun_that_passes_heals_and_acts_on_the_new_score(
    score: float, effects: list[str]
) -> None:
    m = decider.record_event(confirming(), event(Conclusion.SUCCESS, attempt=2))
    assert decider.news(m)
    m, done = carry(decider.on_news(m, ctx(5)), flake(score))
    assert kinds(done)[:2] == ["RecordTests", "LookUpFlakes"]
    passed = done[0].report.outcomes()
    assert [(o.test, o.passed, o.attempt, o.sha) for o in passed] == [("t.py::test_a", True, 2, "abc")]
    assert kinds(done)[2:] == effects
    if "OpenFlakeFix" in effects:
        fix = done[-1]
        assert fix.diagnosis.action is FixAction.QUARANTINE and fix.diagnosis.params["test"] == "t.py::test_a"
        assert fix.diagnosis.category is Category.FLAKY_TEST and fix.head_branch == "feature"
        m, done = carry(decider.resume(m, ctx(6), fix, FIX))
        assert kinds(done) == ["AuditRun", "FixPROpened", "Announce", "RecordRun"]
    assert m.done and m.status.outcome is CIOutcome.AUTO_FIXED
    assert m.status.attempts[0] == "confirming re-run: success (a flaky test)"


def test_the_thresholds_come_from_the_configuration() -> None:
    strict = policy(flaky={"fix_above": 0.7, "notify_above": 0.9, "owners": ["@team-web"]})
    m = decider.record_event(confirming(at=strict), event(Conclusion.SUCCESS, attempt=2))
    _, done = carry(decider.on_news(m, ctx(5)), flake(0.8))
    assert kinds(done)[2:] == ["AuditRun", "OpenFlakeFix"]
    loose = policy(flaky={"fix_above": 0.1, "notify_above": 0.2, "owners": ["@team-web"]})
    m = decider.record_event(confirming(at=loose), event(Conclusion.SUCCESS, attempt=2))
    _, done = carry(decider.on_news(m, ctx(5)), flake(0.3))
    notify = next(e for e in done if isinstance(e, NotifyOwners))
    assert notify.owners == ("@team-web",) and notify.score.score == 0.3


def test_a_timeout_is_fixed_by_a_longer_timeout_not_a_quarantine() -> None:
    slow = [FailedTest(test="t.py::test_a", signature="TimeoutError: timed out after <duration>")]
    m, _ = carry(
        detected(), policy(), analysed_with_tests(CODE_LIKE, slow), flake(0.6), RerunResult(requested=True)
    )
    m = decider.record_event(m, event(Conclusion.SUCCESS, attempt=2))
    _, done = carry(decider.on_news(m, ctx(5)), flake(0.6))
    assert done[-1].diagnosis.action is FixAction.INCREASE_TIMEOUT


def test_a_confirming_rerun_failing_the_same_test_the_same_way_makes_it_code() -> None:
    m = decider.record_event(confirming(FLAKY), event(Conclusion.FAILURE, attempt=2))
    m, done = carry(decider.on_news(m, ctx(5)), analysed_with_tests(FLAKY), policy())
    assert kinds(done)[:4] == ["AnalyseRun", "RecordTests", "AuditRun", "AuditRun"]
    assert done[1].report.attempt == 2 and done[2].outcome == "refuted"
    assert m.status.diagnosis.category is Category.CODE and m.status.diagnosis.action is FixAction.HUMAN
    assert m.done and m.status.outcome is CIOutcome.ESCALATED and m.status.auto_actions == ["retry"]


def test_a_confirming_rerun_failing_another_way_is_diagnosed_anew() -> None:
    other = [FailedTest(test="t.py::test_a", signature="KeyError: 'total'")]
    m = decider.record_event(confirming(FLAKY), event(Conclusion.FAILURE, attempt=2))
    m, done = carry(decider.on_news(m, ctx(5)), analysed_with_tests(FLAKY, other), policy())
    assert "refuted" not in [e.outcome for e in done if isinstance(e, AuditRun)]
    assert m.status.diagnosis.category is Category.FLAKY_TEST
    assert m.attempt == 2 and m.max_attempts == 3  # the confirming re-run was the first of its re-runs
    assert kinds(done)[-2:] == ["LoadPolicy", "Pause"]  # the backoff before the second re-run


def test_flaky_wording_without_test_names_is_still_confirmed_by_one_rerun() -> None:
    m, done = carry(detected(), policy(), analysed_with_tests(FLAKY, []), RerunResult(requested=True))
    assert "LookUpFlakes" not in kinds(done) and kinds(done)[-1] == "RequestRerun"
    m = decider.record_event(m, event(Conclusion.SUCCESS, attempt=2))
    m, done = carry(decider.on_news(m, ctx(5)))
    assert kinds(done) == ["AuditRun", "Announce", "RecordRun"] and m.status.outcome is CIOutcome.AUTO_FIXED


def test_observe_mode_never_reruns_a_suspected_flake() -> None:
    m, done = carry(detected(), policy(Mode.OBSERVE), analysed_with_tests(FLAKY), flake(0.9))
    assert "RequestRerun" not in kinds(done) and m.status.outcome is CIOutcome.OBSERVED


def test_an_unreadable_history_is_logged_and_wording_still_decides() -> None:
    failed = ActivityFailed("ci.flake_history", "database is locked")
    m, done = carry(detected(), policy(), analysed_with_tests(FLAKY), failed, RerunResult(requested=True))
    assert "LogLine" in kinds(done) and kinds(done)[-1] == "RequestRerun"
    m, done = carry(detected(), policy(), analysed_with_tests(CODE_LIKE), failed, policy())
    assert "RequestRerun" not in kinds(done) and m.status.outcome is CIOutcome.ESCALATED


def test_a_confirming_rerun_that_never_ends_or_is_refused_falls_back_to_the_diagnosis() -> None:
    after = decider.resume(confirming(FLAKY), ctx(100), PollRun(""), None)
    assert after.memory.status.attempts == ["confirming re-run: did not finish in time"]
    assert after.effects[-1] == LoadPolicy(PolicyFor.ATTEMPT)
    m, done = carry(
        detected(),
        policy(),
        analysed_with_tests(FLAKY),
        flake(0.6),
        RerunResult(requested=False, detail="busy"),
    )
    assert kinds(done)[-3:] == ["AuditRun", "Announce", "LoadPolicy"] and m.waiting is None


def test_a_flaky_test_on_gitlab_gets_no_fix_pr_but_its_owners_are_told() -> None:
    m = CIMemory.new(LAB)
    m = decider.record_event(decider.start(m, ctx()).memory, event(run=LAB))
    m, _ = carry(
        decider.on_news(m, ctx()),
        policy(),
        analysed_with_tests(CODE_LIKE),
        flake(0.6),
        RerunResult(requested=True),
    )
    m = decider.record_event(m, event(Conclusion.SUCCESS, run=LAB, stamp="later"))
    m, done = carry(decider.on_news(m, ctx(5)), flake(0.6))
    assert done[0].report.attempt == 2  # a GitLab retry keeps its run id: the attempt still counts up
    assert (
        "OpenFlakeFix" not in kinds(done)
        and "NotifyOwners" in kinds(done)
        and m.status.outcome is CIOutcome.AUTO_FIXED
    )


def test_a_flake_fix_that_cannot_be_opened_still_heals_the_run() -> None:
    m = decider.record_event(confirming(), event(Conclusion.SUCCESS, attempt=2))
    m, done = carry(decider.on_news(m, ctx(5)), flake(0.4), FixResult(opened=False, detail="no further fix"))
    assert "LogLine" in kinds(done) and m.status.outcome is CIOutcome.AUTO_FIXED


@pytest.mark.parametrize(
    ("review_outcome", "outcome"),
    [
        pytest.param(True, CIOutcome.AWAITING_REVIEW, id="awaiting-review-until-merged-or-rejected"),
        pytest.param(False, CIOutcome.AUTO_FIXED, id="a-history-from-before-replays-as-it-ran"),
    ],
)
def test_a_learned_fix_that_passes_awaits_its_review(review_outcome: bool, outcome: CIOutcome) -> None:
    """Issue 17: the fix PR of a learned fix in review waits in the queue, so its run is not healed yet
    (reports and ROI count `auto_fixed`/`approved_fixed` only; the fix PR workflow settles it)."""
    m = analysed(diagnosis(**LEARNED))
    at = CIContext(now=NOW, review_outcome=review_outcome, fix_route=review_outcome)  # (older rule too)
    step = decider.resume(m, at, LoadPolicy(PolicyFor.ATTEMPT), policy())
    m, _ = carry(step, FIX)
    assert m.for_review is review_outcome
    later = CIContext(
        now=NOW + timedelta(seconds=20), review_outcome=review_outcome, fix_route=review_outcome
    )
    m, done = carry(decider.on_news(decider.record_event(m, fix_event(Conclusion.SUCCESS)), later))
    assert m.status.outcome is outcome and m.done
    announce = next(e for e in done if isinstance(e, Announce))
    assert announce.summary.startswith(outcome.value)
    if review_outcome:
        assert announce.stage is Stage.ANALYSED and "waits in the review queue" in announce.summary
