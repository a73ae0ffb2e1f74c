"""Test helpers: settings with short timers and a temporary store, and a worker run in the background."""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.client import Client

from domain.config import MenderConfig
from runtime.settings import Environment, Settings, set_settings
from worker import build_worker

SHORT_TIMERS: dict[str, Any] = {
    "staleness_seconds": {state: 30.0 for state in ("CREATED", "CHECKS_RUNNING", "CHECKS_PASSED")},
    "terminal_grace_seconds": 1.0,
    "unknown_pr_linger_seconds": 1.0,
}


def make_settings(tmp_path: Path, *, webhook_secret: str = "test-secret", **config: Any) -> Settings:
    """Settings on a fresh SQLite file with short lifecycle timers; `config` overrides mender.yaml keys."""
    raw: dict[str, Any] = {"mode": "act", "lifecycle": dict(SHORT_TIMERS), **config}
    env = Environment(
        mender_config=tmp_path / "absent.yaml",
        mender_database_url=f"sqlite:///{tmp_path / 'mender.db'}",
        github_token=None,
        mender_webhook_secret=webhook_secret,
    )
    settings = Settings(MenderConfig.model_validate(raw), env)
    set_settings(settings)
    return settings


@asynccontextmanager
async def running_worker(client: Client, task_queue: str | None = None) -> AsyncIterator[str]:
    """Run a Mender worker on a fresh task queue for the duration of the block; yields the queue."""
    queue = task_queue or f"mender-test-{uuid.uuid4().hex[:8]}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(client, queue, executor, max_concurrent_activities=8):
            yield queue
