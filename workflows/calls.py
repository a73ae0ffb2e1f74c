"""How workflows call activities: by catalogue reference, with the options of its kind. One home for
every activity timeout and retry policy.

A rate limit does not use up a call's bounded attempts: an activity GitHub rate-limited (error type
`GitHubRateLimited`, `next_retry_delay` from `Retry-After` or the reset) ends its attempt without a
retry by the policy; `call` sleeps exactly that delay in the workflow and schedules it again with the
attempts the real failures before it left (`RATE_LIMIT_WAITS` waits per call at most; then the error
is raised as any other, and the caller's dead letter takes it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.activities import ActivityRef, CallKind, Lane, lane_queue

R = TypeVar("R")
_NO_ARG: Any = object()
RATE_LIMITED = "GitHubRateLimited"  # the error type of a rate-limited GitHub call (`activities.github`)
RATE_LIMIT_PATCH = "rate-limit-waits"  # runs that waited before it replay their failed calls unchanged
RATE_LIMIT_WAITS = 10  # rate-limit waits of one call (each at most an hour: `github_gate.LONGEST_WAIT`)
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)


def _options(
    start_to_close: timedelta,
    attempts: int = 0,
    first_retry: timedelta = timedelta(seconds=1),
    max_retry: timedelta | None = None,
    schedule_to_close: timedelta | None = None,
    heartbeat: timedelta | None = None,
) -> dict[str, Any]:
    retry = RetryPolicy(
        initial_interval=first_retry,
        maximum_attempts=attempts,
        maximum_interval=max_retry,
        non_retryable_error_types=[RATE_LIMITED],  # waited out by `call`, not counted as an attempt
    )
    options: dict[str, Any] = {"start_to_close_timeout": start_to_close, "retry_policy": retry}
    if schedule_to_close is not None:
        options["schedule_to_close_timeout"] = schedule_to_close
    if heartbeat is not None:
        options["heartbeat_timeout"] = heartbeat
    return options


SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)
LIVENESS = 30 * SECOND
# A run that began with this patch calls every kind as a regular activity (`call(..., local=False)`):
# on replay, a signal that arrived while a local activity ran is applied before that activity's result,
# not after it as it ran (TMPRL1100 after a worker crash). Older runs keep their local activities.
REGULAR_CALLS_PATCH = "regular-store-calls"

# Local activities run in the worker that runs the workflow: no task queue round trip. For the store
# projection, the audit trail and the configuration, which every event of every PR touches.
LOCAL: frozenset[CallKind] = frozenset({CallKind.CONFIG, CallKind.STORE, CallKind.AUDIT})
OPTIONS: dict[CallKind, dict[str, Any]] = {
    CallKind.CONFIG: _options(30 * SECOND, max_retry=30 * SECOND, schedule_to_close=2 * MINUTE),
    CallKind.STORE: _options(30 * SECOND, max_retry=30 * SECOND, schedule_to_close=2 * MINUTE),
    CallKind.AUDIT: _options(30 * SECOND, max_retry=30 * SECOND, schedule_to_close=5 * MINUTE),
    # GitHub and CI provider calls and the sweeps heartbeat while they run (`LIVENESS_KINDS` of
    # `contracts.activities`): a killed worker's call is retried after `LIVENESS`, not its timeout.
    CallKind.GITHUB: _options(60 * SECOND, attempts=3, heartbeat=LIVENESS),
    CallKind.BREAKER: _options(10 * SECOND, attempts=2),
    CallKind.NOTIFY: _options(30 * SECOND, attempts=5, first_retry=2 * SECOND),
    CallKind.NOTIFY_BREAKER: _options(30 * SECOND, attempts=5, schedule_to_close=10 * MINUTE),
    CallKind.DELIVER: _options(60 * SECOND, attempts=3),
    CallKind.PROVIDER: _options(2 * MINUTE, attempts=5, first_retry=2 * SECOND, heartbeat=LIVENESS),
    CallKind.ANALYSE: _options(10 * MINUTE, attempts=4, first_retry=5 * SECOND, heartbeat=2 * MINUTE),
    CallKind.LLM: _options(60 * SECOND, attempts=1),
    CallKind.QUICK: _options(30 * SECOND, attempts=5),
    # (a sweep in a killed worker would otherwise hold the schedule's next sweeps for 10-15 minutes)
    CallKind.RECONCILE: _options(15 * MINUTE, attempts=2, heartbeat=LIVENESS),
    CallKind.POLL: _options(10 * MINUTE, attempts=2, heartbeat=LIVENESS),
    CallKind.RETENTION: _options(30 * MINUTE, attempts=3),
}


async def call(ref: ActivityRef[Any, R], arg: Any = _NO_ARG, *, local: bool = True, **overrides: Any) -> R:
    """Run the activity `ref` with `arg` and the options of its kind (`overrides` win); typed result.
    `local=False`: a kind in `LOCAL` runs as a regular activity (its result is a history event, ordered
    with the signals around it); a regular activity of a lane other than MAIN is polled from that lane's
    queue beside the workflow's. A rate limit is waited out here (module docstring)."""
    args = [] if arg is _NO_ARG else [arg]
    options = {**OPTIONS[ref.kind], **overrides}
    if ref.lane is not Lane.MAIN and not (local and ref.kind in LOCAL):
        options.setdefault("task_queue", lane_queue(workflow.info().task_queue, ref.lane))
    waits = 0
    while True:
        try:
            if local and ref.kind in LOCAL:
                return await workflow.execute_local_activity(
                    ref.name, args=args, result_type=ref.result, **options
                )
            return await workflow.execute_activity(ref.name, args=args, result_type=ref.result, **options)
        except ActivityError as exc:
            delay = rate_limit_wait(exc)
            if delay is None or waits >= RATE_LIMIT_WAITS or not workflow.patched(RATE_LIMIT_PATCH):
                raise
            waits += 1
            workflow.logger.info(
                "%s rate-limited: again in %.0fs (wait %d)", ref.name, delay.total_seconds(), waits
            )
            options = {**options, "retry_policy": attempts_left(options["retry_policy"], exc)}
            await workflow.sleep(delay)


def rate_limit_wait(exc: ActivityError) -> timedelta | None:
    """How long GitHub asked to wait, when the call failed on a rate limit (else None)."""
    cause = exc.cause
    if not isinstance(cause, ApplicationError) or cause.type != RATE_LIMITED:
        return None
    return cause.next_retry_delay or DEFAULT_RATE_LIMIT_WAIT


def attempts_left(policy: RetryPolicy, exc: ActivityError) -> RetryPolicy:
    """The policy for the call again after a rate limit: the attempts before the limited one failed
    for real and stay spent (the activity names its attempt in the error's details)."""
    cause = exc.cause
    limited_at = cause.details[0] if isinstance(cause, ApplicationError) and cause.details else 1
    if not policy.maximum_attempts or not isinstance(limited_at, int):
        return policy
    return replace(policy, maximum_attempts=max(1, policy.maximum_attempts - (limited_at - 1)))
