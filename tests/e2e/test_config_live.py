"""Configuration without restart, end to end: a `mender.yaml` change picked up by the worker's watcher
reaches a PR workflow that is already running (observe -> act: the stalled PR is healed at its next
decision), the running breaker (its thresholds) and the audit trail."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client

from activities.breaker import BreakerActivities
from domain.pr_healing.events import EventType
from domain.pr_healing.lifecycle import PRState
from domain.shared.audit import AuditFilter
from runtime.config_reload import ConfigWatcher
from runtime.settings import Environment, Settings, get_settings, load_config, set_settings
from store import audit
from store.db import engine_for
from tests.support.events import eventually
from tests.support.stack import quick_lifecycle
from tests.support.world import mender_world
from worker import applied_to_running


def write(path: Path, raw: dict[str, Any], mtime: float) -> None:
    path.write_text(yaml.safe_dump(raw))
    os.utime(path, (mtime, mtime))


def remediations(status: Any) -> list[tuple[str, str]]:
    return [
        (e.event.details["action"], e.event.details["outcome"])
        for e in status.recent_events
        if e.event.type is EventType.REMEDIATION
    ]


async def test_a_reloaded_file_reaches_a_running_pr_workflow_and_the_breaker(
    client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "mender.yaml"
    raw: dict[str, Any] = {
        "mode": "observe",
        "lifecycle": quick_lifecycle(),
        "repositories": [{"name": "acme/api"}],
        "breaker": {"scope": f"reload-{uuid.uuid4().hex[:8]}", "min_samples": 5},
        "remediation": {"merge_queue": {"lease_seconds": 30}},
    }
    write(path, raw, 1_000)
    env = Environment(
        mender_config=path,
        mender_database_url=f"sqlite:///{tmp_path / 'mender.db'}",
        github_token=None,
        mender_webhook_secret="test-secret",
    )
    settings = Settings(load_config(path), env)
    set_settings(settings)
    try:
        async with mender_world(client, settings) as world:
            number = await world.open_pr("acme/api", faults=["approver_bot_missed"])
            observed = await eventually(
                lambda: world.status("acme/api", number),
                lambda s: ("RETRIGGER_APPROVER_BOT", "observe only") in remediations(s),
                timeout=60,
            )
            assert observed.state is not PRState.MERGED  # only observed: nobody relabelled it
            breakers = BreakerActivities(client, world.queue, lambda: get_settings().config.breaker)
            await breakers.configure(raw["breaker"]["scope"], settings.config.breaker)  # running, min 5

            watcher = ConfigWatcher(on_change=applied_to_running(client, world.queue))
            live = get_settings().config.model_dump(mode="json")  # as the world runs it (simulator URLs)
            write(path, {**live, "mode": "act", "breaker": {**live["breaker"], "min_samples": 9}}, 2_000)
            result = await watcher.check()
            assert result is not None and result.applied and result.changed == ["breaker", "mode"]

            healed = await eventually(
                lambda: world.status("acme/api", number), lambda s: s.state is PRState.MERGED, timeout=60
            )
            assert ("RETRIGGER_APPROVER_BOT", "acted") in remediations(healed)
            status = await breakers.status(raw["breaker"]["scope"])
            assert status is not None and status.config is not None and status.config.min_samples == 9
            row = audit.query(engine_for(settings.database_url), AuditFilter(action="config.reload"))[0]
            assert (row.outcome, row.details["changed"]) == ("succeeded", ["breaker", "mode"])
    finally:
        set_settings(None)
