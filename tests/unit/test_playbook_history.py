"""Playbook success history: the rate with its minimum sample, the events of a run, the gate's floor."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ci_healing.config import RiskConfig
from domain.ci_healing.learned import healed_replays, progress, promoted
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.playbook_history import (
    EventKind,
    capped_confidence,
    outcome_events,
    stats,
    success_rate,
)
from domain.ci_healing.risk import Verdict, gate
from tests.unit.test_risk import diagnosis


@pytest.mark.parametrize(
    ("attempts", "verified", "reverted", "min_samples", "rate"),
    [
        (4, 4, 0, 5, None),  # too few attempts to say anything
        (5, 4, 0, 5, 0.8),
        (5, 4, 1, 5, 0.6),  # a revert takes a success back
        (5, 0, 3, 5, 0.0),  # never below zero
        (1, 1, 0, 1, 1.0),
        (0, 0, 0, 0, None),  # no attempt: no rate, whatever the minimum
    ],
)
def test_success_rate_needs_a_minimum_sample(
    attempts: int, verified: int, reverted: int, min_samples: int, rate: float | None
) -> None:
    assert success_rate(attempts, verified, reverted, min_samples) == rate


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500), st.integers(1, 50))
def test_the_rate_is_a_probability_or_unknown(
    attempts: int, verified: int, reverted: int, floor: int
) -> None:
    rate = success_rate(attempts, verified, reverted, floor)
    assert rate is None if attempts < floor else 0.0 <= rate <= 1.0


def test_a_run_counts_an_attempt_once_its_plan_ran_and_verified_once_healed() -> None:
    healed = outcome_events("ci/github/a/b/1", "a/b", "dep.x", CIOutcome.AUTO_FIXED, attempted=True)
    assert [e.kind for e in healed] == [EventKind.ATTEMPT, EventKind.VERIFIED]
    assert [e.key for e in healed] == ["ci/github/a/b/1:attempt", "ci/github/a/b/1:verified"]
    failed = outcome_events("ci/github/a/b/2", "a/b", "dep.x", CIOutcome.INCIDENT, attempted=True)
    assert [e.kind for e in failed] == [EventKind.ATTEMPT]
    assert outcome_events("w", "a/b", "dep.x", CIOutcome.ESCALATED, attempted=False) == []  # never ran
    assert outcome_events("w", "a/b", None, CIOutcome.AUTO_FIXED, attempted=True) == []  # no playbook


def test_stats_mark_learned_playbooks() -> None:
    row = stats("learned.4", {EventKind.ATTEMPT: 6, EventKind.VERIFIED: 3, EventKind.REVERTED: 1})
    assert (row.attempts, row.verified, row.reverted, row.success_rate, row.learned) == (6, 3, 1, 0.333, True)
    assert not stats("dep.python-missing-module", {}).learned
    merged = stats("learned.4", {EventKind.ATTEMPT: 2, EventKind.VERIFIED: 2, EventKind.MERGED: 1})
    assert (merged.verified, merged.merged) == (2, 1)  # merges are counted apart from verifications


@pytest.mark.parametrize(
    ("counts", "review_queue", "is_promoted", "so_far"),
    [
        # with the review queue only merged fix PRs count: two verified fix branches are not enough
        ({EventKind.VERIFIED: 2}, True, False, "merged successfully 1 of 3 times"),
        ({EventKind.VERIFIED: 2, EventKind.MERGED: 1}, True, False, "merged successfully 2 of 3 times"),
        ({EventKind.VERIFIED: 2, EventKind.MERGED: 2}, True, True, "merged successfully 3 of 3 times"),
        ({EventKind.MERGED: 2, EventKind.REVERTED: 1}, True, False, "merged successfully 2 of 3 times"),
        ({EventKind.MERGED: 9}, True, True, "merged successfully 3 of 3 times"),
        # without fix PR workflows Mender merges nothing: verified replays count
        ({EventKind.VERIFIED: 2}, False, True, "merged successfully 3 of 3 times"),
        ({EventKind.VERIFIED: 1, EventKind.MERGED: 5}, False, False, "merged successfully 2 of 3 times"),
    ],
)
def test_a_learned_fix_is_promoted_by_its_successful_merges(
    counts: dict, review_queue: bool, is_promoted: bool, so_far: str
) -> None:
    row = stats("learned.1", counts)
    assert promoted(healed_replays(row, review_queue), row.reverted, 3) is is_promoted
    assert progress(row, review_queue, 3) == so_far


def test_history_caps_the_confidence_the_gate_compares_with_its_floor() -> None:
    assert capped_confidence(95, None) == 95 and capped_confidence(95, 0.5) == 50
    assert capped_confidence(40, 0.9) == 40  # history never raises confidence
    confident = diagnosis(confidence=95)
    assert gate(confident, "acme/api", RiskConfig(), success_rate=None).verdict is Verdict.AUTO
    assert gate(confident, "acme/api", RiskConfig(), success_rate=0.9).verdict is Verdict.AUTO
    decision = gate(confident, "acme/api", RiskConfig(confidence_floor=70), success_rate=0.4)
    assert decision.verdict is Verdict.APPROVAL
    assert decision.reasons == ["confidence 40 (playbook success rate 40%) is below the floor 70"]
