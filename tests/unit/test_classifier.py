"""The stale-PR classifier: one rule at a time, budgets, and fail-closed defaults."""

from __future__ import annotations

import pytest

from domain.pr_healing.classifier import PRAction, classify
from domain.pr_healing.events import EventType
from domain.pr_healing.lifecycle import PRState
from domain.pr_healing.remediation_config import RemediationConfig, RetryBudgets
from domain.pr_healing.snapshot import PRSnapshot
from tests.support.snapshots import run, snapshot

TRANSIENT = "Error: connect ETIMEDOUT 140.82.112.3:443 while fetching dependencies"
ASSERTION = "FAILED tests/test_api.py::test_health - assert 500 == 200"


def decide(
    snap: PRSnapshot, state: PRState = PRState.APPROVED, counts: dict[str, int] | None = None, **cfg: object
):
    return classify(state, [], snap, counts or {}, RetryBudgets(), RemediationConfig(**cfg), "policy-bot")


@pytest.mark.parametrize(
    ("snap", "action"),
    [
        (snapshot(), PRAction.RETRIGGER_MERGE),
        (snapshot(approved=False), PRAction.RETRIGGER_APPROVER_BOT),
        (snapshot(policy=None, approved=False), PRAction.RETRIGGER_POLICY_BOT),
        (snapshot(policy="pending"), PRAction.RETRIGGER_POLICY_BOT),
        (snapshot(policy="failure"), PRAction.NEEDS_INTERVENTION),
        (snapshot(mergeable_state="behind"), PRAction.UPDATE_BRANCH),
        (snapshot(runs=[run("test", "failure", TRANSIENT)]), PRAction.RETRY_CHECKS),
        (
            snapshot(mergeable_state="behind", runs=[run("test", "failure", TRANSIENT)]),
            PRAction.UPDATE_BRANCH,
        ),
        (snapshot(runs=[run("test", "failure", ASSERTION)]), PRAction.NEEDS_INTERVENTION),
        (snapshot(runs=[run("test", None, status="in_progress")]), PRAction.NO_ACTION),
        (snapshot(runs=[]), PRAction.NO_ACTION),
        (snapshot(mergeable_state="dirty", mergeable=False), PRAction.NEEDS_INTERVENTION),
        (snapshot(draft=True), PRAction.NO_ACTION),
        (snapshot(state="closed"), PRAction.NO_ACTION),
    ],
)
def test_rules(snap: PRSnapshot, action: PRAction) -> None:
    assert decide(snap).action is action


def test_conflict_is_closed_and_reopened_only_when_enabled() -> None:
    dirty = snapshot(mergeable_state="dirty", mergeable=False)
    assert decide(dirty, close_and_reopen=True).action is PRAction.CLOSE_AND_REOPEN
    assert "disabled" in decide(dirty).reason


def test_never_updates_a_branch_whose_checks_run_or_failed_for_real() -> None:
    running = snapshot(mergeable_state="behind", runs=[run("test", None, status="queued")])
    assert decide(running).action is PRAction.NO_ACTION
    broken = snapshot(mergeable_state="behind", runs=[run("test", "failure", ASSERTION)])
    assert decide(broken).action is PRAction.NEEDS_INTERVENTION


def test_mixed_failures_are_not_retried() -> None:
    snap = snapshot(runs=[run("build", "failure", TRANSIENT), run("test", "failure", ASSERTION)])
    decision = decide(snap)
    assert decision.action is PRAction.NEEDS_INTERVENTION and "'test'" in decision.reason


def test_spent_budget_escalates_with_the_reason() -> None:
    decision = decide(snapshot(runs=[run("test", "failure", TRANSIENT)]), counts={"rebuild": 3})
    assert decision.action is PRAction.NEEDS_INTERVENTION
    assert "budget is spent (3/3)" in decision.reason


def test_attempts_in_history_count_even_if_counters_were_lost() -> None:
    history = [(EventType.REMEDIATION, "RETRIGGER_MERGE")] * 2
    decision = classify(
        PRState.APPROVED, history, snapshot(), {}, RetryBudgets(), RemediationConfig(), "policy-bot"
    )
    assert decision.action is PRAction.NEEDS_INTERVENTION


def test_transient_patterns_are_configurable() -> None:
    snap = snapshot(runs=[run("test", "failure", "Gremlins ate the runner")])
    assert decide(snap).action is PRAction.NEEDS_INTERVENTION
    assert decide(snap, transient_patterns=["(?i)gremlins"]).action is PRAction.RETRY_CHECKS


def test_waiting_for_a_human_takes_no_action() -> None:
    assert decide(snapshot(), state=PRState.NEEDS_INTERVENTION).action is PRAction.NO_ACTION
