"""Webhooks GitHub delivered out of order never roll the lifecycle back: each table row is a sequence of
facts in the order GitHub sent them, the order they arrive in, and the state and head that must result
(the same as for the sent order)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from domain.config import MenderConfig
from domain.pr_healing.events import EventSource, EventType, PREvent, PRRef
from domain.pr_healing.facts import github_time, missed_facts, synchronize_key
from domain.pr_healing.lifecycle import PRLifecycle, PRState, TransitionOutcome, apply
from domain.pr_healing.snapshot import CheckRunFact, CheckSuiteFact, PRSnapshot
from starter.github_events import translate
from tests.conftest import FIXTURES

PR = PRRef(repo="acme/api", number=7)
A, B, C = "a" * 40, "b" * 40, "c" * 40
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
E, S = EventType, PRState


def fact(n: int, type: EventType, head: str = A, *, before: str | None = None, suite: int = 1) -> PREvent:
    """A webhook fact GitHub stamped `n` seconds after T0."""
    details: dict[str, object] = {}
    key = f"{type}:{n}"
    if type is E.SYNCHRONIZE:
        details, key = {"before": before}, synchronize_key(before, head)
    elif type in (E.CHECKS_STARTED, E.CHECKS_PASSED, E.CHECKS_FAILED):
        details = {"check_suite_id": suite}
    return PREvent(
        key=key,
        pr=PR,
        type=type,
        occurred_at=T0 + timedelta(minutes=5, seconds=n),  # arrival: says nothing about order
        github_at=T0 + timedelta(seconds=n),
        head_sha=head,
        details=details,
    )


def fold(events: list[PREvent]) -> PRLifecycle:
    lifecycle = PRLifecycle(pr=PR)
    for event in events:
        lifecycle, _ = apply(lifecycle, event)
    return lifecycle


OPEN = fact(0, E.OPENED)
ROWS = {
    "suite started after it completed": (
        [OPEN, fact(1, E.CHECKS_STARTED), fact(3, E.CHECKS_PASSED)],
        [OPEN, fact(3, E.CHECKS_PASSED), fact(1, E.CHECKS_STARTED)],
    ),
    "start and completion stamped in the same second": (
        [OPEN, fact(2, E.CHECKS_STARTED), fact(2, E.CHECKS_FAILED)],
        [OPEN, fact(2, E.CHECKS_FAILED), fact(2, E.CHECKS_STARTED)],
    ),
    "policy pending after it passed": (
        [OPEN, fact(1, E.CHECKS_PASSED), fact(2, E.POLICY_PENDING), fact(4, E.POLICY_PASSED)],
        [OPEN, fact(1, E.CHECKS_PASSED), fact(4, E.POLICY_PASSED), fact(2, E.POLICY_PENDING)],
    ),
    "an older push after a newer one": (
        [OPEN, fact(1, E.SYNCHRONIZE, B, before=A), fact(5, E.SYNCHRONIZE, C, before=B)],
        [OPEN, fact(5, E.SYNCHRONIZE, C, before=B), fact(1, E.SYNCHRONIZE, B, before=A)],
    ),
    "a force push back, its push away arriving last": (
        [OPEN, fact(1, E.SYNCHRONIZE, B, before=A), fact(5, E.SYNCHRONIZE, A, before=B)],
        [OPEN, fact(5, E.SYNCHRONIZE, A, before=B), fact(1, E.SYNCHRONIZE, B, before=A)],
    ),
    "checks of the old head after the push": (
        [
            OPEN,
            fact(1, E.CHECKS_STARTED),
            fact(2, E.SYNCHRONIZE, B, before=A),
            fact(3, E.CHECKS_STARTED, B, suite=2),
        ],
        [
            OPEN,
            fact(2, E.SYNCHRONIZE, B, before=A),
            fact(3, E.CHECKS_STARTED, B, suite=2),
            fact(1, E.CHECKS_STARTED),
        ],
    ),
    "reopened after it was closed again": (
        [OPEN, fact(1, E.CLOSED), fact(2, E.REOPENED), fact(3, E.CLOSED)],
        [OPEN, fact(1, E.CLOSED), fact(3, E.CLOSED), fact(2, E.REOPENED)],
    ),
    "a second suite's start is not another suite's past": (
        [OPEN, fact(1, E.CHECKS_PASSED, suite=1), fact(2, E.CHECKS_STARTED, suite=2)],
        [OPEN, fact(2, E.CHECKS_STARTED, suite=2), fact(1, E.CHECKS_PASSED, suite=1)],
    ),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_arrival_order_does_not_change_the_outcome(name: str) -> None:
    sent, arrived = ROWS[name]
    in_order, reordered = fold(sent), fold(arrived)
    if name == "a second suite's start is not another suite's past":
        # Two suites: each fact is applied (neither is older than its own suite's), last one wins.
        assert reordered.state is S.CHECKS_PASSED and in_order.state is S.CHECKS_RUNNING
        return
    assert (reordered.state, reordered.head_sha) == (in_order.state, in_order.head_sha)


def test_the_late_fact_is_judged_stale_with_the_reason() -> None:
    lifecycle = fold([OPEN, fact(3, E.CHECKS_PASSED)])
    after, verdict = apply(lifecycle, fact(1, E.CHECKS_STARTED))
    assert (verdict.outcome, after.state) == (TransitionOutcome.STALE, S.CHECKS_PASSED)
    assert "is older than the suite:1 fact applied" in verdict.reason
    _, verdict = apply(lifecycle, fact(3, E.CHECKS_STARTED))
    assert verdict.outcome is TransitionOutcome.STALE and "no newer than its completion" in verdict.reason
    after, verdict = apply(
        fold([OPEN, fact(5, E.SYNCHRONIZE, C, before=A)]), fact(1, E.SYNCHRONIZE, B, before=A)
    )
    assert verdict.outcome is TransitionOutcome.STALE and "older than the pr fact" in verdict.reason


def test_a_re_run_of_the_suite_after_its_completion_applies() -> None:
    lifecycle = fold([OPEN, fact(1, E.CHECKS_STARTED), fact(3, E.CHECKS_FAILED)])
    after, verdict = apply(lifecycle, fact(9, E.CHECKS_STARTED))
    assert (verdict.outcome, after.state) == (TransitionOutcome.APPLIED, S.CHECKS_RUNNING)


def test_facts_without_github_time_are_judged_as_before() -> None:
    lifecycle = fold([OPEN, fact(3, E.CHECKS_PASSED)])
    mender = fact(1, E.CHECKS_STARTED).model_copy(update={"github_at": None, "source": EventSource.MENDER})
    after, verdict = apply(lifecycle, mender)
    assert (verdict.outcome, after.state) == (TransitionOutcome.APPLIED, S.CHECKS_RUNNING)


def test_the_reconcilers_facts_carry_githubs_time_so_a_late_webhook_stays_late() -> None:
    lifecycle = fold([OPEN])
    snap = PRSnapshot(
        pr=PR,
        state="open",
        author="dependabot[bot]",
        head_sha=A,
        check_suites=[
            CheckSuiteFact(id=1, status="completed", conclusion="success", updated_at="2026-12-07T12:00:04Z")
        ],
        check_runs=[CheckRunFact(id=11, name="test", status="completed", conclusion="success", suite_id=1)],
        fetched_at=T0 + timedelta(minutes=1),
    )
    [passed] = missed_facts(lifecycle, snap, "policy-bot", T0 + timedelta(minutes=1))
    assert passed.type is E.CHECKS_PASSED and passed.github_at == T0 + timedelta(seconds=4)
    lifecycle, _ = apply(lifecycle, passed)
    after, verdict = apply(lifecycle, fact(1, E.CHECKS_STARTED))
    assert (verdict.outcome, after.state) == (TransitionOutcome.STALE, S.CHECKS_PASSED)


@pytest.mark.parametrize("text", [None, "", "yesterday", "2026-13-01T00:00:00Z", "9" * 100])
def test_unreadable_github_times_are_unknown_not_errors(text: str | None) -> None:
    assert github_time(text) is None


def _hook(name: str) -> dict:
    return json.loads((FIXTURES / "github" / "webhooks" / name).read_text())


def test_the_intake_stamps_each_fact_with_githubs_time() -> None:
    """octokit's example payloads: the PR's, the suite's and the status's `updated_at`, and a push's
    `before`, reach the event."""
    config = MenderConfig.model_validate({"bots": {"authors": ["Codertocat"], "policy_context": "default"}})
    sync = _hook("pull_request/synchronize.payload.json")
    [push] = translate("pull_request", sync, config, T0, lambda r, s: []).events
    assert push.github_at == github_time(sync["pull_request"]["updated_at"]) and push.github_at is not None
    assert push.details["before"] == sync["before"]
    suite = _hook("check_suite/completed.payload.json")
    [done] = translate("check_suite", suite, config, T0, lambda r, s: []).events
    assert done.github_at == github_time(suite["check_suite"]["updated_at"])
    assert done.details["check_suite_id"] == suite["check_suite"]["id"]
    status = _hook("status/payload.json")
    pr = PRRef(repo=status["repository"]["full_name"], number=1)
    [policy] = translate("status", status, config, T0, lambda r, s: [pr]).events
    assert policy.github_at == github_time(status["updated_at"]) and policy.github_at is not None
