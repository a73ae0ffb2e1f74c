"""Temporal Schedules Mender keeps, one per sweep in `contracts.sweeps`: reconciler, CI poller, retention."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from contracts.sweeps import AUDIT_RETENTION, CI_POLLER, RECONCILER, SweepSpec
from domain.ci_healing.config import CIConfig
from domain.config import ReconcilerConfig
from domain.shared.admin_config import AuditConfig

log = logging.getLogger("mender.schedules")


def _schedule(sweep: SweepSpec, task_queue: str, every_seconds: float, timeout: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            sweep.workflow, id=sweep.workflow_id, task_queue=task_queue, execution_timeout=timeout
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=every_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def _ensure(client: Client, sweep: SweepSpec, schedule: Schedule, paused_because: str | None) -> None:
    """Create the schedule, or bring an existing one to `schedule`; pause it when the sweep is disabled."""
    try:
        await client.create_schedule(sweep.schedule_id, schedule)
        log.info("schedule %s created", sweep.schedule_id)
    except ScheduleAlreadyRunningError:

        async def updater(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(sweep.schedule_id).update(updater)
    if paused_because:
        await client.get_schedule_handle(sweep.schedule_id).pause(note=paused_because)


async def ensure_reconciler_schedule(client: Client, config: ReconcilerConfig, task_queue: str) -> None:
    """The reconciler sweep every `reconciler.interval_seconds`."""
    timeout = timedelta(seconds=config.max_run_seconds + 600)
    schedule = _schedule(RECONCILER, task_queue, config.interval_seconds, timeout)
    await _ensure(client, RECONCILER, schedule, None if config.enabled else "reconciler.enabled is false")


async def ensure_audit_retention_schedule(client: Client, config: AuditConfig, task_queue: str) -> None:
    """The audit retention sweep every `audit.sweep_interval_seconds`."""
    schedule = _schedule(AUDIT_RETENTION, task_queue, config.sweep_interval_seconds, timedelta(hours=2))
    await _ensure(client, AUDIT_RETENTION, schedule, None)


async def ensure_ci_poller_schedule(client: Client, config: CIConfig, task_queue: str) -> None:
    """The CI polling fallback every `ci.poll_interval_seconds`."""
    schedule = _schedule(CI_POLLER, task_queue, config.poll_interval_seconds, timedelta(minutes=30))
    await _ensure(client, CI_POLLER, schedule, None if config.enabled else "ci.enabled is false")
