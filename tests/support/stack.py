"""Test helpers: settings with short timers and a temporary store, and a worker run in the background."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.client import Client

from activities.definition import activity_name
from contracts.activities import Lane
from domain.config import MenderConfig
from domain.pr_healing.lifecycle import TERMINAL_STATES, PRState
from runtime.settings import Environment, Settings, set_settings
from worker import activity_threads, all_activities, build_worker

SHORT_TIMERS: dict[str, Any] = {
    "staleness_seconds": {state: 30.0 for state in ("CREATED", "CHECKS_RUNNING", "CHECKS_PASSED")},
    "terminal_grace_seconds": 1.0,
    "unknown_pr_linger_seconds": 1.0,
}


def quick_lifecycle(seconds: float = 1.0) -> dict[str, Any]:
    """Lifecycle settings where every open state goes stale after `seconds` (healing tests)."""
    open_states = [
        s.value for s in PRState if s not in TERMINAL_STATES and s is not PRState.NEEDS_INTERVENTION
    ]
    return {
        "staleness_seconds": dict.fromkeys(open_states, seconds),
        "terminal_grace_seconds": 1.0,
        "unknown_pr_linger_seconds": 1.0,
    }


def make_settings(tmp_path: Path, *, webhook_secret: str = "test-secret", **config: Any) -> Settings:
    """Settings on a fresh SQLite file with short lifecycle timers; `config` overrides mender.yaml keys."""
    # Each test gets its own breaker: breaker workflows outlive tests on the shared dev server.
    breaker = {"scope": f"test-{uuid.uuid4().hex[:8]}"}
    raw: dict[str, Any] = {"mode": "act", "lifecycle": dict(SHORT_TIMERS), **config}
    raw["breaker"] = {**breaker, **raw.get("breaker", {})}
    # Merge queues outlive tests too: a turn left by a test's PR passes on within seconds, not minutes.
    raw["remediation"] = {"merge_queue": {"lease_seconds": 30}, **raw.get("remediation", {})}
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
async def running_worker(
    client: Client, task_queue: str | None = None, replace: Sequence[Callable[..., Any]] = ()
) -> AsyncIterator[str]:
    """Run a Mender worker on a fresh task queue for the duration of the block; yields the queue.

    `replace` swaps activities by name (to make one step fail); everything else is the real thing.
    """
    queue = task_queue or f"mender-test-{uuid.uuid4().hex[:8]}"
    swapped = {activity_name(fn): fn for fn in replace}
    activities = [swapped.pop(activity_name(fn), fn) for fn in all_activities(client, queue)]
    assert not swapped, f"no such activities: {list(swapped)}"
    lanes = {Lane.PROJECTIONS: 4, Lane.READS: 4, Lane.WRITES: 4, Lane.SWEEPS: 2}
    with activity_threads(8, lanes) as executor:
        async with build_worker(client, queue, executor, 8, lane_slots=lanes, activities=activities):
            yield queue
