"""The Mender worker: registers workflows and activities on the task queue and runs them.

Activities are polled by lane (`contracts.activities.Lane`): the workflows' task queue and a queue beside
it per lane, each with slots of its own, so that the bulk of the work (every event's store projection,
the sweeps) never holds the slots a staleness check and its remediation need. One process, one
`Worker` per queue (`Workers`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Interceptor, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import approval as approval_activities
from activities import audit as audit_activities
from activities import ci as ci_activities
from activities import config as config_activities
from activities import fixpr as fixpr_activities
from activities import fixpr_scan
from activities import github as github_activities
from activities import llm as llm_activities
from activities import review as review_activities
from activities import slack as slack_activities
from activities import store as store_activities
from activities.breaker import BreakerActivities
from activities.ci_poll import CIPollActivities
from activities.commands import COMMAND_ACTIVITIES
from activities.definition import activity_name
from activities.lifecycle import LifecycleActivities
from activities.merge_queue import MergeQueueActivities
from activities.reconcile import ReconcileActivities
from activities.reopen import REOPEN_ACTIVITIES
from contracts.activities import CATALOGUE, Lane, lane_queue
from runtime.activity_liveness import ActivityLiveness
from runtime.config_reload import ConfigWatcher
from runtime.logs import configure_logging
from runtime.metrics_worker import ActivityErrorMetrics, sdk_runtime, serve_mender_metrics
from runtime.schedules import (
    ensure_audit_retention_schedule,
    ensure_ci_poller_schedule,
    ensure_reconciler_schedule,
)
from runtime.settings import Settings, get_settings
from runtime.temporal import ensure_search_attributes, make_client
from workflows.breaker import BreakerWorkflow
from workflows.ci_failure import CIFailureWorkflow
from workflows.fix_pr import FixPRWorkflow
from workflows.merge_queue import MergeQueueWorkflow
from workflows.pr_lifecycle import PRLifecycleWorkflow
from workflows.sweeps import AuditRetentionWorkflow, CIPollerWorkflow, ReconcilerWorkflow

WORKFLOWS = [
    PRLifecycleWorkflow,
    BreakerWorkflow,
    MergeQueueWorkflow,
    ReconcilerWorkflow,
    AuditRetentionWorkflow,
    CIFailureWorkflow,
    CIPollerWorkflow,
    FixPRWorkflow,
]
STATELESS_ACTIVITIES: list[Callable[..., Any]] = [
    config_activities.repo_policy,
    store_activities.record_pr,
    store_activities.project_pr,
    github_activities.fetch_snapshot,
    github_activities.update_branch,
    github_activities.rebuild,
    github_activities.retrigger_bot,
    github_activities.merge,
    *REOPEN_ACTIVITIES,
    *COMMAND_ACTIVITIES,
    slack_activities.notify_escalation,
    slack_activities.notify_breaker,
    *audit_activities.AUDIT_ACTIVITIES,
    *ci_activities.CI_ACTIVITIES,
    store_activities.record_ci,
    *approval_activities.APPROVAL_ACTIVITIES,
    llm_activities.analyse,
    *fixpr_activities.FIXPR_ACTIVITIES,
    fixpr_scan.scan,
    *review_activities.REVIEW_ACTIVITIES,
]

log = logging.getLogger("mender.worker")
# The sandbox imports a workflow's module afresh for every workflow run (and a PR workflow run starts
# for every PR). Mender's workflow modules keep no state at module level and import the rest of
# Mender passed through already, so they are imported once: the sandbox's restrictions on what
# workflow code calls still apply. See docs/throughput-history.md ("The lean worker") for what this
# saves.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
)


# Local activities (a PR's projection, audit rows, its policy after a timer) run in the same thread pool
# as sync activities: with no thread of their own they waited behind slow GitHub calls, and a stale PR's
# remediation with them. The pool has a thread per activity slot (of every lane) plus these.
LOCAL_ACTIVITY_SLOTS = 16
# Slots of each lane beside the workflows' queue (`mender worker`: MENDER_WORKER_PROJECTION_SLOTS,
# MENDER_WORKER_READ_SLOTS, MENDER_WORKER_WRITE_SLOTS and MENDER_WORKER_SWEEP_SLOTS). Writes are paced
# to 80 a minute per token.
LANE_SLOTS: dict[Lane, int] = {Lane.PROJECTIONS: 16, Lane.READS: 16, Lane.WRITES: 8, Lane.SWEEPS: 2}


def activity_threads(
    max_concurrent_activities: int, lane_slots: dict[Lane, int] | None = None
) -> concurrent.futures.ThreadPoolExecutor:
    """The thread pool for `max_concurrent_activities` sync activities, those of the lanes and the local
    activities."""
    lanes = sum((LANE_SLOTS if lane_slots is None else lane_slots).values())
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=max_concurrent_activities + lanes + LOCAL_ACTIVITY_SLOTS
    )


class Workers:
    """The workers of one process (the workflows' queue and one per lane), run and stopped together."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    async def run(self) -> None:
        try:
            await asyncio.gather(*(worker.run() for worker in self.workers))
        finally:  # one failed: stop the others too
            running = [worker.shutdown() for worker in self.workers if worker.is_running]
            await asyncio.gather(*running, return_exceptions=True)

    async def __aenter__(self) -> Workers:
        started: list[Worker] = []
        try:
            for worker in self.workers:
                await worker.__aenter__()
                started.append(worker)
        except BaseException:  # one did not start: stop those that did
            await asyncio.gather(*(w.__aexit__(None, None, None) for w in started), return_exceptions=True)
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await asyncio.gather(*(worker.__aexit__(*exc) for worker in self.workers))


def build_worker(
    client: Client,
    task_queue: str,
    executor: concurrent.futures.Executor,
    max_concurrent_activities: int = 32,
    *,
    lane_slots: dict[Lane, int] | None = None,
    activities: list[Callable[..., Any]] | None = None,
) -> Workers:
    """Workers with every Mender workflow and activity (sync activities run in `executor`, made by
    `activity_threads(max_concurrent_activities, lane_slots)`): the workflows and every activity on
    `task_queue` (the MAIN lane's are scheduled there), each other lane's activities on its queue with
    `lane_slots` of its own.
    `activities`: instead of `all_activities` (tests swap one)."""
    slots = LANE_SLOTS if lane_slots is None else lane_slots
    every = activities if activities is not None else all_activities(client, task_queue)
    lanes = by_lane(every)
    del lanes[Lane.MAIN]
    main = Worker(  # every activity here too: runs of revisions 0-2 call the store as local activities,
        client,  # and a call scheduled here before lanes existed (an upgrade) still finds its function
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=every,
        activity_executor=executor,
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_local_activities=LOCAL_ACTIVITY_SLOTS,
        interceptors=interceptors(),
        workflow_runner=SANDBOX,
    )
    beside = [
        Worker(
            client,
            task_queue=lane_queue(task_queue, lane),
            activities=fns,
            activity_executor=executor,
            max_concurrent_activities=slots[lane],
            interceptors=interceptors(),
        )
        for lane, fns in lanes.items()
        if fns
    ]
    return Workers([main, *beside])


def by_lane(activities: list[Callable[..., Any]]) -> dict[Lane, list[Callable[..., Any]]]:
    """`activities` grouped by the lane the catalogue gives each by its name (an uncatalogued one: MAIN)."""
    lanes = {ref.name: ref.lane for ref in CATALOGUE}
    grouped: dict[Lane, list[Callable[..., Any]]] = {lane: [] for lane in Lane}
    for fn in activities:
        grouped[lanes.get(activity_name(fn), Lane.MAIN)].append(fn)
    return grouped


def interceptors() -> list[Interceptor]:
    """Failure metrics, and liveness heartbeats for the calls that need them (every worker has both)."""
    return [ActivityErrorMetrics(), ActivityLiveness()]


def all_activities(client: Client, task_queue: str) -> list[Callable[..., Any]]:
    """Every activity, including those that need the Temporal client."""
    breaker = BreakerActivities(client, task_queue, lambda: get_settings().config.breaker)
    lifecycle = LifecycleActivities(client, task_queue)
    reconcile = ReconcileActivities(client, task_queue)
    queue = MergeQueueActivities(client, task_queue)
    return [
        *STATELESS_ACTIVITIES,
        breaker.request_permit,
        breaker.report_outcome,
        queue.request_turn,
        queue.release_turn,
        lifecycle.deliver,
        reconcile.sweep,
        CIPollActivities(client, task_queue).poll,
    ]


async def run_worker() -> None:
    """Connect with the configured settings and run until cancelled."""
    settings = get_settings()
    exported = settings.config.metrics
    host = settings.env.mender_metrics_host or exported.host
    sdk_address = f"{host}:{exported.sdk_port}" if exported.sdk_port else None
    client = await make_client(
        settings.temporal_address, settings.config.temporal.namespace, runtime=sdk_runtime(sdk_address)
    )
    if exported.worker_port:
        serve_mender_metrics(host, exported.worker_port)
    task_queue = settings.config.temporal.task_queue
    try:
        await ensure_search_attributes(client)
    except RPCError as exc:  # e.g. no operator permission on a managed namespace: register them there
        log.warning("could not register search attributes (%s); register them with the operator CLI", exc)
    await ensure_reconciler_schedule(client, settings.config.reconciler, task_queue)
    await ensure_audit_retention_schedule(client, settings.config.audit, task_queue)
    await ensure_ci_poller_schedule(client, settings.config.ci, task_queue)
    watcher = ConfigWatcher(on_change=applied_to_running(client, task_queue))
    watch = asyncio.create_task(watcher.run())
    try:
        slots = settings.env.mender_worker_activity_slots
        lanes = {
            Lane.PROJECTIONS: settings.env.mender_worker_projection_slots,
            Lane.READS: settings.env.mender_worker_read_slots,
            Lane.WRITES: settings.env.mender_worker_write_slots,
            Lane.SWEEPS: settings.env.mender_worker_sweep_slots,
        }
        with activity_threads(slots, lanes) as executor:
            workers = build_worker(client, task_queue, executor, slots, lane_slots=lanes)
            log.info(
                "worker polling task queue %s (and its lanes) at %s", task_queue, settings.temporal_address
            )
            await workers.run()
    finally:
        watch.cancel()


def applied_to_running(client: Client, task_queue: str) -> Callable[[Settings, Settings], Awaitable[None]]:
    """What a reloaded configuration changes beyond the next decision of each workflow: the schedules'
    intervals and the running breaker's thresholds."""

    async def apply(before: Settings, after: Settings) -> None:
        new = after.config
        await ensure_reconciler_schedule(client, new.reconciler, task_queue)
        await ensure_audit_retention_schedule(client, new.audit, task_queue)
        await ensure_ci_poller_schedule(client, new.ci, task_queue)
        if new.breaker != before.config.breaker:
            breakers = BreakerActivities(client, task_queue, lambda: new.breaker)
            await breakers.configure(new.breaker.scope, new.breaker)

    return apply


if __name__ == "__main__":
    configure_logging()
    asyncio.run(run_worker())
