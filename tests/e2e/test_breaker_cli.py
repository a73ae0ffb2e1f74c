"""`mender breaker status|reset` against a real breaker workflow."""

from __future__ import annotations

import asyncio
import json

from temporalio.client import Client
from typer.testing import CliRunner

from activities.breaker import BreakerActivities, BreakerOutcomeArgs
from domain.config import BreakerConfig
from runtime.settings import Settings
from starter.cli import app
from tests.support.events import eventually
from tests.support.stack import running_worker


async def test_status_and_manual_reset(client: Client, settings: Settings) -> None:
    settings.env = settings.env.model_copy(
        update={"mender_temporal_address": client.service_client.config.target_host}
    )
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(app, ["breaker", *args])
        assert result.exit_code == 0, result.output
        return result.output

    async with running_worker(client) as queue:
        settings.config = settings.config.model_copy(
            update={"temporal": settings.config.temporal.model_copy(update={"task_queue": queue})}
        )
        scope = f"cli-{queue}"
        assert "never used" in await asyncio.to_thread(cli, "status", "--scope", scope)
        config = BreakerConfig(window_seconds=60, failure_rate=0.5, min_samples=2, cooldown_seconds=60)
        breakers = BreakerActivities(client, queue, lambda: config)
        for _ in range(2):
            await breakers.report_outcome(
                BreakerOutcomeArgs(scope=scope, requester="t", ok=False, detail="502")
            )

        async def state() -> str:
            return json.loads(await asyncio.to_thread(cli, "status", "--scope", scope, "--json"))["state"]

        await eventually(state, lambda s: s == "open")
        assert "closed" in await asyncio.to_thread(cli, "reset", "--scope", scope)
        assert await state() == "closed"
        assert "open -> closed" in await asyncio.to_thread(cli, "status", "--scope", scope)
