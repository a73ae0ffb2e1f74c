"""The CI decider's check of a suspected flaky test: history first, then one confirming re-run.

A run whose logs name failed tests writes their outcomes to the per-test history and reads their scores
(`RecordTests`, `LookUpFlakes`). A flake is suspected when the diagnosis says `flaky_test` or a failed
test's history is flaky (`domain.ci_healing.flakiness`); it is then re-run once before anything else
(not in observe mode). The re-run passes: the flake is confirmed (the flip is recorded), the run is healed,
and by the new score a fix PR raises the timeout or quarantines the test (`ci.flaky.fix_above`) and the
owners are told (`notify_above`). It fails the same tests the same way: the failure is `code`, for a
human. Otherwise the new failure is diagnosed as usual.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.ci_healing import steps
from domain.ci_healing.effects import (
    ActivityFailed,
    AnalyseRun,
    AuditRun,
    CIContext,
    CIEffect,
    CIMemory,
    CIStep,
    FixPROpened,
    FlakeCheck,
    FlakeStage,
    LogLine,
    LookUpFlakes,
    NotifyOwners,
    OpenFlakeFix,
    RecordTests,
    RequestRerun,
    WaitFor,
    Waiting,
)
from domain.ci_healing.failed_tests import FailedTest
from domain.ci_healing.flakiness import FlakeHistory, FlakeScore, TestReport, same_failure, times_out
from domain.ci_healing.healing import is_rerun
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.results import FixResult, RerunResult, RunAnalysis
from domain.ci_healing.risk import score, tier
from domain.ci_healing.runs import CIRunEvent, Conclusion, Provider
from domain.config import Mode
from domain.diagnosis.verdict import Category, Diagnosis, FixAction


def worth_checking(m: CIMemory, analysis: RunAnalysis) -> bool:
    """Failed tests to look up, or a diagnosis that says flaky (with `ci.flaky.enabled`)."""
    assert m.policy is not None
    flaky_words = analysis.diagnosis.category is Category.FLAKY_TEST
    return m.policy.ci.flaky.enabled and (bool(analysis.failed_tests) or flaky_words)


def _report(
    m: CIMemory, ctx: CIContext, attempt: int, failed: list[FailedTest], passed: list[str]
) -> TestReport:
    a = m.analysis
    assert a is not None
    on_base = bool(a.base_branch) and a.head_branch == a.base_branch
    return TestReport(
        project=m.run.project,
        run_key=m.run.key,
        attempt=attempt,
        sha=a.head_sha or "",
        on_base=on_base,
        failed=failed,
        passed=passed,
        at=ctx.now,
    )


def _tests(m: CIMemory) -> tuple[str, ...]:
    assert m.analysis is not None
    return tuple(f.test for f in m.analysis.failed_tests)


def _stage(m: CIMemory, stage: FlakeStage, history: FlakeHistory | None = None) -> CIMemory:
    check = m.flake or FlakeCheck()
    check = check.model_copy(update={"stage": stage, **({"history": history} if history else {})})
    return m.model_copy(update={"flake": check})


def look_up(m: CIMemory, ctx: CIContext, analysis: RunAnalysis) -> CIStep:
    """Record the failed tests' outcomes and read their scores (nothing to read: decide at once)."""
    m = _stage(m.model_copy(update={"analysis": analysis}), FlakeStage.LOOKING)
    if not analysis.failed_tests:
        return looked_up(m, ctx, FlakeHistory())
    attempt = m.events[0].attempt if m.events else 1
    report = _report(m, ctx, attempt, list(analysis.failed_tests), [])
    return CIStep(m, [RecordTests(report), LookUpFlakes(_tests(m))])


def looked_up(m: CIMemory, ctx: CIContext, history: FlakeHistory | ActivityFailed) -> CIStep:
    """A suspected flake is re-run once to confirm it; otherwise the diagnosis goes on as usual."""
    assert m.analysis is not None and m.policy is not None
    if m.flake is not None and m.flake.stage is FlakeStage.SCORING:
        return scored(m, ctx, history)
    effects: list[CIEffect] = []
    if isinstance(history, ActivityFailed):
        effects.append(LogLine("warning", f"flake history of {m.run.key} not read: {history.reason}"))
        history = FlakeHistory()
    m = _stage(m, FlakeStage.LOOKING, history)
    flaky = history.flaky()
    suspected = m.analysis.diagnosis.category is Category.FLAKY_TEST or bool(flaky)
    if not suspected or m.policy.mode is Mode.OBSERVE:
        m = _stage(m, FlakeStage.DONE)
        return CIStep(m, effects).then(lambda mem: steps.consider(mem, ctx, m.analysis))  # type: ignore[arg-type]
    details = {
        "tests": [s.test for s in flaky] or list(_tests(m)),
        "scores": {s.test: s.score for s in flaky},
    }
    m = steps.status(_stage(m, FlakeStage.CONFIRMING), stage="confirming a flaky test")
    return CIStep(m, [*effects, AuditRun("ci.flake", "confirming", details), RequestRerun()])


