"""Backoff of one bad source: doubled at each failure in a row, bounded, cleared by a success."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.shared import backoff

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_each_failure_in_a_row_doubles_the_wait_up_to_the_cap() -> None:
    state = None
    waits = []
    for _ in range(6):
        state = backoff.failed(state, NOW, "404 Not Found", base=10, cap=100)
        assert state.retry_at is not None
        waits.append((state.retry_at - NOW).total_seconds())
    assert waits == [10, 20, 40, 80, 100, 100] and state is not None and state.failures == 6


def test_a_source_is_due_only_after_its_wait() -> None:
    state = backoff.failed(None, NOW, "403", base=30)
    assert backoff.due(None, NOW)
    assert not backoff.due(state, NOW + timedelta(seconds=29))
    assert backoff.due(state, NOW + timedelta(seconds=30))


def test_the_audit_row_names_the_source_and_is_once_per_failure() -> None:
    first = backoff.failed(None, NOW, "GitHub answered 404", base=10)
    entry = backoff.audit_entry("ci.poll", "github:acme/gone", first, NOW, "acme/gone")
    assert (entry.action, entry.outcome, entry.target, entry.error) == (
        "ci.poll.source_failed",
        "failed",
        "github:acme/gone",
        "GitHub answered 404",
    )
    second = backoff.failed(first, NOW, "GitHub answered 404", base=10)
    assert (
        backoff.audit_entry("ci.poll", "github:acme/gone", second, NOW).idempotency_key
        != entry.idempotency_key
    )


def test_a_long_reason_is_bounded() -> None:
    assert len(backoff.failed(None, NOW, "x" * 10_000, base=1).reason) == 500
