"""Hypothesis: the classifier is deterministic and independent of the order of the history."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.pr_healing.classifier import PRAction, classify
from domain.pr_healing.events import EventType
from domain.pr_healing.lifecycle import PRState
from domain.pr_healing.remediation_config import RemediationConfig, RetryBudgets
from tests.support.snapshots import run, snapshot

OUTPUTS = ["connection reset by peer", "AssertionError: boom", "", "ETIMEDOUT", "Segmentation fault"]
history_item = st.tuples(
    st.sampled_from(list(EventType)), st.one_of(st.none(), st.sampled_from([a.value for a in PRAction]))
)


@st.composite
def snapshots(draw: st.DrawFn):
    runs = [
        run(
            name,
            draw(st.sampled_from(["success", "failure", None])),
            draw(st.sampled_from(OUTPUTS)),
            draw(st.sampled_from(["completed", "in_progress"])),
        )
        for name in draw(st.lists(st.sampled_from(["build", "test", "lint"]), unique=True, max_size=3))
    ]
    return snapshot(
        runs=runs,
        policy=draw(st.sampled_from([None, "pending", "success", "failure"])),
        approved=draw(st.booleans()),
        mergeable_state=draw(st.sampled_from(["clean", "behind", "dirty", "blocked", "unknown"])),
        draft=draw(st.booleans()),
    )


@given(
    st.sampled_from(list(PRState)),
    st.lists(history_item, max_size=20),
    st.randoms(use_true_random=False),
    snapshots(),
    st.dictionaries(st.sampled_from(["rebuild", "merge", "update_branch", "policy_bot"]), st.integers(0, 5)),
    st.booleans(),
)
def test_order_of_history_never_changes_the_decision(state, history, rnd, snap, counts, reopen) -> None:
    cfg = RemediationConfig(close_and_reopen=reopen)
    shuffled = list(history)
    rnd.shuffle(shuffled)
    first = classify(state, history, snap, counts, RetryBudgets(), cfg, "policy-bot")
    assert classify(state, shuffled, snap, counts, RetryBudgets(), cfg, "policy-bot") == first
    assert classify(state, history, snap, counts, RetryBudgets(), cfg, "policy-bot") == first  # deterministic


@given(st.sampled_from(list(PRState)), st.lists(history_item, max_size=20), snapshots())
def test_a_spent_budget_is_never_exceeded(state, history, snap) -> None:
    spent = {
        "update_branch": 2,
        "rebuild": 3,
        "policy_bot": 2,
        "approver_bot": 2,
        "merge": 2,
        "close_and_reopen": 1,
    }
    decision = classify(
        state, history, snap, spent, RetryBudgets(), RemediationConfig(close_and_reopen=True), "policy-bot"
    )
    assert decision.budget is None
