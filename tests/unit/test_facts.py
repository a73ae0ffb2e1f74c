"""Trust-but-verify folding: only what the lifecycle missed, with the same keys as webhooks."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.pr_healing.events import EventSource, EventType
from domain.pr_healing.facts import missed_facts, suite_completed_key
from domain.pr_healing.lifecycle import PRLifecycle, PRState, apply
from tests.support.snapshots import HEAD, PR, run, snapshot

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def at(state: PRState, **fields: object) -> PRLifecycle:
    return PRLifecycle(pr=PR, state=state, head_sha=HEAD, **fields)


def fold(lifecycle: PRLifecycle, snap) -> tuple[PRLifecycle, list[EventType]]:
    events = missed_facts(lifecycle, snap, "policy-bot", NOW)
    for event in events:
        lifecycle, _ = apply(lifecycle, event)
    return lifecycle, [e.type for e in events]


def test_missed_checks_policy_and_approval_are_folded_in() -> None:
    lifecycle, types = fold(at(PRState.CHECKS_RUNNING), snapshot())
    assert types == [EventType.CHECKS_PASSED, EventType.POLICY_PASSED, EventType.APPROVED]
    assert lifecycle.state is PRState.APPROVED


def test_nothing_when_the_lifecycle_already_agrees() -> None:
    assert missed_facts(at(PRState.APPROVED, approved=True), snapshot(), "policy-bot", NOW) == []
    assert (
        missed_facts(
            at(PRState.CHECKS_RUNNING),
            snapshot(runs=[run(status="queued", conclusion=None)]),
            "policy-bot",
            NOW,
        )
        == []
    )


def test_merge_and_close_seen_only_on_github() -> None:
    merged = snapshot(state="closed", merged=True, merge_commit_sha="m" * 40)
    assert fold(at(PRState.APPROVED), merged)[0].state is PRState.MERGED
    assert fold(at(PRState.CHECKS_FAILED), snapshot(state="closed", closed_at="t"))[0].state is PRState.CLOSED


def test_new_head_restarts_the_lifecycle() -> None:
    lifecycle, types = fold(
        at(PRState.CHECKS_FAILED),
        snapshot(head_sha="b" * 40, runs=[run(status="in_progress", conclusion=None)]),
    )
    assert types == [EventType.SYNCHRONIZE, EventType.CHECKS_STARTED]
    assert (lifecycle.state, lifecycle.head_sha) == (PRState.CHECKS_RUNNING, "b" * 40)


def test_events_are_marked_as_reconciler_facts_with_webhook_keys() -> None:
    events = missed_facts(at(PRState.CHECKS_RUNNING), snapshot(), "policy-bot", NOW)
    assert {e.source for e in events} == {EventSource.RECONCILER}
    assert events[0].key == suite_completed_key(1, "success", "t1")


def test_failed_checks_are_reported_once() -> None:
    failing = snapshot(runs=[run("test", "failure", "boom")])
    lifecycle, types = fold(at(PRState.CHECKS_RUNNING), failing)
    assert types == [EventType.CHECKS_FAILED] and lifecycle.state is PRState.CHECKS_FAILED
    assert missed_facts(lifecycle, failing, "policy-bot", NOW) == []
