"""Audit retention: old rows are archived (JSON lines) and deleted by a workflow its schedule runs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, ScheduleActionStartWorkflow

from contracts.sweeps import AUDIT_RETENTION_SCHEDULE_ID
from domain.shared.admin_config import AuditConfig
from domain.shared.audit import AuditEntry, AuditFilter, RetentionReport
from runtime.settings import Settings
from store import audit
from store.db import engine_for
from tests.support.events import eventually
from tests.support.stack import running_worker
from worker import run_worker
from workflows.sweeps import AuditRetentionWorkflow


def _configure(settings: Settings, **audit_config: object) -> None:
    settings.config = settings.config.model_copy(update={"audit": AuditConfig.model_validate(audit_config)})


def _seed(settings: Settings) -> dict[str, AuditEntry]:
    now = datetime.now(UTC)
    ages = {"ancient": 400, "old": 8, "recent": 6, "fresh": 0}
    entries = {
        name: AuditEntry(
            action="api.call",
            actor=name,
            outcome="2xx",
            target=f"acme/api#{days}",
            repository="acme/api",
            details={"days": days},
            idempotency_key=f"seed:{name}",
            at=now - timedelta(days=days, minutes=1),
        )
        for name, days in ages.items()
    }
    engine = engine_for(settings.database_url)
    for entry in entries.values():
        assert audit.record(engine, entry)
    return entries


def _actors(settings: Settings) -> list[str]:
    return [r.actor for r in audit.query(engine_for(settings.database_url), AuditFilter())]


async def test_sweep_archives_then_deletes_rows_past_retention(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    archive_dir = tmp_path / "archive"
    _configure(settings, retention_days=7, archive_dir=str(archive_dir))
    seeded = _seed(settings)
    async with running_worker(client) as queue:
        report = await client.execute_workflow(
            AuditRetentionWorkflow.run, id=f"audit-retention-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
    assert isinstance(report, RetentionReport) and report.purged == 2
    assert _actors(settings) == ["fresh", "recent"]
    [archive] = archive_dir.iterdir()
    archived = audit.read_archive(archive)
    assert [r.actor for r in archived] == ["ancient", "old"]  # oldest first
    for row in archived:
        entry = seeded[row.actor]
        assert (row.at, row.target, row.details, row.idempotency_key) == (
            entry.at,
            entry.target,
            entry.details,
            entry.idempotency_key,
        )


async def test_sweep_without_archive_dir_only_deletes(client: Client, settings: Settings) -> None:
    _configure(settings, retention_days=7, archive_dir=None)
    _seed(settings)
    async with running_worker(client) as queue:
        report = await client.execute_workflow(
            AuditRetentionWorkflow.run, id=f"audit-retention-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
    assert (report.purged, report.archive_dir) == (2, None)
    assert _actors(settings) == ["fresh", "recent"]


async def test_worker_start_creates_the_schedule_which_runs_the_sweep(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    queue = f"mender-test-{uuid.uuid4().hex[:8]}"
    settings.env = settings.env.model_copy(
        update={"mender_temporal_address": client.service_client.config.target_host}
    )
    settings.config = settings.config.model_copy(
        update={"temporal": settings.config.temporal.model_copy(update={"task_queue": queue})}
    )
    _configure(settings, retention_days=7, archive_dir=str(tmp_path / "archive"), sweep_interval_seconds=3600)
    _seed(settings)
    worker = asyncio.create_task(run_worker())
    handle = client.get_schedule_handle(AUDIT_RETENTION_SCHEDULE_ID)
    try:
        described = await eventually(handle.describe, lambda d: _queue_of(d.schedule.action) == queue)
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
        await handle.trigger()
        await eventually(lambda: asyncio.to_thread(_actors, settings), lambda a: a == ["fresh", "recent"])
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await _delete_schedules_of(client, queue)


def _queue_of(action: object) -> str | None:
    return action.task_queue if isinstance(action, ScheduleActionStartWorkflow) else None


async def _delete_schedules_of(client: Client, queue: str) -> None:
    """Remove the schedules this test's worker created (they would start workflows nobody runs)."""
    async for listed in await client.list_schedules():
        handle = client.get_schedule_handle(listed.id)
        if _queue_of((await handle.describe()).schedule.action) == queue:
            await handle.delete()
