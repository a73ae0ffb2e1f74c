"""Confidence that holds on logs of other projects (repositories, not logs, are the observations) and
`unknown` as an answer. Real fragments of public Travis CI logs (tests/fixtures/diagnosis, SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ci_healing.config import RiskConfig
from domain.ci_healing.risk import Verdict, gate
from domain.diagnosis.calibration import (
    AUTO_FLOOR,
    MIN_SUPPORT,
    by_repository_bound,
    calibrate,
    lower_bound,
    table,
    totals,
)
from domain.diagnosis.engine import diagnose_file
from domain.diagnosis.playbooks import default_playbooks
from domain.diagnosis.verdict import Category, FixAction, Source

FIXTURES = Path(__file__).parents[1] / "fixtures" / "diagnosis"


def test_repeats_of_one_project_are_one_observation() -> None:
    one_project = {"rule:env.toolchain": {"aaaaaaaa": (5, 5)}}
    assert not calibrate("rule:env.toolchain", 80, one_project).measured  # one lesson, not five
    three = {"rule:env.toolchain": {"a": (1, 1), "b": (3, 3), "c": (1, 1)}}
    measured = calibrate("rule:env.toolchain", 80, three)
    assert measured.measured and measured.confidence == round(100 * lower_bound(3, 3)) == 75
    assert (measured.n, measured.right) == (5, 5)  # the logs, for the notes and for distrust


def test_a_project_is_worth_the_share_of_its_logs_that_were_right() -> None:
    assert by_repository_bound({"a": (4, 1), "b": (1, 1), "c": (1, 1)}) == lower_bound(2.25, 3)


def test_a_family_counts_a_project_once() -> None:
    kinds = {
        "rule:infra.dns": {"a": (1, 0)},
        "rule:infra.tls": {"a": (1, 1), "b": (1, 1)},
        "rule:infra.connection": {"c": (1, 1)},
    }
    pooled = calibrate("rule:infra.dns", 85, kinds)
    assert pooled.measured and pooled.confidence == round(100 * lower_bound(0.5 + 1 + 1, 3))


def test_a_kind_wrong_again_and_again_is_not_rescued_by_its_family() -> None:
    kinds = {
        "rule:infra.rate-limit": {"a": (5, 0)},
        "rule:infra.tls": {"b": (1, 1), "c": (1, 1), "d": (1, 1)},
    }
    measured = calibrate("rule:infra.rate-limit", 85, kinds)
    assert measured.measured and measured.confidence == 0 and measured.precision < 0.5


def test_the_old_flat_format_counts_each_log_as_a_project() -> None:
    assert calibrate("rule:dep.x", 70, {"rule:dep.x": (4, 3)}).confidence == round(100 * lower_bound(3, 4))
    legacy = {"rule:infra.dns": (6, 1), "rule:infra.rate-limit": (5, 0), "rule:infra.pod-pending": (1, 1)}
    assert calibrate("rule:infra.pod-pending", 85, legacy).confidence == round(100 * lower_bound(2, 12))


def test_shipped_confidence_never_claims_more_than_was_observed() -> None:
    rules = {rule.id: rule for rule in default_playbooks().rules}
    for kind, repositories in table().items():
        prior = rules[kind.removeprefix("rule:").split("@")[0]].confidence if kind.startswith("rule:") else 30
        measured = calibrate(kind, prior)
        if not measured.measured:
            assert len(repositories) < MIN_SUPPORT
            continue
        n, right = totals(repositories)
        if len(repositories) >= MIN_SUPPORT:  # judged by itself: below what it showed, by log and by project
            shares = [r / k for k, r in repositories.values()]
            assert measured.confidence <= 100 * min(right / n, sum(shares) / len(shares))
        assert measured.confidence < AUTO_FLOOR  # no kind was seen in enough projects to claim 95


def test_wording_nothing_explains_is_unknown_with_its_best_line_and_a_human() -> None:
    # luvit's package tool fails on a missing object: no playbook knows the wording, no step failed here
    diagnosis, distilled = diagnose_file(FIXTURES / "travis-luvit-no-such-hash.log")
    assert diagnosis.category is Category.UNKNOWN and diagnosis.action is FixAction.HUMAN
    assert "No such hash: 31b8c996" in diagnosis.key_line and diagnosis.key_line_number == 9
    assert diagnosis.source is Source.FALLBACK and diagnosis.playbook is None and not diagnosis.auto_fix
    assert diagnosis.risk_score == 10 and any("category unknown" in note for note in diagnosis.notes)
    assert diagnosis.contract()["category"] == "unknown" and diagnosis.contract()["action"] == "human"
    for risk in (RiskConfig(), RiskConfig(threshold=10, confidence_floor=0)):
        assert gate(diagnosis, "acme/api", risk).verdict is Verdict.HUMAN
    assert "No such hash" in distilled.text()  # what a human (or the model's second opinion) reads


def test_measured_evidence_below_the_floor_gets_the_second_opinion_else_a_human() -> None:
    from datetime import UTC, datetime

    from activities.ci_logs import analyse_jobs
    from domain.ci_healing import steps
    from domain.ci_healing.effects import AskModel, CIContext, CIMemory
    from domain.ci_healing.results import CIPolicy
    from domain.ci_healing.runs import CIRunRef, Provider
    from domain.config import MenderConfig, Mode

    log = (Path(__file__).parents[2] / "scenarios" / "logs" / "npm-network-reset.log").read_text()
    run = CIRunRef(provider=Provider.GITHUB, project="acme/api", run_id=1)
    for enabled in (True, False):
        ci = MenderConfig(ci={"llm": {"enabled": enabled}}).ci
        analysis = analyse_jobs(
            [("install", log.splitlines())], "travis", ci, run_url="u", head_branch="main", head_sha="abc"
        )
        diagnosis = analysis.diagnosis
        rule = default_playbooks().rule(diagnosis.playbook or "")
        measured = calibrate(diagnosis.evidence or "", rule.confidence)
        assert diagnosis.action is FixAction.RETRY and measured.measured
        assert diagnosis.confidence == measured.confidence < ci.risk.confidence_floor
        memory = CIMemory.new(run).model_copy(update={"policy": CIPolicy(ci=ci, mode=Mode.ACT)})
        step = steps.consider(memory, CIContext(now=datetime.now(UTC)), analysis)
        asked = any(isinstance(effect, AskModel) for effect in step.effects)
        assert asked is enabled  # below the floor: the model's second opinion when there is one
        if not enabled:  # else the gate asks a human
            assert gate(diagnosis, "acme/api", ci.risk).verdict is Verdict.APPROVAL


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(0, 6)).map(lambda c: (c[0], min(c[0], c[1]))),
        min_size=1,
        max_size=8,
    )
)
def test_a_measured_confidence_is_a_bound_and_grows_with_evidence(counts: list[tuple[int, int]]) -> None:
    repositories = {f"r{i}": c for i, c in enumerate(counts)}
    measured = calibrate("rule:dep.x", 70, {"rule:dep.x": repositories})
    assert 0 <= measured.confidence <= 100
    if not measured.measured:
        assert len(repositories) < MIN_SUPPORT and measured.confidence == 70
        return
    n, right = totals(repositories)
    share = sum(r / k for k, r in repositories.values()) / len(repositories)
    assert measured.confidence <= 100 * min(right / n, share) + 0.5  # below what was observed
    more = calibrate("rule:dep.x", 70, {"rule:dep.x": {**repositories, "another": (1, 1)}})
    assert more.confidence >= measured.confidence  # one more project right never makes it less sure
