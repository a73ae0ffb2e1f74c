"""`mender breaker status|reset` against a real breaker workflow, through the Admin API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio.client import Client
from typer.testing import CliRunner

from activities.breaker import BreakerActivities
from contracts.breaker import BreakerOutcomeArgs
from domain.config import BreakerConfig
from runtime.settings import set_settings
from starter.cli import app
from tests.support.admin_api import ADMIN_KEY, admin_settings, served_starter
from tests.support.events import eventually
from tests.support.stack import running_worker


async def test_status_and_manual_reset(client: Client, tmp_path: Path) -> None:
    settings = admin_settings(tmp_path)
    runner = CliRunner()
    try:
        async with running_worker(client) as queue:
            with served_starter(settings, client, queue) as url:
                env = {"MENDER_API_URL": url, "MENDER_API_KEY": ADMIN_KEY}

                def cli(*args: str) -> str:
                    result = runner.invoke(app, ["breaker", *args], env=env)
                    assert result.exit_code == 0, result.output
                    return result.output

                scope = f"cli-{queue}"
                assert "never used" in await asyncio.to_thread(cli, "status", "--scope", scope)
                config = BreakerConfig(
                    window_seconds=60, failure_rate=0.5, min_samples=2, cooldown_seconds=60
                )
                breakers = BreakerActivities(client, queue, lambda: config)
                for _ in range(2):
                    await breakers.report_outcome(
                        BreakerOutcomeArgs(scope=scope, requester="t", ok=False, detail="502")
                    )

                async def state() -> str:
                    output = await asyncio.to_thread(cli, "status", "--scope", scope, "--json")
                    return json.loads(output)["state"]

                await eventually(state, lambda s: s == "open")
                assert "closed" in await asyncio.to_thread(cli, "reset", "--scope", scope)
                assert await state() == "closed"
                status = await asyncio.to_thread(cli, "status", "--scope", scope)
                assert "open -> closed" in status and "api:ops-admin" in status  # who reset it
    finally:
        set_settings(None)
