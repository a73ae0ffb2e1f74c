"""Deliver CI run events to CI failure workflows: signal-with-start for failures, plain signals otherwise.

A failed run starts `ci/<provider>/<project>/<run_id>` at most once while its workflow runs or after it
completed: a redelivered webhook or a poll of a known run starts nothing new. A workflow that failed
(or was terminated) may be started again, so no run is left without healing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.ci import CI_WORKFLOW, RUN_EVENT_SIGNAL, CIWorkflowInput
from contracts.fixpr import NUDGE_SIGNAL
from domain.ci_healing.runs import CIRunEvent
from runtime.dispatch import EventDispatcher, TemporalUnavailable

log = logging.getLogger("mender.ci_dispatch")
RPC_TIMEOUT = timedelta(seconds=5)


class CIDelivered(StrEnum):
    STARTED_OR_SIGNALLED = "signal_with_start"
    SIGNALLED = "signalled"
    KNOWN = "known"  # the run's workflow already finished: nothing new starts
    NO_WORKFLOW = "no_workflow"  # not a failure, and nobody waits for it


async def deliver_ci(dispatcher: EventDispatcher, event: CIRunEvent) -> CIDelivered:
    """Send `event` to the workflow of the run it concerns; TemporalUnavailable when it cannot."""
    client = await dispatcher.client()
    target = event.target.workflow_id
    try:
        if event.starts_workflow:
            await client.start_workflow(
                CI_WORKFLOW,
                CIWorkflowInput(run=event.run),
                id=target,
                task_queue=dispatcher.task_queue,
                # a run whose workflow failed may be started again; one that completed is done
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                start_signal=RUN_EVENT_SIGNAL,
                start_signal_args=[event],
                rpc_timeout=RPC_TIMEOUT,
            )
            return CIDelivered.STARTED_OR_SIGNALLED
        await client.get_workflow_handle(target).signal(RUN_EVENT_SIGNAL, event, rpc_timeout=RPC_TIMEOUT)
        return CIDelivered.SIGNALLED
    except WorkflowAlreadyStartedError:
        return CIDelivered.KNOWN
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return CIDelivered.NO_WORKFLOW
        if exc.status == RPCStatusCode.ALREADY_EXISTS:
            return CIDelivered.KNOWN
        raise TemporalUnavailable(f"Temporal refused {target}: {exc.status.name}: {exc}") from exc


async def nudge_fix_pr(dispatcher: EventDispatcher, workflow_id: str) -> CIDelivered:
    """Tell the fix PR workflow `workflow_id` to look at its PR now (its polling is the fallback)."""
    client = await dispatcher.client()
    try:
        await client.get_workflow_handle(workflow_id).signal(NUDGE_SIGNAL, rpc_timeout=RPC_TIMEOUT)
        return CIDelivered.SIGNALLED
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # finished, or never started (the CI half is off)
            return CIDelivered.NO_WORKFLOW
        raise TemporalUnavailable(
            f"Temporal refused the nudge of {workflow_id}: {exc.status.name}: {exc}"
        ) from exc
