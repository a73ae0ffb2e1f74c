"""Deliver domain events to PR workflows (signal-with-start for openings, plain signals otherwise)
and PR commands (the `command` update)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from contracts.pr import COMMAND_UPDATE, EVENT_SIGNAL, LATEST_REVISION, PR_WORKFLOW, PRWorkflowInput
from contracts.visibility import MENDER_LAST_EVENT_AT, MENDER_NEEDS_HUMAN, MENDER_REPO, MENDER_STATE
from domain.config import RepoPolicy
from domain.pr_healing.commands import CommandAnswer, CommandRequest
from domain.pr_healing.events import PREvent, PRRef
from domain.pr_healing.lifecycle import OPENINGS
from domain.pr_healing.steps import published_at_start
from runtime.temporal import make_client

log = logging.getLogger("mender.dispatch")
RPC_TIMEOUT = timedelta(seconds=5)
UPDATE_ACCEPT_TIMEOUT = timedelta(seconds=10)  # a worker must run the validator


def opening_attributes(event: PREvent) -> TypedSearchAttributes:
    """The search attributes a new PR workflow starts with: its repository and what its first decision
    publishes (its run then upserts nothing for the opening: one history event and visibility write)."""
    shown = published_at_start(event)
    pairs: list[SearchAttributePair] = [
        SearchAttributePair(MENDER_REPO, event.pr.repo),
        SearchAttributePair(MENDER_STATE, shown.state),
        SearchAttributePair(MENDER_NEEDS_HUMAN, shown.needs_human),
    ]
    if shown.last_event_at is not None:
        pairs.append(SearchAttributePair(MENDER_LAST_EVENT_AT, shown.last_event_at))
    return TypedSearchAttributes(pairs)


class TemporalUnavailable(RuntimeError):
    """Temporal could not take the event; the caller must not acknowledge it."""


class Delivered(StrEnum):
    SIGNAL_WITH_START = "signal_with_start"
    SIGNALLED = "signalled"
    NO_WORKFLOW = "no_workflow"


class EventDispatcher:
    """Owns one lazily connected Temporal client; safe to share across requests."""

    def __init__(self, address: str, namespace: str, task_queue: str, client: Client | None = None) -> None:
        self._address, self._namespace, self.task_queue = address, namespace, task_queue
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The connected client; TemporalUnavailable if the server cannot be reached."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await asyncio.wait_for(make_client(self._address, self._namespace), 5)
                    except Exception as exc:
                        raise TemporalUnavailable(
                            f"cannot connect to Temporal at {self._address}: {exc}"
                        ) from exc
        return self._client

    async def deliver(self, event: PREvent, policy: RepoPolicy | None = None) -> Delivered:
        """Send one event to its PR workflow. Non-opening events for an unknown PR start nothing; an
        opening starts the workflow with `policy` (the repository's settings) when given."""
        client = await self.client()
        try:
            if event.type in OPENINGS:
                await client.start_workflow(
                    PR_WORKFLOW,
                    PRWorkflowInput(pr=event.pr, revision=LATEST_REVISION, policy=policy),
                    id=event.pr.workflow_id,
                    task_queue=self.task_queue,
                    start_signal=EVENT_SIGNAL,
                    start_signal_args=[event],
                    search_attributes=opening_attributes(event),
                    rpc_timeout=RPC_TIMEOUT,
                )
                return Delivered.SIGNAL_WITH_START
            handle = client.get_workflow_handle(event.pr.workflow_id)
            await handle.signal(EVENT_SIGNAL, event, rpc_timeout=RPC_TIMEOUT)
            return Delivered.SIGNALLED
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return Delivered.NO_WORKFLOW
            raise TemporalUnavailable(
                f"Temporal refused {event.pr.workflow_id}: {exc.status.name}: {exc}"
            ) from exc

    async def signal(self, pr: PRRef, name: str) -> Delivered:
        """Send an argument-less signal to a running PR workflow (e.g. `refresh`)."""
        client = await self.client()
        try:
            await client.get_workflow_handle(pr.workflow_id).signal(name, rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return Delivered.NO_WORKFLOW
            raise TemporalUnavailable(f"Temporal refused {pr.workflow_id}: {exc.status.name}: {exc}") from exc
        return Delivered.SIGNALLED

    async def command(
        self, pr: PRRef, request: CommandRequest, wait: Literal["accepted", "completed"] = "completed"
    ) -> CommandAnswer | None:
        """Send a command to the PR's workflow; None when there is no running workflow for the PR.

        `completed` returns the workflow's answer. `accepted` returns as soon as the validator took the
        request (fast enough for a webhook) with a provisional answer (accepted, "queued"); the real
        answer follows in the workflow (and on the PR, for comments). A request the validator rejects
        is answered `accepted=False` with its reason in both modes.
        """
        client = await self.client()
        handle = client.get_workflow_handle(pr.workflow_id)
        stage = WorkflowUpdateStage.COMPLETED if wait == "completed" else WorkflowUpdateStage.ACCEPTED
        try:
            update = await handle.start_update(
                COMMAND_UPDATE,
                request,
                wait_for_stage=stage,
                result_type=CommandAnswer,
                rpc_timeout=None if wait == "completed" else UPDATE_ACCEPT_TIMEOUT,
            )
            # A rejection is known at once; only a completed wait polls for the outcome.
            if wait == "completed" or update._known_outcome is not None:
                return await update.result()
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            reason = getattr(cause, "message", None) or str(cause or exc)
            return CommandAnswer(accepted=False, command=request.command, reason=reason)
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            raise TemporalUnavailable(f"{pr.workflow_id} did not take {request.command} in time") from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                log.info("command %s for %s: no running workflow", request.command, pr.key)
                return None
            raise TemporalUnavailable(f"Temporal refused {pr.workflow_id}: {exc.status.name}: {exc}") from exc
        return CommandAnswer(accepted=True, command=request.command, reason="queued")
