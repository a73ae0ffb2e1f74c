"""Hypothesis: whatever a model answers, parse_answer either returns a valid analysis or raises InvalidAnswer,
and combining an accepted answer never lets the model unlock more than a re-run."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domain.ci_healing.config import RiskConfig
from domain.ci_healing.injection import injection_signs
from domain.ci_healing.llm_analysis import InvalidAnswer, LLMAnalysis, combine, parse_answer
from domain.ci_healing.risk import Verdict, gate, score
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Source, Tier

EFFORTS = {"low", "medium", "high"}
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda s: s.strip() != ""
)
valid_fields: dict[str, st.SearchStrategy[Any]] = {
    "category": st.sampled_from([c.value for c in Category]),
    "action": st.sampled_from([a.value for a in FixAction]),
    "root_cause": words,
    "risk": st.integers(0, 10),
    "confidence": st.integers(0, 100),
    "steps": st.lists(words, min_size=1, max_size=5),
    "effort": st.sampled_from(sorted(EFFORTS)),
    "affected_components": st.lists(words, max_size=3),
    "key_line": st.text(max_size=60),
}


@st.composite
def near_misses(draw: st.DrawFn) -> dict[str, Any]:
    """A valid answer with up to three mutations: a field replaced by any JSON, dropped, or an extra key."""
    body = draw(st.fixed_dictionaries(valid_fields))
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from([*valid_fields, "extra"]))
        if draw(st.booleans()) and name in body:
            del body[name]
        else:
            body[name] = draw(json_values)
    return body


analyses = st.builds(LLMAnalysis, **valid_fields)


def _checked(text: str) -> LLMAnalysis | None:
    """parse_answer's result, None when refused; any other exception fails the property."""
    try:
        analysis = parse_answer(text)
    except InvalidAnswer as exc:
        assert exc.reason
        return None
    assert isinstance(analysis, LLMAnalysis)
    assert analysis.category in set(Category) and analysis.action in set(FixAction)
    assert 0 <= analysis.risk <= 10 and 0 <= analysis.confidence <= 100
    assert analysis.steps and all(step.strip() for step in analysis.steps)
    assert analysis.root_cause.strip() and analysis.effort in EFFORTS
    return analysis


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    _checked(text)


@given(json_values)
def test_arbitrary_json_never_crashes(value: Any) -> None:
    _checked(json.dumps(value))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(near_misses())
def test_near_miss_objects_are_accepted_only_when_valid(body: dict[str, Any]) -> None:
    analysis = _checked(json.dumps(body))
    if analysis is not None:
        assert set(body) == set(LLMAnalysis.model_fields)


@given(analyses)
def test_valid_analyses_round_trip(analysis: LLMAnalysis) -> None:
    assert parse_answer(analysis.model_dump_json()) == analysis
    assert parse_answer(json.dumps(analysis.model_dump(mode="json"), indent=2)) == analysis


RULE = Diagnosis(
    category=Category.CODE,
    action=FixAction.HUMAN,
    risk_score=10.0,
    tier=Tier.HIGH,
    confidence=10,
    key_line="exit 1",
    explanation="no playbook matched",
    source=Source.FALLBACK,
)


@given(analyses, st.sampled_from([None, "acme/api"]))
def test_an_accepted_answer_can_only_raise_the_risk_and_never_unlock_a_change(
    analysis: LLMAnalysis, protected: str | None
) -> None:
    assume(not injection_signs(analysis.key_line))  # else the answer is dropped (test_prompt_injection.py)
    diag = combine(RULE, analysis, reason=None, distilled="exit 1\n" + analysis.key_line)
    assert diag.source is Source.LLM
    assert diag.risk_score >= score(analysis.action, analysis.category, analysis.confidence)
    assert diag.risk_score >= analysis.risk
    assert diag.auto_fix == (analysis.action is FixAction.RETRY)
    risk = RiskConfig(
        threshold=10, confidence_floor=0, protected_repositories=[protected] if protected else []
    )
    if analysis.action is not FixAction.RETRY:
        assert gate(diag, "acme/api", risk).verdict in (Verdict.APPROVAL, Verdict.HUMAN)
