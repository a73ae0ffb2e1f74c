"""Reaching PR workflows through a Temporal client (a workflow cannot signal-with-start another):
used to start tracking a PR Mender opened itself (close-and-reopen)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.definition import defn
from domain.pr_healing.events import PREvent
from runtime.dispatch import EventDispatcher, TemporalUnavailable


class LifecycleActivities:
    """PR workflow access for workflows and schedules; built by the worker with its client."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._dispatcher = EventDispatcher("", client.namespace, task_queue, client=client)

    @defn(name="lifecycle.deliver")
    async def deliver(self, event: PREvent) -> str:
        """Deliver an event to its PR workflow; an opening starts the workflow (signal-with-start)."""
        try:
            return (await self._dispatcher.deliver(event)).value
        except TemporalUnavailable as exc:
            raise ApplicationError(str(exc), type="TemporalUnavailable") from exc
