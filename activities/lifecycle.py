"""Activities that reach PR workflows through a Temporal client (workflows cannot start each other's runs
with signal-with-start): tracking a PR Mender opened or discovered, and asking a workflow to refresh."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from domain.events import PREvent, PRRef
from runtime.dispatch import Delivered, EventDispatcher, TemporalUnavailable
from workflows.pr_lifecycle import REFRESH_SIGNAL


class LifecycleActivities:
    """PR workflow access for workflows and schedules; built by the worker with its client."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._dispatcher = EventDispatcher("", client.namespace, task_queue, client=client)
        self._client = client

    @activity.defn(name="lifecycle.deliver")
    async def deliver(self, event: PREvent) -> str:
        """Deliver an event to its PR workflow; an opening starts the workflow (signal-with-start)."""
        try:
            return (await self._dispatcher.deliver(event)).value
        except TemporalUnavailable as exc:
            raise ApplicationError(str(exc), type="TemporalUnavailable") from exc

    @activity.defn(name="lifecycle.request_refresh")
    async def request_refresh(self, pr: PRRef) -> bool:
        """Ask a PR workflow to refresh from GitHub now; False when it does not run."""
        outcome = await self._dispatcher.signal(pr, REFRESH_SIGNAL)
        return outcome is Delivered.SIGNALLED
