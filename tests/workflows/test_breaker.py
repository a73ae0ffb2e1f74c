"""Circuit breaker workflow and activities against a real Temporal dev server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.breaker import BreakerActivities
from contracts.breaker import (
    BreakerInput,
    BreakerOutcomeArgs,
    BreakerPermitArgs,
    BreakerStatus,
    OutcomeReport,
    PermitRequest,
    ResetRequest,
    breaker_workflow_id,
)
from domain.config import BreakerConfig
from domain.shared.audit import AuditEntry
from domain.shared.breaker import BreakerState, Permit
from domain.shared.notifications import BreakerNotice, NoticeResult
from tests.support.events import eventually
from workflows.breaker import BreakerWorkflow

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
SLOW = BreakerConfig(window_seconds=30, failure_rate=0.5, min_samples=3, cooldown_seconds=60)
NOTICES: list[BreakerNotice] = []
AUDITS: list[AuditEntry] = []


@activity.defn(name="notify.breaker")
async def record_notice(notice: BreakerNotice) -> NoticeResult:
    """Test double of the notification channel: remembers every notice."""
    NOTICES.append(notice)
    return NoticeResult(channel="#test", ts=str(len(NOTICES)))


@activity.defn(name="audit.record")
async def record_audit(entry: AuditEntry) -> bool:
    """Test double of the audit trail: remembers every entry."""
    AUDITS.append(entry)
    return True


@activity.defn(name="notify.breaker")
async def broken_notifier(notice: BreakerNotice) -> NoticeResult:
    """Test double of a notification channel that is down."""
    NOTICES.append(notice)
    raise ApplicationError("slack is down", non_retryable=True)


@workflow.defn(name="BreakerClientTest", sandboxed=False)
class BreakerClientWorkflow:
    """Asks a breaker for a permit the way a PR workflow does: through the activity."""

    @workflow.run
    async def run(self, args: BreakerPermitArgs) -> Permit:
        return await workflow.execute_activity(
            "breaker.request_permit",
            args,
            result_type=Permit,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@asynccontextmanager
async def breaker_worker(
    client: Client,
    config: BreakerConfig = SLOW,
    notifier: Callable[..., Awaitable[NoticeResult]] = record_notice,
) -> AsyncIterator[BreakerActivities]:
    """A worker with the breaker workflow, its activities and the recording notifier."""
    queue = f"breaker-test-{uuid.uuid4().hex[:8]}"
    acts = BreakerActivities(client, queue, lambda: config)
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BreakerWorkflow, BreakerClientWorkflow],
        activities=[notifier, record_audit, acts.request_permit, acts.report_outcome],
    ):
        yield acts


def scope() -> str:
    return f"test/{uuid.uuid4().hex[:8]}"


async def start(client: Client, acts: BreakerActivities, name: str, **input: object) -> WorkflowHandle:
    return await client.start_workflow(
        BreakerWorkflow.run,
        BreakerInput.model_validate({"scope": name, "config": SLOW, **input}),
        id=breaker_workflow_id(name),
        task_queue=acts.task_queue,
    )


async def permit(handle: WorkflowHandle, requester: str = "pr/acme/api/1") -> Permit:
    return await handle.execute_update(BreakerWorkflow.request_permit, PermitRequest(requester=requester))


async def report(handle: WorkflowHandle, ok: bool, requester: str = "pr/acme/api/1") -> None:
    await handle.signal(BreakerWorkflow.report_outcome, OutcomeReport(requester=requester, ok=ok))


async def status(handle: WorkflowHandle) -> BreakerStatus:
    return await handle.query(BreakerWorkflow.status)


async def in_state(handle: WorkflowHandle, state: BreakerState) -> BreakerStatus:
    return await eventually(lambda: status(handle), lambda s: s.state is state)


async def notices(name: str, count: int) -> list[tuple[str, str]]:
    async def mine() -> list[BreakerNotice]:
        return [n for n in NOTICES if n.scope == name]

    found = await eventually(mine, lambda ns: len(ns) >= count)
    return [(n.old_state, n.new_state) for n in found]


async def open_it(handle: WorkflowHandle) -> BreakerStatus:
    for _ in range(SLOW.min_samples):
        await report(handle, ok=False)
    return await in_state(handle, OPEN)


async def test_failures_open_refuse_then_one_probe_closes(client: Client) -> None:
    name = scope()
    async with breaker_worker(client) as acts:
        handle = await start(client, acts, name)
        for _ in range(2):
            granted = await permit(handle)
            assert granted.granted and granted.state is CLOSED and not granted.probe
        await report(handle, ok=False)
        await report(handle, ok=False)
        assert (await status(handle)).state is CLOSED  # 2 samples < min_samples
        await report(handle, ok=False)
        opened = await in_state(handle, OPEN)
        assert opened.samples == 3 and opened.failure_rate == 1.0 and opened.opened_at is not None
        assert await notices(name, 1) == [("closed", "open")]
        notice = next(n for n in NOTICES if n.scope == name)
        assert notice.samples == 3 and notice.failure_rate == 1.0 and "3/3 failed" in notice.reason

        refused = await permit(handle)
        assert not refused.granted and refused.state is OPEN and refused.retry_at is not None

        # Shorten the cooldown so the probe comes quickly, then lengthen it again so the probe's
        # lease cannot run out before the second request (the lease is one cooldown).
        await handle.execute_update(
            BreakerWorkflow.configure, SLOW.model_copy(update={"cooldown_seconds": 1})
        )
        probe = await eventually(lambda: permit(handle, "prober"), lambda p: p.granted)
        assert probe.probe and probe.state is HALF_OPEN
        await handle.execute_update(BreakerWorkflow.configure, SLOW)
        second = await permit(handle, "other")
        assert (
            not second.granted
            and not second.probe
            and second.state is HALF_OPEN
            and "prober" in second.reason
        )

        await report(handle, ok=True, requester="other")  # not the probe: decides nothing
        await report(handle, ok=True, requester="prober")
        closed = await in_state(handle, CLOSED)
        assert closed.samples == 0 and closed.opened_at is None
        assert [(c.old, c.new) for c in closed.changes] == [
            (CLOSED, OPEN),
            (OPEN, HALF_OPEN),
            (HALF_OPEN, CLOSED),
        ]
        assert await notices(name, 3) == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
        assert (await permit(handle)).granted


async def test_failed_probe_reopens(client: Client) -> None:
    name = scope()
    async with breaker_worker(client) as acts:
        handle = await start(client, acts, name, config=SLOW.model_copy(update={"cooldown_seconds": 1}))
        await open_it(handle)
        await eventually(lambda: permit(handle, "prober"), lambda p: p.granted and p.probe)
        await report(handle, ok=False, requester="prober")
        reopened = await in_state(handle, OPEN)
        assert [(c.old, c.new) for c in reopened.changes][-1] == (HALF_OPEN, OPEN)
        assert await notices(name, 3) == [("closed", "open"), ("open", "half_open"), ("half_open", "open")]


async def test_manual_reset_closes(client: Client) -> None:
    name = scope()
    async with breaker_worker(client) as acts:
        handle = await start(client, acts, name)
        await open_it(handle)
        after = await acts.reset(name, "alice")
        assert after.state is CLOSED and after.samples == 0 and "alice" in after.changes[-1].reason
        assert await notices(name, 2) == [("closed", "open"), ("open", "closed")]
        audited = [(a.action, a.actor, a.outcome) for a in AUDITS if a.target == f"breaker/{name}"]
        assert audited == [("breaker.change", "mender", "open"), ("breaker.change", "alice", "closed")]
        assert (await permit(handle)).granted
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(BreakerWorkflow.reset, ResetRequest(actor=" "))


async def test_a_failing_notifier_does_not_break_the_breaker(client: Client) -> None:
    name = scope()
    async with breaker_worker(client, notifier=broken_notifier) as acts:
        handle = await start(client, acts, name)
        await open_it(handle)
        await notices(name, 1)
        assert (await acts.reset(name, "alice")).state is CLOSED
        assert await notices(name, 2) == [("closed", "open"), ("open", "closed")]
        audited = [(a.action, a.actor, a.outcome) for a in AUDITS if a.target == f"breaker/{name}"]
        assert audited == [("breaker.change", "mender", "open"), ("breaker.change", "alice", "closed")]
        assert (await permit(handle)).granted
        await open_it(handle)
        assert await notices(name, 3) == [("closed", "open"), ("open", "closed"), ("closed", "open")]


async def test_configure_lowering_the_threshold_applies_to_the_next_outcome(client: Client) -> None:
    name = scope()
    async with breaker_worker(client) as acts:
        handle = await start(client, acts, name, config=SLOW.model_copy(update={"min_samples": 10}))
        for ok in (False, True, True):
            await report(handle, ok=ok)
        await eventually(lambda: status(handle), lambda s: s.samples == 3)
        stricter = SLOW.model_copy(update={"min_samples": 3, "failure_rate": 0.25})
        configured = await handle.execute_update(BreakerWorkflow.configure, stricter)
        assert configured.state is CLOSED and configured.config == stricter  # applies from the next outcome
        await report(handle, ok=True)  # 1/4 failed = 25 %
        opened = await in_state(handle, OPEN)
        assert opened.changes[-1].failure_rate == 0.25 and opened.changes[-1].samples == 4


async def test_activities_start_the_breaker_and_reach_it(client: Client) -> None:
    name = scope()
    async with breaker_worker(client) as acts:
        assert await acts.status(name) is None
        args = BreakerPermitArgs(scope=name, requester="pr/acme/api/7")
        first = await client.execute_workflow(
            BreakerClientWorkflow.run, args, id=f"client-{name}", task_queue=acts.task_queue
        )
        assert first.granted and first.state is CLOSED
        for _ in range(SLOW.min_samples):
            await acts.report_outcome(BreakerOutcomeArgs(scope=name, requester="pr/acme/api/7", ok=False))
        current = await eventually(lambda: acts.status(name), lambda s: s is not None and s.state is OPEN)
        assert current is not None and current.config == SLOW and current.scope == name
        refused = await acts.request_permit(args)
        assert not refused.granted and refused.state is OPEN
        with pytest.raises(ApplicationError) as rejected:
            await acts.request_permit(BreakerPermitArgs(scope=name, requester=" "))
        assert rejected.value.non_retryable


async def test_outcome_report_starts_a_missing_breaker(client: Client) -> None:
    name = scope()
    async with breaker_worker(client) as acts:
        await acts.report_outcome(BreakerOutcomeArgs(scope=name, requester="r", ok=False, detail="503"))
        current = await eventually(lambda: acts.status(name), lambda s: s is not None and s.samples == 1)
        assert current is not None and current.failure_rate == 1.0


async def test_continue_as_new_carries_the_breaker(client: Client) -> None:
    name = scope()
    async with breaker_worker(client) as acts:
        handle = await start(client, acts, name, history_events_before_continue=20)
        first_run = handle.result_run_id
        await open_it(handle)

        async def refused_in_a_later_run() -> tuple[Permit, str | None]:
            answer = await permit(handle)
            return answer, (await handle.describe()).run_id

        answer, _ = await eventually(refused_in_a_later_run, lambda r: r[1] != first_run)
        assert not answer.granted
        carried = await in_state(handle, OPEN)
        assert [(c.old, c.new) for c in carried.changes] == [(CLOSED, OPEN)] and carried.samples == 3
        assert await notices(name, 1) == [("closed", "open")]


async def test_one_bad_repository_is_isolated_and_never_opens_the_shared_breaker(client: Client) -> None:
    name = scope()
    async with breaker_worker(client) as acts:
        handle = await start(client, acts, name)
        for i in range(SLOW.min_samples + 1):  # GitHub answers 404 for acme/gone, again and again
            args = BreakerOutcomeArgs(
                scope=name, requester=f"pr/acme/gone/{i}", ok=False, repo="acme/gone", repo_only=True
            )
            await acts.report_outcome(args)
        isolated = await eventually(lambda: status(handle), lambda s: s.isolated == ["acme/gone"])
        assert isolated.state is CLOSED and isolated.samples == 0  # the shared window never saw them
        gone = await handle.execute_update(
            BreakerWorkflow.request_permit, PermitRequest(requester="pr/acme/gone/9", repo="acme/gone")
        )
        assert not gone.granted and "acme/gone isolated" in gone.reason
        api = await acts.request_permit(
            BreakerPermitArgs(scope=name, requester="pr/acme/api/1", repo="acme/api")
        )
        assert api.granted
        assert await notices(f"{name}/acme/gone", 1) == [("closed", "open")]
        row = await eventually(lambda: _audit_for(f"breaker/{name}/acme/gone"), lambda rows: len(rows) == 1)
        assert (row[0].outcome, row[0].repository) == ("open", "acme/gone")


async def _audit_for(target: str) -> list[AuditEntry]:
    return [a for a in AUDITS if a.target == target]
