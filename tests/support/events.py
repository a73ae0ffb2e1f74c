"""Builders for domain events and a poller for asynchronous outcomes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio.service import RPCError

from domain.pr_healing.events import EventSource, EventType, PREvent, PRRef
from tests.support.patience import patient

HEAD = "a" * 40
_counter = itertools.count()
_last = [datetime(2026, 1, 1, tzinfo=UTC)]
T = TypeVar("T")


def make_event(
    pr: PRRef, type: EventType, *, key: str | None = None, head_sha: str | None = HEAD, **fields: object
) -> PREvent:
    """An event with a unique key (unless given), stamped now as the intake stamps a webhook, each a
    millisecond after the one before at least (increasing timestamps)."""
    n = next(_counter)
    _last[0] = max(datetime.now(UTC), _last[0] + timedelta(milliseconds=1))
    return PREvent(
        key=key or f"{type}:{n}",
        pr=pr,
        type=type,
        source=fields.pop("source", EventSource.WEBHOOK),  # type: ignore[arg-type]
        occurred_at=_last[0],
        head_sha=head_sha,
        **fields,  # type: ignore[arg-type]
    )


HAPPY_PATH = [
    EventType.OPENED,
    EventType.CHECKS_STARTED,
    EventType.CHECKS_PASSED,
    EventType.POLICY_PENDING,
    EventType.POLICY_PASSED,
    EventType.APPROVED,
    EventType.MERGED,
]


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout: float = 20.0) -> T:
    """Poll `probe` until `ok(result)`; AssertionError with the last result after `timeout` seconds.

    A workflow not started yet (RPCError from a query) counts as "not yet".
    """
    loop = asyncio.get_running_loop()
    timeout = patient(timeout)
    deadline = loop.time() + timeout
    result: T | RPCError | None = None
    while True:
        try:
            result = await probe()
        except RPCError as exc:
            result = exc
        else:
            if ok(result):
                return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last result: {result!r}")
        await asyncio.sleep(0.05)
