"""The safety gate: each rule sends the plan to a human, and only clean low-risk plans run alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ci_healing.config import RiskConfig
from domain.ci_healing.risk import Verdict, gate, score, tier
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Source, Tier


def diagnosis(**changes: object) -> Diagnosis:
    values: dict[str, object] = {
        "category": Category.INFRASTRUCTURE,
        "action": FixAction.RETRY,
        "confidence": 95,
        "key_line": "npm ERR! network read ECONNRESET",
        "explanation": "transient network failure",
        "auto_fix": True,
    }
    values.update(changes)
    risk = score(values["action"], values["category"], values["confidence"])  # type: ignore[arg-type]
    values.setdefault("risk_score", risk)
    values.setdefault("tier", tier(values["risk_score"]))  # type: ignore[arg-type]
    return Diagnosis(**values)  # type: ignore[arg-type]


def test_confident_retry_runs_alone() -> None:
    decision = gate(diagnosis(), "acme/api", RiskConfig())
    assert decision.verdict is Verdict.AUTO


def test_code_failures_and_human_plans_are_never_automated() -> None:
    code = diagnosis(category=Category.CODE, action=FixAction.HUMAN)
    assert gate(code, "acme/api", RiskConfig(threshold=10, confidence_floor=0)).verdict is Verdict.HUMAN
    assert score(FixAction.RETRY, Category.CODE, 100) == 10


@pytest.mark.parametrize(
    ("changes", "config", "reason"),
    [
        ({}, RiskConfig(protected_repositories=["acme/api"]), "protected"),
        (
            {"action": FixAction.PIN_OR_BUMP_DEPENDENCY, "category": Category.DEPENDENCY},
            RiskConfig(),
            "threshold",
        ),
        ({"confidence": 40}, RiskConfig(), "below the floor"),
        ({"changes_code": True}, RiskConfig(), "application code"),
        ({"auto_fix": False}, RiskConfig(), "auto-fix"),
        ({"source": Source.LLM, "action": FixAction.INCREASE_MEMORY}, RiskConfig(threshold=10), "model"),
    ],
)
def test_each_failed_rule_asks_for_approval(changes: dict, config: RiskConfig, reason: str) -> None:
    decision = gate(diagnosis(**changes), "acme/api", config)
    assert decision.verdict is Verdict.APPROVAL
    assert any(reason in r for r in decision.reasons)


def test_repository_threshold_overrides_the_global_one() -> None:
    medium = diagnosis(action=FixAction.INCREASE_MEMORY, category=Category.RESOURCE, confidence=90)
    assert medium.tier is Tier.MEDIUM
    strict = RiskConfig(threshold=8, repository_thresholds={"acme/api": 1})
    assert gate(medium, "acme/api", strict).verdict is Verdict.APPROVAL
    assert gate(medium, "acme/web", strict).verdict is Verdict.AUTO_NOTIFY


@given(
    action=st.sampled_from(list(FixAction)),
    category=st.sampled_from(list(Category)),
    confidence=st.integers(0, 100),
    level=st.one_of(st.none(), st.sampled_from(["low", "medium", "high"]), st.floats(0, 10)),
)
def test_score_is_bounded_and_unsureness_never_lowers_it(action, category, confidence, level) -> None:
    value = score(action, category, confidence, level)
    assert 0 <= value <= 10
    assert score(action, category, max(0, confidence - 10), level) >= value


@given(threshold=st.floats(0, 10), floor=st.integers(0, 100), source=st.sampled_from(list(Source)))
def test_nothing_above_the_threshold_or_below_the_floor_runs_alone(threshold, floor, source) -> None:
    for d in (diagnosis(source=source), diagnosis(confidence=30, source=source)):
        decision = gate(d, "acme/api", RiskConfig(threshold=threshold, confidence_floor=floor))
        if decision.verdict in (Verdict.AUTO, Verdict.AUTO_NOTIFY):
            assert d.risk_score <= threshold and d.confidence >= floor
