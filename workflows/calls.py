"""How workflows call activities: by catalogue reference, with the options of its kind. One home for
every activity timeout and retry policy.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from contracts.activities import ActivityRef, CallKind

R = TypeVar("R")
_NO_ARG: Any = object()


def _options(
    start_to_close: timedelta,
    attempts: int = 0,
    first_retry: timedelta = timedelta(seconds=1),
    max_retry: timedelta | None = None,
    schedule_to_close: timedelta | None = None,
    heartbeat: timedelta | None = None,
) -> dict[str, Any]:
    retry = RetryPolicy(initial_interval=first_retry, maximum_attempts=attempts, maximum_interval=max_retry)
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
    with the signals around it)."""
    args = [] if arg is _NO_ARG else [arg]
    options = {**OPTIONS[ref.kind], **overrides}
    if local and ref.kind in LOCAL:
        return await workflow.execute_local_activity(ref.name, args=args, result_type=ref.result, **options)
    return await workflow.execute_activity(ref.name, args=args, result_type=ref.result, **options)
