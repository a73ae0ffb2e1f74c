"""Where stall -> decision goes, hop by hop, read from the PR workflows' histories (`bench/latency.py`).

For each remediation a PR workflow scheduled after a staleness timer fired, from its history (server
timestamps): the timer was due (started + its timeout) -> it fired -> the worker started the workflow
task that woke up -> the staleness check's calls, each from scheduled to started (waiting for a slot)
and to completed -> the remediation's activity scheduled (the decision). Timers the workflow cut short
(an event came first) are not staleness checks and are skipped, as are the waits of a rate-limited
write (`workflows.calls`: a timer, then the write scheduled again without a GitHub read).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.ingest_load import percentile

STRATEGIES = {
    "github.rebuild",
    "github.merge",
    "github.retrigger_bot",
    "github.update_branch",
    "reopen.find_duplicate",
}
HOPS = (
    "due -> timer fired",
    "timer fired -> workflow task started",
    "timer fired -> check's first call scheduled",
    "config.repo_policy: wait for a slot",
    "config.repo_policy: scheduled -> completed",
    "github.fetch_snapshot: wait for a slot",
    "github.fetch_snapshot: scheduled -> completed",
    "audit.record: wait for a slot",
    "audit.record: scheduled -> completed",
    "breaker.request_permit: wait for a slot",
    "breaker.request_permit: scheduled -> completed",
    "last call completed -> remediation scheduled",
    "due -> remediation scheduled",
)


def _seconds(event: Any) -> float:
    return event.event_time.ToDatetime().timestamp()


def remediation_hops(events: list[Any]) -> list[dict[str, float]]:
    """The hops of each remediation this history scheduled after a staleness timer fired."""
    timers: dict[str, float] = {}  # timer id -> due
    calls: dict[int, tuple[str, float]] = {}  # scheduled event id -> (activity, scheduled at)
    found: list[dict[str, float]] = []
    current: dict[str, float] | None = None  # the staleness check under way
    due = fired = 0.0
    for e in events:
        kind = e.event_type
        if kind == EventType.EVENT_TYPE_TIMER_STARTED:
            a = e.timer_started_event_attributes
            timers[a.timer_id] = _seconds(e) + a.start_to_fire_timeout.ToTimedelta().total_seconds()
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            due, fired = timers.get(e.timer_fired_event_attributes.timer_id, 0.0), _seconds(e)
            current = {"due -> timer fired": fired - due} if due else None
            last = fired  # when the check's last call completed
        elif current is None:
            continue
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            current.setdefault("timer fired -> workflow task started", _seconds(e) - fired)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            current.setdefault("timer fired -> check's first call scheduled", _seconds(e) - fired)
            if name in STRATEGIES and "github.fetch_snapshot: scheduled -> completed" not in current:
                current = None  # not a staleness check: a rate-limited write scheduled again after its wait
            elif name in STRATEGIES:
                current["last call completed -> remediation scheduled"] = _seconds(e) - last
                current["due -> remediation scheduled"] = _seconds(e) - due
                found.append(current)
                current = None
            else:
                calls[e.event_id] = (name, _seconds(e))
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            name, at = calls.get(e.activity_task_started_event_attributes.scheduled_event_id, ("", 0.0))
            current.setdefault(f"{name}: wait for a slot", _seconds(e) - at)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            name, at = calls.get(e.activity_task_completed_event_attributes.scheduled_event_id, ("", 0.0))
            current.setdefault(f"{name}: scheduled -> completed", _seconds(e) - at)
            last = _seconds(e)
    return found


async def fleet_hops(client: Client, query: str = "WorkflowType = 'PRLifecycle'") -> dict[str, list[float]]:
    """Every hop of every remediation of the PR workflows `query` finds."""
    hops: dict[str, list[float]] = defaultdict(list)
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        for found in remediation_hops(list(history.events)):
            for hop, seconds in found.items():
                hops[hop].append(seconds)
    return hops


def summary(hops: dict[str, list[float]]) -> dict[str, dict[str, float | int | None]]:
    """Count, median and p95 of each hop, in the order of `HOPS`."""
    return {
        hop: {
            "n": len(hops.get(hop, [])),
            "median": percentile(hops.get(hop, []), 0.5),
            "p95": percentile(hops.get(hop, []), 0.95),
        }
        for hop in HOPS
    }
