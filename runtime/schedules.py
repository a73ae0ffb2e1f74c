"""Temporal Schedules Mender keeps: the reconciler sweep and the audit retention sweep."""

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

from domain.ci_healing.config import CIConfig
from domain.config import ReconcilerConfig
from domain.shared.admin_config import AuditConfig
from workflows.ci_poller import CI_POLLER_SCHEDULE_ID, CI_POLLER_WORKFLOW_ID, CIPollerWorkflow
from workflows.housekeeping import (
    AUDIT_RETENTION_SCHEDULE_ID,
    AUDIT_RETENTION_WORKFLOW_ID,
    SWEEP_TIMEOUT,
    AuditRetentionWorkflow,
)
from workflows.reconciler import RECONCILER_SCHEDULE_ID, RECONCILER_WORKFLOW_ID, ReconcilerWorkflow

log = logging.getLogger("mender.schedules")


def _schedule(config: ReconcilerConfig, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcilerWorkflow.run,
            id=RECONCILER_WORKFLOW_ID,
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=config.max_run_seconds + 600),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=config.interval_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def _create_or_update(client: Client, schedule_id: str, schedule: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, schedule)
        log.info("schedule %s created", schedule_id)
    except ScheduleAlreadyRunningError:

        async def updater(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(updater)


async def ensure_reconciler_schedule(client: Client, config: ReconcilerConfig, task_queue: str) -> None:
    """Create the reconciler schedule, or bring an existing one to the configured interval."""
    await _create_or_update(client, RECONCILER_SCHEDULE_ID, _schedule(config, task_queue))
    if not config.enabled:
        await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).pause(note="reconciler.enabled is false")


async def ensure_audit_retention_schedule(client: Client, config: AuditConfig, task_queue: str) -> None:
    """Create the audit retention schedule (every `sweep_interval_seconds`), or update an existing one."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            AuditRetentionWorkflow.run,
            id=AUDIT_RETENTION_WORKFLOW_ID,
            task_queue=task_queue,
            execution_timeout=SWEEP_TIMEOUT * 4,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=config.sweep_interval_seconds))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await _create_or_update(client, AUDIT_RETENTION_SCHEDULE_ID, schedule)


async def ensure_ci_poller_schedule(client: Client, config: CIConfig, task_queue: str) -> None:
    """Create the CI polling fallback schedule (every `ci.poll_interval_seconds`), or update it."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            CIPollerWorkflow.run,
            id=CI_POLLER_WORKFLOW_ID,
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=30),
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=config.poll_interval_seconds))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await _create_or_update(client, CI_POLLER_SCHEDULE_ID, schedule)
    if not config.enabled:
        await client.get_schedule_handle(CI_POLLER_SCHEDULE_ID).pause(note="ci.enabled is false")
