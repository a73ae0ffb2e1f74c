"""Every kind of activity call (`workflows/calls.py`) retries a bounded number of times or for a
bounded time (the store, configuration and audit calls too: a workflow holding its lock never waits on
them forever), and a rate limit is left to `call`, which waits it out without spending an attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from contracts.activities import CallKind
from workflows.calls import OPTIONS, RATE_LIMITED, attempts_left, rate_limit_wait


@pytest.mark.parametrize("kind", list(CallKind))
def test_every_kind_is_bounded_and_leaves_rate_limits_to_the_workflow(kind: CallKind) -> None:
    options = OPTIONS[kind]
    policy: RetryPolicy = options["retry_policy"]
    assert policy.maximum_attempts > 0 or options.get("schedule_to_close_timeout") is not None, kind
    assert RATE_LIMITED in (policy.non_retryable_error_types or [])


def failed(cause: BaseException) -> ActivityError:
    error = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="w",
        activity_type="github.update_branch",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    error.__cause__ = cause
    return error


def test_the_wait_is_the_delay_github_named_and_only_for_a_rate_limit() -> None:
    limited = ApplicationError("429", 1, type=RATE_LIMITED, next_retry_delay=timedelta(seconds=20))
    assert rate_limit_wait(failed(limited)) == timedelta(seconds=20)
    assert rate_limit_wait(failed(ApplicationError("429", type=RATE_LIMITED))) == timedelta(seconds=60)
    assert rate_limit_wait(failed(ApplicationError("502", type="GitHubError"))) is None


@pytest.mark.parametrize(("limited_at", "left"), [(1, 3), (2, 2), (3, 1)])
def test_attempts_that_failed_for_real_before_the_limit_stay_spent(limited_at: int, left: int) -> None:
    policy = RetryPolicy(maximum_attempts=3)
    error = failed(ApplicationError("429", limited_at, type=RATE_LIMITED))
    assert attempts_left(policy, error).maximum_attempts == left
    unbounded = RetryPolicy(maximum_attempts=0)
    assert attempts_left(unbounded, error).maximum_attempts == 0  # bounded by schedule-to-close instead