def rerun_requested(m: CIMemory, ctx: CIContext, result: RerunResult) -> CIStep:
    """Wait for the confirming re-run (a refused one: diagnose as usual)."""
    assert m.policy is not None and m.analysis is not None
    if not result.requested:
        m = _stage(m, FlakeStage.DONE)
        line = LogLine("warning", f"confirming re-run of {m.run.key} refused: {result.detail}")
        return CIStep(m, [line]).then(lambda mem: steps.consider(mem, ctx, mem.analysis))  # type: ignore[arg-type]
    ci = m.policy.ci
    wait = Waiting(
        kind=WaitFor.CONFIRM,
        deadline=ctx.now + timedelta(seconds=ci.verify_timeout_seconds),
        wake_at=ctx.now,
        every_seconds=min(ci.poll_interval_seconds, steps.MAX_POLL_SECONDS),
        consumed=len(m.events),
        attempt_before=result.attempt,
    )
    auto = [*m.status.auto_actions, FixAction.RETRY.value]
    m = steps.status(m.model_copy(update={"waiting": wait}), auto_actions=auto)
    return keep_waiting(m, ctx)


def keep_waiting(m: CIMemory, ctx: CIContext) -> CIStep:
    wait = m.waiting
    assert wait is not None and wait.kind is WaitFor.CONFIRM
    if (event := steps.matching_run(m)) is not None:
        return _concluded(m.model_copy(update={"waiting": None}), ctx, event)
    if ctx.now >= wait.deadline:
        m = _stage(m.model_copy(update={"waiting": None}), FlakeStage.DONE)
        m = steps.status(m, attempts=[*m.status.attempts, "confirming re-run: did not finish in time"])
        return CIStep(m).then(lambda mem: steps.consider(mem, ctx, mem.analysis))  # type: ignore[arg-type]
    wake = min(ctx.now + timedelta(seconds=wait.every_seconds), wait.deadline)
    return CIStep(m.model_copy(update={"waiting": wait.model_copy(update={"wake_at": wake})}))


def _concluded(m: CIMemory, ctx: CIContext, event: CIRunEvent) -> CIStep:
    assert m.analysis is not None
    attempt = max(event.attempt, (m.events[0].attempt if m.events else 1) + 1)
    m = m.model_copy(update={"flake": (m.flake or FlakeCheck()).model_copy(update={"attempt": attempt})})
    if event.conclusion is Conclusion.SUCCESS:
        m = steps.status(m, attempts=[*m.status.attempts, "confirming re-run: success (a flaky test)"])
        if not m.analysis.failed_tests:
            return _confirmed(m, ctx, None)
        report = _report(m, ctx, attempt, [], list(_tests(m)))
        return CIStep(_stage(m, FlakeStage.SCORING), [RecordTests(report), LookUpFlakes(_tests(m))])
    m = steps.status(m, attempts=[*m.status.attempts, f"confirming re-run: {event.conclusion}"])
    return CIStep(_stage(m, FlakeStage.REANALYSING), [AnalyseRun()])


def reanalysed(m: CIMemory, ctx: CIContext, again: RunAnalysis) -> CIStep:
    """The re-run failed: the same tests failing the same way make it `code`; else diagnose anew."""
    assert m.analysis is not None and m.flake is not None
    repeated = same_failure(list(m.analysis.failed_tests), list(again.failed_tests))
    attempt = m.flake.attempt
    m = _stage(m, FlakeStage.DONE)
    effects: list[CIEffect] = []
    if again.failed_tests:
        effects.append(RecordTests(_report(m, ctx, attempt, list(again.failed_tests), [])))
    if not repeated:  # a re-run plan counts the confirming re-run as its first attempt
        m = m.model_copy(update={"attempt": 1}) if is_rerun(again.diagnosis.action) else m
        return CIStep(m, effects).then(lambda mem: steps.consider(mem, ctx, again))
    effects.append(AuditRun("ci.flake", "refuted", {"tests": repeated}))
    return CIStep(m, effects).then(lambda mem: steps.analysed(mem, ctx, _code(again, repeated)))


