"""Fix PR evidence, confidence and routing, tabled without Temporal (issue 17: points 1-3).

Check payloads are the real GitHub webhook / GitLab hook shapes in `tests/fixtures/`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ci_healing.confidence import confidence
from domain.ci_healing.evidence import (
    CheckResult,
    Evidence,
    Finding,
    ScanReport,
    SignalState,
    check_of,
    collect,
    signal_of,
)
from domain.ci_healing.fixpr import AfterMerge, Route, after_merge, approval_route, decide
from domain.ci_healing.fixpr_body import EVIDENCE_MARKER, evidence_section, with_evidence
from domain.ci_healing.fixpr_config import FixPRConfig, FixPRPolicy, FixPRRepoConfig, Signal, Weights
from domain.ci_healing.risk import GateDecision, Verdict
from domain.ci_healing.runs import Conclusion

FIXTURES = Path(__file__).parents[1] / "fixtures"
AUTO = GateDecision(verdict=Verdict.AUTO, reasons=["low risk"])
POLICY = FixPRPolicy.of("acme/api", FixPRConfig(), None)
P, F, M, A = SignalState.PASSED, SignalState.FAILED, SignalState.MISSING, SignalState.ABSENT


def _payload(path: str) -> dict:
    data = json.loads((FIXTURES / path).read_text())
    return data.get("check_run") or data.get("workflow_job") or data


def _evidence(**states: SignalState) -> Evidence:
    return Evidence(signals={s: states.get(s.value, P) for s in Signal})


def test_checks_from_real_github_payloads() -> None:
    done = check_of(_payload("github/webhooks/check_run/completed.payload.json"))
    running = check_of(_payload("github/webhooks/workflow_job/in_progress.payload.json"))
    failed = check_of(
        _payload("github/webhooks/workflow_job/completed.failure.with-organization.payload.json")
    )
    assert done is not None and done.conclusion == "success" and done.passed
    assert signal_of(done.name, {}) is Signal.LINT  # "Octocoders-linter"
    assert running is not None and running.conclusion is None and not running.passed
    assert failed is not None and failed.conclusion == "failure"


def test_checks_from_a_real_gitlab_pipeline_hook() -> None:
    builds = _payload("gitlab/webhooks/pipeline.json")["builds"]
    checks = {c.name: c.conclusion for b in builds if (c := check_of(b)) is not None}
    assert checks["test-build"] == "failure" and checks["test-image"] == "success"
    assert checks["staging"] is None  # created: not finished
    allowed = check_of({"name": "lint", "status": "failed", "allow_failure": True})
    assert allowed is not None and allowed.passed
    assert check_of({"status": "success"}) is None


@pytest.mark.parametrize(
    ("name", "mapping", "signal"),
    [
        ("pytest (3.11)", {}, Signal.TESTS),
        ("Lint", {}, Signal.LINT),
        ("mypy", {}, Signal.TYPES),
        ("CodeQL", {}, Signal.SECURITY),
        ("codecov/patch", {}, Signal.COVERAGE),
        ("build", {}, None),
        ("style-check", {Signal.LINT: ["style-*"]}, Signal.LINT),
        ("unit", {Signal.COVERAGE: ["unit"]}, Signal.COVERAGE),  # the repository's mapping first
    ],
)
def test_check_names_map_to_signals(name: str, mapping: dict, signal: Signal | None) -> None:
    assert signal_of(name, mapping) is signal


def test_collect_states_absent_and_the_original_job() -> None:
    checks = [
        CheckResult(name="build", conclusion="success", required=True),
        CheckResult(name="test", conclusion="success"),
        CheckResult(name="lint", conclusion="failure"),
    ]
    ev = collect(checks, {}, [Signal.COVERAGE], ScanReport(ran=True), failed_jobs=["build"])
    assert ev.signals == {
        Signal.TESTS: P,
        Signal.LINT: F,
        Signal.TYPES: M,
        Signal.SECURITY: P,
        Signal.COVERAGE: A,
    }
    assert "build" in ev.checks[Signal.TESTS]  # the job that failed must pass now
    assert ev.required_passed
    red = collect([CheckResult(name="build", conclusion="failure", required=True)], {}, [], None, ["build"])
    assert red.signals[Signal.TESTS] is F and not red.required_passed
    missing = collect([CheckResult(name="test", conclusion="success")], {}, [], None, failed_jobs=["e2e"])
    assert any("e2e" in n for n in missing.notes)


def test_scan_findings_fail_security_and_high_ones_block() -> None:
    high = Finding(tool="osv", id="GHSA-1", target="pyyaml==5.3", severity="HIGH")
    low = Finding(tool="bandit", id="B101", target="a.py:3", severity="low")
    ok = [CheckResult(name="security", conclusion="success")]
    assert collect(ok, {}, [], ScanReport(ran=True, findings=[low])).signals[Signal.SECURITY] is F
    assert collect(ok, {}, [], ScanReport(ran=True, findings=[high])).blocking_findings == [high]
    broken = collect([], {}, [], ScanReport(ran=False, detail="timed out"))
    assert broken.signals[Signal.SECURITY] is M and "timed out" in broken.notes[0]


@pytest.mark.parametrize(
    ("states", "absent_weight", "expected"),
    [
        ({}, None, 1.0),
        ({"lint": F}, None, 0.80),
        ({"lint": M}, None, 0.80),  # missing counts 0
        ({"coverage": A}, None, 1.0),  # absent renormalises
        ({"coverage": A, "lint": F}, None, round(0.70 / 0.90, 4)),
        ({"tests": F}, None, 0.60),
        ({"types": M, "coverage": M}, None, 0.75),
    ],
)
def test_confidence_weights(states: dict, absent_weight: None, expected: float) -> None:
    assert confidence(_evidence(**states), Weights()).score == pytest.approx(expected, abs=1e-4)


def test_prior_only_lowers() -> None:
    ev = _evidence(lint=F)
    assert confidence(ev, Weights(), prior=0.5).score == 0.5
    assert confidence(ev, Weights(), prior=0.99).score == pytest.approx(0.8)
    with pytest.raises(ValueError, match="success rate"):
        confidence(ev, Weights(), prior=1.5)


@given(
    st.dictionaries(st.sampled_from([s.value for s in Signal]), st.sampled_from(list(SignalState))),
    st.none() | st.floats(0, 1),
)
def test_confidence_is_bounded_and_the_prior_never_raises(states: dict, prior: float | None) -> None:
    result = confidence(_evidence(**states), Weights(), prior)
    assert 0.0 <= result.score <= result.weighted <= 1.0
    if prior is not None:
        assert result.score <= prior + 1e-9


def test_configured_weights_renormalise() -> None:
    weights = Weights(tests=1, lint=0, types=0, security=0, coverage=0)
    assert confidence(_evidence(lint=F, types=F), weights).score == 1.0
    with pytest.raises(ValueError):
        Weights(tests=0, lint=0, types=0, security=0, coverage=0)


APPROVAL = GateDecision(verdict=Verdict.APPROVAL, reasons=["risk 5.0 is above the threshold 4.0"])
IN_REVIEW = GateDecision(  # a learned fix not merged successfully N times yet
    verdict=Verdict.APPROVAL, reasons=["learned.1 is a learned fix still in review"], review_only=True
)


@pytest.mark.parametrize(
    ("states", "required", "findings", "gate", "extra", "route"),
    [
        ({}, True, [], AUTO, {}, Route.MERGE),
        ({}, False, [], AUTO, {}, Route.AUTO_MERGE),  # a required check did not pass
        ({"coverage": M}, True, [], AUTO, {}, Route.AUTO_MERGE),  # 0.90
        ({"lint": F}, True, [], AUTO, {}, Route.AUTO_MERGE),  # 0.80
        ({"lint": F, "coverage": F}, True, [], AUTO, {}, Route.REVIEW),  # 0.70
        ({}, True, ["high"], AUTO, {}, Route.BLOCKED),
        ({}, True, ["critical"], AUTO, {}, Route.BLOCKED),
        ({}, True, ["low"], AUTO, {}, Route.MERGE),  # only its own signal decides (collect fails security)
        ({}, True, ["high"], APPROVAL, {"protected": True}, Route.BLOCKED),  # blocked before anything
        ({}, True, [], AUTO, {"protected": True}, Route.REVIEW),
        ({}, True, [], APPROVAL, {}, Route.REVIEW),  # the gate wanted a human and none approved
        ({}, True, [], APPROVAL, {"plan_approved": True}, Route.MERGE),
        (
            {},
            True,
            [],
            GateDecision(verdict=Verdict.HUMAN, reasons=["code"]),
            {"plan_approved": True},
            Route.REVIEW,
        ),
        ({}, True, [], GateDecision(verdict=Verdict.AUTO_NOTIFY, reasons=["medium"]), {}, Route.MERGE),
        ({}, True, [], IN_REVIEW, {}, Route.REVIEW),  # a learned fix in review: queued whatever its score
        ({}, True, [], IN_REVIEW, {"plan_approved": True}, Route.REVIEW),  # even when its plan was approved
        ({"lint": F}, True, [], IN_REVIEW, {}, Route.REVIEW),
        ({}, True, ["high"], IN_REVIEW, {}, Route.BLOCKED),  # a finding still blocks first
    ],
)
def test_routes(
    states: dict, required: bool, findings: list[str], gate: GateDecision, extra: dict, route: Route
) -> None:
    found = [Finding(tool="osv", id=f"X-{s}", target="pkg==1", severity=s) for s in findings]
    ev = _evidence(**states).model_copy(update={"required_passed": required, "findings": found})
    decision = decide(confidence(ev, Weights()), ev, gate, POLICY, **extra)
    assert decision.route is route, decision.reasons
    assert decision.queued is (route in (Route.REVIEW, Route.BLOCKED))


def test_repository_thresholds_override() -> None:
    strict = FixPRPolicy.of(
        "acme/api", FixPRConfig(), FixPRRepoConfig(merge_threshold=1.0, auto_merge_threshold=0.99)
    )
    ev = _evidence(coverage=F)
    assert decide(confidence(ev, Weights()), ev, AUTO, strict).route is Route.REVIEW
    with pytest.raises(ValueError):
        FixPRConfig(merge_threshold=0.7, auto_merge_threshold=0.8)


def test_after_merge_and_approval_rules() -> None:
    assert after_merge(Conclusion.FAILURE) is AfterMerge.REVERT
    assert after_merge(Conclusion.SUCCESS) is AfterMerge.KEEP
    assert after_merge(None) is AfterMerge.UNKNOWN
    blocked = decide(
        confidence(_evidence(), Weights()),
        _evidence().model_copy(
            update={"findings": [Finding(tool="osv", id="G", target="p==1", severity="high")]}
        ),
        AUTO,
        POLICY,
    )
    assert approval_route(blocked)[0] is False
    review = decide(confidence(_evidence(tests=F), Weights()), _evidence(tests=F), AUTO, POLICY)
    assert approval_route(review) == (True, "approved")


def test_body_table_is_rewritten_in_place_before_the_verification_line() -> None:
    ev = _evidence(lint=F).model_copy(update={"checks": {Signal.LINT: ["lint"]}})
    conf = confidence(ev, Weights(), prior=0.7)
    section = evidence_section(conf, ev, decide(conf, ev, AUTO, POLICY), verified_commits=True)
    assert "| lint | failed | 0.20 | 0.20 | 0.00 | lint |" in section
    assert "**Confidence:** 0.70" in section and "verified" in section
    body = with_evidence("## Fix\n\n**Verification:** pending", section)
    again = with_evidence(body, section.replace("0.70", "0.69"))
    assert again.count(EVIDENCE_MARKER) == 1 and "0.69" in again
    assert again.rstrip().endswith("**Verification:** pending")
    assert with_evidence("plain", section).startswith("plain\n\n" + EVIDENCE_MARKER)


def test_time_is_not_needed() -> None:
    assert datetime.now(UTC)  # the decisions above take no clock
