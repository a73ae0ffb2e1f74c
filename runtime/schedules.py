"""Temporal Schedules Mender keeps: the reconciler sweep."""

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

from domain.config import ReconcilerConfig
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


async def ensure_reconciler_schedule(client: Client, config: ReconcilerConfig, task_queue: str) -> None:
    """Create the reconciler schedule, or bring an existing one to the configured interval."""
    schedule = _schedule(config, task_queue)
    try:
        await client.create_schedule(RECONCILER_SCHEDULE_ID, schedule)
        log.info("reconciler schedule created: every %s s", config.interval_seconds)
    except ScheduleAlreadyRunningError:

        async def updater(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).update(updater)
    if not config.enabled:
        await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).pause(note="reconciler.enabled is false")