def _code(analysis: RunAnalysis, repeated: list[str]) -> RunAnalysis:
    d = analysis.diagnosis
    names = ", ".join(repeated[:5]) + (" ..." if len(repeated) > 5 else "")
    risk = score(FixAction.HUMAN, Category.CODE, d.confidence)
    code = d.model_copy(
        update={
            "category": Category.CODE,
            "action": FixAction.HUMAN,
            "auto_fix": False,
            "risk_score": risk,
            "tier": tier(risk),
            "changes_code": True,
            "explanation": f"Not a flaky test: the re-run failed {names} the same way. A genuine failure.",
            "notes": [*d.notes, "a confirming re-run failed the same tests the same way"],
        }
    )
    return analysis.model_copy(update={"diagnosis": code})


def scored(m: CIMemory, ctx: CIContext, history: FlakeHistory | ActivityFailed) -> CIStep:
    if isinstance(history, ActivityFailed):
        line = LogLine("warning", f"flake scores of {m.run.key} not read: {history.reason}")
        return CIStep(m, [line]).then(lambda mem: _confirmed(mem, ctx, None))
    return _confirmed(_stage(m, FlakeStage.SCORING, history), ctx, history.top())


def _confirmed(m: CIMemory, ctx: CIContext, top: FlakeScore | None) -> CIStep:
    """The re-run passed: audit; by the score a notice to the owners and a fix PR; the run is healed."""
    assert m.analysis is not None and m.policy is not None
    flaky = m.policy.ci.flaky
    m = _stage(m, FlakeStage.DONE)
    details: dict[str, Any] = {"tests": list(_tests(m))}
    if top is not None:
        details |= {"test": top.test, "score": top.score, "reasons": top.reasons}
    effects: list[CIEffect] = [AuditRun("ci.flake", "confirmed", details)]
    if top is not None and top.score > flaky.notify_above:
        effects.append(NotifyOwners(top, tuple(flaky.owners), m.analysis.run_url))
    if top is not None and top.score > flaky.fix_above and m.run.provider is Provider.GITHUB:
        failure = next((f for f in m.analysis.failed_tests if f.test == top.test), FailedTest(test=top.test))
        fix = OpenFlakeFix(_flake_fix(m.analysis.diagnosis, failure, top, flaky.quarantine_file),
                           m.analysis.head_branch, m.analysis.run_url)  # fmt: skip
        return CIStep(m, [*effects, fix])
    return CIStep(m, effects).then(_healed)


def _flake_fix(d: Diagnosis, failure: FailedTest, top: FlakeScore, quarantine_file: str) -> Diagnosis:
    action = FixAction.INCREASE_TIMEOUT if times_out(failure, d.key_line) else FixAction.QUARANTINE
    risk = score(action, Category.FLAKY_TEST, d.confidence)
    return d.model_copy(
        update={
            "category": Category.FLAKY_TEST,
            "action": action,
            "risk_score": risk,
            "tier": tier(risk),
            "params": {"test": top.test, "score": f"{top.score:g}", "quarantine_file": quarantine_file},
            "playbook": None,
            "explanation": f"{top.test} is flaky (score {top.score:g}: {'; '.join(top.reasons)}).",
            "changes_code": False,
        }
    )


def fix_opened(m: CIMemory, result: FixResult | ActivityFailed) -> CIStep:
    """The flaky test's fix PR: its own workflow takes it from here; the run is healed either way."""
    if isinstance(result, ActivityFailed) or not result.opened:
        why = result.reason if isinstance(result, ActivityFailed) else result.detail
        return CIStep(m, [LogLine("warning", f"no fix PR for the flaky test of {m.run.key}: {why}")]).then(
            _healed
        )
    opened = FixPROpened(result, analysis=m.analysis, policy=m.policy, plan_approved=False, follow_up=True)
    audit = AuditRun("ci.flake", "fix_pr_opened", {"url": result.pr_url or ""})
    m = steps.status(m, attempts=[*m.status.attempts, f"flaky test fix PR: {result.pr_url}"])
    return CIStep(m, [audit, opened]).then(_healed)


def _healed(m: CIMemory) -> CIStep:
    return steps.finish(m, CIOutcome.AUTO_FIXED, "a flaky test: the confirming re-run passed")
