"""Liveness heartbeats: a GitHub or CI provider call, or a sweep (`contracts.activities.LIVENESS_KINDS`),
heartbeats every second while a live worker runs it, so a worker killed in the middle of one is
noticed after the call's heartbeat timeout (`workflows.calls`), not its whole start-to-close timeout,
and the retry (which finds what the killed attempt already did) comes within seconds.

The beats say the worker is alive, not that the call progresses: a hung request is still bounded by
the start-to-close timeout. Activities that report progress themselves (`ci.analyse`) are not beaten.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from contracts.activities import CATALOGUE, LIVENESS_KINDS

LIVENESS = frozenset(ref.name for ref in CATALOGUE if ref.kind in LIVENESS_KINDS)
# The SDK sends at most one heartbeat per 80 % of the timeout (it throttles them): beat often, so one
# is always pending when that window ends and the server hears from a live worker in time.
BEAT_SECONDS = 1.0


async def _beat(every: float, send: Callable[..., None]) -> None:
    while True:
        await asyncio.sleep(every)
        send()


class _Beating(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.activity_type not in LIVENESS or not info.heartbeat_timeout:
            return await self.next.execute_activity(input)
        # The SDK's own sender, taken before it wraps it for the activity's thread (that wrapper blocks
        # on this event loop, so it cannot be called from it).
        send = activity._Context.current().heartbeat
        assert send is not None
        every = min(BEAT_SECONDS, info.heartbeat_timeout.total_seconds() / 4)
        beats = asyncio.create_task(_beat(every, send))
        try:
            return await self.next.execute_activity(input)
        finally:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats


class ActivityLiveness(Interceptor):
    """Worker interceptor: liveness heartbeats for the calls of `LIVENESS_KINDS`."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Beating(next)
