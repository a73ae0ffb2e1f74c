"""The reconciler's Temporal Schedule is created once, kept at the configured interval, and runs."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

from contracts.sweeps import RECONCILER_SCHEDULE_ID
from domain.config import ReconcilerConfig
from runtime.schedules import ensure_reconciler_schedule
from runtime.settings import Settings
from tests.support.events import eventually
from tests.support.stack import running_worker


async def test_schedule_is_idempotent_follows_config_and_sweeps(client: Client, settings: Settings) -> None:
    async with running_worker(client) as queue:
        await ensure_reconciler_schedule(client, ReconcilerConfig(interval_seconds=3600), queue)
        await ensure_reconciler_schedule(client, ReconcilerConfig(interval_seconds=600), queue)  # no error
        handle = client.get_schedule_handle(RECONCILER_SCHEDULE_ID)
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(seconds=600)
        await handle.trigger()  # `mender reconcile`

        async def runs() -> int:
            return (await handle.describe()).info.num_actions

        await eventually(runs, lambda n: n >= 1)
        await ensure_reconciler_schedule(client, ReconcilerConfig(enabled=False), queue)
        assert (await handle.describe()).schedule.state.paused
        await handle.delete()
